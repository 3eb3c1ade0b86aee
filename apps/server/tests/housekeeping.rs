//! Housekeeping runs as task-queue jobs: scheduling twice leaves one pending
//! job per chore, and the workers sweep orphaned blobs while keeping the
//! blobs of files and those inside the grace period.

use std::time::Duration;

use futures_util::stream;
use plinth_events::Context;
use plinth_file_store::{FileStore, FileStoreConfig, NewFile, key};
use plinth_server::config::HousekeepingConfig;
use plinth_server::housekeeping::{self, FILE_SWEEP, SESSION_CLEANUP};
use plinth_task_queue::{Created, Queue, TaskState};
use uuid::Uuid;

/// Tries of 100 ms each for the chores to finish.
const TRIES: u32 = 300;

async fn put_orphan(files: &FileStore) -> String {
    let key = key::file(Uuid::now_v7());
    files
        .blobs()
        .put(&key, "orphan".into())
        .await
        .expect("put orphan blob");
    key
}

plinth_db::db_test!(async fn chores_run_once_as_queue_jobs_and_sweep_only_orphans(db) {
    plinth_db::migrate::up(&db, &plinth_migrations::all()).await.expect("migrate");
    let config = plinth_server::Config::default();
    let auth = plinth_auth::Auth::new(db.conn().clone(), config.auth.clone()).await.expect("auth");
    let files = FileStore::with_blobs(db.conn().clone(), plinth_file_store::testing::blob_store(), &FileStoreConfig::default())
        .expect("file store");
    let queue = Queue::new(db.conn().clone(), config.queue.queue());

    let kept = files
        .create(&Context::default(), NewFile::new("default", "kept.txt"), stream::iter([Ok::<_, std::io::Error>("kept".into())]))
        .await
        .expect("a file");
    let old_orphan = put_orphan(&files).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let young_orphan = put_orphan(&files).await;

    let first = housekeeping::schedule(&queue).await.expect("schedule");
    let again = housekeeping::schedule(&queue).await.expect("schedule again");
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|e| e.created == Created::New), "{first:?}");
    assert_eq!(again.iter().map(|e| (e.id, e.created)).collect::<Vec<_>>(),
        first.iter().map(|e| (e.id, Created::Deduplicated)).collect::<Vec<_>>(),
        "a chore already pending is not enqueued twice");

    // Blobs older than one second are past the grace period.
    let chores = HousekeepingConfig { file_sweep_grace_secs: 1, ..HousekeepingConfig::default() };
    let workers = housekeeping::start_workers(&queue, auth, files.clone(), &chores, Duration::from_secs(1))
        .expect("workers");
    let mut done = Vec::new();
    for _ in 0..TRIES {
        done.clear();
        for enqueued in &first {
            let status = queue.status(enqueued.id).await.expect("status");
            if status.task.state == TaskState::Completed {
                done.push(status.task);
            }
        }
        if done.len() == first.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    workers.shutdown(Duration::from_secs(5)).await.expect("shutdown");
    assert_eq!(done.len(), 2, "both chores completed");
    let types: Vec<_> = done.iter().map(|t| t.task_type.as_str()).collect();
    assert!(types.contains(&SESSION_CLEANUP) && types.contains(&FILE_SWEEP), "{types:?}");
    let sweep = done.iter().find(|t| t.task_type == FILE_SWEEP).expect("sweep");
    assert_eq!(sweep.result.as_ref().and_then(|r| r["deleted_blobs"].as_u64()), Some(1), "{:?}", sweep.result);

    let blobs = files.blobs();
    assert!(!blobs.exists(&old_orphan).await.expect("exists"), "the old orphan is swept");
    assert!(blobs.exists(&young_orphan).await.expect("exists"), "a blob written moments ago survives");
    assert!(blobs.exists(&key::file(kept.id)).await.expect("exists"), "a file's blob survives");
});
