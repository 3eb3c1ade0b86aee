//! Errors of the task queue, one variant per way a caller can be wrong, so an
//! HTTP layer maps each to one status.

/// What can go wrong calling the queue.
///
/// HTTP mapping: [`BadRequest`](Self::BadRequest) 400, [`NotFound`](Self::NotFound)
/// 404, [`Conflict`](Self::Conflict) 409, [`PayloadTooLarge`](Self::PayloadTooLarge)
/// 413, [`Invalid`](Self::Invalid) 422, [`Db`](Self::Db) 500.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed, e.g. an unreadable continuation token.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request is well-formed but its content is not acceptable (a bad
    /// queue name, an unknown dependency, a reason a worker may not report).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The named task, run, group, worker, artifact or index entry does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state: a run the caller does
    /// not hold, a different definition under an existing id, a sealed group.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A payload is larger than the configured limit.
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// Size of the serialized payload in bytes.
        size: usize,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The database failed.
    #[error(transparent)]
    Db(plinth_db::Error),
}

impl Error {
    /// The HTTP status this error maps to.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::PayloadTooLarge { .. } => 413,
            Self::Invalid(_) => 422,
            Self::Db(_) => 500,
        }
    }

    pub(crate) fn not_held(task_id: uuid::Uuid, run_id: i32) -> Self {
        Self::Conflict(format!(
            "run {run_id} of task {task_id} is not held by this worker"
        ))
    }
}

impl From<plinth_db::Error> for Error {
    fn from(err: plinth_db::Error) -> Self {
        match err {
            plinth_db::Error::Conflict(msg) => Self::Conflict(msg),
            plinth_db::Error::NotFound(what) => Self::NotFound(what),
            other => Self::Db(other),
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        plinth_db::Error::from(err).into()
    }
}

impl From<plinth_events::Error> for Error {
    fn from(err: plinth_events::Error) -> Self {
        match err {
            plinth_events::Error::Invalid(msg) => Self::Invalid(msg),
            plinth_events::Error::Db(e) => e.into(),
        }
    }
}

/// Result with the queue [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
