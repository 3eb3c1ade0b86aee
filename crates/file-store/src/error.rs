//! Errors of the file store, classified so the HTTP layer can map each to a status.

/// What can go wrong storing, reading or organising files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is malformed or refers to something inconsistent (422).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The thing does not exist (404).
    #[error("{0} not found")]
    NotFound(String),
    /// The bucket is not configured (404).
    #[error("bucket `{0}` is not configured")]
    UnknownBucket(String),
    /// The content is larger than the bucket allows (413).
    #[error("content exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The sniffed content type is not allowed in the bucket (415).
    #[error("content type `{content_type}` is not allowed in bucket `{bucket}`")]
    UnsupportedType {
        /// The type sniffed from the bytes.
        content_type: String,
        /// The bucket that refused it.
        bucket: String,
    },
    /// A resumable upload was continued at the wrong offset (409).
    #[error("upload is at offset {expected}, not {given}")]
    OffsetMismatch {
        /// The offset the server holds.
        expected: u64,
        /// The offset the client sent.
        given: u64,
    },
    /// The change conflicts with the current state, e.g. a move that would make a cycle (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A signed link is invalid, expired or signed with a retired key (403).
    #[error("signed link refused: {0}")]
    BadLink(String),
    /// The request body ended early or failed while being read (400).
    #[error("the body could not be read: {0}")]
    Body(String),
    /// The file store is misconfigured (bad blob backend settings, no signing key).
    #[error("configuration: {0}")]
    Config(String),
    /// The blob store failed.
    #[error("blob store: {0}")]
    Blob(#[from] object_store::Error),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] plinth_db::Error),
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Db(err.into())
    }
}

impl From<plinth_events::Error> for Error {
    fn from(err: plinth_events::Error) -> Self {
        match err {
            plinth_events::Error::Db(e) => Self::Db(e),
            plinth_events::Error::Invalid(msg) => Self::Invalid(msg),
        }
    }
}

impl Error {
    /// The [`Error::Body`] of a request body that failed with `err` while being read.
    pub(crate) fn body(err: impl std::fmt::Display) -> Self {
        Self::Body(err.to_string())
    }
}

/// Result with the file-store [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
