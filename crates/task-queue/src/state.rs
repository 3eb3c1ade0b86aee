//! The states and reasons of tasks and runs, stored as strings and typed here.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a task stands, after Taskcluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum TaskState {
    /// Waiting for its dependencies.
    #[sea_orm(string_value = "unscheduled")]
    Unscheduled,
    /// Ready to be claimed once its run-at time has come.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed by a worker that holds its lease.
    #[sea_orm(string_value = "running")]
    Running,
    /// Its last run completed.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// Its last run failed.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Its last run ended in an exception (canceled, deadline, claim expired…).
    #[sea_orm(string_value = "exception")]
    Exception,
}

impl TaskState {
    /// Whether the task has resolved (completed, failed or exception).
    pub fn is_resolved(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Exception)
    }
}

/// Where a run stands; the history holds resolved runs, the task row its live one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Waiting to be claimed.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed.
    #[sea_orm(string_value = "running")]
    Running,
    /// Completed.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// Failed.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Ended in an exception.
    #[sea_orm(string_value = "exception")]
    Exception,
}

/// Why a run was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ReasonCreated {
    /// The task was scheduled (created ready, dependencies satisfied, or forced).
    #[sea_orm(string_value = "scheduled")]
    Scheduled,
    /// Automatic retry after worker-shutdown or claim-expired.
    #[sea_orm(string_value = "retry")]
    Retry,
    /// Automatic retry the task asked for (intermittent-task, retryable handler error).
    #[sea_orm(string_value = "task-retry")]
    TaskRetry,
    /// Someone asked for the task to run again.
    #[sea_orm(string_value = "rerun")]
    Rerun,
    /// Created only to carry an exception (a task canceled or past its deadline before it ran).
    #[sea_orm(string_value = "exception")]
    Exception,
}

/// Why a run resolved: `completed`, `failed`, or the reason of an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The run completed.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// The run failed.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// The worker is shutting down; retried if retries remain.
    #[sea_orm(string_value = "worker-shutdown")]
    WorkerShutdown,
    /// The task failed in a way worth retrying; retried if retries remain.
    #[sea_orm(string_value = "intermittent-task")]
    IntermittentTask,
    /// The worker's lease ran out; retried if retries remain.
    #[sea_orm(string_value = "claim-expired")]
    ClaimExpired,
    /// The task passed its deadline.
    #[sea_orm(string_value = "deadline-exceeded")]
    DeadlineExceeded,
    /// The task was canceled.
    #[sea_orm(string_value = "canceled")]
    Canceled,
    /// The payload could not be understood.
    #[sea_orm(string_value = "malformed-payload")]
    MalformedPayload,
    /// The worker failed (for in-process handlers: a panic).
    #[sea_orm(string_value = "internal-error")]
    InternalError,
}

impl Reason {
    /// Whether a worker may report this exception reason (the others are set by the queue).
    pub fn reportable(self) -> bool {
        matches!(
            self,
            Self::WorkerShutdown | Self::IntermittentTask | Self::MalformedPayload | Self::InternalError
        )
    }

    /// Whether an exception with this reason is retried while retries remain.
    pub fn retries(self) -> bool {
        matches!(
            self,
            Self::WorkerShutdown | Self::IntermittentTask | Self::ClaimExpired
        )
    }
}

/// When a task's dependencies are satisfied.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Requires {
    /// Every dependency completed.
    #[default]
    #[sea_orm(string_value = "all-completed")]
    AllCompleted,
    /// Every dependency resolved, whatever the outcome.
    #[sea_orm(string_value = "all-resolved")]
    AllResolved,
}

/// What an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    /// A URL where the content lives (e.g. in the file store).
    #[sea_orm(string_value = "reference")]
    Reference,
    /// Another artifact of the same run, by name.
    #[sea_orm(string_value = "link")]
    Link,
    /// An artifact that could not be produced: a reason and a message.
    #[sea_orm(string_value = "error")]
    Error,
}
