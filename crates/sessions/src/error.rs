//! Errors of the sessions crate.

/// What can go wrong creating, using or revoking a session.
///
/// The token errors tell a client what to do next: after [`Error::Expired`]
/// it refreshes; after [`Error::SessionExpired`], [`Error::Revoked`] or
/// [`Error::RefreshReused`] it must sign in again.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The token is malformed (wrong prefix, length or characters) or unknown.
    #[error("invalid token")]
    InvalidToken,
    /// The token itself has expired: after an access token, refresh; after a
    /// refresh token, sign in again.
    #[error("token expired")]
    Expired,
    /// The session passed its absolute lifetime or its idle timeout.
    #[error("session expired")]
    SessionExpired,
    /// The token or its session was revoked.
    #[error("session revoked")]
    Revoked,
    /// A refresh token was presented again after its grace window; the whole
    /// session has been revoked because the token has probably leaked.
    #[error("refresh token reused; the session has been revoked")]
    RefreshReused,
    /// The named session does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The input is malformed (e.g. an empty subject).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The operating system's random source failed.
    #[error("random source unavailable: {0}")]
    Random(plinth_db::secret::RandomError),
    /// The database failed.
    #[error(transparent)]
    Db(plinth_db::Error),
}

impl From<plinth_db::Error> for Error {
    fn from(err: plinth_db::Error) -> Self {
        match err {
            plinth_db::Error::NotFound(what) => Self::NotFound(what),
            other => Self::Db(other),
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Db(err.into())
    }
}

impl From<plinth_events::Error> for Error {
    fn from(err: plinth_events::Error) -> Self {
        match err {
            plinth_events::Error::Db(db) => db.into(),
            plinth_events::Error::Invalid(msg) => Self::Invalid(msg),
        }
    }
}

/// Result with the sessions [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
