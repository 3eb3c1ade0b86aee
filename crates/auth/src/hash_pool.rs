//! The threads password hashes run on: a fixed number of them, at a lower
//! scheduling priority than the request workers, each reusing one argon2
//! memory buffer from hash to hash.
//!
//! Argon2 is meant to be expensive. Run on the async runtime's blocking pool
//! it competes as an equal with request handling, so a burst of sign-ins
//! slows every authenticated request down. Here at most `concurrency` hashes
//! run at once (the rest queue without holding a thread), on threads whose
//! nice value is raised by `nice`, so the kernel gives the CPU to request
//! workers first and to hashing whatever is left. A thread idle for
//! [`IDLE`] frees its buffer.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::Block;
use tokio::sync::oneshot;

use crate::{Error, Result};

/// How long a hashing thread keeps its memory without work.
pub const IDLE: Duration = Duration::from_secs(30);

/// One hash to compute, given the thread's memory buffer.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// A fixed set of low-priority hashing threads; clones share them, and the
/// threads end when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct HashPool {
    concurrency: usize,
    jobs: Sender<Job>,
}

impl HashPool {
    /// Starts `concurrency` threads (at least one) whose nice value is raised
    /// by `nice` where the system allows it.
    pub fn new(concurrency: usize, nice: i32) -> Result<Self> {
        let concurrency = concurrency.max(1);
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..concurrency {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("plinth-hash-{i}"))
                .spawn(move || work(&queue, nice))
                .map_err(|e| Error::Internal(format!("cannot start a password hashing thread: {e}")))?;
        }
        Ok(Self { concurrency, jobs })
    }

    /// How many hashes may run at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Runs `f` on a hashing thread with its memory buffer once one is free.
    /// A caller that gives up before its turn costs no hashing.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> std::result::Result<T, String> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            if !tx.is_closed() {
                let _ = tx.send(f(memory));
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::Internal("password hashing threads have stopped".into()))?;
        rx.await
            .map_err(|_| Error::Internal("password hashing thread failed".into()))?
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    }
}

/// A hashing thread: lowers its priority, then takes jobs until the pool is
/// dropped, freeing its memory whenever it idles for [`IDLE`].
fn work(queue: &Mutex<Receiver<Job>>, nice: i32) {
    lower_priority(nice);
    let mut memory = Vec::new();
    loop {
        let next = queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv_timeout(IDLE);
        match next {
            Ok(job) => job(&mut memory),
            Err(RecvTimeoutError::Timeout) => memory = Vec::new(),
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Raises this thread's nice value by `nice` (a per-thread attribute on
/// Linux); where that fails the thread keeps its priority.
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    let tid = rustix::thread::gettid();
    let current = rustix::process::getpriority_process(Some(tid)).unwrap_or(0);
    if let Err(e) = rustix::process::setpriority_process(Some(tid), current.saturating_add(nice).min(19)) {
        tracing::debug!(error = %e, "password hashing runs at normal priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This thread's id and nice value.
    fn whoami() -> (i32, i32) {
        let tid = rustix::thread::gettid();
        (
            tid.as_raw_nonzero().get(),
            rustix::process::getpriority_process(Some(tid)).expect("getpriority"),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_run_on_the_pool_threads_at_lower_priority_reusing_memory() {
        let pool = HashPool::new(2, 5).expect("pool");
        let (_, base) = whoami();
        let runs: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    pool.run(|memory| {
                        let reused = !memory.is_empty();
                        memory.resize(16, Block::default());
                        std::thread::sleep(Duration::from_millis(20));
                        Ok((whoami(), reused))
                    })
                    .await
                })
            })
            .collect();
        let mut threads = std::collections::BTreeSet::new();
        let mut reused = 0;
        for run in runs {
            let ((tid, nice), again) = run.await.expect("join").expect("run");
            assert_eq!(nice, (base + 5).min(19), "hashing runs at a lower priority");
            threads.insert(tid);
            reused += usize::from(again);
        }
        assert!((1..=2).contains(&threads.len()), "{threads:?}");
        assert!(reused >= 6, "buffers are reused: {reused} of 8");
        let failed = pool.run(|_| Err::<(), _>("bad parameters".to_owned())).await;
        assert!(matches!(failed, Err(Error::Internal(m)) if m.contains("bad parameters")));
    }
}
