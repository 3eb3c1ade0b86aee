//! Artifact routes: a worker creating artifacts on the run it holds, and
//! reading a run's artifacts or a task's latest one.

use actix_web::{HttpResponse, web};
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PageQuery, Reply, held_by, scopes, task_with};
use crate::artifact::{ArtifactBody, NewArtifact};
use crate::{Artifact, Page, Queue, WorkerRef};

/// An artifact to create on a run; its name is in the path.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactRequest {
    /// The worker holding the run.
    pub worker: WorkerRef,
    /// What the artifact holds: a reference, a link or an error.
    pub artifact: ArtifactBody,
    /// When it may be deleted; the task's expiry (or a year) when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
}

/// Create an artifact on a run the worker holds (scopes
/// `queue:create-artifact:<queue>` and `queue:worker-id:<group>/<id>`).
/// Creating the same artifact again returns it; different content under the
/// name is a 409, as is a run the worker does not hold or a task past its
/// deadline.
#[utoipa::path(put, path = "/v1/queue/tasks/{task_id}/runs/{run_id}/artifacts/{name}", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id"), ("run_id" = i32, Path, description = "Run id"),
           ("name" = String, Path, description = "`/`-separated artifact name, e.g. `public/logs/live.log`")),
    request_body = ArtifactRequest,
    responses((status = 200, description = "The artifact", body = Artifact),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    queue: web::Data<Queue>,
    who: Authenticated,
    path: web::Path<(Uuid, i32, String)>,
    body: web::Json<ArtifactRequest>,
) -> Reply {
    let (task_id, run_id, name) = path.into_inner();
    let ArtifactRequest {
        worker,
        artifact,
        expires,
    } = body.into_inner();
    held_by(&queue, &who, task_id, &worker, scopes::create_artifact).await?;
    let new = NewArtifact {
        name,
        body: artifact,
        expires,
    };
    let artifact = queue.create_artifact(task_id, run_id, &worker, new).await?;
    Ok(HttpResponse::Ok().json(artifact))
}

/// The artifacts of a run, by name (scope `queue:read:<queue>`).
#[utoipa::path(get, path = "/v1/queue/tasks/{task_id}/runs/{run_id}/artifacts", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id"), ("run_id" = i32, Path, description = "Run id"),
           PageQuery),
    responses((status = 200, description = "A page of artifacts", body = Page<Artifact>),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn list(
    queue: web::Data<Queue>,
    who: Authenticated,
    path: web::Path<(Uuid, i32)>,
    page: web::Query<PageQuery>,
) -> Reply {
    let (task_id, run_id) = path.into_inner();
    task_with(&queue, &who, task_id, |t| vec![scopes::read(&t.queue)]).await?;
    let artifacts = queue
        .artifacts(task_id, run_id, page.continuation(), page.limit())
        .await?;
    Ok(HttpResponse::Ok().json(artifacts))
}

/// An artifact of a run, links followed to the reference or error they end
/// at (scope `queue:read:<queue>`).
#[utoipa::path(get, path = "/v1/queue/tasks/{task_id}/runs/{run_id}/artifacts/{name}", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id"), ("run_id" = i32, Path, description = "Run id"),
           ("name" = String, Path, description = "Artifact name")),
    responses((status = 200, description = "The artifact", body = Artifact),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn get(queue: web::Data<Queue>, who: Authenticated, path: web::Path<(Uuid, i32, String)>) -> Reply {
    let (task_id, run_id, name) = path.into_inner();
    task_with(&queue, &who, task_id, |t| vec![scopes::read(&t.queue)]).await?;
    Ok(HttpResponse::Ok().json(queue.resolve_artifact(task_id, run_id, &name).await?))
}

/// The artifact of this name on the latest run that has one, links followed
/// (scope `queue:read:<queue>`).
#[utoipa::path(get, path = "/v1/queue/tasks/{task_id}/artifacts/{name}", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id"), ("name" = String, Path, description = "Artifact name")),
    responses((status = 200, description = "The artifact", body = Artifact),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn latest(queue: web::Data<Queue>, who: Authenticated, path: web::Path<(Uuid, String)>) -> Reply {
    let (task_id, name) = path.into_inner();
    task_with(&queue, &who, task_id, |t| vec![scopes::read(&t.queue)]).await?;
    let latest = queue.latest_artifact(task_id, &name).await?;
    Ok(HttpResponse::Ok().json(queue.resolve_artifact(task_id, latest.run_id, &name).await?))
}
