//! Checking an access token on a request.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::session;
use crate::token::TokenKind;
use crate::validity::{check, find};
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

impl Sessions {
    /// The session of `access_token`, if the token is well-formed, known,
    /// unexpired and unrevoked and its session is usable.
    ///
    /// Errors: [`InvalidToken`](crate::Error::InvalidToken) (malformed or
    /// unknown), [`Expired`](crate::Error::Expired) (refresh to continue),
    /// [`SessionExpired`](crate::Error::SessionExpired) and
    /// [`Revoked`](crate::Error::Revoked) (sign in again).
    ///
    /// Records the session's activity, writing `last_active_at` at most once
    /// per touch interval so that requests are not each a write; the touch
    /// is bookkeeping, not an event.
    pub async fn authenticate(&self, access_token: &str) -> Result<Authenticated> {
        let now = self.now();
        let (token, mut session) = find(&self.db, TokenKind::Access, access_token).await?;
        check(&token, &session, &self.config, now)?;
        if now
            >= session
                .last_active_at
                .saturating_add(self.config.touch_interval())
        {
            session::Entity::update_many()
                .col_expr(session::Column::LastActiveAt, Expr::value(now))
                .filter(session::Column::Id.eq(session.id))
                .exec(&self.db)
                .await?;
            session.last_active_at = now;
        }
        Ok(Authenticated {
            session: session.into(),
            token_id: token.id,
            expires_at: token.expires_at,
        })
    }
}
