//! Claiming pending tasks and keeping their leases: a batch claim ordered by
//! priority, run-at and id (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's
//! single writer makes the same statement safe), and lease renewal.

use std::time::Duration;

use plinth_db::Backend;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::duration;
use crate::entity::task;
use crate::state::TaskState;
use crate::store::{id_chunks, in_ids, stmt};
use crate::{Error, Queue, Result, Task, metrics, notify, validate};

/// Most tasks one claim returns.
pub const MAX_CLAIM: usize = 1_000;

/// A worker as the queue knows it: a group (e.g. a region or host) and an id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
        validate::queue_name(&claim.queue)?;
        claim.worker.validate()?;
        for t in &claim.task_types {
            validate::task_type(t)?;
        }
        let count = claim.count.clamp(1, MAX_CLAIM);
        let now = self.now();
        let until = now + duration(claim.lease.unwrap_or(self.config().lease));
        let db = self.db();
        let lock = match Backend::of(db)? {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut values = vec![
            claim.queue.clone().into(),
            claim.worker.worker_group.clone().into(),
            claim.worker.worker_id.clone().into(),
            until.into(),
            now.into(),
            i64::try_from(count).unwrap_or(1).into(),
        ];
        let mut types = String::new();
        if !claim.task_types.is_empty() {
            let marks: Vec<String> = (0..claim.task_types.len())
                .map(|i| format!("${}", i + 7))
                .collect();
            types = format!(" AND task_type IN ({})", marks.join(", "));
            values.extend(claim.task_types.iter().map(|t| t.clone().into()));
        }
        let sql = format!(
            "WITH picked AS MATERIALIZED (\
               SELECT id FROM queue_task \
               WHERE queue = $1 AND state = 'pending' AND run_at <= $5 \
                 AND (deadline IS NULL OR deadline > $5){types} \
               ORDER BY priority DESC, run_at, id LIMIT $6{lock}) \
             UPDATE queue_task SET state = 'running', worker_group = $2, worker_id = $3, \
               taken_until = $4, started_at = $5, attempts = attempts + 1, updated_at = $5 \
             WHERE id IN (SELECT id FROM picked) RETURNING *"
        );
        let rows = db.query_all_raw(stmt(db, sql, values)).await?;
        let mut tasks = rows
            .iter()
            .map(|row| task::Model::from_query_result(row, ""))
            .collect::<Result<Vec<_>, _>>()?;
        tasks.sort_by(|a, b| (b.priority, a.run_at, a.id).cmp(&(a.priority, b.run_at, b.id)));
        metrics::claimed(&tasks);
        Ok(tasks)
    }

    /// Extends the lease of run `run_id` of `task_id` held by `worker`
    /// (Taskcluster's reclaim); a conflict when the worker does not hold it.
    pub async fn reclaim(
        &self,
        task_id: Uuid,
        run_id: i32,
        worker: &WorkerRef,
        lease: Option<Duration>,
    ) -> Result<Task> {
        let held = self.extend_leases(worker, &[task_id], lease).await?;
        match held.into_iter().find(|t| t.run_id == Some(run_id)) {
            Some(task) => Ok(task),
            None => {
                self.task(task_id).await?;
                Err(Error::not_held(task_id, run_id))
            }
        }
    }

    /// Extends the leases `worker` holds on `ids`; returns the tasks still held.
    pub(crate) async fn extend_leases(
        &self,
        worker: &WorkerRef,
        ids: &[Uuid],
        lease: Option<Duration>,
    ) -> Result<Vec<Task>> {
        let now = self.now();
        let until = now + duration(lease.unwrap_or(self.config().lease));
        let mut held = Vec::with_capacity(ids.len());
        for chunk in id_chunks(ids) {
            let tasks = task::Entity::update_many()
                .col_expr(task::Column::TakenUntil, Expr::value(until))
                .col_expr(task::Column::UpdatedAt, Expr::value(now))
                .filter(in_ids(self.db(), task::Column::Id, chunk))
                .filter(task::Column::State.eq(TaskState::Running))
                .filter(task::Column::WorkerGroup.eq(worker.worker_group.as_str()))
                .filter(task::Column::WorkerId.eq(worker.worker_id.as_str()))
                .exec_with_returning(self.db())
                .await?;
            held.extend(tasks);
        }
        Ok(held)
    }
}

impl Queue {
    /// How long until the next pending task of one of `types` on `queue`
    /// becomes ready, if one is scheduled for later.
    pub(crate) async fn next_run_at(&self, queue: &str, types: &[String]) -> Result<Option<Duration>> {
        let now = self.now();
        let next: Option<Option<time::OffsetDateTime>> = task::Entity::find()
            .select_only()
            .column_as(Expr::from(Func::min(Expr::col(task::Column::RunAt))), "next")
            .filter(task::Column::Queue.eq(queue))
            .filter(task::Column::State.eq(TaskState::Pending))
            .filter(task::Column::RunAt.gt(now))
            .filter(task::Column::TaskType.is_in(types.iter().map(String::as_str)))
            .into_tuple()
            .one(self.db())
            .await?;
        Ok(next
            .flatten()
            .map(|at| Duration::from_secs_f64((at - now).as_seconds_f64().max(0.0))))
    }
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
