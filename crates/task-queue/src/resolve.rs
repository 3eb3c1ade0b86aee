//! What follows a state change, in the same transaction: task rows and run
//! history written, dependents scheduled, groups resolved, events recorded,
//! workers woken.

use std::collections::{BTreeMap, BTreeSet};

use plinth_events::Context;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, ExprTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::{dependency, group, run, task};
use crate::state::{Reason, Requires, TaskState};
use crate::store::{id_chunks, in_ids, insert, lock_tasks, write_tasks};
use crate::transition::{Ended, schedule};
use crate::{Queue, Result, events, metrics, notify};

/// What the steps after a resolution need to know of a task.
#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct Resolved {
    pub id: Uuid,
    pub queue: String,
    pub task_type: String,
    pub state: TaskState,
    pub reason: Option<Reason>,
    pub run_id: Option<i32>,
    pub task_group_id: Option<Uuid>,
    pub record_events: bool,
}

impl Resolved {
    /// The columns of [`Resolved`] in the task table aliased `t`, for a
    /// `SELECT` or `RETURNING` list.
    pub(crate) const COLUMNS: &'static str =
        "t.id, t.queue, t.task_type, t.state, t.reason, t.run_id, t.task_group_id, t.record_events";
}

impl From<task::Model> for Resolved {
    fn from(t: task::Model) -> Self {
        Self::from(&t)
    }
}

impl From<&task::Model> for Resolved {
    fn from(t: &task::Model) -> Self {
        Self {
            id: t.id,
            queue: t.queue.clone(),
            task_type: t.task_type.clone(),
            state: t.state,
            reason: t.reason,
            run_id: t.run_id,
            task_group_id: t.task_group_id,
            record_events: t.record_events,
        }
    }
}

/// SQL list of the states in which a task still has work ahead.
const ACTIVE: [TaskState; 3] = [TaskState::Unscheduled, TaskState::Pending, TaskState::Running];

impl Queue {
    /// Stores ended runs and everything they cause; returns the changed tasks.
    pub(crate) async fn apply_ended(
        &self,
        txn: &impl ConnectionTrait,
        ctx: &Context,
        ended: Vec<Ended>,
        now: OffsetDateTime,
    ) -> Result<Vec<task::Model>> {
        let mut tasks = Vec::with_capacity(ended.len());
        let mut runs = Vec::new();
        let mut resolved = Vec::new();
        for e in ended {
            if e.resolved {
                resolved.push(Resolved::from(&e.task));
            }
            tasks.push(e.task);
            runs.extend(e.history);
        }
        write_tasks(txn, &tasks).await?;
        insert::<run::Entity>(txn, &runs).await?;
        let retried = tasks
            .iter()
            .filter(|t| t.state == TaskState::Pending && t.run_at <= now)
            .map(|t| t.queue.as_str());
        notify::ready(txn, self.wakers(), retried).await?;
        self.after_resolution(txn, ctx, &resolved, now).await?;
        metrics::ended(tasks.iter().map(|t| (t.queue.as_str(), t.state)));
        Ok(tasks)
    }

    /// Satisfies dependencies on `resolved`, schedules dependents with nothing
    /// left to wait for, resolves groups with no active task, records events.
    pub(crate) async fn after_resolution(
        &self,
        txn: &impl ConnectionTrait,
        ctx: &Context,
        resolved: &[Resolved],
        now: OffsetDateTime,
    ) -> Result<()> {
        if resolved.is_empty() {
            return Ok(());
        }
        let scheduled = self.satisfy_dependencies(txn, resolved, now).await?;
        let ready = scheduled
            .iter()
            .filter(|t| t.run_at <= now)
            .map(|t| t.queue.as_str());
        notify::ready(txn, self.wakers(), ready).await?;
        events::resolved(txn, ctx, resolved).await?;
        resolve_groups(txn, ctx, resolved, now).await
    }

    async fn satisfy_dependencies(
        &self,
        txn: &impl ConnectionTrait,
        resolved: &[Resolved],
        now: OffsetDateTime,
    ) -> Result<Vec<task::Model>> {
        let mut dependents = BTreeSet::new();
        for chunk in resolved.chunks(crate::store::IDS_PER_STATEMENT) {
            let (completed, other): (Vec<&Resolved>, Vec<&Resolved>) =
                chunk.iter().partition(|t| t.state == TaskState::Completed);
            let completed: Vec<Uuid> = completed.iter().map(|t| t.id).collect();
            let other: Vec<Uuid> = other.iter().map(|t| t.id).collect();
            let cond = Condition::any()
                .add(in_ids(txn, dependency::Column::RequiredTaskId, &completed))
                .add(
                    Condition::all()
                        .add(dependency::Column::Requires.eq(Requires::AllResolved))
                        .add(in_ids(txn, dependency::Column::RequiredTaskId, &other)),
                );
            let satisfied = dependency::Entity::update_many()
                .col_expr(dependency::Column::Satisfied, Expr::value(true))
                .filter(dependency::Column::Satisfied.eq(false))
                .filter(cond)
                .exec_with_returning(txn)
                .await?;
            dependents.extend(satisfied.into_iter().map(|d| d.dependent_task_id));
        }
        let dependents: Vec<Uuid> = dependents.into_iter().collect();
        self.schedule_ready(txn, &dependents, now).await
    }

    /// Schedules those of `ids` that are unscheduled with every dependency
    /// satisfied. Locks the tasks first, then counts what they still wait for,
    /// so two transactions satisfying the last two dependencies of one task
    /// cannot both see the other's as unsatisfied.
    pub(crate) async fn schedule_ready(
        &self,
        txn: &impl ConnectionTrait,
        ids: &[Uuid],
        now: OffsetDateTime,
    ) -> Result<Vec<task::Model>> {
        let waiting: Vec<task::Model> = lock_tasks(txn, ids)
            .await?
            .into_iter()
            .filter(|t| t.state == TaskState::Unscheduled)
            .collect();
        let mut blocked = BTreeSet::new();
        let ids: Vec<Uuid> = waiting.iter().map(|t| t.id).collect();
        for chunk in id_chunks(&ids) {
            let rows: Vec<Uuid> = dependency::Entity::find()
                .select_only()
                .column(dependency::Column::DependentTaskId)
                .filter(in_ids(txn, dependency::Column::DependentTaskId, chunk))
                .filter(dependency::Column::Satisfied.eq(false))
                .distinct()
                .into_tuple()
                .all(txn)
                .await?;
            blocked.extend(rows);
        }
        let ready: Vec<task::Model> = waiting
            .into_iter()
            .filter(|t| !blocked.contains(&t.id))
            .map(|t| schedule(t, now))
            .collect();
        write_tasks(txn, &ready).await?;
        Ok(ready)
    }
}

/// Marks the groups of `resolved` whose every task has resolved, and records
/// group.resolved for each. The group rows are locked first, so concurrent
/// resolutions in one group take turns and the last one sees the others.
async fn resolve_groups(
    txn: &impl ConnectionTrait,
    ctx: &Context,
    resolved: &[Resolved],
    now: OffsetDateTime,
) -> Result<()> {
    let ids: BTreeSet<Uuid> = resolved.iter().filter_map(|t| t.task_group_id).collect();
    let ids: Vec<Uuid> = ids.into_iter().collect();
    for chunk in id_chunks(&ids) {
        let groups: BTreeMap<Uuid, group::Model> = group::Entity::find()
            .filter(in_ids(txn, group::Column::Id, chunk))
            .order_by_asc(group::Column::Id)
            .lock_exclusive()
            .all(txn)
            .await?
            .into_iter()
            .map(|g| (g.id, g))
            .collect();
        let active: Vec<Option<Uuid>> = task::Entity::find()
            .select_only()
            .column(task::Column::TaskGroupId)
            .filter(in_ids(txn, task::Column::TaskGroupId, chunk))
            .filter(task::Column::State.is_in(ACTIVE))
            .distinct()
            .into_tuple()
            .all(txn)
            .await?;
        let active: BTreeSet<Uuid> = active.into_iter().flatten().collect();
        let done: Vec<&group::Model> = groups.values().filter(|g| !active.contains(&g.id)).collect();
        if done.is_empty() {
            continue;
        }
        let update = Query::update()
            .table(group::Entity)
            .value(group::Column::ResolvedAt, now)
            .and_where(Expr::col(group::Column::Id).is_in(done.iter().map(|g| g.id)))
            .to_owned();
        txn.execute(&update).await?;
        for g in done {
            events::group_resolved(txn, ctx, g.id, &g.scheduler_id).await?;
        }
    }
    Ok(())
}
