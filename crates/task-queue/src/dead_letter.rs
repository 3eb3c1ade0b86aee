//! Dead letters: tasks that failed or ended in an exception with no retry
//! left. They stay until retention removes them, and [`Queue::redrive`]
//! (a [`Queue::rerun`] of a dead letter) re-drives them.

use plinth_events::Context;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entity::task;
use crate::page::{self, Page};
use crate::state::{Reason, TaskState};
use crate::{Error, Queue, Result, Task, validate};

/// Whether `task` is a dead letter: failed, or ended in an exception other than cancellation.
pub fn is_dead_letter(task: &Task) -> bool {
    matches!(task.state, TaskState::Failed | TaskState::Exception) && task.reason != Some(Reason::Canceled)
}

impl Queue {
    /// Failed and exception tasks (not canceled ones), optionally of one
    /// queue, by id, `limit` at a time.
    pub async fn dead_letters(
        &self,
        queue: Option<&str>,
        continuation: Option<&str>,
        limit: u64,
    ) -> Result<Page<Task>> {
        let after = page::uuid_token(continuation)?;
        let limit = page::limit(limit);
        let mut query = task::Entity::find()
            .filter(task::Column::State.is_in([TaskState::Failed, TaskState::Exception]))
            .filter(task::Column::Reason.ne(Reason::Canceled));
        if let Some(queue) = queue {
            validate::queue_name(queue)?;
            query = query.filter(task::Column::Queue.eq(queue));
        }
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

    /// Runs a dead letter again with a fresh allowance of retries; a
    /// conflict when the task is not a dead letter.
    pub async fn redrive(&self, ctx: &Context, id: Uuid) -> Result<Task> {
        self.rerun_if(ctx, id, |task| {
            if is_dead_letter(task) {
                Ok(())
            } else {
                Err(Error::Conflict(format!("task {id} is not a dead letter")))
            }
        })
        .await
    }
}
