//! The HTTP API under `/v1/queue`, after Taskcluster's queue: creating and
//! steering tasks, remote workers claiming (long-polled), reclaiming and
//! reporting runs, artifacts, task groups, the index, the worker registry
//! and dead letters. Mount with [`configure`] inside the server's `/v1`
//! scope, with `web::Data<Queue>` and `web::Data<plinth_auth::Auth>` in the
//! app data and the extractor configs of [`plinth_db::problem`]; merge
//! [`ApiDoc`] (paths include the `/v1` prefix) into the OpenAPI document.
//!
//! Scopes, per queue: `queue:create-task:<queue>` (plus
//! `queue:scheduler-id:<scheduler>` when a task names a scheduler or a
//! task group),
//! `queue:read:<queue>` for definitions, status and artifacts,
//! `queue:cancel-task:<queue>`, `queue:rerun-task:<queue>`,
//! `queue:schedule-task:<queue>`, `queue:claim-work:<queue>`,
//! `queue:resolve-task:<queue>` to reclaim and report,
//! `queue:create-artifact:<queue>` and `queue:dead-letters:<queue>`
//! (`queue:dead-letters:*` to list every queue's). Acting as a worker —
//! claiming, reclaiming, reporting, creating artifacts — also needs
//! `queue:worker-id:<worker_group>/<worker_id>` for the worker named in the
//! body, so one worker's credentials cannot resolve another's runs. Groups
//! need `queue:list-task-group:`, `queue:seal-task-group:` or
//! `queue:cancel-task-group:<scheduler>/<group>`; the index
//! `queue:index:<path>` to write and `queue:read-index:<path>` to read;
//! the registry `queue:list-workers:<queue>`,
//! `queue:get-worker:<queue>/<group>/<id>` and
//! `queue:quarantine-worker:<queue>/<group>/<id>`.
//!
//! Routes keyed by a task or group load it first, then check scopes: a
//! caller who holds neither the read scope nor the action's own scope gets
//! the same 404 as for an id that does not exist; anyone else missing a
//! scope gets a 403 naming it. Request bodies are capped by the server's
//! JSON limit and payloads, results and index data by the queue's
//! `max_payload_bytes`; both refusals are 413 problems.

mod artifacts;
mod dead_letters;
mod errors;
mod groups;
mod index;
mod scopes;
mod tasks;
mod work;
mod workers;

use actix_web::web;
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use serde::Deserialize;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::{Queue, Task, WorkerRef};

/// The queue routes' OpenAPI description; paths include the `/v1` prefix.
#[derive(OpenApi)]
#[openapi(
    paths(
        tasks::create,
        tasks::get,
        tasks::status,
        tasks::cancel,
        tasks::rerun,
        tasks::schedule,
        work::claim,
        work::reclaim,
        work::completed,
        work::failed,
        work::exception,
        artifacts::create,
        artifacts::list,
        artifacts::get,
        artifacts::latest,
        groups::status,
        groups::tasks,
        groups::seal,
        groups::cancel,
        index::insert,
        index::find,
        index::list,
        index::latest,
        index::namespaces,
        workers::list,
        workers::get,
        workers::quarantine,
        dead_letters::list,
        dead_letters::redrive,
    ),
    components(schemas(
        crate::NewTask,
        crate::Task,
        crate::Run,
        crate::entity::dependency::Model,
        crate::TaskStatus,
        crate::Enqueued,
        crate::Created,
        crate::Artifact,
        crate::artifact::ArtifactBody,
        crate::Group,
        crate::group::GroupStatus,
        crate::IndexedTask,
        crate::index::Namespace,
        crate::Worker,
        crate::WorkerRef,
        crate::Backoff,
        crate::TaskState,
        crate::RunState,
        crate::Reason,
        crate::ReasonCreated,
        crate::Requires,
        crate::ArtifactKind,
        work::ClaimBody,
        work::Claimed,
        work::WorkerBody,
        work::CompletedBody,
        work::FailedBody,
        work::ExceptionBody,
        artifacts::ArtifactRequest,
        index::IndexRequest,
        groups::Canceled,
        workers::QuarantineBody,
    )),
    tags((name = "queue", description = "Tasks, remote workers, artifacts, task groups, the index, the worker registry and dead letters"))
)]
pub struct ApiDoc;

/// Registers the routes under `/queue`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/queue")
            .route("/tasks/{task_id}", web::put().to(tasks::create))
            .route("/tasks/{task_id}", web::get().to(tasks::get))
            .route("/tasks/{task_id}/status", web::get().to(tasks::status))
            .route("/tasks/{task_id}/cancel", web::post().to(tasks::cancel))
            .route("/tasks/{task_id}/rerun", web::post().to(tasks::rerun))
            .route("/tasks/{task_id}/schedule", web::post().to(tasks::schedule))
            .route("/claim-work/{queue:.+}", web::post().to(work::claim))
            .route(
                "/tasks/{task_id}/runs/{run_id}/reclaim",
                web::post().to(work::reclaim),
            )
            .route(
                "/tasks/{task_id}/runs/{run_id}/completed",
                web::post().to(work::completed),
            )
            .route(
                "/tasks/{task_id}/runs/{run_id}/failed",
                web::post().to(work::failed),
            )
            .route(
                "/tasks/{task_id}/runs/{run_id}/exception",
                web::post().to(work::exception),
            )
            .route(
                "/tasks/{task_id}/runs/{run_id}/artifacts",
                web::get().to(artifacts::list),
            )
            .route(
                "/tasks/{task_id}/runs/{run_id}/artifacts/{name:.+}",
                web::put().to(artifacts::create),
            )
            .route(
                "/tasks/{task_id}/runs/{run_id}/artifacts/{name:.+}",
                web::get().to(artifacts::get),
            )
            .route(
                "/tasks/{task_id}/artifacts/{name:.+}",
                web::get().to(artifacts::latest),
            )
            .route("/task-groups/{group_id}", web::get().to(groups::status))
            .route("/task-groups/{group_id}/tasks", web::get().to(groups::tasks))
            .route("/task-groups/{group_id}/seal", web::post().to(groups::seal))
            .route("/task-groups/{group_id}/cancel", web::post().to(groups::cancel))
            .route("/index/entries", web::get().to(index::list))
            .route("/index/entries/{path}", web::put().to(index::insert))
            .route("/index/entries/{path}", web::get().to(index::find))
            .route("/index/latest", web::get().to(index::latest))
            .route("/index/namespaces", web::get().to(index::namespaces))
            .route("/task-queues/{queue:.+}/workers", web::get().to(workers::list))
            .route(
                "/task-queues/{queue:.+}/workers/{worker_group}/{worker_id}",
                web::get().to(workers::get),
            )
            .route(
                "/task-queues/{queue:.+}/workers/{worker_group}/{worker_id}/quarantine",
                web::put().to(workers::quarantine),
            )
            .route("/dead-letters", web::get().to(dead_letters::list))
            .route(
                "/dead-letters/{task_id}/redrive",
                web::post().to(dead_letters::redrive),
            ),
    );
}

/// Paging through a listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// The `continuation` of the previous page.
    pub continuation: Option<String>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u64>,
}

impl PageQuery {
    /// The continuation token, if any.
    fn continuation(&self) -> Option<&str> {
        self.continuation.as_deref()
    }

    /// The page size asked for, or the default.
    fn limit(&self) -> u64 {
        self.limit.unwrap_or(100)
    }
}

/// Loads task `id` and requires the scopes `needed` names for it (see
/// [`scopes::require_on`]: hidden as a 404 from callers who may not see it).
async fn task_with(
    queue: &Queue,
    who: &Authenticated,
    id: Uuid,
    needed: impl FnOnce(&Task) -> Vec<String>,
) -> Result<Task, Problem> {
    let task = queue.task(id).await?;
    scopes::require_on_task(who, &task, &needed(&task))?;
    Ok(task)
}

/// Loads the task of a run `worker` says it holds and requires `action`'s
/// scope on the task's queue plus `queue:worker-id:<group>/<id>`; whether
/// the worker really holds the run is the queue's check (a 409).
async fn held_by(
    queue: &Queue,
    who: &Authenticated,
    task_id: Uuid,
    worker: &WorkerRef,
    action: fn(&str) -> String,
) -> Result<Task, Problem> {
    worker.validate()?;
    task_with(queue, who, task_id, |t| {
        vec![action(&t.queue), scopes::worker_id(worker)]
    })
    .await
}

/// The reply of every handler.
type Reply = Result<actix_web::HttpResponse, Problem>;
