//! Errors of the auth crate.

/// What can go wrong in identity and authorisation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is malformed or breaks a rule (bad email, bad scope, role cycle…).
    #[error("{0}")]
    Invalid(String),
    /// Credentials are missing, malformed, wrong, expired or revoked.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is authenticated, but the proof it gave for a change (such
    /// as the current password) is wrong.
    #[error("{0}")]
    WrongProof(String),
    /// The principal lacks the scopes named.
    #[error("missing scopes: {}", .0.join(", "))]
    Forbidden(Vec<String>),
    /// The caller's role in an organisation does not allow the change;
    /// holders of `scope` may make it.
    #[error("{detail}")]
    NotPermitted {
        /// What is refused and who may do it.
        detail: String,
        /// The scope that would allow it.
        scope: String,
    },
    /// The account is locked after failed logins until the given time.
    #[error("account locked; retry after {0} seconds")]
    Locked(u64),
    /// The state forbids the change (last owner, duplicate username…).
    #[error("{0}")]
    Conflict(String),
    /// The thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// Something that should not fail did (hashing task, random source); a bug or an outage.
    #[error("internal error: {0}")]
    Internal(String),
    /// A session operation failed.
    #[error(transparent)]
    Session(#[from] plinth_sessions::Error),
    /// An event could not be recorded.
    #[error(transparent)]
    Event(#[from] plinth_events::Error),
    /// The database failed.
    #[error(transparent)]
    Db(plinth_db::Error),
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

/// Result with the auth [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
