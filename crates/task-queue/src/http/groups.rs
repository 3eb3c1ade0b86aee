//! Task group routes: status, the group's tasks, seal and cancel.

use actix_web::{HttpResponse, web};
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use serde::Serialize;
use uuid::Uuid;

use super::{PageQuery, Reply, scopes};
use crate::group::GroupStatus;
use crate::{Group, Page, Queue, Task};

/// Loads group `id` and requires the scopes `needed` names for it; hidden as
/// a 404 from callers who may not see it.
async fn group_with(
    queue: &Queue,
    who: &Authenticated,
    id: Uuid,
    needed: impl FnOnce(&Group) -> Vec<String>,
) -> Result<GroupStatus, Problem> {
    let status = queue.group(id).await?;
    scopes::require_on_group(who, &status.group, &needed(&status.group))?;
    Ok(status)
}

/// A group with how many of its tasks are in each state (scope
/// `queue:list-task-group:<scheduler>/<group>`).
#[utoipa::path(get, path = "/v1/queue/task-groups/{group_id}", tag = "queue",
    params(("group_id" = Uuid, Path, description = "Task group id")),
    responses((status = 200, description = "The group and its counts", body = GroupStatus),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn status(queue: web::Data<Queue>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    let status = group_with(&queue, &who, *id, |g| vec![scopes::list_task_group(g)]).await?;
    Ok(HttpResponse::Ok().json(status))
}

/// The group's tasks by id (scope `queue:list-task-group:<scheduler>/<group>`).
#[utoipa::path(get, path = "/v1/queue/task-groups/{group_id}/tasks", tag = "queue",
    params(("group_id" = Uuid, Path, description = "Task group id"), PageQuery),
    responses((status = 200, description = "A page of tasks", body = Page<Task>),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn tasks(
    queue: web::Data<Queue>,
    who: Authenticated,
    id: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> Reply {
    group_with(&queue, &who, *id, |g| vec![scopes::list_task_group(g)]).await?;
    let tasks = queue.group_tasks(*id, page.continuation(), page.limit()).await?;
    Ok(HttpResponse::Ok().json(tasks))
}

/// Seal a group: no task may join it any more (scope
/// `queue:seal-task-group:<scheduler>/<group>`).
#[utoipa::path(post, path = "/v1/queue/task-groups/{group_id}/seal", tag = "queue",
    params(("group_id" = Uuid, Path, description = "Task group id")),
    responses((status = 200, description = "The sealed group", body = Group),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn seal(queue: web::Data<Queue>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    group_with(&queue, &who, *id, |g| vec![scopes::seal_task_group(g)]).await?;
    Ok(HttpResponse::Ok().json(queue.seal_group(&who.context(), *id).await?))
}

/// How many tasks canceling a group canceled.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Canceled {
    /// Tasks that had not resolved and were canceled.
    pub canceled: u64,
}

/// Seal a group and cancel every task in it that has not resolved (scope
/// `queue:cancel-task-group:<scheduler>/<group>`).
#[utoipa::path(post, path = "/v1/queue/task-groups/{group_id}/cancel", tag = "queue",
    params(("group_id" = Uuid, Path, description = "Task group id")),
    responses((status = 200, description = "How many tasks were canceled", body = Canceled),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn cancel(queue: web::Data<Queue>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    group_with(&queue, &who, *id, |g| vec![scopes::cancel_task_group(g)]).await?;
    let canceled = queue.cancel_group(&who.context(), *id).await?;
    Ok(HttpResponse::Ok().json(Canceled { canceled }))
}
