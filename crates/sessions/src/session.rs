//! What a session is: its subject, its data and its lifetime.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::session;
use crate::{Error, Result};

/// Who a session is for: a kind (`user`, `client`…) and an id, kept as
/// strings so this crate does not depend on the crate that owns subjects.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Subject {
    /// Kind of subject, e.g. `user`.
    pub kind: String,
    /// The subject's id.
    pub id: String,
}

impl Subject {
    /// A subject of `kind` with `id`.
    pub fn new(kind: impl Into<String>, id: impl ToString) -> Self {
        Self {
            kind: kind.into(),
            id: id.to_string(),
        }
    }

    /// Refuses a kind or id longer than [`MAX_SUBJECT_LEN`] or holding a NUL
    /// character.
    pub(crate) fn storable(&self) -> Result<()> {
        plinth_db::text::indexable("subject kind", &self.kind)
            .and_then(|()| plinth_db::text::indexable("subject id", &self.id))
            .map_err(Error::Invalid)
    }
}

/// Longest accepted subject kind or id, in bytes: subjects are indexed, and
/// PostgreSQL refuses index entries over a few kilobytes.
pub const MAX_SUBJECT_LEN: usize = plinth_db::text::MAX_INDEXED_LEN;

/// Refuses `value` of `field` with [`Error::Invalid`] when it holds a NUL
/// character, which PostgreSQL cannot store, so both backends behave alike.
pub(crate) fn storable(field: &str, value: &str) -> Result<()> {
    plinth_db::text::storable(field, value).map_err(Error::Invalid)
}

/// Refuses the JSON `value` of `field` when a string or key in it holds a
/// NUL character (see [`storable`]).
pub(crate) fn storable_json(field: &str, value: &Value) -> Result<()> {
    plinth_db::text::storable_json(field, value).map_err(Error::Invalid)
}

/// What a new session starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// Who signed in.
    pub subject: Subject,
    /// Application data kept with the session (`{}` by default).
    pub data: Value,
    /// Client IP address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Client-chosen device identifier.
    pub device_id: Option<String>,
    /// Whether a second factor was verified while signing in.
    pub mfa_verified: bool,
}

impl NewSession {
    /// A session for `subject` with empty data and no client details.
    pub fn new(subject: Subject) -> Self {
        Self {
            subject,
            data: Value::Object(serde_json::Map::new()),
            ip: None,
            user_agent: None,
            device_id: None,
            mfa_verified: false,
        }
    }
}

/// A session as the service returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// Time-ordered id (UUID v7).
    pub id: Uuid,
    /// Who the session is for.
    pub subject: Subject,
    /// Application data.
    pub data: Value,
    /// BLAKE3 of the canonical JSON of `data`.
    pub checksum: String,
    /// Client IP address at sign-in.
    pub ip: Option<String>,
    /// Client user agent at sign-in.
    pub user_agent: Option<String>,
    /// Client-chosen device identifier.
    pub device_id: Option<String>,
    /// Whether a second factor was verified in this session.
    pub mfa_verified: bool,
    /// When the session was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its data or state last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Last recorded use (updated at most once per touch interval).
    #[serde(with = "time::serde::rfc3339")]
    pub last_active_at: OffsetDateTime,
    /// End of its absolute lifetime.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When it was revoked, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Why it was revoked: `revoked`, `revoke_all` or `refresh_reused`.
    pub revoke_reason: Option<String>,
}

impl From<session::Model> for Session {
    fn from(m: session::Model) -> Self {
        Self {
            id: m.id,
            subject: Subject {
                kind: m.subject_type,
                id: m.subject_id,
            },
            data: m.data,
            checksum: m.checksum,
            ip: m.ip_address,
            user_agent: m.user_agent,
            device_id: m.device_id,
            mfa_verified: m.mfa_verified,
            created_at: m.created_at,
            updated_at: m.updated_at,
            last_active_at: m.last_active_at,
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
            revoke_reason: m.revoke_reason,
        }
    }
}
