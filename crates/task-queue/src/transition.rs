//! The state machine as pure functions on a task row: each takes the task as
//! locked and returns it changed. The task row holds its latest run, live or
//! ended; a run goes to the history table only when a new run replaces it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::Backoff;
use crate::definition::MAX_RUNS;
use crate::entity::{run, task};
use crate::state::{Reason, ReasonCreated, RunState, TaskState};

/// How a run ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Outcome {
    /// The work is done; `result` is kept on the task.
    Completed {
        /// What the work produced.
        result: Option<Value>,
    },
    /// The work failed; `retry` asks for an automatic retry while retries
    /// remain (in-process handlers' retryable errors; remote workers report `false`).
    Failed {
        /// What went wrong.
        error: String,
        /// Whether to retry.
        retry: bool,
    },
    /// The run ended in an exception; worker-shutdown, intermittent-task and
    /// claim-expired are retried while retries remain.
    Exception {
        /// Why.
        reason: Reason,
        /// Details.
        error: Option<String>,
    },
}

/// A task after a run ended: its new row, the ended run's history row when
/// a retry replaced it in the task row, and whether the task resolved.
#[derive(Debug, Clone)]
pub(crate) struct Ended {
    pub task: task::Model,
    pub history: Option<run::Model>,
    pub resolved: bool,
}

/// Ends the live run (pending, running or, for an unscheduled task, a run
/// created to carry the exception) with `outcome`, retrying where allowed.
pub(crate) fn end_run(mut task: task::Model, outcome: Outcome, now: OffsetDateTime) -> Ended {
    let unscheduled = task.state == TaskState::Unscheduled;
    let (run_state, reason, error, result, retry) = match outcome {
        Outcome::Completed { result } => (RunState::Completed, Reason::Completed, None, result, false),
        Outcome::Failed { error, retry } => (RunState::Failed, Reason::Failed, Some(error), None, retry),
        Outcome::Exception { reason, error } => (RunState::Exception, reason, error, None, reason.retries()),
    };
    let run_id = task.run_id.unwrap_or(0);
    task.run_id = Some(run_id);
    task.error = error;
    task.updated_at = now;
    let resolved =
        !(retry && task.state == TaskState::Running && task.retries_left > 0 && run_id + 1 < MAX_RUNS);
    let history = if resolved {
        task.state = match run_state {
            RunState::Completed => TaskState::Completed,
            RunState::Failed => TaskState::Failed,
            _ => TaskState::Exception,
        };
        task.reason = Some(reason);
        task.result = result;
        task.resolved_at = Some(now);
        if unscheduled {
            task.run_reason = Some(ReasonCreated::Exception);
            task.scheduled_at = Some(now);
        }
        None
    } else {
        // The task row is about to hold the new run: the ended one goes to the history.
        let history = run_row(&task, run_id, run_state, Some((reason, now)));
        let retry_number = task.max_attempts.saturating_sub(task.retries_left).max(1);
        task.retries_left -= 1;
        let backoff = Backoff {
            base_ms: u64::try_from(task.backoff_base_ms).unwrap_or(0),
            max_ms: u64::try_from(task.backoff_max_ms).unwrap_or(0),
        };
        let later = now.saturating_add(delay(&backoff, retry_number));
        let (created, run_at) = match reason {
            Reason::WorkerShutdown => (ReasonCreated::Retry, now),
            Reason::ClaimExpired => (ReasonCreated::Retry, later),
            _ => (ReasonCreated::TaskRetry, later),
        };
        new_run(&mut task, created, run_at, now);
        Some(history)
    };
    Ended {
        task,
        history,
        resolved,
    }
}

fn delay(backoff: &Backoff, retry: i32) -> time::Duration {
    crate::clock::duration(backoff.delay(u32::try_from(retry).unwrap_or(1)))
}

/// Makes the task pending with a new run created for `reason`, claimable from `run_at`.
pub(crate) fn new_run(
    task: &mut task::Model,
    reason: ReasonCreated,
    run_at: OffsetDateTime,
    now: OffsetDateTime,
) {
    task.state = TaskState::Pending;
    task.run_id = Some(task.run_id.map_or(0, |id| id + 1));
    task.run_reason = Some(reason);
    task.scheduled_at = Some(now);
    task.run_at = run_at;
    task.worker_group = None;
    task.worker_id = None;
    task.taken_until = None;
    task.started_at = None;
    task.updated_at = now;
}

/// Schedules an unscheduled task: its first run becomes pending, claimable from its run-at time.
pub(crate) fn schedule(mut task: task::Model, now: OffsetDateTime) -> task::Model {
    let run_at = task.run_at;
    new_run(&mut task, ReasonCreated::Scheduled, run_at, now);
    task
}

/// Runs a resolved task again with a fresh allowance of retries; returns
/// the task and the history row of the run the new one replaces.
pub(crate) fn rerun(mut task: task::Model, now: OffsetDateTime) -> (task::Model, Option<run::Model>) {
    let history = current_run(&task);
    new_run(&mut task, ReasonCreated::Rerun, now, now);
    task.retries_left = task.max_attempts.saturating_sub(1).max(0);
    task.resolved_at = None;
    task.reason = None;
    task.error = None;
    task.result = None;
    (task, history)
}

/// The run the task row holds (live, or the last one of a resolved task) as
/// a history-shaped row; `None` for a task that never ran.
pub(crate) fn current_run(task: &task::Model) -> Option<run::Model> {
    let (state, ended) = match task.state {
        TaskState::Unscheduled => return None,
        TaskState::Pending => (RunState::Pending, false),
        TaskState::Running => (RunState::Running, false),
        TaskState::Completed => (RunState::Completed, true),
        TaskState::Failed => (RunState::Failed, true),
        TaskState::Exception => (RunState::Exception, true),
    };
    let ended = task.reason.zip(task.resolved_at).filter(|_| ended);
    Some(run_row(task, task.run_id?, state, ended))
}

/// The run the task row holds, numbered `run_id`, as a history row in
/// `state`; `ended` gives its resolution (reason and time), and with it the
/// task's error.
fn run_row(
    task: &task::Model,
    run_id: i32,
    state: RunState,
    ended: Option<(Reason, OffsetDateTime)>,
) -> run::Model {
    run::Model {
        task_id: task.id,
        run_id,
        state,
        reason_created: task.run_reason.unwrap_or(ReasonCreated::Scheduled),
        reason_resolved: ended.map(|(reason, _)| reason),
        worker_group: task.worker_group.clone(),
        worker_id: task.worker_id.clone(),
        taken_until: task.taken_until,
        scheduled: task.scheduled_at.unwrap_or(task.created_at),
        started: task.started_at,
        resolved: ended.map(|(_, at)| at),
        error: task.error.clone().filter(|_| ended.is_some()),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::state::Requires;

    fn running(retries_left: i32) -> task::Model {
        let now = datetime!(2030-01-01 0:00 UTC);
        task::Model {
            id: Uuid::now_v7(),
            queue: "q".into(),
            task_type: "t".into(),
            payload: Value::Null,
            priority: 0,
            state: TaskState::Running,
            run_id: Some(0),
            run_reason: Some(ReasonCreated::Scheduled),
            scheduled_at: Some(now),
            run_at: now,
            attempts: 1,
            max_attempts: 3,
            retries_left,
            backoff_base_ms: 1_000,
            backoff_max_ms: 60_000,
            timeout_ms: None,
            deadline: None,
            expires: None,
            worker_group: Some("g".into()),
            worker_id: Some("w".into()),
            taken_until: Some(now + time::Duration::minutes(5)),
            started_at: Some(now),
            resolved_at: None,
            reason: None,
            error: None,
            result: None,
            unique_key: None,
            tags: Value::Object(Default::default()),
            task_group_id: None,
            scheduler_id: crate::definition::DEFAULT_SCHEDULER.into(),
            requires: Requires::AllCompleted,
            record_events: true,
            definition_hash: String::new(),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn retryable_failures_retry_with_backoff_until_retries_run_out() {
        let now = datetime!(2030-01-01 0:01 UTC);
        let failed = || Outcome::Failed {
            error: "boom".into(),
            retry: true,
        };
        let ended = end_run(running(2), failed(), now);
        assert!(!ended.resolved);
        assert_eq!(ended.task.state, TaskState::Pending);
        assert_eq!(ended.task.run_id, Some(1));
        assert_eq!(ended.task.retries_left, 1);
        assert_eq!(ended.task.run_reason, Some(ReasonCreated::TaskRetry));
        let wait = ended.task.run_at - now;
        assert!(
            wait >= time::Duration::milliseconds(500) && wait <= time::Duration::seconds(1),
            "{wait}"
        );
        let replaced = ended.history.expect("the retried run goes to the history");
        assert_eq!((replaced.run_id, replaced.state), (0, RunState::Failed));
        assert_eq!(replaced.worker_id.as_deref(), Some("w"));
        assert!(ended.task.worker_id.is_none());

        let last = end_run(running(0), failed(), now);
        assert!(last.resolved);
        assert!(last.history.is_none(), "the task row keeps its last run");
        assert_eq!(last.task.state, TaskState::Failed);
        assert_eq!(last.task.error.as_deref(), Some("boom"));
        let run = current_run(&last.task).expect("last run");
        assert_eq!(
            (run.run_id, run.state, run.reason_resolved),
            (0, RunState::Failed, Some(Reason::Failed))
        );
        assert_eq!(
            (run.worker_id.as_deref(), run.resolved, run.error.as_deref()),
            (Some("w"), Some(now), Some("boom"))
        );
    }

    #[test]
    fn only_taskcluster_reasons_retry() {
        let now = datetime!(2030-01-01 0:01 UTC);
        for (reason, retried) in [
            (Reason::WorkerShutdown, true),
            (Reason::IntermittentTask, true),
            (Reason::ClaimExpired, true),
            (Reason::MalformedPayload, false),
            (Reason::InternalError, false),
            (Reason::Canceled, false),
            (Reason::DeadlineExceeded, false),
        ] {
            let ended = end_run(running(2), Outcome::Exception { reason, error: None }, now);
            assert_eq!(!ended.resolved, retried, "{reason:?}");
        }
        let shutdown = end_run(
            running(2),
            Outcome::Exception {
                reason: Reason::WorkerShutdown,
                error: None,
            },
            now,
        );
        assert_eq!(shutdown.task.run_at, now, "released work is claimable at once");
        let failed = end_run(
            running(2),
            Outcome::Failed {
                error: "no".into(),
                retry: false,
            },
            now,
        );
        assert!(failed.resolved);
    }

    #[test]
    fn canceling_an_unscheduled_task_creates_an_exception_run() {
        let now = datetime!(2030-01-01 0:01 UTC);
        let mut task = running(2);
        task.state = TaskState::Unscheduled;
        task.run_id = None;
        task.run_reason = None;
        task.worker_id = None;
        task.started_at = None;
        let ended = end_run(
            task,
            Outcome::Exception {
                reason: Reason::Canceled,
                error: None,
            },
            now,
        );
        assert!(ended.resolved);
        let run = current_run(&ended.task).expect("exception run");
        assert_eq!((run.run_id, run.state), (0, RunState::Exception));
        assert_eq!(run.reason_created, ReasonCreated::Exception);
        assert_eq!(ended.task.state, TaskState::Exception);
        assert_eq!(ended.task.reason, Some(Reason::Canceled));
        let (again, replaced) = rerun(ended.task, now);
        assert_eq!(
            (again.state, again.run_id, again.retries_left),
            (TaskState::Pending, Some(1), 2)
        );
        assert_eq!(
            replaced,
            Some(run),
            "the rerun keeps the ended run in the history"
        );
        assert_eq!(
            current_run(&again).map(|r| (r.run_id, r.state)),
            Some((1, RunState::Pending))
        );
    }
}
