//! Storing, reading, renaming and deleting files.

use plinth_events::Events;
use plinth_file_store::{Error, FileUpdate, NewFile, Owner, key, sniff};
use serde_json::json;

use crate::common::*;

plinth_db::db_test!(
    async fn a_file_is_stored_with_checksum_type_and_event(db) {
        let store = store(&db).await;
        let text = "hello, files\n".repeat(1000);
        let file = store
            .create(&ctx(), NewFile::new(DOCS, "greeting.txt"), stream_of(text.as_bytes(), 777))
            .await
            .expect("create");
        assert_eq!(file.bucket_name, DOCS);
        assert_eq!(file.name, "greeting.txt");
        assert_eq!(file.content_type, sniff::TEXT);
        assert_eq!(file.content_length, text.len() as i64);
        assert_eq!(file.checksum, blake3::hash(text.as_bytes()).to_hex().to_string());
        assert_eq!(file.meta, json!({}));
        assert_eq!(store.get(file.id).await.expect("get"), file);
        assert_eq!(read_all(store.content(&file).await.expect("content")).await, text.as_bytes());
        assert_eq!(
            read_all(store.content_range(&file, 7..12).await.expect("range")).await,
            b"files"
        );

        let events = Events::new(db.conn().clone())
            .by_subject("file", &file.id.to_string(), None, 10)
            .await
            .expect("events");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].topic, "file.created");
        assert_eq!(events[0].actor_id.as_deref(), Some("tester"));
        assert_eq!(events[0].payload["checksum"], json!(file.checksum));
    }
);

plinth_db::db_test!(
    async fn a_large_file_streams_through_a_multipart_upload(db) {
        let store = store(&db).await;
        let content = data(20 * 1024 * 1024 + 3);
        let file = store
            .create(&ctx(), NewFile::new(DOCS, "big.bin"), stream_of(&content, 64 * 1024))
            .await
            .expect("create");
        assert_eq!(file.content_length, content.len() as i64);
        assert_eq!(file.content_type, sniff::OCTET_STREAM);
        assert_eq!(file.checksum, blake3::hash(&content).to_hex().to_string());
        let back = read_all(store.content(&file).await.expect("content")).await;
        assert!(back == content, "content round-trips");
    }
);

plinth_db::db_test!(
    async fn a_zero_length_file_is_stored(db) {
        let store = store(&db).await;
        let file = store
            .create(&ctx(), NewFile::new(DOCS, "empty"), stream_of(b"", 1))
            .await
            .expect("create");
        assert_eq!(file.content_length, 0);
        assert_eq!(file.content_type, sniff::OCTET_STREAM);
        assert_eq!(file.checksum, blake3::hash(b"").to_hex().to_string());
        assert_eq!(read_all(store.content(&file).await.expect("content")).await, b"");
        assert_eq!(read_all(store.content_range(&file, 0..0).await.expect("range")).await, b"");
    }
);

plinth_db::db_test!(
    async fn a_type_the_bucket_refuses_is_not_stored(db) {
        let store = store(&db).await;
        let refused = store
            .create(&ctx(), NewFile::new(IMAGES, "cat.png"), stream_of(b"not a picture at all", 4))
            .await;
        assert!(
            matches!(&refused, Err(Error::UnsupportedType { content_type, .. }) if content_type == sniff::TEXT),
            "{refused:?}"
        );
        let image = store
            .create(&ctx(), NewFile::new(IMAGES, "dot.txt"), stream_of(PNG, 3))
            .await
            .expect("an image whatever its name");
        assert_eq!(image.content_type, "image/png");
        assert_eq!(store.list(IMAGES, None, 10).await.expect("list"), std::slice::from_ref(&image));
        assert_eq!(keys(store.blobs(), key::FILES).await, [key::file(image.id)]);
    }
);

plinth_db::db_test!(
    async fn oversize_content_is_refused_while_streaming(db) {
        let store = store(&db).await;
        let exact = store
            .create(&ctx(), NewFile::new(TINY, "exact"), stream_of(&[b'a'; TINY_MAX as usize], 5))
            .await
            .expect("exactly the limit");
        let over = store
            .create(&ctx(), NewFile::new(TINY, "over"), stream_of(&[b'a'; TINY_MAX as usize + 1], 5))
            .await;
        assert!(matches!(over, Err(Error::TooLarge { limit: TINY_MAX })), "{over:?}");
        assert_eq!(store.list(TINY, None, 10).await.expect("list"), std::slice::from_ref(&exact));
        assert_eq!(keys(store.blobs(), key::FILES).await, [key::file(exact.id)]);

        let unknown = store.create(&ctx(), NewFile::new("nope", "x"), stream_of(b"x", 1)).await;
        assert!(matches!(unknown, Err(Error::UnknownBucket(_))), "{unknown:?}");
    }
);

plinth_db::db_test!(
    async fn a_broken_body_leaves_nothing(db) {
        let store = store(&db).await;
        let broken = store
            .create(&ctx(), NewFile::new(DOCS, "partial"), broken_stream(&data(PNG.len() * 1000)))
            .await;
        assert!(matches!(broken, Err(Error::Body(_))), "{broken:?}");
        assert!(store.list(DOCS, None, 10).await.expect("list").is_empty());
        assert!(keys(store.blobs(), key::FILES).await.is_empty());
    }
);

plinth_db::db_test!(
    async fn hostile_names_are_stored_clean_and_never_reach_keys(db) {
        let store = store(&db).await;
        for (raw, stored) in [
            ("../../etc/passwd", "....etcpasswd"),
            ("evil\0name.txt", "evilname.txt"),
            ("..\\..\\windows\\win.ini", "....windowswin.ini"),
            ("/", "unnamed"),
        ] {
            let file = store
                .create(&ctx(), NewFile::new(DOCS, raw), stream_of(b"x", 1))
                .await
                .expect("create");
            assert_eq!(file.name, stored);
            assert!(store.blobs().exists(&key::file(file.id)).await.expect("exists"));
        }
        let keys = keys(store.blobs(), key::FILES).await;
        assert_eq!(keys.len(), 4);
        assert!(keys.iter().all(|k| !k.contains("etc") && !k.contains("..")), "{keys:?}");
    }
);

plinth_db::db_test!(
    async fn files_are_renamed_listed_and_deleted(db) {
        let store = store(&db).await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let f = store
                .create(&ctx(), NewFile::new(DOCS, format!("f{i}")), stream_of(b"data", 2))
                .await
                .expect("create");
            ids.push(f.id);
        }
        let page = store.list(DOCS, Some(ids[0]), 10).await.expect("list");
        assert_eq!(page.iter().map(|f| f.id).collect::<Vec<_>>(), ids[1..]);
        assert_eq!(store.list(DOCS, None, 1).await.expect("list").len(), 1);

        let renamed = store
            .update(
                &ctx(),
                ids[0],
                FileUpdate {
                    name: Some("new/name".into()),
                    meta: Some(json!({"alt": "a picture"})),
                },
            )
            .await
            .expect("update");
        assert_eq!(renamed.name, "newname");
        assert_eq!(renamed.meta, json!({"alt": "a picture"}));
        assert!(renamed.updated_at >= renamed.created_at);
        let bad = store
            .update(
                &ctx(),
                ids[0],
                FileUpdate {
                    meta: Some(json!([1])),
                    ..FileUpdate::default()
                },
            )
            .await;
        assert!(matches!(bad, Err(Error::Invalid(_))), "{bad:?}");
        let nul = FileUpdate {
            meta: Some(json!({"nested": ["a\u{0}b"]})),
            ..FileUpdate::default()
        };
        let nul = store.update(&ctx(), ids[0], nul).await;
        assert!(matches!(nul, Err(Error::Invalid(_))), "{nul:?}");

        let deleted = store.delete(&ctx(), ids[0]).await.expect("delete");
        assert_eq!(deleted.id, ids[0]);
        assert!(matches!(store.get(ids[0]).await, Err(Error::Db(plinth_db::Error::NotFound(_)))));
        assert!(matches!(store.delete(&ctx(), ids[0]).await, Err(Error::Db(plinth_db::Error::NotFound(_)))));
        assert!(
            store.blobs().exists(&key::file(ids[0])).await.expect("exists"),
            "the blob waits for the sweep"
        );
        let topics: Vec<_> = Events::new(db.conn().clone())
            .by_subject("file", &ids[0].to_string(), None, 10)
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.topic)
            .collect();
        assert_eq!(topics, ["file.deleted", "file.updated", "file.created"]);
    }
);

plinth_db::db_test!(
    async fn migrations_go_down_and_up_again(db) {
        let store = store(&db).await;
        store
            .create(&ctx(), NewFile::new(DOCS, "x"), stream_of(b"x", 1))
            .await
            .expect("create");
        let migrators: [&dyn plinth_db::migrate::Migrator; 2] =
            [&plinth_events::Migrator, &plinth_file_store::Migrator];
        assert!(plinth_db::migrate::up(&db, &migrators).await.expect("up again").is_empty());
        let down = plinth_db::migrate::down(&db, &migrators, "files", 1).await.expect("down");
        assert_eq!(down.len(), 1);
        assert_eq!(plinth_db::migrate::up(&db, &migrators).await.expect("up").len(), 1);
        assert!(store.list(DOCS, None, 10).await.expect("list").is_empty());
    }
);

plinth_db::db_test!(
    async fn changes_racing_a_delete_find_the_file_gone(db) {
        let store = store(&db).await;
        let file = store
            .create(&ctx(), NewFile::new(DOCS, "doomed"), stream_of(b"doomed", 3))
            .await
            .expect("create");
        let attachment = store
            .attach(&ctx(), &Owner::new("post", 1), file.id)
            .await
            .expect("attach");
        // Another process deletes the file and its attachment; a rename, a
        // delete and a detach start meanwhile.
        let holder = hold(&db, "DELETE FROM files_file WHERE id = $1", [file.id]).await;
        let rename = {
            let store = store.clone();
            let change = FileUpdate {
                name: Some("renamed".into()),
                ..FileUpdate::default()
            };
            tokio::spawn(async move { store.update(&ctx(), file.id, change).await })
        };
        let delete = {
            let store = store.clone();
            tokio::spawn(async move { store.delete(&ctx(), file.id).await })
        };
        let detach = {
            let store = store.clone();
            tokio::spawn(async move { store.detach(&ctx(), attachment.id).await })
        };
        wait_for_waiters(&db, 3).await;
        holder.commit().await.expect("delete elsewhere");
        let renamed = rename.await.expect("join");
        assert!(matches!(renamed, Err(Error::Db(plinth_db::Error::NotFound(_)))), "{renamed:?}");
        let deleted = delete.await.expect("join");
        assert!(matches!(deleted, Err(Error::Db(plinth_db::Error::NotFound(_)))), "{deleted:?}");
        let detached = detach.await.expect("join");
        assert!(matches!(detached, Err(Error::Db(plinth_db::Error::NotFound(_)))), "{detached:?}");
        let topics: Vec<_> = Events::new(db.conn().clone())
            .by_subject("file", &file.id.to_string(), None, 10)
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.topic)
            .collect();
        assert_eq!(topics, ["file.attached", "file.created"], "nothing is recorded for a file that is gone");
    }
);

plinth_db::db_test!(
    async fn concurrent_deletes_of_one_file_record_it_once(db) {
        let store = store(&db).await;
        let file = store
            .create(&ctx(), NewFile::new(DOCS, "twice"), stream_of(b"twice", 3))
            .await
            .expect("create");
        let holder = hold(&db, "UPDATE files_file SET name = name WHERE id = $1", [file.id]).await;
        let deletes: Vec<_> = (0..2)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.delete(&ctx(), file.id).await })
            })
            .collect();
        wait_for_waiters(&db, 2).await;
        holder.commit().await.expect("release");
        let mut outcomes = Vec::new();
        for delete in deletes {
            outcomes.push(delete.await.expect("join"));
        }
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
        assert!(
            outcomes
                .iter()
                .any(|o| matches!(o, Err(Error::Db(plinth_db::Error::NotFound(_))))),
            "{outcomes:?}"
        );
        let topics: Vec<_> = Events::new(db.conn().clone())
            .by_subject("file", &file.id.to_string(), None, 10)
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.topic)
            .collect();
        assert_eq!(topics, ["file.deleted", "file.created"]);
    }
);

plinth_db::db_test!(
    async fn listing_a_malformed_bucket_name_is_invalid(db) {
        let store = store(&db).await;
        for bucket in ["do\u{0}cs", "Docs", ""] {
            let listed = store.list(bucket, None, 10).await;
            assert!(matches!(listed, Err(Error::Invalid(_))), "{bucket:?}: {listed:?}");
        }
        assert!(store.list("unconfigured", None, 10).await.expect("list").is_empty());
    }
);
