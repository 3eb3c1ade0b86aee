//! Claiming pending tasks and keeping their leases: a batch claim ordered by
//! priority, run-at and id (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's
//! single writer makes the same statement safe), and lease renewal.

use std::time::Duration;

use plinth_db::Backend;
use sea_orm::sea_query::{
    CommonTableExpression, Expr, ExprTrait, Func, LockBehavior, LockType, Order, Query, WithClause,
};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, QueryTrait, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::duration;
use crate::control::check_deadline;
use crate::entity::task;
use crate::state::TaskState;
use crate::store::{id_chunks, in_ids};
use crate::{Error, Queue, Result, Task, metrics, notify, validate};

/// Most tasks one claim returns.
pub const MAX_CLAIM: usize = 1_000;
/// Name of the claim statement's common table expression.
const PICKED: &str = "picked";

/// A worker as the queue knows it: a group (e.g. a region or host) and an id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkerRef {
    /// Worker group.
    pub worker_group: String,
    /// Worker id, unique within the group.
    pub worker_id: String,
}

impl WorkerRef {
    /// A worker `worker_id` in `worker_group`.
    pub fn new(worker_group: impl Into<String>, worker_id: impl Into<String>) -> Self {
        Self {
            worker_group: worker_group.into(),
            worker_id: worker_id.into(),
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        validate::ident("worker group", &self.worker_group)?;
        validate::ident("worker id", &self.worker_id)
    }

    /// Whether this worker holds `task`'s live run `run_id`.
    pub(crate) fn holds(&self, task: &task::Model, run_id: i32) -> bool {
        task.state == TaskState::Running
            && task.run_id == Some(run_id)
            && task.worker_group.as_deref() == Some(self.worker_group.as_str())
            && task.worker_id.as_deref() == Some(self.worker_id.as_str())
    }
}

/// A request for work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The queue to claim from.
    pub queue: String,
    /// Who claims.
    pub worker: WorkerRef,
    /// Most tasks wanted (at most [`MAX_CLAIM`]).
    pub count: usize,
    /// Lease length; the queue's default when `None`.
    pub lease: Option<Duration>,
    /// Only these task types; any type when empty.
    pub task_types: Vec<String>,
}

impl Claim {
    /// Refuses a claim naming an invalid queue, worker or task type, or too
    /// many task types.
    pub(crate) fn validate(&self) -> Result<()> {
        validate::queue_name(&self.queue)?;
        self.worker.validate()?;
        validate::at_most(
            "task types in a claim",
            self.task_types.len(),
            validate::MAX_CLAIM_TYPES,
        )?;
        self.task_types.iter().try_for_each(|t| validate::task_type(t))
    }

    /// A claim of up to `count` tasks of any type from `queue` by `worker`.
    pub fn new(queue: impl Into<String>, worker: WorkerRef, count: usize) -> Self {
        Self {
            queue: queue.into(),
            worker,
            count,
            lease: None,
            task_types: Vec::new(),
        }
    }
}

impl Queue {
    /// Claims up to `count` ready tasks: highest priority first, then
    /// earliest run-at, then id. Tasks past their deadline are left for the
    /// deadline sweep. Concurrent claimers never receive the same task.
    pub async fn claim(&self, claim: &Claim) -> Result<Vec<Task>> {
        claim.validate()?;
        self.claim_valid(claim).await
    }

    /// [`claim`](Self::claim) of a claim already validated.
    pub(crate) async fn claim_valid(&self, claim: &Claim) -> Result<Vec<Task>> {
        let count = claim.count.clamp(1, MAX_CLAIM);
        let now = self.now();
        let until = now.saturating_add(duration(claim.lease.unwrap_or(self.config().lease)));
        let db = self.db();
        let backend = Backend::of(db)?;
        let ready = ready(backend, &claim.queue, &claim.task_types, now);
        let picked = Query::select()
            .column(task::Column::Id)
            .from(task::Entity)
            .cond_where(ready)
            .order_by(task::Column::Priority, Order::Desc)
            .order_by(task::Column::RunAt, Order::Asc)
            .order_by(task::Column::Id, Order::Asc)
            .limit(u64::try_from(count).unwrap_or(1))
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        let picked = CommonTableExpression::new()
            .query(picked)
            .table_name(PICKED)
            .materialized(true)
            .to_owned();
        let update = Query::update()
            .table(task::Entity)
            .value(task::Column::State, TaskState::Running.to_value())
            .value(task::Column::WorkerGroup, claim.worker.worker_group.as_str())
            .value(task::Column::WorkerId, claim.worker.worker_id.as_str())
            .value(task::Column::TakenUntil, until)
            .value(task::Column::StartedAt, now)
            .value(task::Column::Attempts, Expr::col(task::Column::Attempts).add(1))
            .value(task::Column::UpdatedAt, now)
            .and_where(
                Expr::col(task::Column::Id).in_subquery(Query::select().column("id").from(PICKED).to_owned()),
            )
            .returning_all()
            .to_owned()
            .with(WithClause::new().cte(picked).to_owned());
        let rows = match backend {
            // A claim lost to a crash only returns its tasks to pending, as
            // an expired lease would, so it need not wait for its WAL flush:
            // the handler starts one disk sync sooner.
            Backend::Postgres => {
                let txn = db.begin().await?;
                txn.execute_unprepared("SET LOCAL synchronous_commit = off")
                    .await?;
                let rows = txn.query_all(&update).await?;
                txn.commit().await?;
                rows
            }
            Backend::Sqlite => db.query_all(&update).await?,
        };
        let mut tasks = rows
            .iter()
            .map(|row| task::Model::from_query_result(row, ""))
            .collect::<Result<Vec<_>, _>>()?;
        tasks.sort_by(|a, b| (b.priority, a.run_at, a.id).cmp(&(a.priority, b.run_at, b.id)));
        metrics::claimed(&tasks);
        Ok(tasks)
    }

    /// Extends the lease of run `run_id` of `task_id` held by `worker`
    /// (Taskcluster's reclaim); a conflict when the worker does not hold it
    /// or the task's deadline has come.
    pub async fn reclaim(
        &self,
        task_id: Uuid,
        run_id: i32,
        worker: &WorkerRef,
        lease: Option<Duration>,
    ) -> Result<Task> {
        let held = self
            .extend_leases(worker, &[task_id], Some(run_id), lease)
            .await?;
        match held.into_iter().next() {
            Some(task) => Ok(task),
            None => {
                check_deadline(&self.task(task_id).await?, self.now())?;
                Err(Error::not_held(task_id, run_id))
            }
        }
    }

    /// Extends the leases `worker` holds on `ids` (only on run `run_id` when
    /// given, so a stale run's lease is never extended) of tasks whose
    /// deadline has not come; returns the tasks still held.
    pub(crate) async fn extend_leases(
        &self,
        worker: &WorkerRef,
        ids: &[Uuid],
        run_id: Option<i32>,
        lease: Option<Duration>,
    ) -> Result<Vec<Task>> {
        let now = self.now();
        let until = now.saturating_add(duration(lease.unwrap_or(self.config().lease)));
        let backend = Backend::of(self.db())?;
        let mut held = Vec::with_capacity(ids.len());
        for chunk in id_chunks(ids) {
            let tasks = task::Entity::update_many()
                .col_expr(task::Column::TakenUntil, Expr::value(until))
                .col_expr(task::Column::UpdatedAt, Expr::value(now))
                .filter(in_ids(self.db(), task::Column::Id, chunk))
                .filter(task::Column::State.eq(TaskState::Running))
                .filter(task::Column::WorkerGroup.eq(worker.worker_group.as_str()))
                .filter(task::Column::WorkerId.eq(worker.worker_id.as_str()))
                .filter(before_deadline(backend, now))
                .apply_if(run_id, |q, run| q.filter(task::Column::RunId.eq(run)))
                .exec_with_returning(self.db())
                .await?;
            held.extend(tasks);
        }
        Ok(held)
    }
}

impl Queue {
    /// How long until the next pending task of one of `types` (any type when
    /// empty) on `queue` becomes ready, if one is scheduled for later.
    pub(crate) async fn next_run_at(&self, queue: &str, types: &[String]) -> Result<Option<Duration>> {
        let now = self.now();
        let backend = Backend::of(self.db())?;
        let next: Option<Option<OffsetDateTime>> = task::Entity::find()
            .select_only()
            .column_as(Expr::from(Func::min(Expr::col(task::Column::RunAt))), "next")
            .filter(pending(queue, types))
            .filter(backend.not_after(task::Column::RunAt, now).not())
            .into_tuple()
            .one(self.db())
            .await?;
        Ok(next
            .flatten()
            .map(|at| Duration::from_secs_f64((at - now).as_seconds_f64().max(0.0))))
    }
}

/// The pending tasks of `queue`, of one of `types` or any type when empty.
fn pending(queue: &str, types: &[String]) -> Condition {
    let cond = Condition::all()
        .add(task::Column::Queue.eq(queue))
        .add(task::Column::State.eq(TaskState::Pending));
    if types.is_empty() {
        cond
    } else {
        cond.add(task::Column::TaskType.is_in(types.iter().map(String::as_str)))
    }
}

/// The pending tasks of `queue` (of one of `types`, or any type when
/// empty) whose run-at time has come and whose deadline has not passed.
fn ready(backend: Backend, queue: &str, types: &[String], now: OffsetDateTime) -> Condition {
    Condition::all()
        .add(pending(queue, types))
        .add(backend.not_after(task::Column::RunAt, now))
        .add(before_deadline(backend, now))
}

/// The tasks whose deadline, if any, is still ahead at `now`.
fn before_deadline(backend: Backend, now: OffsetDateTime) -> Condition {
    Condition::any()
        .add(task::Column::Deadline.is_null())
        .add(backend.not_after(task::Column::Deadline, now).not())
}

impl Queue {
    /// Returns claimed tasks whose handlers never started to pending, as if
    /// never claimed (no run recorded, no attempt counted), and wakes their queues.
    pub(crate) async fn unclaim(&self, worker: &WorkerRef, ids: &[Uuid]) -> Result<()> {
        let now = self.now();
        for chunk in id_chunks(ids) {
            let returned = task::Entity::update_many()
                .col_expr(task::Column::State, Expr::value(TaskState::Pending))
                .col_expr(task::Column::WorkerGroup, Expr::value(Option::<String>::None))
                .col_expr(task::Column::WorkerId, Expr::value(Option::<String>::None))
                .col_expr(
                    task::Column::TakenUntil,
                    Expr::value(Option::<time::OffsetDateTime>::None),
                )
                .col_expr(
                    task::Column::StartedAt,
                    Expr::value(Option::<time::OffsetDateTime>::None),
                )
                .col_expr(task::Column::Attempts, Expr::col(task::Column::Attempts).sub(1))
                .col_expr(task::Column::UpdatedAt, Expr::value(now))
                .filter(in_ids(self.db(), task::Column::Id, chunk))
                .filter(task::Column::State.eq(TaskState::Running))
                .filter(task::Column::WorkerGroup.eq(worker.worker_group.as_str()))
                .filter(task::Column::WorkerId.eq(worker.worker_id.as_str()))
                .exec_with_returning(self.db())
                .await?;
            notify::ready(
                self.db(),
                self.wakers(),
                returned.iter().map(|t| t.queue.as_str()),
            )
            .await?;
        }
        Ok(())
    }
}
