//! Periodic upkeep while serving, run as task-queue jobs: deleting dead
//! sessions and tokens, and sweeping blobs no file references. A scheduler
//! enqueues one job per chore each pass under a unique key, so however many
//! server processes run, each chore is pending at most once; in-process
//! workers on [`QUEUE`] run them.

use std::time::Duration;

use plinth_auth::Auth;
use plinth_events::Context;
use plinth_file_store::FileStore;
use plinth_task_queue::worker::{Job, JobResult, RunningWorkers, WorkerOptions, Workers};
use plinth_task_queue::{Enqueued, NewTask, Queue};
use serde_json::json;
use time::OffsetDateTime;

use crate::config::HousekeepingConfig;

/// The queue the chores run on.
pub const QUEUE: &str = "plinth/housekeeping";
/// Task type: delete expired and revoked sessions and tokens past retention.
pub const SESSION_CLEANUP: &str = "sessions.cleanup";
/// Task type: delete blobs no file or upload references, past the grace period.
pub const FILE_SWEEP: &str = "files.sweep";

/// Starts the in-process workers that run the chores, with the queue's
/// maintenance loop every `maintenance`.
pub fn start_workers(
    queue: &Queue,
    auth: Auth,
    files: FileStore,
    config: &HousekeepingConfig,
    maintenance: Duration,
) -> plinth_task_queue::Result<RunningWorkers> {
    let grace = Duration::from_secs(config.file_sweep_grace_secs);
    Workers::new(queue)
        .queue(QUEUE, 1)
        .handle(SESSION_CLEANUP, move |_: Job| cleanup_sessions(auth.clone()))
        .handle(FILE_SWEEP, move |_: Job| sweep_files(files.clone(), grace))
        .options(WorkerOptions {
            maintenance: Some(maintenance.max(Duration::from_millis(100))),
            ..WorkerOptions::default()
        })
        .start()
}

async fn cleanup_sessions(auth: Auth) -> JobResult {
    let report = auth.sessions().cleanup(OffsetDateTime::now_utc()).await?;
    tracing::info!(
        sessions = report.sessions,
        tokens = report.tokens,
        "session cleanup"
    );
    Ok(json!({ "sessions": report.sessions, "tokens": report.tokens }))
}

async fn sweep_files(files: FileStore, grace: Duration) -> JobResult {
    let report = files.sweep(grace).await?;
    tracing::info!(?report, "file sweep");
    Ok(json!({
        "expired_uploads": report.expired_uploads,
        "deleted_blobs": report.deleted_blobs,
    }))
}

/// Enqueues every chore: one pending job each, whoever asks. Returns the
/// task that stands for each chore, new or already pending.
pub async fn schedule(queue: &Queue) -> plinth_task_queue::Result<Vec<Enqueued>> {
    let ctx = Context::actor("system", "housekeeping");
    let chores = [SESSION_CLEANUP, FILE_SWEEP].map(|chore| {
        let mut task = NewTask::new(QUEUE, chore, json!({}));
        task.unique_key = Some(chore.to_owned());
        task.record_events = false;
        task
    });
    queue.create_many(&ctx, chores.into()).await
}

/// Spawns the scheduler: one pass shortly after start, then every `every`.
pub fn spawn_scheduler(queue: Queue, every: Duration) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        loop {
            tick.tick().await;
            if let Err(e) = schedule(&queue).await {
                tracing::warn!(error = %e, "cannot schedule housekeeping; retrying next pass");
            }
        }
    })
}
