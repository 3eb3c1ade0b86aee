//! Creating tasks: one or a batch, inside the caller's transaction or our
//! own; idempotent by id, deduplicated by unique key, joined to groups and
//! dependencies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use plinth_events::Context;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::{dependency, group, task};
use crate::state::{Requires, TaskState};
use crate::store::{begin, id_chunks, in_ids, insert};
use crate::{Error, NewTask, Queue, Result, events, metrics, notify};

/// What creating one task did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Created {
    /// A new task was created.
    New,
    /// A task with this id and an equal definition already existed.
    Existing,
    /// Another active task holds the unique key; its id is returned.
    Deduplicated,
}

/// The task that now stands for one requested creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Enqueued {
    /// Id of the created, existing or deduplicating task.
    pub id: Uuid,
    /// Which of the three happened.
    pub created: Created,
}

/// How many times creation retries a unique key whose holder resolved mid-way.
const DEDUPE_ATTEMPTS: usize = 3;

impl Queue {
    /// Creates one task in its own transaction.
    pub async fn create(&self, ctx: &Context, task: NewTask) -> Result<Enqueued> {
        let mut created = self.create_many(ctx, vec![task]).await?;
        created
            .pop()
            .ok_or_else(|| Error::Invalid("nothing was created".into()))
    }

    /// Creates a batch in its own transaction: all or nothing.
    pub async fn create_many(&self, ctx: &Context, tasks: Vec<NewTask>) -> Result<Vec<Enqueued>> {
        let txn = begin(self.db()).await?;
        let created = self.create_in(&txn, ctx, tasks).await?;
        txn.commit().await?;
        Ok(created)
    }

    /// Creates a batch on `conn` — pass the caller's transaction so the tasks
    /// exist exactly when the caller's other changes do. On an error the
    /// caller rolls back; on a bare connection a failed batch may be partly
    /// written. Results are in request order.
    ///
    /// A task may depend on existing tasks and on tasks earlier in the batch.
    /// On PostgreSQL the rows go in one statement, and workers are notified
    /// when the transaction commits.
    pub async fn create_in(
        &self,
        conn: &impl ConnectionTrait,
        ctx: &Context,
        tasks: Vec<NewTask>,
    ) -> Result<Vec<Enqueued>> {
        let now = self.now();
        let (rows, dependencies) = self.rows(tasks, now)?;
        let mut results: Vec<Option<Enqueued>> = vec![None; rows.len()];
        let mut todo: Vec<usize> = (0..rows.len()).collect();
        let mut created: Vec<usize> = Vec::new();
        for _ in 0..DEDUPE_ATTEMPTS {
            if todo.is_empty() {
                break;
            }
            let batch: Vec<task::Model> = todo.iter().map(|&i| rows[i].clone()).collect();
            let inserted: BTreeSet<Uuid> = insert::<task::Entity>(conn, &batch).await?.into_iter().collect();
            let mut skipped = Vec::new();
            for i in todo {
                if inserted.contains(&rows[i].id) {
                    results[i] = Some(Enqueued {
                        id: rows[i].id,
                        created: Created::New,
                    });
                    created.push(i);
                } else {
                    skipped.push(i);
                }
            }
            todo = resolve_skipped(conn, &rows, skipped, &mut results).await?;
        }
        if !todo.is_empty() {
            return Err(Error::Conflict(
                "unique key kept changing hands; try again".into(),
            ));
        }
        let waiting: Vec<(&task::Model, &[Uuid])> = created
            .iter()
            .filter(|&&i| rows[i].state == TaskState::Unscheduled)
            .map(|&i| (&rows[i], dependencies[i].as_slice()))
            .collect();
        let created: Vec<task::Model> = created.into_iter().map(|i| rows[i].clone()).collect();
        let scheduled = self.join(conn, &created, &waiting, now).await?;
        let ready = created
            .iter()
            .filter(|t| t.state == TaskState::Pending && t.run_at <= now)
            .chain(scheduled.iter().filter(|t| t.run_at <= now))
            .map(|t| t.queue.as_str());
        notify::ready(conn, self.wakers(), ready).await?;
        events::created(conn, ctx, &created).await?;
        metrics::created(&created);
        Ok(results.into_iter().flatten().collect())
    }

    /// Checks the definitions and turns them into rows; batch-internal
    /// dependencies must point backwards, so a batch cannot hold a cycle.
    fn rows(&self, tasks: Vec<NewTask>, now: OffsetDateTime) -> Result<(Vec<task::Model>, Vec<Vec<Uuid>>)> {
        let mut seen = BTreeSet::new();
        let mut rows = Vec::with_capacity(tasks.len());
        let mut dependencies = Vec::with_capacity(tasks.len());
        let ids: BTreeSet<Uuid> = tasks.iter().filter_map(|t| t.id).collect();
        for task in tasks {
            let task = task.validated(self.config())?;
            let id = task.id.unwrap_or_else(Uuid::now_v7);
            if let Some(later) = task
                .dependencies
                .iter()
                .find(|d| ids.contains(d) && !seen.contains(*d))
            {
                return Err(Error::Invalid(format!(
                    "task {id} depends on {later}, which comes later in the batch"
                )));
            }
            seen.insert(id);
            dependencies.push(task.dependencies.clone());
            rows.push(task.into_row(id, self.config(), now));
        }
        Ok((rows, dependencies))
    }

    /// Joins new tasks to their groups and dependencies; returns the tasks
    /// whose dependencies were all satisfied already, now scheduled.
    async fn join(
        &self,
        conn: &impl ConnectionTrait,
        created: &[task::Model],
        waiting: &[(&task::Model, &[Uuid])],
        now: OffsetDateTime,
    ) -> Result<Vec<task::Model>> {
        if !waiting.is_empty() {
            insert_dependencies(conn, waiting).await?;
        }
        join_groups(conn, created, now).await?;
        let ids: Vec<Uuid> = waiting.iter().map(|(t, _)| t.id).collect();
        self.schedule_ready(conn, &ids, now).await
    }
}

/// Inserts the dependency rows of `waiting`, satisfied where the required
/// task has resolved as required. The required tasks are read with a share
/// lock, so one resolving now either commits first (and is seen resolved) or
/// waits for this transaction (and then sees these rows).
async fn insert_dependencies(conn: &impl ConnectionTrait, waiting: &[(&task::Model, &[Uuid])]) -> Result<()> {
    let required: BTreeSet<Uuid> = waiting.iter().flat_map(|(_, d)| d.iter().copied()).collect();
    let required: Vec<Uuid> = required.into_iter().collect();
    let mut states: HashMap<Uuid, TaskState> = HashMap::with_capacity(required.len());
    for chunk in id_chunks(&required) {
        let rows: Vec<(Uuid, TaskState)> = task::Entity::find()
            .select_only()
            .column(task::Column::Id)
            .column(task::Column::State)
            .filter(in_ids(conn, task::Column::Id, chunk))
            .order_by_asc(task::Column::Id)
            .lock_shared()
            .into_tuple()
            .all(conn)
            .await?;
        states.extend(rows);
    }
    let mut edges = Vec::new();
    for (task, required_ids) in waiting {
        for &required in *required_ids {
            let state = *states.get(&required).ok_or_else(|| {
                Error::Invalid(format!(
                    "dependency {required} of task {} does not exist",
                    task.id
                ))
            })?;
            let satisfied = state == TaskState::Completed
                || (task.requires == Requires::AllResolved && state.is_resolved());
            edges.push(dependency::Model {
                dependent_task_id: task.id,
                required_task_id: required,
                requires: task.requires,
                satisfied,
            });
        }
    }
    insert::<dependency::Entity>(conn, &edges).await?;
    Ok(())
}

/// Creates missing groups and checks each task may join its group: same
/// scheduler, not sealed. Existing groups are read with a share lock so a
/// concurrent seal waits for this transaction.
async fn join_groups(
    conn: &impl ConnectionTrait,
    created: &[task::Model],
    now: OffsetDateTime,
) -> Result<()> {
    let mut wanted: BTreeMap<Uuid, &str> = BTreeMap::new();
    for task in created {
        if let Some(g) = task.task_group_id {
            wanted.entry(g).or_insert(&task.scheduler_id);
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let rows: Vec<group::Model> = wanted
        .iter()
        .map(|(id, scheduler)| group::Model {
            id: *id,
            scheduler_id: (*scheduler).to_owned(),
            sealed_at: None,
            resolved_at: None,
            created_at: now,
        })
        .collect();
    insert::<group::Entity>(conn, &rows).await?;
    let ids: Vec<Uuid> = wanted.keys().copied().collect();
    let mut groups = HashMap::new();
    for chunk in id_chunks(&ids) {
        let found = group::Entity::find()
            .filter(in_ids(conn, group::Column::Id, chunk))
            .order_by_asc(group::Column::Id)
            .lock_shared()
            .all(conn)
            .await?;
        groups.extend(found.into_iter().map(|g| (g.id, g)));
    }
    for task in created {
        let Some(group) = task.task_group_id.and_then(|g| groups.get(&g)) else {
            continue;
        };
        if group.scheduler_id != task.scheduler_id {
            return Err(Error::Conflict(format!(
                "task group {} belongs to scheduler `{}`, not `{}`",
                group.id, group.scheduler_id, task.scheduler_id
            )));
        }
        if group.sealed_at.is_some() {
            return Err(Error::Conflict(format!("task group {} is sealed", group.id)));
        }
    }
    Ok(())
}

/// Sorts out rows the insert skipped: an existing task with the same id
/// (idempotent when the definition is equal, a conflict otherwise) or an
/// active task holding the unique key (deduplicated). Returns the rows to
/// insert again because the key's holder resolved in the meantime.
async fn resolve_skipped(
    conn: &impl ConnectionTrait,
    rows: &[task::Model],
    skipped: Vec<usize>,
    results: &mut [Option<Enqueued>],
) -> Result<Vec<usize>> {
    if skipped.is_empty() {
        return Ok(skipped);
    }
    let ids: Vec<Uuid> = skipped.iter().map(|&i| rows[i].id).collect();
    let mut existing: HashMap<Uuid, String> = HashMap::new();
    for chunk in id_chunks(&ids) {
        let found: Vec<(Uuid, String)> = task::Entity::find()
            .select_only()
            .column(task::Column::Id)
            .column(task::Column::DefinitionHash)
            .filter(in_ids(conn, task::Column::Id, chunk))
            .into_tuple()
            .all(conn)
            .await?;
        existing.extend(found);
    }
    let keys: Vec<String> = skipped
        .iter()
        .filter_map(|&i| rows[i].unique_key.clone())
        .collect();
    let queues: Vec<String> = skipped.iter().map(|&i| rows[i].queue.clone()).collect();
    let holders: HashMap<(String, String), Uuid> = if keys.is_empty() {
        HashMap::new()
    } else {
        task::Entity::find()
            .select_only()
            .column(task::Column::Queue)
            .column(task::Column::UniqueKey)
            .column(task::Column::Id)
            .filter(task::Column::UniqueKey.is_in(keys))
            .filter(task::Column::Queue.is_in(queues))
            .filter(task::Column::State.is_in([
                TaskState::Unscheduled,
                TaskState::Pending,
                TaskState::Running,
            ]))
            .into_tuple::<(String, String, Uuid)>()
            .all(conn)
            .await?
            .into_iter()
            .map(|(queue, key, id)| ((queue, key), id))
            .collect()
    };
    let mut retry = Vec::new();
    for i in skipped {
        let row = &rows[i];
        if let Some(hash) = existing.get(&row.id) {
            if *hash != row.definition_hash {
                return Err(Error::Conflict(format!(
                    "task {} exists with a different definition",
                    row.id
                )));
            }
            results[i] = Some(Enqueued {
                id: row.id,
                created: Created::Existing,
            });
        } else if let Some(holder) = row
            .unique_key
            .as_ref()
            .and_then(|k| holders.get(&(row.queue.clone(), k.clone())))
        {
            results[i] = Some(Enqueued {
                id: *holder,
                created: Created::Deduplicated,
            });
        } else {
            retry.push(i);
        }
    }
    Ok(retry)
}
