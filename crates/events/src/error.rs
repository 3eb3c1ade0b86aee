//! Errors of the events crate.

/// What can go wrong recording or reading events.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event or query is malformed (bad topic, bad cursor).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] plinth_db::Error),
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Db(err.into())
    }
}

/// Result with the events [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
