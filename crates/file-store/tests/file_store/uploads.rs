//! Resumable uploads: interrupted appends keep their bytes, offsets are
//! checked, and the last byte turns the upload into a file.

use bytes::Bytes;
use plinth_file_store::{BucketConfig, Error, FileStoreConfig, NewFile, NewUpload, key, sniff};
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use serde_json::json;
use uuid::Uuid;

use crate::common::*;

fn new_upload(bucket: &str, length: usize) -> NewUpload {
    NewUpload {
        bucket: bucket.to_owned(),
        name: "../upload.bin".to_owned(),
        meta: json!({"source": "test"}),
        length: length as u64,
    }
}

plinth_db::db_test!(
    async fn an_interrupted_upload_resumes_from_the_stored_offset(db) {
        let store = store(&db).await;
        let content = data(3 * 1024 * 1024 + 17);
        let upload = store.create_upload(&ctx(), new_upload(DOCS, content.len())).await.expect("create");
        assert_eq!((upload.offset(), upload.length()), (0, content.len() as u64));

        // The connection drops after the first MiB: what arrived is kept.
        let first = 1024 * 1024;
        let broken = store.append(&ctx(), upload.id, 0, broken_stream(&content[..first])).await;
        assert!(matches!(broken, Err(Error::Body(_))), "{broken:?}");
        let resumed = store.upload(upload.id).await.expect("upload");
        assert_eq!(resumed.offset(), first as u64);
        assert_eq!(resumed.part_list().len(), 1);
        assert!(resumed.file.is_none());
        assert!(store.list(DOCS, None, 10).await.expect("list").is_empty(), "no file before the end");

        // A client that lost track is told the real offset.
        let stale = store.append(&ctx(), upload.id, 0, stream_of(&content, 1000)).await;
        assert!(
            matches!(stale, Err(Error::OffsetMismatch { expected, given: 0 }) if expected == first as u64),
            "{stale:?}"
        );

        let middle = 2 * 1024 * 1024;
        let upload = store
            .append(&ctx(), upload.id, first as u64, stream_of(&content[first..middle], 50_000))
            .await
            .expect("append");
        assert_eq!(upload.offset(), middle as u64);
        let done = store
            .append(&ctx(), upload.id, middle as u64, stream_of(&content[middle..], 50_000))
            .await
            .expect("last append");
        let file = store.upload_file(&done).await.expect("file").expect("complete");
        assert_eq!(file.name, "..upload.bin");
        assert_eq!(file.meta, json!({"source": "test"}));
        assert_eq!(file.content_length, content.len() as i64);
        assert_eq!(file.checksum, blake3::hash(&content).to_hex().to_string());
        assert!(read_all(store.content(&file).await.expect("content")).await == content);
        assert!(keys(store.blobs(), key::UPLOADS).await.is_empty(), "parts are removed");

        // Asking again after completion answers with the same file.
        let again = store
            .append(&ctx(), upload.id, content.len() as u64, stream_of(b"", 1))
            .await
            .expect("append at the end");
        assert_eq!(again.file, Some(file.id));
        assert_eq!(store.upload(upload.id).await.expect("upload").file, Some(file.id));
    }
);

plinth_db::db_test!(
    async fn a_zero_length_upload_is_complete_at_once(db) {
        let store = store(&db).await;
        let upload = store.create_upload(&ctx(), new_upload(DOCS, 0)).await.expect("create");
        let file = store.upload_file(&upload).await.expect("file").expect("complete");
        assert_eq!(file.content_length, 0);
        assert_eq!(file.content_type, sniff::OCTET_STREAM);
    }
);

plinth_db::db_test!(
    async fn upload_limits_and_types_are_enforced(db) {
        let store = store(&db).await;
        let too_long = store.create_upload(&ctx(), new_upload(TINY, TINY_MAX as usize + 1)).await;
        assert!(matches!(too_long, Err(Error::TooLarge { .. })), "{too_long:?}");
        let unknown = store.create_upload(&ctx(), new_upload("nope", 1)).await;
        assert!(matches!(unknown, Err(Error::UnknownBucket(_))), "{unknown:?}");

        let upload = store.create_upload(&ctx(), new_upload(TINY, 4)).await.expect("create");
        let over = store.append(&ctx(), upload.id, 0, stream_of(b"12345", 2)).await;
        assert!(matches!(over, Err(Error::TooLarge { .. })), "{over:?}");
        assert_eq!(store.upload(upload.id).await.expect("upload").offset(), 0);

        // Enough bytes to sniff at once: refused before anything is stored.
        let text = "plain text, not an image ".repeat(400);
        let upload = store.create_upload(&ctx(), new_upload(IMAGES, text.len() + 10)).await.expect("create");
        let early = store.append(&ctx(), upload.id, 0, stream_of(text.as_bytes(), 4096)).await;
        assert!(matches!(early, Err(Error::UnsupportedType { .. })), "{early:?}");
        assert!(keys(store.blobs(), key::UPLOADS).await.is_empty());

        // Too few bytes to tell: refused on completion, and the upload ends.
        let upload = store.create_upload(&ctx(), new_upload(IMAGES, 10)).await.expect("create");
        store.append(&ctx(), upload.id, 0, stream_of(b"hello", 5)).await.expect("first half");
        let late = store.append(&ctx(), upload.id, 5, stream_of(b"world", 5)).await;
        assert!(matches!(late, Err(Error::UnsupportedType { .. })), "{late:?}");
        assert!(matches!(store.upload(upload.id).await, Err(Error::Db(plinth_db::Error::NotFound(_)))));

        // An image in pieces smaller than the sniffing window is accepted.
        let upload = store.create_upload(&ctx(), new_upload(IMAGES, PNG.len())).await.expect("create");
        store.append(&ctx(), upload.id, 0, stream_of(&PNG[..10], 3)).await.expect("first");
        let done = store.append(&ctx(), upload.id, 10, stream_of(&PNG[10..], 7)).await.expect("rest");
        let file = store.upload_file(&done).await.expect("file").expect("complete");
        assert_eq!(file.content_type, "image/png");
    }
);

plinth_db::db_test!(
    async fn a_cancelled_upload_is_gone(db) {
        let store = store(&db).await;
        let upload = store.create_upload(&ctx(), new_upload(DOCS, 10)).await.expect("create");
        store.append(&ctx(), upload.id, 0, stream_of(b"abc", 3)).await.expect("append");
        store.cancel_upload(upload.id).await.expect("cancel");
        assert!(store.upload(upload.id).await.is_err());
        assert!(store.cancel_upload(upload.id).await.is_err());
        let report = store.sweep(std::time::Duration::ZERO).await.expect("sweep");
        assert_eq!(report.deleted_blobs, 1, "the part goes with the sweep");
    }
);

plinth_db::db_test!(
    async fn an_upload_lifetime_beyond_any_time_keeps_uploads_until_the_latest_time(db) {
        let config = FileStoreConfig { upload_ttl_secs: u64::MAX, ..config() };
        let store = store_with(&db, plinth_file_store::testing::blob_store(), &config).await;
        let upload = store.create_upload(&ctx(), new_upload(DOCS, 6)).await.expect("create");
        assert_eq!(upload.expires_at.year(), 9999);
        let appended = store.append(&ctx(), upload.id, 0, stream_of(b"abc", 3)).await.expect("append");
        assert_eq!(appended.expires_at.year(), 9999);
        let stored = store.upload(upload.id).await.expect("not expired");
        assert_eq!(stored.upload_offset, 3);
        let report = store.sweep(std::time::Duration::ZERO).await.expect("sweep");
        assert_eq!(report.expired_uploads, 0);
    }
);

plinth_db::db_test!(
    async fn an_upload_takes_at_most_its_configured_number_of_appends(db) {
        let config = FileStoreConfig { max_upload_parts: 3, ..config() };
        let store = store_with(&db, plinth_file_store::testing::blob_store(), &config).await;
        let content = b"abcdefgh";
        let upload = store.create_upload(&ctx(), new_upload(DOCS, content.len())).await.expect("create");
        for offset in 0..3 {
            store
                .append(&ctx(), upload.id, offset, stream_of(&content[offset as usize..=offset as usize], 1))
                .await
                .expect("append");
        }
        let refused = store.append(&ctx(), upload.id, 3, stream_of(&content[3..], 5)).await;
        assert!(matches!(&refused, Err(Error::Invalid(m)) if m.contains("3 parts")), "{refused:?}");
        let kept = store.upload(upload.id).await.expect("upload");
        assert_eq!((kept.offset(), kept.part_list().len()), (3, 3), "the refused append changed nothing");
        assert!(store.list(DOCS, None, 10).await.expect("list").is_empty());

        // Within the limit, the same content completes.
        let upload = store.create_upload(&ctx(), new_upload(DOCS, content.len())).await.expect("create");
        store.append(&ctx(), upload.id, 0, stream_of(&content[..4], 2)).await.expect("append");
        let done = store.append(&ctx(), upload.id, 4, stream_of(&content[4..], 2)).await.expect("last append");
        assert!(store.upload_file(&done).await.expect("file").is_some());
    }
);

plinth_db::db_test!(
    async fn a_length_beyond_what_can_be_stored_is_refused_naming_the_real_limit(db) {
        let mut config = config();
        let unbounded = BucketConfig {
            max_size: u64::MAX,
            ..BucketConfig::default()
        };
        config.buckets.insert("unbounded".into(), unbounded);
        let store = store_with(&db, plinth_file_store::testing::blob_store(), &config).await;
        let limit = i64::MAX.unsigned_abs();
        let huge = store.create_upload(&ctx(), new_upload("unbounded", usize::MAX)).await;
        assert!(matches!(huge, Err(Error::TooLarge { limit: l }) if l == limit), "{huge:?}");
        let largest = store
            .create_upload(&ctx(), NewUpload { length: limit, ..new_upload("unbounded", 0) })
            .await
            .expect("the largest storable length");
        assert_eq!(largest.length(), limit);
    }
);

plinth_db::db_test!(
    async fn the_upload_of_a_deleted_file_is_gone_with_it(db) {
        let store = store(&db).await;
        for content in [&b""[..], b"hello"] {
            let upload = store.create_upload(&ctx(), new_upload(DOCS, content.len())).await.expect("create");
            let done = store
                .append(&ctx(), upload.id, 0, stream_of(content, 2))
                .await
                .expect("append");
            let file = done.file.expect("complete");
            store.delete(&ctx(), file).await.expect("delete the file");

            let after = store.upload(upload.id).await;
            assert!(matches!(after, Err(Error::Db(plinth_db::Error::NotFound(_)))), "{after:?}");
            let resumed = store
                .append(&ctx(), upload.id, content.len() as u64, stream_of(b"", 1))
                .await;
            assert!(matches!(resumed, Err(Error::Db(plinth_db::Error::NotFound(_)))), "{resumed:?}");
        }
        assert!(store.list(DOCS, None, 10).await.expect("list").is_empty(), "no file comes back");
    }
);

plinth_db::db_test!(
    async fn a_part_that_cannot_be_read_is_not_blamed_on_the_client(db) {
        let store = store(&db).await;
        let upload = store.create_upload(&ctx(), new_upload(DOCS, 10)).await.expect("create");
        let upload = store.append(&ctx(), upload.id, 0, stream_of(b"12345", 5)).await.expect("append");
        // The stored part is lost, e.g. to a completion that ran at the same time.
        store.blobs().delete(&upload.part_list()[0].key).await.expect("lose the part");
        let done = store.append(&ctx(), upload.id, 5, stream_of(b"67890", 5)).await;
        assert!(matches!(done, Err(Error::NotFound(_))), "{done:?}");
        assert!(store.list(DOCS, None, 10).await.expect("list").is_empty());
    }
);

plinth_db::db_test!(
    async fn a_completion_that_loses_to_a_concurrent_one_answers_with_its_file(db) {
        let store = store(&db).await;
        // An upload whose last byte arrived but whose completion was interrupted.
        let upload = store.create_upload(&ctx(), new_upload(DOCS, 5)).await.expect("create");
        let part = key::part(upload.id, 0, Uuid::now_v7());
        store.blobs().put(&part, Bytes::from_static(b"hello")).await.expect("part");
        let mut row = upload.clone().into_active_model();
        row.upload_offset = Set(5);
        row.parts = Set(json!([{"key": part, "size": 5}]));
        row.update(db.conn()).await.expect("received");

        // Another completion of it is committing; this one starts meanwhile.
        let winner = store
            .create(&ctx(), NewFile::new(DOCS, "winner"), stream_of(b"hello", 5))
            .await
            .expect("the other completion's file");
        let holder = hold(&db, "UPDATE files_upload SET file = $1 WHERE id = $2", [winner.id, upload.id]).await;
        let ctx = ctx();
        let retry = store.append(&ctx, upload.id, 5, stream_of(b"", 1));
        let commit = async {
            wait_for_waiters(&db, 1).await;
            holder.commit().await.expect("the other completion commits");
        };
        let (retried, ()) = tokio::join!(retry, commit);
        let retried = retried.expect("the upload is complete");
        assert_eq!(retried.file, Some(winner.id));
        let files = store.list(DOCS, None, 10).await.expect("list");
        assert_eq!(files.iter().map(|f| f.id).collect::<Vec<_>>(), [winner.id], "the loser keeps no file");
    }
);

plinth_db::db_test!(
    async fn uploads_can_be_driven_from_spawned_tasks(db) {
        let store = store(&db).await;
        let upload = {
            let store = store.clone();
            tokio::spawn(async move { store.create_upload(&ctx(), new_upload(DOCS, 5)).await })
        };
        let upload = upload.await.expect("join").expect("create");
        let done = {
            let store = store.clone();
            tokio::spawn(async move { store.append(&ctx(), upload.id, 0, stream_of(b"hello", 2)).await })
        };
        let done = done.await.expect("join").expect("append");
        let file = store.upload_file(&done).await.expect("file").expect("complete");
        assert_eq!(read_all(store.content(&file).await.expect("content")).await, b"hello");
        let direct = {
            let store = store.clone();
            tokio::spawn(async move { store.create(&ctx(), NewFile::new(DOCS, "direct"), stream_of(b"hi", 1)).await })
        };
        assert_eq!(direct.await.expect("join").expect("create").content_length, 2);
    }
);
