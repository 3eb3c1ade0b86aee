//! Worker registry routes: the workers seen claiming from a queue, one
//! worker, and quarantine.

use actix_web::{HttpResponse, web};
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{PageQuery, Reply, scopes};
use crate::{Error, Page, Queue, Worker, WorkerRef, validate};

/// The workers of a queue's provisioner and worker type, by group and id
/// (scope `queue:list-workers:<queue>`).
#[utoipa::path(get, path = "/v1/queue/task-queues/{queue}/workers", tag = "queue",
    params(("queue" = String, Path, description = "Queue name; may contain `/`"), PageQuery),
    responses((status = 200, description = "A page of workers", body = Page<Worker>),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn list(
    queue: web::Data<Queue>,
    who: Authenticated,
    name: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Reply {
    validate::queue_name(&name)?;
    scopes::require_all(&who, &[scopes::list_workers(&name)])?;
    let workers = queue.workers(&name, page.continuation(), page.limit()).await?;
    Ok(HttpResponse::Ok().json(workers))
}

/// Loads worker `group/id` of a queue and requires `action`'s scope on it;
/// hidden as a 404 from callers holding neither that nor
/// `queue:list-workers:<queue>`.
async fn worker_with(
    queue: &Queue,
    who: &Authenticated,
    (name, group, id): (String, String, String),
    action: fn(&str, &WorkerRef) -> String,
) -> Result<(String, WorkerRef, Worker), Problem> {
    let worker = WorkerRef::new(group, id);
    let found = queue.worker(&name, &worker).await?;
    let hidden = Error::NotFound(format!(
        "worker {}/{} of {name}",
        worker.worker_group, worker.worker_id
    ));
    scopes::require_on(
        who,
        &scopes::list_workers(&name),
        &[action(&name, &worker)],
        hidden,
    )?;
    Ok((name, worker, found))
}

/// A worker: when it first and last claimed, its recent tasks, its
/// quarantine (scope `queue:get-worker:<queue>/<group>/<id>`).
#[utoipa::path(get, path = "/v1/queue/task-queues/{queue}/workers/{worker_group}/{worker_id}", tag = "queue",
    params(("queue" = String, Path, description = "Queue name; may contain `/`"),
           ("worker_group" = String, Path, description = "Worker group"),
           ("worker_id" = String, Path, description = "Worker id")),
    responses((status = 200, description = "The worker", body = Worker),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn get(
    queue: web::Data<Queue>,
    who: Authenticated,
    path: web::Path<(String, String, String)>,
) -> Reply {
    let (_, _, worker) = worker_with(&queue, &who, path.into_inner(), scopes::get_worker).await?;
    Ok(HttpResponse::Ok().json(worker))
}

/// Until when a worker is quarantined.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantineBody {
    /// The end of the quarantine; a time in the past lifts it.
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

/// Quarantine a worker: it keeps the runs it holds but gets no new work
/// until the given time (scope `queue:quarantine-worker:<queue>/<group>/<id>`).
#[utoipa::path(put, path = "/v1/queue/task-queues/{queue}/workers/{worker_group}/{worker_id}/quarantine", tag = "queue",
    params(("queue" = String, Path, description = "Queue name; may contain `/`"),
           ("worker_group" = String, Path, description = "Worker group"),
           ("worker_id" = String, Path, description = "Worker id")),
    request_body = QuarantineBody,
    responses((status = 200, description = "The worker", body = Worker),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn quarantine(
    queue: web::Data<Queue>,
    who: Authenticated,
    path: web::Path<(String, String, String)>,
    body: web::Json<QuarantineBody>,
) -> Reply {
    let (name, worker, _) = worker_with(&queue, &who, path.into_inner(), scopes::quarantine_worker).await?;
    let changed = queue
        .quarantine_worker(&who.context(), &name, &worker, body.until)
        .await?;
    Ok(HttpResponse::Ok().json(changed))
}
