//! `queue_task`: the unit of work, with its latest run inline (live, or the
//! last one once the task resolved).

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::clock::rfc3339;
use crate::state::{Reason, ReasonCreated, Requires, TaskState};

/// A task: what to run (queue, type, payload), how (priority, attempts,
/// backoff, timeout, deadline), where it stands (state, live run, lease) and
/// how it ended (reason, error, result).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = Task))]
#[sea_orm(table_name = "queue_task")]
pub struct Model {
    /// Task id (uuid v7 unless the creator chose one).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Queue the task is claimed from.
    pub queue: String,
    /// Which handler runs it.
    pub task_type: String,
    /// Input of the handler.
    #[cfg_attr(feature = "http", schema(value_type = serde_json::Value))]
    pub payload: Json,
    /// Higher runs first.
    pub priority: i32,
    /// Current state.
    pub state: TaskState,
    /// Id of the live or last run, from 0; `None` before the task is first scheduled.
    pub run_id: Option<i32>,
    /// Why the live or last run was created.
    pub run_reason: Option<ReasonCreated>,
    /// When the live or last run was created.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub scheduled_at: Option<TimeDateTimeWithTimeZone>,
    /// Earliest time the pending run may be claimed.
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub run_at: TimeDateTimeWithTimeZone,
    /// Runs claimed so far.
    pub attempts: i32,
    /// Most runs the task takes without someone asking for a rerun.
    pub max_attempts: i32,
    /// Automatic retries left.
    pub retries_left: i32,
    /// Delay before the first retry in milliseconds, before jitter.
    pub backoff_base_ms: i64,
    /// Longest retry delay in milliseconds, before jitter.
    pub backoff_max_ms: i64,
    /// Longest an in-process handler may run, in milliseconds.
    pub timeout_ms: Option<i64>,
    /// After this time the task resolves exception/deadline-exceeded.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub deadline: Option<TimeDateTimeWithTimeZone>,
    /// After this time the resolved task may be deleted.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub expires: Option<TimeDateTimeWithTimeZone>,
    /// Group of the worker that claimed the latest run.
    pub worker_group: Option<String>,
    /// Id of the worker that claimed the latest run.
    pub worker_id: Option<String>,
    /// End of the latest run's lease.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub taken_until: Option<TimeDateTimeWithTimeZone>,
    /// When the latest run was claimed.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub started_at: Option<TimeDateTimeWithTimeZone>,
    /// When the task last resolved.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<TimeDateTimeWithTimeZone>,
    /// Why the last run resolved.
    pub reason: Option<Reason>,
    /// Error of the last failed run.
    pub error: Option<String>,
    /// Result of the completed run.
    #[cfg_attr(feature = "http", schema(value_type = Option<serde_json::Value>))]
    pub result: Option<Json>,
    /// Key that dedupes the task against others while unscheduled, pending or running.
    pub unique_key: Option<String>,
    /// Free-form string tags.
    #[cfg_attr(feature = "http", schema(value_type = serde_json::Value))]
    pub tags: Json,
    /// Task group, if any.
    pub task_group_id: Option<Uuid>,
    /// Who scheduled the task (Taskcluster's scheduler id); `-` by default.
    pub scheduler_id: String,
    /// When the dependencies count as satisfied.
    pub requires: Requires,
    /// Whether task.created and task.resolved events are recorded.
    pub record_events: bool,
    /// BLAKE3 of the definition as given, for idempotent creation.
    #[serde(skip)]
    pub definition_hash: String,
    /// When the task was created.
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub created_at: TimeDateTimeWithTimeZone,
    /// When the row last changed.
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Runs, dependencies and artifacts hang off a task.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
