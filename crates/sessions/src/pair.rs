//! Issuing access + refresh token pairs.

use std::fmt;

use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::{session, token};
use crate::token::{TokenKind, generate};
use crate::{Result, SessionConfig};

/// A new access token and refresh token. This is the only place the
/// plaintexts exist: they are handed to the client and never stored.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenPair {
    /// Bearer token for requests (`plsa_…`).
    pub access_token: String,
    /// When the access token stops being accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub access_expires_at: OffsetDateTime,
    /// Token to exchange for the next pair (`plsr_…`).
    pub refresh_token: String,
    /// When the refresh token stops being accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub refresh_expires_at: OffsetDateTime,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"plsa_<redacted>")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_token", &"plsr_<redacted>")
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish()
    }
}

/// A pair just written, with the ids of its rows.
pub(crate) struct Issued {
    /// The plaintexts and expiry times for the client.
    pub pair: TokenPair,
    /// Row id of the access token.
    pub access_id: Uuid,
    /// Row id of the refresh token.
    pub refresh_id: Uuid,
}

/// Writes a new pair for `session`; neither token outlives the session.
pub(crate) async fn issue(
    conn: &impl ConnectionTrait,
    session: &session::Model,
    config: &SessionConfig,
    now: OffsetDateTime,
) -> Result<Issued> {
    let refresh = generate(TokenKind::Refresh)?;
    let access = generate(TokenKind::Access)?;
    let refresh_expires_at = now
        .saturating_add(config.refresh_token_ttl())
        .min(session.expires_at);
    let access_expires_at = now
        .saturating_add(config.access_token_ttl())
        .min(session.expires_at);
    let refresh_id = Uuid::now_v7();
    let access_id = Uuid::now_v7();
    // One statement for both rows; the access row names the refresh row,
    // which foreign keys accept because they are checked per statement.
    token::Entity::insert_many([
        row(
            session.id,
            refresh_id,
            TokenKind::Refresh,
            refresh.hash,
            None,
            now,
            refresh_expires_at,
        ),
        row(
            session.id,
            access_id,
            TokenKind::Access,
            access.hash,
            Some(refresh_id),
            now,
            access_expires_at,
        ),
    ])
    .exec_without_returning(conn)
    .await?;
    Ok(Issued {
        pair: TokenPair {
            access_token: access.plaintext,
            access_expires_at,
            refresh_token: refresh.plaintext,
            refresh_expires_at,
        },
        access_id,
        refresh_id,
    })
}

fn row(
    session_id: Uuid,
    id: Uuid,
    kind: TokenKind,
    token_hash: String,
    refresh_token: Option<Uuid>,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> token::ActiveModel {
    token::ActiveModel {
        id: Set(id),
        session: Set(session_id),
        kind: Set(kind.as_str().to_owned()),
        token_hash: Set(token_hash),
        refresh_token: Set(refresh_token),
        successor_id: Set(None),
        created_at: Set(now),
        expires_at: Set(expires_at),
        rotated_at: Set(None),
        revoked_at: Set(None),
    }
}
