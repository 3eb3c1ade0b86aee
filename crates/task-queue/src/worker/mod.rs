//! In-process workers: async handlers per task type, a concurrency limit
//! per queue, leases renewed while handlers run, timeouts, panics recorded,
//! completions batched, and a graceful shutdown that releases unfinished work.

mod complete;
mod fetch;
mod heartbeat;
mod job;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinHandle};
use uuid::Uuid;

pub use job::{Handler, HandlerFuture, Job, JobError, JobResult};

use crate::maintenance::Maintenance;
use crate::{Error, Queue, Result, WorkerRef, validate};

/// How in-process workers behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerOptions {
    /// The identity leases are held under; unique per process by default.
    pub worker: WorkerRef,
    /// Lease length; renewed every [`heartbeat`](Self::heartbeat) while a handler runs.
    pub lease: Duration,
    /// How often leases of running handlers are renewed.
    pub heartbeat: Duration,
    /// Timeout of handlers whose task sets none; `None` for no limit.
    pub timeout: Option<Duration>,
    /// Longest wait for work without a wake-up; the queue's poll interval when `None`.
    pub poll_interval: Option<Duration>,
    /// Tasks claimed ahead of free slots and held in a local buffer (their
    /// leases renewed like running ones): fewer, larger claims for
    /// high-throughput queues. 0 claims only for free slots.
    pub prefetch: usize,
    /// Most completions stored in one transaction.
    pub completion_batch: usize,
    /// Interval of the maintenance loop (expired leases, deadlines,
    /// retention) run with the workers; `None` to run it elsewhere.
    pub maintenance: Option<Duration>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            worker: WorkerRef::new("in-process", Uuid::now_v7().simple().to_string()),
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            timeout: None,
            poll_interval: None,
            prefetch: 0,
            completion_batch: 1_000,
            maintenance: Some(Duration::from_secs(1)),
        }
    }
}

/// A set of in-process workers being configured: handlers and queues.
pub struct Workers {
    queue: Queue,
    handlers: HashMap<String, Arc<dyn Handler>>,
    queues: Vec<(String, usize)>,
    options: WorkerOptions,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .field("queues", &self.queues)
            .field("options", &self.options)
            .finish()
    }
}

impl Workers {
    /// Workers for `queue` with default options and nothing registered yet.
    pub fn new(queue: &Queue) -> Self {
        Self {
            queue: queue.clone(),
            handlers: HashMap::new(),
            queues: Vec::new(),
            options: WorkerOptions::default(),
        }
    }

    /// Runs `handler` for tasks of `task_type`.
    pub fn handle(mut self, task_type: impl Into<String>, handler: impl Handler) -> Self {
        self.handlers.insert(task_type.into(), Arc::new(handler));
        self
    }

    /// Works on `queue`, running at most `concurrency` handlers at once.
    pub fn queue(mut self, queue: impl Into<String>, concurrency: usize) -> Self {
        self.queues.push((queue.into(), concurrency.max(1)));
        self
    }

    /// Replaces the options.
    pub fn options(mut self, options: WorkerOptions) -> Self {
        self.options = options;
        self
    }

    /// Starts claiming on every queue; needs a Tokio runtime.
    pub fn start(self) -> Result<RunningWorkers> {
        self.options.worker.validate()?;
        if self.handlers.is_empty() || self.queues.is_empty() {
            return Err(Error::Invalid(
                "workers need at least one handler and one queue".into(),
            ));
        }
        for task_type in self.handlers.keys() {
            validate::task_type(task_type)?;
        }
        for (queue, _) in &self.queues {
            validate::queue_name(queue)?;
        }
        self.queue.ensure_listener();
        let (stop, _) = watch::channel(false);
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: self.queue.clone(),
            handlers: self.handlers,
            options: self.options,
            in_flight: Mutex::new(HashMap::new()),
            idle: Notify::new(),
            stop,
            completions: tx,
        });
        let fetchers = self
            .queues
            .into_iter()
            .map(|(queue, concurrency)| tokio::spawn(fetch::run(Arc::clone(&shared), queue, concurrency)))
            .collect();
        let completer = tokio::spawn(complete::run(Arc::clone(&shared), rx));
        let heartbeat = tokio::spawn(heartbeat::run(Arc::clone(&shared)));
        let maintenance = shared
            .options
            .maintenance
            .map(|every| self.queue.spawn_maintenance(every));
        Ok(RunningWorkers {
            shared,
            fetchers,
            completer,
            heartbeat,
            maintenance,
        })
    }
}

/// Workers that are running; call [`shutdown`](Self::shutdown) to stop them.
#[derive(Debug)]
pub struct RunningWorkers {
    shared: Arc<Shared>,
    fetchers: Vec<JoinHandle<()>>,
    completer: JoinHandle<()>,
    heartbeat: JoinHandle<()>,
    maintenance: Option<Maintenance>,
}

/// What a shutdown did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ShutdownReport {
    /// Handlers still running when the grace period ended, stopped and their
    /// runs released (exception/worker-shutdown, retried at once if retries remain).
    pub released: usize,
}

impl RunningWorkers {
    /// The identity the workers hold leases under.
    pub fn worker(&self) -> &WorkerRef {
        &self.shared.options.worker
    }

    /// How many handlers are running now.
    pub fn in_flight(&self) -> usize {
        self.shared
            .flights()
            .values()
            .filter(|f| f.abort.is_some())
            .count()
    }

    /// Stops claiming, lets running handlers finish for up to `grace`, stops
    /// the rest and releases their runs so other workers take them at once,
    /// then stores every pending completion.
    pub async fn shutdown(self, grace: Duration) -> Result<ShutdownReport> {
        self.shared.stop.send_replace(true);
        for fetcher in self.fetchers {
            if let Err(error) = fetcher.await {
                tracing::warn!(%error, "a queue fetcher ended abnormally");
            }
        }
        let idle = async {
            loop {
                let notified = self.shared.idle.notified();
                if self.shared.flights().is_empty() {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(grace, idle).await;
        let unfinished: Vec<(Uuid, Flight)> = self.shared.flights().drain().collect();
        for (_, flight) in &unfinished {
            if let Some(abort) = &flight.abort {
                abort.abort();
            }
        }
        let (done, flushed) = oneshot::channel();
        if self.shared.completions.send(Message::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
        self.completer.abort();
        self.heartbeat.abort();
        if let Some(maintenance) = self.maintenance {
            maintenance.stop().await;
        }
        let released = unfinished.len();
        complete::release(&self.shared, unfinished).await?;
        Ok(ShutdownReport { released })
    }
}

/// A claimed task: its run, and how to stop its handler once started.
#[derive(Debug)]
struct Flight {
    run_id: i32,
    abort: Option<AbortHandle>,
}

/// What the completer receives.
enum Message {
    /// A handler finished.
    Done(crate::Report),
    /// Store everything received so far, then answer.
    Flush(oneshot::Sender<()>),
}

/// State shared by the fetchers, the running handlers, the completer and the heartbeat.
struct Shared {
    queue: Queue,
    handlers: HashMap<String, Arc<dyn Handler>>,
    options: WorkerOptions,
    in_flight: Mutex<HashMap<Uuid, Flight>>,
    idle: Notify,
    stop: watch::Sender<bool>,
    completions: mpsc::UnboundedSender<Message>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn flights(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Flight>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records claimed tasks, so their leases are renewed from now on.
    fn hold(&self, tasks: &[crate::Task]) {
        let mut flights = self.flights();
        for task in tasks {
            let run_id = task.run_id.unwrap_or(0);
            flights.insert(task.id, Flight { run_id, abort: None });
        }
    }

    /// Forgets a finished handler and wakes a shutdown waiting for the last one.
    fn landed(&self, id: Uuid) {
        let mut flights = self.flights();
        flights.remove(&id);
        if flights.is_empty() {
            self.idle.notify_waiters();
        }
    }
}
