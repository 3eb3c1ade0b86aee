//! The worker registry: provisioners, worker types and workers seen when
//! remote workers claim, with quarantine (a quarantined worker gets no work).
//!
//! A queue name `provisioner/worker-type` names a provisioner and worker
//! type, as Taskcluster's task queue ids do; a name without `/` belongs to
//! the `built-in` provisioner.

use plinth_events::{Context, NewEvent, record};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::entity::{provisioner, worker, worker_type};
use crate::page::{self, Page};
use crate::{Claim, Queue, Result, Task, Worker, WorkerRef, validate};
use plinth_db::OptionExt;

/// Topic recorded when a worker is quarantined or released from quarantine.
pub const WORKER_QUARANTINED: &str = "worker.quarantined";
/// Provisioner of queue names without a `/`.
pub const BUILT_IN: &str = "built-in";
/// How many recent claims a worker row remembers.
pub const RECENT_TASKS: usize = 20;
/// How long a worker row outlives its last claim.
const WORKER_TTL: Duration = Duration::days(1);
/// How often a worker whose claims come back empty is recorded as active.
const SEEN_EVERY: Duration = Duration::minutes(1);
/// How long provisioner and worker-type rows outlive their last claim.
const TYPE_TTL: Duration = Duration::days(5);

/// The provisioner and worker type of a queue name.
pub fn queue_parts(queue: &str) -> (&str, &str) {
    queue.split_once('/').unwrap_or((BUILT_IN, queue))
}

impl Queue {
    /// Claims work for a remote worker: records the worker (last seen,
    /// recent tasks) with its provisioner and worker type (while its claims
    /// come back empty, at most once a minute), and gives a quarantined
    /// worker nothing.
    pub async fn claim_work(&self, claim: &Claim) -> Result<Vec<Task>> {
        claim.validate()?;
        self.claim_work_valid(claim).await
    }

    /// [`claim_work`](Self::claim_work) of a claim already validated.
    pub(crate) async fn claim_work_valid(&self, claim: &Claim) -> Result<Vec<Task>> {
        let now = self.now();
        let (prov, wtype) = queue_parts(&claim.queue);
        let key = (
            prov.to_owned(),
            wtype.to_owned(),
            claim.worker.worker_group.clone(),
            claim.worker.worker_id.clone(),
        );
        let known = worker::Entity::find_by_id(key).one(self.db()).await?;
        let quarantined = known
            .as_ref()
            .and_then(|w| w.quarantine_until)
            .is_some_and(|until| until > now);
        let tasks = if quarantined {
            Vec::new()
        } else {
            self.claim_valid(claim).await?
        };
        let recently_seen = known
            .as_ref()
            .is_some_and(|w| tasks.is_empty() && now - w.last_date_active < SEEN_EVERY);
        if !recently_seen && let Err(error) = self.seen(&claim.queue, &claim.worker, known, &tasks, now).await
        {
            tracing::warn!(%error, worker = claim.worker.worker_id, "recording a worker's claim failed");
        }
        Ok(tasks)
    }

    /// Records a claim by `who`: upserts the worker, its type and provisioner.
    /// The claim stands even when this fails: the registry only describes it.
    async fn seen(
        &self,
        queue: &str,
        who: &WorkerRef,
        known: Option<Worker>,
        tasks: &[Task],
        now: OffsetDateTime,
    ) -> Result<()> {
        let (prov, wtype) = queue_parts(queue);
        let mut recent: Vec<Value> = known
            .as_ref()
            .and_then(|w| w.recent_tasks.as_array().cloned())
            .unwrap_or_default();
        recent.extend(
            tasks
                .iter()
                .map(|t| json!({ "task_id": t.id, "run_id": t.run_id })),
        );
        let excess = recent.len().saturating_sub(RECENT_TASKS);
        recent.drain(..excess);
        let row = worker::ActiveModel {
            provisioner_id: Set(prov.to_owned()),
            worker_type: Set(wtype.to_owned()),
            worker_group: Set(who.worker_group.clone()),
            worker_id: Set(who.worker_id.clone()),
            recent_tasks: Set(Value::Array(recent)),
            quarantine_until: Set(known.as_ref().and_then(|w| w.quarantine_until)),
            first_claim: Set(known.as_ref().map_or(now, |w| w.first_claim)),
            last_date_active: Set(now),
            expires: Set(now + WORKER_TTL),
        };
        worker::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    worker::Column::ProvisionerId,
                    worker::Column::WorkerType,
                    worker::Column::WorkerGroup,
                    worker::Column::WorkerId,
                ])
                .update_columns([
                    worker::Column::RecentTasks,
                    worker::Column::LastDateActive,
                    worker::Column::Expires,
                ])
                .to_owned(),
            )
            .exec_without_returning(self.db())
            .await?;
        let kind = worker_type::ActiveModel {
            provisioner_id: Set(prov.to_owned()),
            worker_type: Set(wtype.to_owned()),
            description: Set(String::new()),
            stability: Set("experimental".to_owned()),
            last_date_active: Set(now),
            expires: Set(now + TYPE_TTL),
        };
        worker_type::Entity::insert(kind)
            .on_conflict(
                OnConflict::columns([
                    worker_type::Column::ProvisionerId,
                    worker_type::Column::WorkerType,
                ])
                .update_columns([worker_type::Column::LastDateActive, worker_type::Column::Expires])
                .to_owned(),
            )
            .exec_without_returning(self.db())
            .await?;
        let family = provisioner::ActiveModel {
            provisioner_id: Set(prov.to_owned()),
            description: Set(String::new()),
            stability: Set("experimental".to_owned()),
            last_date_active: Set(now),
            expires: Set(now + TYPE_TTL),
        };
        provisioner::Entity::insert(family)
            .on_conflict(
                OnConflict::column(provisioner::Column::ProvisionerId)
                    .update_columns([provisioner::Column::LastDateActive, provisioner::Column::Expires])
                    .to_owned(),
            )
            .exec_without_returning(self.db())
            .await?;
        Ok(())
    }

    /// The worker `who` of `queue`'s provisioner and worker type.
    pub async fn worker(&self, queue: &str, who: &WorkerRef) -> Result<Worker> {
        validate::queue_name(queue)?;
        who.validate()?;
        let (prov, wtype) = queue_parts(queue);
        let key = (
            prov.to_owned(),
            wtype.to_owned(),
            who.worker_group.clone(),
            who.worker_id.clone(),
        );
        Ok(worker::Entity::find_by_id(key)
            .one(self.db())
            .await?
            .or_not_found(format!(
                "worker {}/{} of {queue}",
                who.worker_group, who.worker_id
            ))?)
    }

    /// Quarantines a worker until `until` (a time in the past lifts it): it
    /// keeps its claimed runs but gets no new work.
    pub async fn quarantine_worker(
        &self,
        ctx: &Context,
        queue: &str,
        who: &WorkerRef,
        until: OffsetDateTime,
    ) -> Result<Worker> {
        let current = self.worker(queue, who).await?;
        let until = validate::time("until", until)?;
        let txn = crate::store::begin(self.db()).await?;
        worker::Entity::update_many()
            .col_expr(
                worker::Column::QuarantineUntil,
                sea_orm::sea_query::Expr::value(until),
            )
            .filter(worker::Column::ProvisionerId.eq(current.provisioner_id.as_str()))
            .filter(worker::Column::WorkerType.eq(current.worker_type.as_str()))
            .filter(worker::Column::WorkerGroup.eq(current.worker_group.as_str()))
            .filter(worker::Column::WorkerId.eq(current.worker_id.as_str()))
            .exec(&txn)
            .await?;
        let subject = format!("{queue}/{}/{}", who.worker_group, who.worker_id);
        let event = NewEvent::new(WORKER_QUARANTINED, "worker", subject)
            .payload(json!({ "until": until.to_string() }));
        record(&txn, ctx, event).await?;
        txn.commit().await?;
        Ok(Worker {
            quarantine_until: Some(until),
            ..current
        })
    }

    /// The workers of `queue`'s provisioner and worker type, by group and id.
    pub async fn workers(&self, queue: &str, continuation: Option<&str>, limit: u64) -> Result<Page<Worker>> {
        validate::queue_name(queue)?;
        let (prov, wtype) = queue_parts(queue);
        let after = page::tuple_token::<2>(continuation)?;
        let limit = page::limit(limit);
        let mut query = worker::Entity::find()
            .filter(worker::Column::ProvisionerId.eq(prov))
            .filter(worker::Column::WorkerType.eq(wtype));
        if let Some([group, id]) = after {
            query = query.filter(
                sea_orm::Condition::any()
                    .add(worker::Column::WorkerGroup.gt(group.as_str()))
                    .add(
                        sea_orm::Condition::all()
                            .add(worker::Column::WorkerGroup.eq(group.as_str()))
                            .add(worker::Column::WorkerId.gt(id.as_str())),
                    ),
            );
        }
        let workers = query
            .order_by_asc(worker::Column::WorkerGroup)
            .order_by_asc(worker::Column::WorkerId)
            .limit(limit)
            .all(self.db())
            .await?;
        Ok(Page::of(workers, limit, |w| {
            page::tuple_of(&[&w.worker_group, &w.worker_id])
        }))
    }

    /// Every provisioner seen, by id.
    pub async fn provisioners(&self) -> Result<Vec<provisioner::Model>> {
        Ok(provisioner::Entity::find()
            .order_by_asc(provisioner::Column::ProvisionerId)
            .all(self.db())
            .await?)
    }

    /// The worker types of a provisioner, by name.
    pub async fn worker_types(&self, provisioner_id: &str) -> Result<Vec<worker_type::Model>> {
        validate::ident("provisioner id", provisioner_id)?;
        Ok(worker_type::Entity::find()
            .filter(worker_type::Column::ProvisionerId.eq(provisioner_id))
            .order_by_asc(worker_type::Column::WorkerType)
            .all(self.db())
            .await?)
    }

    /// The task ids and run ids a worker claimed recently, oldest first.
    pub async fn recent_tasks(&self, queue: &str, who: &WorkerRef) -> Result<Vec<(Uuid, i32)>> {
        let worker = self.worker(queue, who).await?;
        let recent: Vec<RecentTask> = serde_json::from_value(worker.recent_tasks).unwrap_or_default();
        Ok(recent.into_iter().map(|r| (r.task_id, r.run_id)).collect())
    }
}

#[derive(serde::Deserialize)]
struct RecentTask {
    task_id: Uuid,
    run_id: i32,
}
