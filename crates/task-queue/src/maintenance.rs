//! Sweeps that keep the queue honest: expired leases, passed deadlines,
//! retention, and the depth gauges. Safe to run in every process at once.

use std::sync::Arc;
use std::time::Duration;

use plinth_events::Context;
use sea_orm::sea_query::{Expr, Func, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::clock::before;
use crate::entity::{artifact, group, indexed, namespace, run, task, worker};
use crate::state::{Reason, TaskState};
use crate::store::{begin, in_ids};
use crate::{Queue, Result};

/// What one maintenance pass changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Swept {
    /// Runs resolved exception/claim-expired.
    pub claims_expired: u64,
    /// Tasks resolved exception/deadline-exceeded.
    pub deadlines_exceeded: u64,
    /// Tasks deleted by retention or expiry.
    pub pruned: u64,
}

/// Tasks of one queue in one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Depth {
    /// Queue name.
    pub queue: String,
    /// Unscheduled, pending or running.
    pub state: TaskState,
    /// How many.
    pub count: u64,
}

/// A background maintenance loop; stop it to end it.
#[derive(Debug)]
pub struct Maintenance {
    stop: Arc<Notify>,
    handle: JoinHandle<()>,
}

impl Maintenance {
    /// Stops the loop after its current pass.
    pub async fn stop(self) {
        self.stop.notify_one();
        if let Err(error) = self.handle.await {
            tracing::warn!(%error, "queue maintenance loop ended abnormally");
        }
    }
}

fn system() -> Context {
    Context::actor("system", "queue")
}

impl Queue {
    /// One pass: expired leases, passed deadlines, retention, depth gauges.
    pub async fn maintain(&self) -> Result<Swept> {
        let swept = Swept {
            claims_expired: self.expire_claims().await?,
            deadlines_exceeded: self.expire_deadlines().await?,
            pruned: self.prune().await?,
        };
        let depths = self.depth().await?;
        self.depth_gauges().publish(
            depths
                .into_iter()
                .map(|d| (d.queue, sea_orm::ActiveEnum::to_value(&d.state), d.count)),
        );
        Ok(swept)
    }

    /// Runs [`maintain`](Self::maintain) every `interval` until stopped.
    pub fn spawn_maintenance(&self, interval: Duration) -> Maintenance {
        let stop = Arc::new(Notify::new());
        let queue = self.clone();
        let stopped = Arc::clone(&stop);
        let handle = tokio::spawn(async move {
            loop {
                if let Err(error) = queue.maintain().await {
                    tracing::warn!(%error, "queue maintenance failed");
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = stopped.notified() => return,
                }
            }
        });
        Maintenance { stop, handle }
    }

    /// Resolves running tasks whose lease has run out as
    /// exception/claim-expired, retrying those with retries left. Returns
    /// how many runs it ended.
    pub async fn expire_claims(&self) -> Result<u64> {
        let now = self.now();
        let cond = Condition::all()
            .add(task::Column::State.eq(TaskState::Running))
            .add(task::Column::TakenUntil.lt(now));
        self.sweep(cond, Reason::ClaimExpired, now).await
    }

    /// Resolves unresolved tasks past their deadline as
    /// exception/deadline-exceeded. Returns how many.
    pub async fn expire_deadlines(&self) -> Result<u64> {
        let now = self.now();
        let cond = Condition::all()
            .add(task::Column::State.is_in([TaskState::Unscheduled, TaskState::Pending, TaskState::Running]))
            .add(task::Column::Deadline.is_not_null())
            .add(task::Column::Deadline.lte(now));
        self.sweep(cond, Reason::DeadlineExceeded, now).await
    }

    /// Ends the runs of tasks matching `cond` with `reason`, in batches;
    /// rows another sweeper holds are skipped.
    async fn sweep(&self, cond: Condition, reason: Reason, now: OffsetDateTime) -> Result<u64> {
        let batch = plinth_db::sql::batch_limit(self.config().maintenance_batch);
        let mut total = 0;
        loop {
            let txn = begin(self.db()).await?;
            let tasks = task::Entity::find()
                .filter(cond.clone())
                .order_by_asc(task::Column::Id)
                .limit(batch)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .all(&txn)
                .await?;
            let n = tasks.len() as u64;
            self.end_with(&txn, &system(), tasks, reason, now).await?;
            txn.commit().await?;
            total += n;
            if n < batch {
                return Ok(total);
            }
        }
    }

    /// Deletes, in batches, resolved tasks past their retention or expiry
    /// (with their runs, dependencies and artifacts), then expired
    /// artifacts, index entries, workers and empty old groups. Returns how
    /// many tasks it deleted.
    pub async fn prune(&self) -> Result<u64> {
        let now = self.now();
        let retention = self.config().retention;
        let mut stale = Condition::any().add(
            Condition::all()
                .add(task::Column::State.is_in([
                    TaskState::Completed,
                    TaskState::Failed,
                    TaskState::Exception,
                ]))
                .add(task::Column::Expires.lt(now)),
        );
        let completed_before = before(now, retention.completed);
        if let Some(cutoff) = completed_before {
            stale = stale.add(
                Condition::all()
                    .add(task::Column::State.eq(TaskState::Completed))
                    .add(task::Column::ResolvedAt.lt(cutoff)),
            );
        }
        if let Some(cutoff) = retention.failed.and_then(|failed| before(now, failed)) {
            stale = stale.add(
                Condition::all()
                    .add(task::Column::State.is_in([TaskState::Failed, TaskState::Exception]))
                    .add(task::Column::ResolvedAt.lt(cutoff)),
            );
        }
        let batch = plinth_db::sql::batch_limit(self.config().maintenance_batch);
        let db = self.db();
        let mut total = 0;
        loop {
            let txn = begin(db).await?;
            let ids: Vec<Uuid> = task::Entity::find()
                .select_only()
                .column(task::Column::Id)
                .filter(stale.clone())
                .limit(batch)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .into_tuple()
                .all(&txn)
                .await?;
            run::Entity::delete_many()
                .filter(in_ids(&txn, run::Column::TaskId, &ids))
                .exec(&txn)
                .await?;
            let deleted = task::Entity::delete_many()
                .filter(in_ids(&txn, task::Column::Id, &ids))
                .exec(&txn)
                .await?
                .rows_affected;
            txn.commit().await?;
            total += deleted;
            if deleted < batch {
                break;
            }
        }
        artifact::Entity::delete_many()
            .filter(artifact::Column::Expires.lt(now))
            .exec(db)
            .await?;
        indexed::Entity::delete_many()
            .filter(indexed::Column::Expires.lt(now))
            .exec(db)
            .await?;
        namespace::Entity::delete_many()
            .filter(namespace::Column::Expires.lt(now))
            .exec(db)
            .await?;
        worker::Entity::delete_many()
            .filter(worker::Column::Expires.lt(now))
            .exec(db)
            .await?;
        if let Some(cutoff) = completed_before {
            let members = Query::select()
                .expr(Expr::val(1))
                .from(task::Entity)
                .and_where(
                    Expr::col((task::Entity, task::Column::TaskGroupId))
                        .equals((group::Entity, group::Column::Id)),
                )
                .to_owned();
            let empty = Query::delete()
                .from_table(group::Entity)
                .and_where(Expr::col(group::Column::CreatedAt).lt(cutoff))
                .and_where(Expr::exists(members).not())
                .to_owned();
            db.execute(&empty).await?;
        }
        Ok(total)
    }

    /// How many tasks each queue holds in each unresolved state.
    pub async fn depth(&self) -> Result<Vec<Depth>> {
        let rows: Vec<(String, TaskState, i64)> = task::Entity::find()
            .select_only()
            .column(task::Column::Queue)
            .column(task::Column::State)
            .column_as(Expr::from(Func::count(Expr::col(task::Column::Id))), "n")
            .filter(task::Column::State.is_in([
                TaskState::Unscheduled,
                TaskState::Pending,
                TaskState::Running,
            ]))
            .group_by(task::Column::Queue)
            .group_by(task::Column::State)
            .order_by_asc(task::Column::Queue)
            .into_tuple()
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(queue, state, n)| Depth {
                queue,
                state,
                count: u64::try_from(n).unwrap_or(0),
            })
            .collect())
    }
}
