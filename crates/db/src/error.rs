//! Typed database errors: constraint violations become `Conflict` and
//! `ForeignKey`, missing rows become `NotFound`, everything else stays a `DbErr`.

use std::ops::Deref;

use sea_orm::sqlx::sqlite::SqliteError;
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, SqlErr};

/// An error from the data layer, classified so callers can map it to a status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A unique or primary-key constraint was violated.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A foreign-key constraint was violated (the referenced row is missing or still referenced).
    #[error("foreign key violation: {0}")]
    ForeignKey(String),
    /// The named row does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The connection is to a database Plinth does not support.
    #[error("unsupported database backend: {0}")]
    UnsupportedBackend(String),
    /// The connection URL could not be used.
    #[error("invalid database url: {0}")]
    InvalidUrl(String),
    /// A migration check failed (edited, unknown or out-of-order migration).
    #[error("migration error: {0}")]
    Migration(String),
    /// Any other database error.
    #[error(transparent)]
    Db(DbErr),
}

impl Error {
    /// Whether the database was too busy to serve in time, so that a retry
    /// later may succeed: no pooled connection came free within the connect
    /// timeout, or (SQLite) another writer held the lock past the busy timeout.
    pub fn is_busy(&self) -> bool {
        match self {
            Self::Db(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)) => true,
            Self::Db(
                DbErr::Conn(RuntimeErr::SqlxError(e))
                | DbErr::Exec(RuntimeErr::SqlxError(e))
                | DbErr::Query(RuntimeErr::SqlxError(e)),
            ) => sqlite_busy(e),
            _ => false,
        }
    }
}

/// Whether `err` is SQLite's `SQLITE_BUSY` or `SQLITE_LOCKED`, with any extended code.
fn sqlite_busy(err: &sea_orm::sqlx::Error) -> bool {
    const BUSY: i32 = 5;
    const LOCKED: i32 = 6;
    let sea_orm::sqlx::Error::Database(db) = err else {
        return false;
    };
    if db.try_downcast_ref::<SqliteError>().is_none() {
        return false;
    }
    let primary = db
        .code()
        .and_then(|code| code.deref().parse::<i32>().ok())
        .map(|code| code & 0xff);
    matches!(primary, Some(BUSY | LOCKED))
}

/// Result with the data-layer [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(msg)) => Self::Conflict(msg),
            Some(SqlErr::ForeignKeyConstraintViolation(msg)) => Self::ForeignKey(msg),
            _ => match err {
                DbErr::RecordNotFound(what) => Self::NotFound(what),
                other => Self::Db(other),
            },
        }
    }
}

/// Turns an `Option` from a lookup into a typed [`Error::NotFound`].
pub trait OptionExt<T> {
    /// `Some(v)` becomes `Ok(v)`; `None` becomes `NotFound(what)`.
    fn or_not_found(self, what: impl Into<String>) -> Result<T>;
}

impl<T> OptionExt<T> for Option<T> {
    fn or_not_found(self, what: impl Into<String>) -> Result<T> {
        self.ok_or_else(|| Error::NotFound(what.into()))
    }
}
