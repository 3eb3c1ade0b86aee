//! Dead-letter routes: tasks that failed or ended in an exception with no
//! retry left, and re-driving them.

use actix_web::{HttpResponse, web};
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use serde::Deserialize;
use uuid::Uuid;

use super::{PageQuery, Reply, scopes, task_with};
use crate::{Page, Queue, Task, validate};

/// Which queue's dead letters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct QueueFilter {
    /// Only this queue's; every queue's when absent.
    pub queue: Option<String>,
}

/// Dead letters by id (scope `queue:dead-letters:<queue>`, or
/// `queue:dead-letters:*` without a queue).
#[utoipa::path(get, path = "/v1/queue/dead-letters", tag = "queue",
    params(QueueFilter, PageQuery),
    responses((status = 200, description = "A page of dead letters", body = Page<Task>),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn list(
    queue: web::Data<Queue>,
    who: Authenticated,
    filter: web::Query<QueueFilter>,
    page: web::Query<PageQuery>,
) -> Reply {
    let name = filter.queue.as_deref();
    if let Some(name) = name {
        validate::queue_name(name)?;
    }
    scopes::require_all(&who, &[scopes::dead_letters(name.unwrap_or("*"))])?;
    let tasks = queue
        .dead_letters(name, page.continuation(), page.limit())
        .await?;
    Ok(HttpResponse::Ok().json(tasks))
}

/// Run a dead letter again with a fresh allowance of retries (scope
/// `queue:dead-letters:<queue>`); 409 when the task is not a dead letter.
#[utoipa::path(post, path = "/v1/queue/dead-letters/{task_id}/redrive", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id")),
    responses((status = 200, description = "The task, pending again", body = Task),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn redrive(queue: web::Data<Queue>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    task_with(&queue, &who, *id, |t| vec![scopes::dead_letters(&t.queue)]).await?;
    Ok(HttpResponse::Ok().json(queue.redrive(&who.context(), *id).await?))
}
