//! The sweep removes unreferenced blobs, but never one with a row or one
//! written within the grace period.

use std::time::Duration;

use bytes::Bytes;
use plinth_file_store::entity::upload;
use plinth_file_store::{NewFile, NewUpload, key};
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use serde_json::json;
use uuid::Uuid;

use crate::common::*;

const HOUR: Duration = Duration::from_secs(3600);

plinth_db::db_test!(
    async fn the_sweep_keeps_referenced_and_recent_blobs(db) {
        let store = store(&db).await;
        let kept = store
            .create(&ctx(), NewFile::new(DOCS, "kept"), stream_of(b"kept", 4))
            .await
            .expect("file");
        let deleted = store
            .create(&ctx(), NewFile::new(DOCS, "deleted"), stream_of(b"deleted", 4))
            .await
            .expect("file");
        store.delete(&ctx(), deleted.id).await.expect("delete");
        let orphan = key::file(Uuid::now_v7());
        store.blobs().put(&orphan, Bytes::from_static(b"orphan")).await.expect("orphan");
        let foreign = "chunks/aa/bb/not-ours";
        store.blobs().put(foreign, Bytes::from_static(b"chunk")).await.expect("foreign");

        // Everything was written moments ago: nothing unreferenced is old enough.
        let report = store.sweep(HOUR).await.expect("sweep");
        assert_eq!((report.deleted_blobs, report.kept_recent), (0, 2));
        for k in [&key::file(kept.id), &key::file(deleted.id), &orphan] {
            assert!(store.blobs().exists(k).await.expect("exists"), "{k} survives the grace period");
        }

        tokio::time::sleep(Duration::from_millis(20)).await;
        let report = store.sweep(Duration::from_millis(10)).await.expect("sweep");
        assert_eq!((report.deleted_blobs, report.kept_recent), (2, 0));
        assert!(store.blobs().exists(&key::file(kept.id)).await.expect("exists"), "a blob with a row stays");
        assert!(!store.blobs().exists(&key::file(deleted.id)).await.expect("exists"));
        assert!(!store.blobs().exists(&orphan).await.expect("exists"));
        assert!(store.blobs().exists(foreign).await.expect("exists"), "other prefixes are not swept");
        assert_eq!(read_all(store.content(&kept).await.expect("content")).await, b"kept");
    }
);

plinth_db::db_test!(
    async fn the_sweep_keeps_parts_of_live_uploads_and_ends_expired_ones(db) {
        let store = store(&db).await;
        let new = |length| NewUpload {
            bucket: DOCS.into(),
            name: "u".into(),
            meta: json!({}),
            length,
        };
        let live = store.create_upload(&ctx(), new(10)).await.expect("live");
        store.append(&ctx(), live.id, 0, stream_of(b"12345", 5)).await.expect("append");
        let stale = store.create_upload(&ctx(), new(10)).await.expect("stale");
        let stale = store.append(&ctx(), stale.id, 0, stream_of(b"12", 2)).await.expect("append");
        let mut expired = stale.clone().into_active_model();
        expired.expires_at = Set(time::OffsetDateTime::now_utc() - time::Duration::seconds(1));
        let _: upload::Model = expired.update(db.conn()).await.expect("expire");

        tokio::time::sleep(Duration::from_millis(20)).await;
        let report = store.sweep(Duration::from_millis(10)).await.expect("sweep");
        assert_eq!((report.expired_uploads, report.deleted_blobs), (1, 1));
        assert!(store.upload(stale.id).await.is_err());
        let live = store.upload(live.id).await.expect("live upload");
        assert_eq!(keys(store.blobs(), key::UPLOADS).await, [live.part_list()[0].key.clone()]);
        let done = store.append(&ctx(), live.id, 5, stream_of(b"67890", 5)).await.expect("finish");
        let file = store.upload_file(&done).await.expect("file").expect("complete");
        assert_eq!(read_all(store.content(&file).await.expect("content")).await, b"1234567890");
    }
);

plinth_db::db_test!(
    async fn a_grace_period_beyond_any_time_keeps_every_blob(db) {
        let store = store(&db).await;
        let orphan = key::file(Uuid::now_v7());
        store.blobs().put(&orphan, Bytes::from_static(b"orphan")).await.expect("orphan");
        let report = store.sweep(Duration::MAX).await.expect("sweep");
        assert_eq!((report.deleted_blobs, report.kept_recent), (0, 1));
        assert!(store.blobs().exists(&orphan).await.expect("exists"));
    }
);
