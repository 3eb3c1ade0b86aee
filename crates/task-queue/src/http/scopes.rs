//! The scopes the queue routes require, after Taskcluster's queue, and the
//! rule that keeps a resource hidden from callers who may not see it.

use plinth_auth::ScopeExpr;
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use uuid::Uuid;

use crate::{Error, Group, Task, WorkerRef};

/// Reading tasks of `queue`: definitions, status, artifacts.
pub(super) fn read(queue: &str) -> String {
    format!("queue:read:{queue}")
}

/// Creating tasks on `queue`.
pub(super) fn create_task(queue: &str) -> String {
    format!("queue:create-task:{queue}")
}

/// Creating tasks under a scheduler id other than the default.
pub(super) fn scheduler_id(scheduler: &str) -> String {
    format!("queue:scheduler-id:{scheduler}")
}

/// Canceling tasks of `queue`.
pub(super) fn cancel_task(queue: &str) -> String {
    format!("queue:cancel-task:{queue}")
}

/// Rerunning resolved tasks of `queue`.
pub(super) fn rerun_task(queue: &str) -> String {
    format!("queue:rerun-task:{queue}")
}

/// Scheduling unscheduled tasks of `queue` without their dependencies.
pub(super) fn schedule_task(queue: &str) -> String {
    format!("queue:schedule-task:{queue}")
}

/// Claiming work from `queue`.
pub(super) fn claim_work(queue: &str) -> String {
    format!("queue:claim-work:{queue}")
}

/// Reclaiming and reporting runs of tasks of `queue`.
pub(super) fn resolve_task(queue: &str) -> String {
    format!("queue:resolve-task:{queue}")
}

/// Creating artifacts on runs of tasks of `queue`.
pub(super) fn create_artifact(queue: &str) -> String {
    format!("queue:create-artifact:{queue}")
}

/// Acting as worker `worker_group/worker_id`.
pub(super) fn worker_id(worker: &WorkerRef) -> String {
    format!("queue:worker-id:{}/{}", worker.worker_group, worker.worker_id)
}

/// Listing the dead letters of `queue` and re-driving them; `*` for every queue.
pub(super) fn dead_letters(queue: &str) -> String {
    format!("queue:dead-letters:{queue}")
}

/// Reading a task group and listing its tasks.
pub(super) fn list_task_group(group: &Group) -> String {
    format!("queue:list-task-group:{}/{}", group.scheduler_id, group.id)
}

/// Sealing a task group.
pub(super) fn seal_task_group(group: &Group) -> String {
    format!("queue:seal-task-group:{}/{}", group.scheduler_id, group.id)
}

/// Sealing a task group and canceling its unresolved tasks.
pub(super) fn cancel_task_group(group: &Group) -> String {
    format!("queue:cancel-task-group:{}/{}", group.scheduler_id, group.id)
}

/// Pointing the index path `path` at a task.
pub(super) fn index(path: &str) -> String {
    format!("queue:index:{path}")
}

/// Reading the index at `path` or in namespace `path`.
pub(super) fn read_index(path: &str) -> String {
    format!("queue:read-index:{path}")
}

/// Listing the workers of `queue`.
pub(super) fn list_workers(queue: &str) -> String {
    format!("queue:list-workers:{queue}")
}

/// Reading worker `worker` of `queue`.
pub(super) fn get_worker(queue: &str, worker: &WorkerRef) -> String {
    format!(
        "queue:get-worker:{queue}/{}/{}",
        worker.worker_group, worker.worker_id
    )
}

/// Quarantining worker `worker` of `queue`.
pub(super) fn quarantine_worker(queue: &str, worker: &WorkerRef) -> String {
    format!(
        "queue:quarantine-worker:{queue}/{}/{}",
        worker.worker_group, worker.worker_id
    )
}

/// Requires every scope in `needed` on a resource that exists. A caller
/// holding neither `read` nor the first of `needed` gets `hidden` — the
/// same 404 as for a resource that does not exist — so it learns nothing
/// about the resource; any other caller missing a scope gets a 403 naming it.
pub(super) fn require_on(
    who: &Authenticated,
    read: &str,
    needed: &[String],
    hidden: Error,
) -> Result<(), Problem> {
    let holds = |scope: &str| who.principal.satisfies(&ScopeExpr::scope(scope));
    if !holds(read) && !needed.first().is_some_and(|s| holds(s)) {
        return Err(hidden.into());
    }
    require_all(who, needed)
}

/// Requires every scope in `needed`; a 403 naming the missing ones otherwise.
pub(super) fn require_all(who: &Authenticated, needed: &[String]) -> Result<(), Problem> {
    who.require_expr(&ScopeExpr::all_of(needed.iter().map(ScopeExpr::scope)))
}

/// [`require_on`] for a task: seen with `queue:read:<queue>`.
pub(super) fn require_on_task(who: &Authenticated, task: &Task, needed: &[String]) -> Result<(), Problem> {
    require_on(who, &read(&task.queue), needed, not_found_task(task.id))
}

/// [`require_on`] for a task group: seen with `queue:list-task-group:<scheduler>/<group>`.
pub(super) fn require_on_group(who: &Authenticated, group: &Group, needed: &[String]) -> Result<(), Problem> {
    require_on(
        who,
        &list_task_group(group),
        needed,
        Error::NotFound(format!("task group {}", group.id)),
    )
}

/// The error of a task that does not exist, as the queue reports it.
pub(super) fn not_found_task(id: Uuid) -> Error {
    Error::NotFound(format!("task {id}"))
}
