//! Task groups: status, listing, seal and cancel.

use plinth_events::{Context, NewEvent, record};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::entity::{group, task};
use crate::page::{self, Page};
use crate::state::{Reason, TaskState};
use crate::store::begin;
use crate::{Group, Queue, Result, Task};
use plinth_db::OptionExt;

/// Topic recorded when a group is sealed.
pub const GROUP_SEALED: &str = "group.sealed";

/// A group and how many of its tasks are in each state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct GroupStatus {
    /// The group.
    pub group: Group,
    /// Tasks waiting for dependencies.
    pub unscheduled: u64,
    /// Tasks ready or waiting for their run-at time.
    pub pending: u64,
    /// Tasks claimed.
    pub running: u64,
    /// Tasks completed.
    pub completed: u64,
    /// Tasks failed.
    pub failed: u64,
    /// Tasks ended in an exception.
    pub exception: u64,
}

impl Queue {
    /// The group with counts of its tasks by state.
    pub async fn group(&self, id: Uuid) -> Result<GroupStatus> {
        let group = self.group_row(id).await?;
        let counts: Vec<(TaskState, i64)> = task::Entity::find()
            .select_only()
            .column(task::Column::State)
            .column_as(Expr::from(Func::count(Expr::col(task::Column::Id))), "n")
            .filter(task::Column::TaskGroupId.eq(id))
            .group_by(task::Column::State)
            .into_tuple()
            .all(self.db())
            .await?;
        let mut status = GroupStatus {
            group,
            unscheduled: 0,
            pending: 0,
            running: 0,
            completed: 0,
            failed: 0,
            exception: 0,
        };
        for (state, n) in counts {
            let n = u64::try_from(n).unwrap_or(0);
            match state {
                TaskState::Unscheduled => status.unscheduled = n,
                TaskState::Pending => status.pending = n,
                TaskState::Running => status.running = n,
                TaskState::Completed => status.completed = n,
                TaskState::Failed => status.failed = n,
                TaskState::Exception => status.exception = n,
            }
        }
        Ok(status)
    }

    /// The group's tasks by id, `limit` at a time.
    pub async fn group_tasks(&self, id: Uuid, continuation: Option<&str>, limit: u64) -> Result<Page<Task>> {
        let after = page::uuid_token(continuation)?;
        let limit = page::limit(limit);
        let mut query = task::Entity::find().filter(task::Column::TaskGroupId.eq(id));
        if let Some(after) = after {
            query = query.filter(task::Column::Id.gt(after));
        }
        let tasks = query
            .order_by_asc(task::Column::Id)
            .limit(limit)
            .all(self.db())
            .await?;
        Ok(Page::of(tasks, limit, |t| t.id.to_string()))
    }

    /// Seals the group: no task may join it any more. Sealing again changes nothing.
    pub async fn seal_group(&self, ctx: &Context, id: Uuid) -> Result<Group> {
        let now = self.now();
        let txn = begin(self.db()).await?;
        let group = group::Entity::find_by_id(id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .or_not_found(format!("task group {id}"))?;
        if group.sealed_at.is_some() {
            return Ok(group);
        }
        group::Entity::update_many()
            .col_expr(group::Column::SealedAt, Expr::value(now))
            .filter(group::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        record(&txn, ctx, NewEvent::new(GROUP_SEALED, "task_group", id)).await?;
        txn.commit().await?;
        Ok(group::Model {
            sealed_at: Some(now),
            ..group
        })
    }

    /// Seals the group and cancels every task in it that has not resolved,
    /// in batches; returns how many it canceled.
    pub async fn cancel_group(&self, ctx: &Context, id: Uuid) -> Result<u64> {
        self.seal_group(ctx, id).await?;
        let batch = plinth_db::sql::batch_limit(self.config().maintenance_batch);
        let mut total = 0;
        loop {
            let now = self.now();
            let txn = begin(self.db()).await?;
            let tasks = task::Entity::find()
                .filter(task::Column::TaskGroupId.eq(id))
                .filter(task::Column::State.is_in([
                    TaskState::Unscheduled,
                    TaskState::Pending,
                    TaskState::Running,
                ]))
                .order_by_asc(task::Column::Id)
                .limit(batch)
                .lock_exclusive()
                .all(&txn)
                .await?;
            let n = tasks.len() as u64;
            self.end_with(&txn, ctx, tasks, Reason::Canceled, now).await?;
            txn.commit().await?;
            total += n;
            if n < batch {
                return Ok(total);
            }
        }
    }

    async fn group_row(&self, id: Uuid) -> Result<Group> {
        Ok(group::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .or_not_found(format!("task group {id}"))?)
    }
}
