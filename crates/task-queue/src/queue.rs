//! The queue service: a database connection, settings and a clock; every
//! operation is a method on [`Queue`], defined in the module of its topic.

use std::fmt;
use std::sync::{Arc, Mutex};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::clock::{Clock, SystemClock, db_time};
use crate::config::Config;
use crate::entity::{dependency, run, task};
use crate::metrics::DepthGauges;
use crate::notify::{self, Wakers};
use crate::transition::current_run;
use crate::{Result, Run, Task};
use plinth_db::OptionExt;

/// The task queue over one database. Cheap to clone; clones share the
/// connection pool, the clock and the wake-up listener.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    config: Config,
    clock: Arc<dyn Clock>,
    wakers: Arc<Wakers>,
    listener: Mutex<Option<JoinHandle<()>>>,
    depth: DepthGauges,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(handle) = self.listener.lock().unwrap_or_else(|e| e.into_inner()).take() {
            handle.abort();
        }
    }
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("config", &self.inner.config)
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

/// A task with its runs (resolved ones, then the live one) and its dependencies.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct TaskStatus {
    /// The task.
    pub task: Task,
    /// Its runs, oldest first, including the pending or running one.
    pub runs: Vec<Run>,
    /// Its dependencies and whether each is satisfied.
    pub dependencies: Vec<dependency::Model>,
}

impl Queue {
    /// A queue over `db` (migrated with [`Migrator`](crate::Migrator)) using the system clock.
    pub fn new(db: DatabaseConnection, config: Config) -> Self {
        Self::with_clock(db, config, Arc::new(SystemClock))
    }

    /// A queue that reads the time from `clock` (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(db: DatabaseConnection, config: Config, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                config,
                clock,
                wakers: Arc::default(),
                listener: Mutex::new(None),
                depth: DepthGauges::default(),
            }),
        }
    }

    /// The database connection.
    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The current time, normalised for storage.
    pub(crate) fn now(&self) -> OffsetDateTime {
        db_time(self.inner.clock.now())
    }

    pub(crate) fn wakers(&self) -> &Wakers {
        &self.inner.wakers
    }

    pub(crate) fn depth_gauges(&self) -> &DepthGauges {
        &self.inner.depth
    }

    /// Starts the `LISTEN` connection on PostgreSQL, once per service.
    pub(crate) fn ensure_listener(&self) {
        let mut slot = self.inner.listener.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            let db = self.inner.db.clone();
            let wakers = Arc::clone(&self.inner.wakers);
            *slot = Some(tokio::spawn(notify::listen(db, wakers)));
        }
    }

    /// The task with this id.
    pub async fn task(&self, id: Uuid) -> Result<Task> {
        Ok(task::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .or_not_found(format!("task {id}"))?)
    }

    /// The task with its runs and dependencies.
    pub async fn status(&self, id: Uuid) -> Result<TaskStatus> {
        let task = self.task(id).await?;
        // The history holds the runs later ones replaced. A retry committed
        // after the task was read may already have moved the run read as
        // current into it: that one is listed once, from the task row.
        let mut history = run::Entity::find().filter(run::Column::TaskId.eq(id));
        if let Some(current) = task.run_id {
            history = history.filter(run::Column::RunId.lt(current));
        }
        let mut runs = history.order_by_asc(run::Column::RunId).all(self.db()).await?;
        runs.extend(current_run(&task));
        let dependencies = dependency::Entity::find()
            .filter(dependency::Column::DependentTaskId.eq(id))
            .order_by_asc(dependency::Column::RequiredTaskId)
            .all(self.db())
            .await?;
        Ok(TaskStatus {
            task,
            runs,
            dependencies,
        })
    }
}
