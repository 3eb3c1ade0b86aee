//! The claim loop of one queue and the task that runs each claimed job.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use uuid::Uuid;

use super::{Job, Message, Shared};
use crate::state::Reason;
use crate::{Claim, Outcome, Report, Task};

/// Wait after a failed claim before trying again.
const CLAIM_RETRY: Duration = Duration::from_millis(500);

/// Claims from `queue` into a local buffer and starts handlers as slots
/// free up, until the workers stop; then returns the buffered, unstarted
/// tasks to the queue.
pub(super) async fn run(shared: Arc<Shared>, queue: String, concurrency: usize) {
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut stop = shared.stop.subscribe();
    let mut fetcher = Fetcher {
        wake: shared.queue.wakers().subscribe(&queue),
        types: shared.handlers.keys().cloned().collect(),
        poll: shared
            .options
            .poll_interval
            .unwrap_or(shared.queue.config().poll_interval),
        capacity: concurrency + shared.options.prefetch,
        threshold: (shared.options.prefetch / 2).max(1),
        buffer: VecDeque::new(),
        quiet_until: None,
        came_short: false,
        shared: Arc::clone(&shared),
        queue,
    };
    loop {
        if *stop.borrow() {
            break;
        }
        let running = concurrency - slots.available_permits();
        let want = fetcher.capacity.saturating_sub(fetcher.buffer.len() + running);
        if want >= fetcher.threshold && fetcher.may_claim() {
            fetcher.claim(want).await;
        }
        while !fetcher.buffer.is_empty() {
            let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                break;
            };
            if let Some(task) = fetcher.buffer.pop_front() {
                start(&shared, task, permit);
            }
        }
        if fetcher.came_short {
            fetcher.quiet().await;
        }
        let busy = !fetcher.buffer.is_empty() || want < fetcher.threshold;
        if busy {
            tokio::select! {
                permit = Arc::clone(&slots).acquire_owned() => drop(permit),
                _ = stop.changed() => {}
            }
        } else {
            let until = fetcher.quiet_until.unwrap_or_else(Instant::now);
            tokio::select! {
                _ = fetcher.wake.changed() => fetcher.quiet_until = None,
                _ = stop.changed() => {}
                () = tokio::time::sleep_until(until.into()) => {}
            }
        }
    }
    fetcher.give_back().await;
}

/// The claiming state of one queue.
struct Fetcher {
    shared: Arc<Shared>,
    queue: String,
    wake: watch::Receiver<u64>,
    types: Vec<String>,
    poll: Duration,
    /// Most tasks held at once: running plus buffered.
    capacity: usize,
    /// Claim only when at least this many tasks are wanted.
    threshold: usize,
    /// Claimed tasks waiting for a slot, in claim order.
    buffer: VecDeque<Task>,
    /// After a claim came back short: no claim before this time unless woken.
    quiet_until: Option<Instant>,
    /// The last claim came back short and [`quiet_until`](Self::quiet_until) is still to be set.
    came_short: bool,
}

impl Fetcher {
    fn may_claim(&self) -> bool {
        match self.quiet_until {
            None => true,
            Some(until) => Instant::now() >= until || self.wake.has_changed().unwrap_or(false),
        }
    }

    /// Claims up to `want` tasks into the buffer, noting whether fewer came
    /// than were wanted.
    async fn claim(&mut self, want: usize) {
        self.wake.borrow_and_update();
        let claim = Claim {
            queue: self.queue.clone(),
            worker: self.shared.options.worker.clone(),
            count: want,
            lease: Some(self.shared.options.lease),
            task_types: self.types.clone(),
        };
        match self.shared.queue.claim(&claim).await {
            Ok(tasks) => {
                self.came_short = tasks.len() < want.min(crate::claim::MAX_CLAIM);
                self.shared.hold(&tasks);
                self.buffer.extend(tasks);
                self.quiet_until = None;
            }
            Err(error) => {
                tracing::warn!(%error, queue = self.queue, "claim failed; retrying");
                self.quiet_until = Some(Instant::now() + CLAIM_RETRY);
            }
        }
    }

    /// After a short claim (its tasks already started): stays quiet until
    /// woken, until the next task is due, or for the poll interval.
    async fn quiet(&mut self) {
        self.came_short = false;
        let wait = match self.shared.queue.next_run_at(&self.queue, &self.types).await {
            Ok(Some(delay)) => delay.min(self.poll),
            _ => self.poll,
        };
        self.quiet_until = Some(crate::clock::instant_after(Instant::now(), wait));
    }

    /// Returns buffered tasks to the queue without counting an attempt.
    async fn give_back(&mut self) {
        let ids: Vec<Uuid> = self.buffer.drain(..).map(|t| t.id).collect();
        if ids.is_empty() {
            return;
        }
        {
            let mut flights = self.shared.flights();
            for id in &ids {
                flights.remove(id);
            }
        }
        if let Err(error) = self.shared.queue.unclaim(&self.shared.options.worker, &ids).await {
            tracing::warn!(%error, "returning unstarted tasks failed; their leases will expire");
        }
    }
}

/// Spawns the handler of `task`, unless its lease was lost while it waited.
fn start(shared: &Arc<Shared>, task: Task, permit: OwnedSemaphorePermit) {
    let mut flights = shared.flights();
    let Some(flight) = flights.get_mut(&task.id) else {
        return;
    };
    let handle = tokio::spawn(execute(Arc::clone(shared), task, permit));
    flight.abort = Some(handle.abort_handle());
}

/// Runs the handler with its timeout, catching panics, and hands the outcome to the completer.
async fn execute(shared: Arc<Shared>, task: Task, permit: OwnedSemaphorePermit) {
    let timeout = task
        .timeout_ms
        .and_then(|ms| u64::try_from(ms).ok())
        .map(Duration::from_millis)
        .or(shared.options.timeout);
    let outcome = match shared.handlers.get(&task.task_type) {
        Some(handler) => {
            let job = Job::new(task.clone());
            let called = std::panic::catch_unwind(AssertUnwindSafe(|| handler.call(job)));
            match called {
                Ok(future) => {
                    let guarded = AssertUnwindSafe(future).catch_unwind();
                    let finished = match timeout {
                        Some(limit) => tokio::time::timeout(limit, guarded).await.ok(),
                        None => Some(guarded.await),
                    };
                    match finished {
                        Some(Ok(Ok(value))) => Outcome::Completed {
                            result: (!value.is_null()).then_some(value),
                        },
                        Some(Ok(Err(error))) => error.outcome(),
                        Some(Err(panic)) => panicked(panic.as_ref()),
                        None => Outcome::Failed {
                            error: format!("handler timed out after {timeout:?}"),
                            retry: true,
                        },
                    }
                }
                Err(panic) => panicked(panic.as_ref()),
            }
        }
        None => Outcome::Exception {
            reason: Reason::InternalError,
            error: Some(format!("no handler for task type `{}`", task.task_type)),
        },
    };
    drop(permit);
    shared.landed(task.id);
    let report = Report {
        task_id: task.id,
        run_id: task.run_id.unwrap_or(0),
        worker: shared.options.worker.clone(),
        outcome,
    };
    if shared.completions.send(Message::Done(report)).is_err() {
        tracing::warn!("completer is gone; the lease will expire and the task be retried");
    }
}

/// exception/internal-error with the panic message.
fn panicked(panic: &(dyn std::any::Any + Send)) -> Outcome {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "handler panicked".to_owned());
    Outcome::Exception {
        reason: Reason::InternalError,
        error: Some(format!("panic: {message}")),
    }
}
