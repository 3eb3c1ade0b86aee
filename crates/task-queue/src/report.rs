//! Workers reporting how their runs ended.

use std::collections::HashMap;

use plinth_events::Context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use plinth_db::Backend;
use sea_orm::DatabaseTransaction;
use time::OffsetDateTime;

use crate::completed::{self, Returned};
use crate::control::{check_deadline, past_deadline};
use crate::resolve::Resolved;
use crate::state::Reason;
use crate::store::{begin, lock_tasks};
use crate::transition::{Outcome, end_run};
use crate::{Error, Queue, Result, Task, WorkerRef, metrics, validate};

/// Longest error message kept; longer ones are cut.
pub const MAX_ERROR_LEN: usize = 16 * 1024;

/// A worker's report on a run it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The task.
    pub task_id: Uuid,
    /// The run the worker holds.
    pub run_id: i32,
    /// The worker.
    pub worker: WorkerRef,
    /// How the run ended.
    pub outcome: Outcome,
}

/// What reporting does with a result the queue cannot store (too large,
/// NUL characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadResult {
    /// Refuses the whole report: the reporting worker hears why.
    Refuse,
    /// Resolves that task as exception/internal-error saying why, so that one
    /// in-process handler's result does not fail the batch it is stored with.
    FailTask,
}

impl Queue {
    /// Ends a run the worker holds: the task resolves, or gets a new pending
    /// run where retries are allowed and remain. Not found when the task does
    /// not exist; a conflict when the worker does not hold that run or the
    /// task's deadline has come (the deadline sweep resolves it).
    pub async fn report(&self, ctx: &Context, report: Report) -> Result<Task> {
        let (task_id, run_id) = (report.task_id, report.run_id);
        match self.report_many(ctx, vec![report]).await?.pop().flatten() {
            Some(task) => Ok(task),
            None => {
                check_deadline(&self.task(task_id).await?, self.now())?;
                Err(Error::not_held(task_id, run_id))
            }
        }
    }

    /// Ends several runs in one transaction; `None` for each run the worker
    /// does not hold (or whose task does not exist or is past its deadline),
    /// in request order.
    pub async fn report_many(&self, ctx: &Context, reports: Vec<Report>) -> Result<Vec<Option<Task>>> {
        self.report_as(ctx, reports, BadResult::Refuse).await
    }

    /// [`report_many`](Self::report_many), returning each changed task as `T`:
    /// in-process workers only need to know what was stored.
    pub(crate) async fn report_as<T: Returned>(
        &self,
        ctx: &Context,
        reports: Vec<Report>,
        bad_result: BadResult,
    ) -> Result<Vec<Option<T>>> {
        let mut checked = Vec::with_capacity(reports.len());
        for report in reports {
            checked.push(self.checked(report, bad_result)?);
        }
        let now = self.now();
        let txn = begin(self.db()).await?;
        let fast = match Backend::of(&txn)? {
            Backend::Postgres => completed::rows(&checked),
            Backend::Sqlite => None,
        };
        let stored = match fast {
            Some(rows) => {
                let tasks: Vec<T> = completed::store(&txn, rows, now).await?;
                let resolved: Vec<Resolved> = tasks.iter().map(T::resolved).collect();
                self.after_resolution(&txn, ctx, &resolved, now).await?;
                metrics::ended(resolved.iter().map(|t| (t.queue.as_str(), t.state)));
                let mut tasks: HashMap<Uuid, T> = tasks.into_iter().map(|t| (t.id(), t)).collect();
                checked.iter().map(|r| tasks.remove(&r.task_id)).collect()
            }
            None => self
                .end_held(&txn, ctx, checked, now)
                .await?
                .into_iter()
                .map(|t| t.map(T::from))
                .collect(),
        };
        txn.commit().await?;
        Ok(stored)
    }

    /// Locks the tasks of `reports` and ends the runs their workers hold;
    /// returns each report's changed task, `None` where the run was not held.
    async fn end_held(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Context,
        reports: Vec<Report>,
        now: OffsetDateTime,
    ) -> Result<Vec<Option<Task>>> {
        let ids: Vec<Uuid> = reports.iter().map(|r| r.task_id).collect();
        let mut tasks: HashMap<Uuid, Task> = lock_tasks(txn, &ids)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        let mut ended = Vec::new();
        let mut order = Vec::with_capacity(reports.len());
        for report in reports {
            let held = tasks
                .get(&report.task_id)
                .is_some_and(|t| report.worker.holds(t, report.run_id) && !past_deadline(t, now));
            if let (true, Some(task)) = (held, tasks.remove(&report.task_id)) {
                order.push(Some(report.task_id));
                ended.push(end_run(task, report.outcome, now));
            } else {
                order.push(None);
            }
        }
        let mut changed: HashMap<Uuid, Task> = self
            .apply_ended(txn, ctx, ended, now)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        Ok(order
            .into_iter()
            .map(|id| id.and_then(|id| changed.remove(&id)))
            .collect())
    }

    /// Validates a report: a reason workers may give, a storable result
    /// (else refused, or for [`BadResult::FailTask`] turned into
    /// exception/internal-error); error texts are made storable ([`tidy_error`]).
    fn checked(&self, mut report: Report, bad_result: BadResult) -> Result<Report> {
        report.worker.validate()?;
        if let Outcome::Completed { result: Some(result) } = &report.outcome
            && let Err(error) = validate::json("result", result, self.config().max_payload_bytes)
        {
            if bad_result == BadResult::Refuse {
                return Err(error);
            }
            report.outcome = Outcome::Exception {
                reason: Reason::InternalError,
                error: Some(format!("the handler's result cannot be stored: {error}")),
            };
        }
        match &mut report.outcome {
            Outcome::Completed { .. } => {}
            Outcome::Failed { error, .. } => tidy_error(error),
            Outcome::Exception { reason, error } => {
                if !reason.reportable() {
                    return Err(Error::Invalid(format!(
                        "workers may not report the exception reason {}",
                        sea_orm::ActiveEnum::to_value(reason)
                    )));
                }
                if let Some(error) = error {
                    tidy_error(error);
                }
            }
        }
        Ok(report)
    }
}

/// Makes a worker's error text storable: NUL characters (which PostgreSQL
/// cannot store) become U+FFFD and the text is cut to [`MAX_ERROR_LEN`]
/// bytes on a character boundary.
pub(crate) fn tidy_error(text: &mut String) {
    if plinth_db::text::has_nul(text) {
        *text = text.replace('\0', "\u{FFFD}");
    }
    if text.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}
