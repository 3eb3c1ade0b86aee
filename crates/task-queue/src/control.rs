//! Changing a task from outside its run: cancel, rerun, force-schedule.

use plinth_events::Context;
use sea_orm::ConnectionTrait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::definition::MAX_RUNS;
use crate::entity::run;
use crate::state::{Reason, TaskState};
use crate::store::{begin, insert, lock_task, write_tasks};
use crate::transition::{Outcome, end_run, rerun, schedule};
use crate::{Error, Queue, Result, Task, events, notify};

impl Queue {
    /// Cancels a task that has not resolved: its live run (or, for an
    /// unscheduled task, a new one) resolves exception/canceled, without retry
    /// (exception/deadline-exceeded once its deadline has come). A resolved
    /// task is returned unchanged.
    pub async fn cancel(&self, ctx: &Context, id: Uuid) -> Result<Task> {
        let now = self.now();
        let txn = begin(self.db()).await?;
        let task = lock_task(&txn, id).await?;
        let task = if task.state.is_resolved() {
            task
        } else {
            let mut changed = self
                .end_with(&txn, ctx, vec![task], Reason::Canceled, now)
                .await?;
            changed
                .pop()
                .ok_or_else(|| Error::NotFound(format!("task {id}")))?
        };
        txn.commit().await?;
        Ok(task)
    }

    /// Runs a resolved task again, with a fresh allowance of retries: how
    /// dead letters are re-driven. A conflict while the task has not
    /// resolved, once its deadline has passed, or once it has had
    /// [`MAX_RUNS`] runs.
    pub async fn rerun(&self, ctx: &Context, id: Uuid) -> Result<Task> {
        self.rerun_if(ctx, id, |_| Ok(())).await
    }

    /// [`rerun`](Self::rerun) when `check` passes on the locked task.
    pub(crate) async fn rerun_if(
        &self,
        ctx: &Context,
        id: Uuid,
        check: impl FnOnce(&Task) -> Result<()>,
    ) -> Result<Task> {
        let now = self.now();
        let txn = begin(self.db()).await?;
        let task = lock_task(&txn, id).await?;
        check(&task)?;
        if !task.state.is_resolved() {
            return Err(Error::Conflict(format!("task {id} has not resolved")));
        }
        check_deadline(&task, now)?;
        if task.run_id.unwrap_or(0) + 1 >= MAX_RUNS {
            return Err(Error::Conflict(format!(
                "task {id} has had the most runs a task may have ({MAX_RUNS})"
            )));
        }
        let (task, replaced) = rerun(task, now);
        write_tasks(&txn, std::slice::from_ref(&task)).await?;
        insert::<run::Entity>(&txn, replaced.as_slice()).await?;
        notify::ready(&txn, self.wakers(), [task.queue.as_str()]).await?;
        events::action(&txn, ctx, events::TASK_RERUN, &task).await?;
        txn.commit().await?;
        Ok(task)
    }

    /// Schedules an unscheduled task now, without waiting for its
    /// dependencies; any other task is returned unchanged. A conflict once
    /// its deadline has passed.
    pub async fn schedule(&self, ctx: &Context, id: Uuid) -> Result<Task> {
        let now = self.now();
        let txn = begin(self.db()).await?;
        let task = lock_task(&txn, id).await?;
        if task.state != TaskState::Unscheduled {
            return Ok(task);
        }
        check_deadline(&task, now)?;
        let task = schedule(task, now);
        write_tasks(&txn, std::slice::from_ref(&task)).await?;
        if task.run_at <= now {
            notify::ready(&txn, self.wakers(), [task.queue.as_str()]).await?;
        }
        events::action(&txn, ctx, events::TASK_SCHEDULED, &task).await?;
        txn.commit().await?;
        Ok(task)
    }

    /// Ends the live run of each locked, unresolved task with an exception
    /// of `reason` (deadline-exceeded for a task [past its
    /// deadline](past_deadline), as the sweep would) and stores the consequences.
    pub(crate) async fn end_with(
        &self,
        txn: &impl ConnectionTrait,
        ctx: &Context,
        tasks: Vec<Task>,
        reason: Reason,
        now: OffsetDateTime,
    ) -> Result<Vec<Task>> {
        let ended = tasks
            .into_iter()
            .filter(|t| !t.state.is_resolved())
            .map(|t| {
                let reason = if past_deadline(&t, now) {
                    Reason::DeadlineExceeded
                } else {
                    reason
                };
                end_run(t, Outcome::Exception { reason, error: None }, now)
            })
            .collect();
        self.apply_ended(txn, ctx, ended, now).await
    }
}

/// Whether `task` has a deadline and it has come: whatever the deadline
/// sweep has yet to do, the task changes no more but to resolve
/// exception/deadline-exceeded.
pub(crate) fn past_deadline(task: &Task, now: OffsetDateTime) -> bool {
    task.deadline.is_some_and(|deadline| deadline <= now)
}

/// A conflict once `task` is [past its deadline](past_deadline).
pub(crate) fn check_deadline(task: &Task, now: OffsetDateTime) -> Result<()> {
    if past_deadline(task, now) {
        return Err(Error::Conflict(format!(
            "task {} is past its deadline and changes no more",
            task.id
        )));
    }
    Ok(())
}
