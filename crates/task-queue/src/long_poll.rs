//! Claims that wait for work: a remote worker's claim held open until tasks
//! are ready or a time runs out, woken the way in-process workers are
//! (`LISTEN`/`NOTIFY` on PostgreSQL, an in-process signal on SQLite) and
//! polling at the queue's poll interval as the fallback.

use std::time::Duration;

use tokio::time::Instant;

use crate::{Claim, Queue, Result, Task};

impl Queue {
    /// [`claim_work`](Self::claim_work), waiting up to `wait` for work when
    /// none is ready: returns as soon as a claim gets tasks, and an empty
    /// list once `wait` has passed. A quarantined worker waits and gets nothing.
    pub async fn claim_work_waiting(&self, claim: &Claim, wait: Duration) -> Result<Vec<Task>> {
        claim.validate()?;
        self.ensure_listener();
        let until = crate::clock::instant_after(Instant::now(), wait);
        let mut waiting = self.wakers().waiting(&claim.queue);
        loop {
            waiting.mark_seen();
            let tasks = self.claim_work_valid(claim).await?;
            let now = Instant::now();
            if !tasks.is_empty() || now >= until {
                return Ok(tasks);
            }
            let due = self.next_run_at(&claim.queue, &claim.task_types).await?;
            let nap = due
                .unwrap_or(self.config().poll_interval)
                .min(self.config().poll_interval)
                .min(until - now);
            tokio::select! {
                () = waiting.woken() => {}
                () = tokio::time::sleep(nap) => {}
            }
        }
    }
}
