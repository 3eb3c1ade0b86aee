//! The two supported backends and the one place code branches on them.

use sea_orm::{ConnectionTrait, DbBackend};

use crate::{Error, Result};

/// A database backend Plinth runs on.
///
/// Backend-specific SQL (SKIP LOCKED, LISTEN/NOTIFY, advisory locks) is
/// written as a `match` on this enum, with the portable path beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite: the embedded default.
    Sqlite,
    /// PostgreSQL: the production backend.
    Postgres,
}

impl Backend {
    /// The backend of a connection or transaction; MySQL is refused.
    pub fn of(conn: &impl ConnectionTrait) -> Result<Self> {
        Self::try_from(conn.get_database_backend())
    }

    /// The SeaORM backend value, for building statements.
    pub fn db_backend(self) -> DbBackend {
        match self {
            Self::Sqlite => DbBackend::Sqlite,
            Self::Postgres => DbBackend::Postgres,
        }
    }

    /// A short lower-case name (`sqlite`, `postgres`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl TryFrom<DbBackend> for Backend {
    type Error = Error;

    fn try_from(value: DbBackend) -> Result<Self> {
        match value {
            DbBackend::Sqlite => Ok(Self::Sqlite),
            DbBackend::Postgres => Ok(Self::Postgres),
            other => Err(Error::UnsupportedBackend(format!("{other:?}"))),
        }
    }
}
