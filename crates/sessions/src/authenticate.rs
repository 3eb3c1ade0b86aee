//! Checking an access token on a request.

use std::sync::{Mutex, MutexGuard, PoisonError};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::{session, token};
use crate::token::{TokenKind, parse};
use crate::validity::{check, find_hash};
use crate::{Result, Session, Sessions, Subject};

/// A valid access token's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authenticated {
    /// The session the token belongs to.
    pub session: Session,
    /// Id of the access token's row, e.g. for logs.
    pub token_id: Uuid,
    /// When the access token expires.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Authenticated {
    /// Who the session is for.
    pub fn subject(&self) -> &Subject {
        &self.session.subject
    }
}

/// What an access token resolved to, as the cache keeps it.
#[derive(Debug)]
pub(crate) struct Resolved {
    token: token::Model,
    session: session::Model,
    /// The session's last recorded activity as this process knows it.
    last_active: Mutex<OffsetDateTime>,
}

impl Resolved {
    fn last_active(&self) -> MutexGuard<'_, OffsetDateTime> {
        self.last_active.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Sessions {
    /// The session of `access_token`, if the token is well-formed, known,
    /// unexpired and unrevoked and its session is usable.
    ///
    /// Errors: [`InvalidToken`](crate::Error::InvalidToken) (malformed or
    /// unknown), [`Expired`](crate::Error::Expired) (refresh to continue),
    /// [`SessionExpired`](crate::Error::SessionExpired) and
    /// [`Revoked`](crate::Error::Revoked) (sign in again).
    ///
    /// What a token resolves to is cached for
    /// [`cache_ms`](crate::SessionConfig::cache_ms), so most requests do not
    /// touch the database; expiry is still checked on every call, and every
    /// change this process makes to a session (revoking, refreshing, data,
    /// second factor) drops its cached tokens at once.
    ///
    /// Records the session's activity, writing `last_active_at` at most once
    /// per touch interval so that requests are not each a write; the touch
    /// is bookkeeping, not an event.
    pub async fn authenticate(&self, access_token: &str) -> Result<Authenticated> {
        let now = self.now();
        let hash = parse(access_token, TokenKind::Access)?;
        let resolved = match self.cache.get(hash.as_str()) {
            Some(hit) => hit,
            None => {
                let stamp = self.cache.stamp();
                let (token, session) = find_hash(&self.db, TokenKind::Access, &hash).await?;
                let resolved = Resolved {
                    last_active: Mutex::new(session.last_active_at),
                    token,
                    session,
                };
                self.cache.insert(hash, resolved.session.id, stamp, resolved)
            }
        };
        let mut session = resolved.session.clone();
        session.last_active_at = *resolved.last_active();
        check(&resolved.token, &session, &self.config, now)?;
        let due = {
            let mut last = resolved.last_active();
            let due = now >= last.saturating_add(self.config.touch_interval());
            if due {
                *last = now;
            }
            due
        };
        if due {
            session::Entity::update_many()
                .col_expr(session::Column::LastActiveAt, Expr::value(now))
                .filter(session::Column::Id.eq(session.id))
                .exec(&self.db)
                .await?;
            session.last_active_at = now;
        }
        Ok(Authenticated {
            session: session.into(),
            token_id: resolved.token.id,
            expires_at: resolved.token.expires_at,
        })
    }
}
