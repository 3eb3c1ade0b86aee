//! Task routes: create (idempotent by id), read, status, cancel, rerun and
//! force-schedule.

use actix_web::{HttpResponse, web};
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use uuid::Uuid;

use super::{Reply, scopes, task_with};
use crate::definition::DEFAULT_SCHEDULER;
use crate::{Created, Enqueued, Error, NewTask, Queue, Task, TaskStatus, validate};

/// Create a task with this id (scope `queue:create-task:<queue>`, plus
/// `queue:scheduler-id:<scheduler>` when the body names a scheduler or a
/// task group; the default scheduler is `-`).
/// Creating again with an equal definition returns the task (200); a
/// different definition under the id is a 409. While another task holds the
/// body's `unique_key`, that task's id is returned (200, `deduplicated`).
#[utoipa::path(put, path = "/v1/queue/tasks/{task_id}", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id chosen by the caller")),
    request_body = NewTask,
    responses((status = 201, description = "Created", body = Enqueued),
              (status = 200, description = "An equal task exists, or another holds the unique key", body = Enqueued),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    queue: web::Data<Queue>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<NewTask>,
) -> Reply {
    let mut task = body.into_inner();
    if task.id.is_some_and(|given| given != *id) {
        return Err(Error::Invalid(format!("the body's id is not the path's {id}")).into());
    }
    task.id = Some(*id);
    validate::queue_name(&task.queue)?;
    let mut needed = vec![scopes::create_task(&task.queue)];
    if let Some(scheduler) = &task.scheduler_id {
        validate::ident("scheduler id", scheduler)?;
    }
    // Joining a group takes its scheduler's scope, the default scheduler's too.
    if task.scheduler_id.is_some() || task.task_group_id.is_some() {
        needed.push(scopes::scheduler_id(
            task.scheduler_id.as_deref().unwrap_or(DEFAULT_SCHEDULER),
        ));
    }
    scopes::require_all(&who, &needed)?;
    let enqueued = queue.create(&who.context(), task).await?;
    let reply = match enqueued.created {
        Created::New => HttpResponse::Created().json(enqueued),
        Created::Existing | Created::Deduplicated => HttpResponse::Ok().json(enqueued),
    };
    Ok(reply)
}

/// A task's definition and state (scope `queue:read:<queue>`).
#[utoipa::path(get, path = "/v1/queue/tasks/{task_id}", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id")),
    responses((status = 200, description = "The task", body = Task),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(queue: web::Data<Queue>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    let task = task_with(&queue, &who, *id, |t| vec![scopes::read(&t.queue)]).await?;
    Ok(HttpResponse::Ok().json(task))
}

/// A task with its runs and dependencies (scope `queue:read:<queue>`).
#[utoipa::path(get, path = "/v1/queue/tasks/{task_id}/status", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id")),
    responses((status = 200, description = "The task, its runs and dependencies", body = TaskStatus),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn status(queue: web::Data<Queue>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    task_with(&queue, &who, *id, |t| vec![scopes::read(&t.queue)]).await?;
    Ok(HttpResponse::Ok().json(queue.status(*id).await?))
}

/// Cancel a task that has not resolved: its live run ends
/// exception/canceled, without retry; a resolved task is returned unchanged
/// (scope `queue:cancel-task:<queue>`).
#[utoipa::path(post, path = "/v1/queue/tasks/{task_id}/cancel", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id")),
    responses((status = 200, description = "The task", body = Task),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn cancel(queue: web::Data<Queue>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    task_with(&queue, &who, *id, |t| vec![scopes::cancel_task(&t.queue)]).await?;
    Ok(HttpResponse::Ok().json(queue.cancel(&who.context(), *id).await?))
}

/// Run a resolved task again with a fresh allowance of retries (scope
/// `queue:rerun-task:<queue>`); 409 while it has not resolved or once its
/// deadline has passed.
#[utoipa::path(post, path = "/v1/queue/tasks/{task_id}/rerun", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id")),
    responses((status = 200, description = "The task, pending again", body = Task),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn rerun(queue: web::Data<Queue>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    task_with(&queue, &who, *id, |t| vec![scopes::rerun_task(&t.queue)]).await?;
    Ok(HttpResponse::Ok().json(queue.rerun(&who.context(), *id).await?))
}

/// Schedule an unscheduled task now, without waiting for its dependencies;
/// any other task is returned unchanged (scope `queue:schedule-task:<queue>`).
#[utoipa::path(post, path = "/v1/queue/tasks/{task_id}/schedule", tag = "queue",
    params(("task_id" = Uuid, Path, description = "Task id")),
    responses((status = 200, description = "The task", body = Task),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn schedule(queue: web::Data<Queue>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    task_with(&queue, &who, *id, |t| vec![scopes::schedule_task(&t.queue)]).await?;
    Ok(HttpResponse::Ok().json(queue.schedule(&who.context(), *id).await?))
}
