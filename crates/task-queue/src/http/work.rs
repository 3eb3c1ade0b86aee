//! Remote workers' routes: claim work (long-polled), reclaim a run's lease,
//! and report a run completed, failed or ended in an exception.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{Reply, held_by, scopes};
use crate::claim::MAX_CLAIM;
use crate::{Claim, Error, Outcome, Queue, Reason, Report, Task, WorkerRef, validate};

/// Longest a claim waits for work, and how long it waits when the body does
/// not say (Taskcluster's claim-work wait).
pub const MAX_CLAIM_WAIT: Duration = Duration::from_secs(20);

/// A request for work.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    /// The claiming worker.
    pub worker: WorkerRef,
    /// Most tasks wanted, 1 to 1000 (default 1).
    #[serde(default = "one")]
    pub tasks: usize,
    /// Longest wait for work, in milliseconds, when none is ready (default
    /// and most: 20000); 0 answers at once.
    #[serde(default)]
    pub wait_ms: Option<u64>,
    /// Only tasks of these types; any type when empty.
    #[serde(default)]
    pub task_types: Vec<String>,
}

fn one() -> usize {
    1
}

/// The claimed tasks, each running under the worker with its run id and lease.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Claimed {
    /// The tasks; empty when none became ready within the wait.
    pub tasks: Vec<Task>,
}

/// Claim up to `tasks` ready tasks of a queue, waiting up to `wait_ms` for
/// work when none is ready (scopes `queue:claim-work:<queue>` and
/// `queue:worker-id:<group>/<id>`). A quarantined worker gets nothing.
#[utoipa::path(post, path = "/v1/queue/claim-work/{queue}", tag = "queue",
    params(("queue" = String, Path, description = "Queue name; may contain `/` (`provisioner/worker-type`)")),
    request_body = ClaimBody,
    responses((status = 200, description = "The claimed tasks, possibly none", body = Claimed),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn claim(
    queue: web::Data<Queue>,
    who: Authenticated,
    name: web::Path<String>,
    body: web::Json<ClaimBody>,
) -> Reply {
    let body = body.into_inner();
    validate::queue_name(&name)?;
    body.worker.validate()?;
    scopes::require_all(
        &who,
        &[scopes::claim_work(&name), scopes::worker_id(&body.worker)],
    )?;
    if !(1..=MAX_CLAIM).contains(&body.tasks) {
        return Err(Error::Invalid(format!("tasks must be 1 to {MAX_CLAIM}")).into());
    }
    let wait = body
        .wait_ms
        .map_or(MAX_CLAIM_WAIT, Duration::from_millis)
        .min(MAX_CLAIM_WAIT);
    let claim = Claim {
        queue: name.into_inner(),
        worker: body.worker,
        count: body.tasks,
        lease: None,
        task_types: body.task_types,
    };
    let tasks = queue.claim_work_waiting(&claim, wait).await?;
    Ok(HttpResponse::Ok().json(Claimed { tasks }))
}

/// The worker acting on a run it holds.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerBody {
    /// The worker holding the run.
    pub worker: WorkerRef,
}

/// Extend the lease of a run the worker holds by the queue's lease length
/// (scopes `queue:resolve-task:<queue>` and `queue:worker-id:<group>/<id>`);
/// 409 when the worker does not hold the run or the task's deadline has come.
#[utoipa::path(post, path = "/v1/queue/tasks/{task_id}/runs/{run_id}/reclaim", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id"), ("run_id" = i32, Path, description = "Run id")),
    request_body = WorkerBody,
    responses((status = 200, description = "The task with its new lease", body = Task),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn reclaim(
    queue: web::Data<Queue>,
    who: Authenticated,
    path: web::Path<(Uuid, i32)>,
    body: web::Json<WorkerBody>,
) -> Reply {
    let (task_id, run_id) = path.into_inner();
    let worker = body.into_inner().worker;
    held_by(&queue, &who, task_id, &worker, scopes::resolve_task).await?;
    let task = queue.reclaim(task_id, run_id, &worker, None).await?;
    Ok(HttpResponse::Ok().json(task))
}

/// A completed run.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletedBody {
    /// The worker holding the run.
    pub worker: WorkerRef,
    /// What the work produced, kept on the task.
    #[serde(default)]
    pub result: Option<Value>,
}

/// A failed run.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailedBody {
    /// The worker holding the run.
    pub worker: WorkerRef,
    /// What went wrong.
    pub error: String,
}

/// A run ended in an exception.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionBody {
    /// The worker holding the run.
    pub worker: WorkerRef,
    /// Why: `worker-shutdown` or `intermittent-task` (retried while retries
    /// remain), `malformed-payload` or `internal-error`.
    pub reason: Reason,
    /// Details.
    #[serde(default)]
    pub error: Option<String>,
}

/// Ends a run the worker holds with `outcome`.
async fn report(
    queue: &Queue,
    who: &Authenticated,
    path: (Uuid, i32),
    worker: WorkerRef,
    outcome: Outcome,
) -> Reply {
    let (task_id, run_id) = path;
    held_by(queue, who, task_id, &worker, scopes::resolve_task).await?;
    let report = Report {
        task_id,
        run_id,
        worker,
        outcome,
    };
    Ok(HttpResponse::Ok().json(queue.report(&who.context(), report).await?))
}

/// Report a run completed (scopes `queue:resolve-task:<queue>` and
/// `queue:worker-id:<group>/<id>`); 409 when the worker does not hold the run.
#[utoipa::path(post, path = "/v1/queue/tasks/{task_id}/runs/{run_id}/completed", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id"), ("run_id" = i32, Path, description = "Run id")),
    request_body = CompletedBody,
    responses((status = 200, description = "The resolved task", body = Task),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 413, body = Problem)))]
pub async fn completed(
    queue: web::Data<Queue>,
    who: Authenticated,
    path: web::Path<(Uuid, i32)>,
    body: web::Json<CompletedBody>,
) -> Reply {
    let CompletedBody { worker, result } = body.into_inner();
    report(
        &queue,
        &who,
        path.into_inner(),
        worker,
        Outcome::Completed { result },
    )
    .await
}

/// Report a run failed; failures are not retried (scopes
/// `queue:resolve-task:<queue>` and `queue:worker-id:<group>/<id>`); 409
/// when the worker does not hold the run.
#[utoipa::path(post, path = "/v1/queue/tasks/{task_id}/runs/{run_id}/failed", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id"), ("run_id" = i32, Path, description = "Run id")),
    request_body = FailedBody,
    responses((status = 200, description = "The resolved task", body = Task),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn failed(
    queue: web::Data<Queue>,
    who: Authenticated,
    path: web::Path<(Uuid, i32)>,
    body: web::Json<FailedBody>,
) -> Reply {
    let FailedBody { worker, error } = body.into_inner();
    let outcome = Outcome::Failed { error, retry: false };
    report(&queue, &who, path.into_inner(), worker, outcome).await
}

/// Report a run ended in an exception; `worker-shutdown` and
/// `intermittent-task` get a new run while retries remain (scopes
/// `queue:resolve-task:<queue>` and `queue:worker-id:<group>/<id>`); 409
/// when the worker does not hold the run, 422 for a reason the queue sets itself.
#[utoipa::path(post, path = "/v1/queue/tasks/{task_id}/runs/{run_id}/exception", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id"), ("run_id" = i32, Path, description = "Run id")),
    request_body = ExceptionBody,
    responses((status = 200, description = "The task, resolved or pending a retry", body = Task),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn exception(
    queue: web::Data<Queue>,
    who: Authenticated,
    path: web::Path<(Uuid, i32)>,
    body: web::Json<ExceptionBody>,
) -> Reply {
    let ExceptionBody {
        worker,
        reason,
        error,
    } = body.into_inner();
    let outcome = Outcome::Exception { reason, error };
    report(&queue, &who, path.into_inner(), worker, outcome).await
}
