//! Storing handler outcomes: batched into one transaction per flush, and the
//! release of runs left unfinished at shutdown.

use std::sync::Arc;
use std::time::Duration;

use plinth_events::Context;
use tokio::sync::{Semaphore, mpsc};
use uuid::Uuid;

use super::{Flight, Message, Shared};
use crate::report::BadResult;
use crate::resolve::Resolved;
use crate::state::Reason;
use crate::{Outcome, Report, Result};

/// Attempts to store a batch before giving up on it (its leases then expire
/// and the tasks are retried).
const ATTEMPTS: u32 = 5;

/// Flushes that may run at once: while one waits on the database the next
/// batch is already on its way.
const FLUSHES: u32 = 3;

/// Receives outcomes and stores them: whatever has queued up goes in the
/// next flush, up to the batch size, with up to [`FLUSHES`] flushes at once.
pub(super) async fn run(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Message>) {
    let max = shared.options.completion_batch.max(1);
    let slots = Arc::new(Semaphore::new(FLUSHES as usize));
    while let Some(message) = rx.recv().await {
        let mut batch = Vec::with_capacity(max);
        let mut flushed = None;
        match message {
            Message::Done(report) => batch.push(report),
            Message::Flush(done) => flushed = Some(done),
        }
        while flushed.is_none() && batch.len() < max {
            match rx.try_recv() {
                Ok(Message::Done(report)) => batch.push(report),
                Ok(Message::Flush(done)) => flushed = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                store(&shared, batch).await;
                drop(slot);
            });
        }
        if let Some(done) = flushed {
            let _ = slots.acquire_many(FLUSHES).await;
            let _ = done.send(());
        }
    }
}

fn context(shared: &Shared) -> Context {
    Context::actor("worker", shared.options.worker.worker_id.clone())
}

/// Stores a batch, retrying with backoff on database errors.
async fn store(shared: &Shared, batch: Vec<Report>) {
    let mut wait = Duration::from_millis(50);
    for attempt in 1..=ATTEMPTS {
        match shared
            .queue
            .report_as::<Resolved>(&context(shared), batch.clone(), BadResult::FailTask)
            .await
        {
            Ok(stored) => {
                let lost = stored.iter().filter(|t| t.is_none()).count();
                if lost > 0 {
                    tracing::debug!(lost, "runs were no longer held when their outcome arrived");
                }
                return;
            }
            Err(error) if attempt < ATTEMPTS => {
                tracing::warn!(%error, attempt, "storing completions failed; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(error) => {
                tracing::error!(%error, tasks = batch.len(), "storing completions failed; leases will expire");
            }
        }
    }
}

/// Releases runs stopped at shutdown: exception/worker-shutdown, which
/// retries at once where retries remain.
pub(super) async fn release(shared: &Shared, unfinished: Vec<(Uuid, Flight)>) -> Result<()> {
    if unfinished.is_empty() {
        return Ok(());
    }
    let reports = unfinished
        .into_iter()
        .map(|(task_id, flight)| Report {
            task_id,
            run_id: flight.run_id,
            worker: shared.options.worker.clone(),
            outcome: Outcome::Exception {
                reason: Reason::WorkerShutdown,
                error: Some("the worker shut down before the handler finished".into()),
            },
        })
        .collect();
    shared
        .queue
        .report_as::<Resolved>(&context(shared), reports, BadResult::FailTask)
        .await?;
    Ok(())
}
