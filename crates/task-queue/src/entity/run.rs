//! `queue_run`: the history of a task's runs that a later run replaced; the
//! latest run lives in the task row.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::clock::rfc3339;
use crate::state::{Reason, ReasonCreated, RunState};

/// One run of a task: who ran it, when, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = Run))]
#[sea_orm(table_name = "queue_run")]
pub struct Model {
    /// The task.
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: Uuid,
    /// Run number within the task, from 0.
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: i32,
    /// State of the run.
    pub state: RunState,
    /// Why the run was created.
    pub reason_created: ReasonCreated,
    /// Why the run resolved; `None` while pending or running.
    pub reason_resolved: Option<Reason>,
    /// Group of the worker that claimed it.
    pub worker_group: Option<String>,
    /// Id of the worker that claimed it.
    pub worker_id: Option<String>,
    /// End of the lease while running.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub taken_until: Option<TimeDateTimeWithTimeZone>,
    /// When the run was created.
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub scheduled: TimeDateTimeWithTimeZone,
    /// When it was claimed.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub started: Option<TimeDateTimeWithTimeZone>,
    /// When it resolved.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub resolved: Option<TimeDateTimeWithTimeZone>,
    /// Error message of a failed or exception run.
    pub error: Option<String>,
}

/// Runs belong to a task.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
