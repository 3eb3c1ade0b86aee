//! The events the queue records, in the transaction of the change they describe.

use plinth_events::{Context, NewEvent, record};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::Result;
use crate::entity::task;
use crate::resolve::Resolved;

/// Topic recorded when a task is created (unless it opted out of events).
pub const TASK_CREATED: &str = "task.created";
/// Topic recorded when a task resolves (completed, failed or exception).
pub const TASK_RESOLVED: &str = "task.resolved";
/// Topic recorded when someone asks a resolved task to run again.
pub const TASK_RERUN: &str = "task.rerun";
/// Topic recorded when someone schedules a task without waiting for its dependencies.
pub const TASK_SCHEDULED: &str = "task.scheduled";
/// Topic recorded when every task of a group has resolved.
pub const GROUP_RESOLVED: &str = "group.resolved";

/// Records task.created for each task that records events.
pub(crate) async fn created(conn: &impl ConnectionTrait, ctx: &Context, tasks: &[task::Model]) -> Result<()> {
    for t in tasks.iter().filter(|t| t.record_events) {
        let payload = json!({
            "queue": t.queue,
            "task_type": t.task_type,
            "state": t.state,
            "task_group_id": t.task_group_id,
        });
        record(
            conn,
            ctx,
            NewEvent::new(TASK_CREATED, "task", t.id).payload(payload),
        )
        .await?;
    }
    Ok(())
}

/// Records task.resolved for each task that records events.
pub(crate) async fn resolved(conn: &impl ConnectionTrait, ctx: &Context, tasks: &[Resolved]) -> Result<()> {
    for t in tasks.iter().filter(|t| t.record_events) {
        let payload = json!({
            "queue": t.queue,
            "task_type": t.task_type,
            "state": t.state,
            "reason": t.reason,
            "run_id": t.run_id,
            "task_group_id": t.task_group_id,
        });
        record(
            conn,
            ctx,
            NewEvent::new(TASK_RESOLVED, "task", t.id).payload(payload),
        )
        .await?;
    }
    Ok(())
}

/// Records group.resolved.
pub(crate) async fn group_resolved(
    conn: &impl ConnectionTrait,
    ctx: &Context,
    group_id: Uuid,
    scheduler_id: &str,
) -> Result<()> {
    let event = NewEvent::new(GROUP_RESOLVED, "task_group", group_id)
        .payload(json!({ "scheduler_id": scheduler_id }));
    record(conn, ctx, event).await?;
    Ok(())
}

/// Records a manual action on a task (rerun, forced schedule), whatever its event setting.
pub(crate) async fn action(
    conn: &impl ConnectionTrait,
    ctx: &Context,
    topic: &str,
    task: &task::Model,
) -> Result<()> {
    let payload = json!({ "queue": task.queue, "task_type": task.task_type, "run_id": task.run_id });
    record(conn, ctx, NewEvent::new(topic, "task", task.id).payload(payload)).await?;
    Ok(())
}
