//! Exchanging a refresh token for a new pair: rotation, the grace window
//! for clients that raced or lost a response, and reuse detection, which
//! revokes a session whose rotated refresh token turns up again.

use plinth_events::{Context, NewEvent, record};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::entity::{session, token};
use crate::pair::{TokenPair, issue};
use crate::revoke::{REASON_REFRESH_REUSED, revoke_session};
use crate::token::TokenKind;
use crate::validity::{check, find};
use crate::{Error, Result, Session, Sessions, Subject};

impl Sessions {
    /// Who the session of `refresh_token` belongs to, without exchanging
    /// it; `None` for a malformed or unknown token. Lets a caller limit
    /// exchanges per account before making one.
    pub async fn refresh_subject(&self, refresh_token: &str) -> Result<Option<Subject>> {
        match find(&self.db, TokenKind::Refresh, refresh_token).await {
            Ok((_, session)) => Ok(Some(Session::from(session).subject)),
            Err(Error::InvalidToken) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Exchanges `refresh_token` for a new pair and records
    /// `session.refreshed`.
    ///
    /// The first use of a refresh token rotates it: it is marked rotated and
    /// linked to its successor, the access token issued with it is revoked,
    /// and a new pair is returned. For `refresh_grace_secs` after that first
    /// rotation the old token is still exchanged for another new pair (for
    /// clients that raced or lost the response; the earlier pair cannot be
    /// returned again because only hashes are stored), leaving the earlier
    /// pair valid. The window counts from the first rotation and never moves,
    /// however often the old token is presented. After it, presenting the old
    /// token revokes the whole session and records `session.refresh_reused`.
    ///
    /// Errors: those of [`Sessions::authenticate`], and
    /// [`RefreshReused`](Error::RefreshReused) when a rotated token is
    /// presented after the grace window — the session is then revoked.
    pub async fn refresh(&self, ctx: &Context, refresh_token: &str) -> Result<TokenPair> {
        let now = self.now();
        let txn = self.begin().await?;
        let (old, session) = find(&txn, TokenKind::Refresh, refresh_token).await?;
        check(&old, &session, &self.config, now)?;
        if let Some(rotated_at) = old.rotated_at
            && now > rotated_at.saturating_add(self.config.refresh_grace())
        {
            let id = session.id;
            self.reused(&txn, ctx, &old, session, rotated_at, now).await?;
            txn.commit().await?;
            self.cache.invalidate(&id);
            return Err(Error::RefreshReused);
        }
        // Touching the session locks its row before any token's, in the order
        // revocations take them, so the two cannot deadlock. A revocation
        // committed since the session was read leaves no row to touch: the new
        // pair must not outlive it.
        let touched = session::Entity::update_many()
            .col_expr(session::Column::LastActiveAt, Expr::value(now))
            .filter(session::Column::Id.eq(session.id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        if touched.rows_affected == 0 {
            return Err(Error::Revoked);
        }
        let issued = issue(&txn, &session, &self.config, now).await?;
        // Of two concurrent first rotations only one marks the token; the
        // other lands in the grace window, which started just now.
        let first = old.rotated_at.is_none() && mark_rotated(&txn, old.id, issued.refresh_id, now).await?;
        token::Entity::update_many()
            .col_expr(token::Column::RevokedAt, Expr::value(now))
            .filter(token::Column::RefreshToken.eq(old.id))
            .filter(token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        let payload = json!({
            "refresh_token_id": old.id,
            "new_refresh_token_id": issued.refresh_id,
            "new_access_token_id": issued.access_id,
            "within_grace": !first,
        });
        record(
            &txn,
            ctx,
            NewEvent::new("session.refreshed", "session", session.id).payload(payload),
        )
        .await?;
        txn.commit().await?;
        // The previous access token is revoked and the session's activity moved.
        self.cache.invalidate(&session.id);
        Ok(issued.pair)
    }

    /// Revokes the session of a refresh token presented after its grace
    /// window and records `session.refresh_reused`, unless a concurrent
    /// caller revoked the session first.
    async fn reused(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Context,
        old: &token::Model,
        session: session::Model,
        rotated_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<()> {
        let session_id = session.id;
        tracing::warn!(%session_id, token_id = %old.id, "rotated refresh token presented again; revoking the session");
        if !revoke_session(txn, ctx, session, REASON_REFRESH_REUSED, now).await? {
            // A concurrent caller revoked the session first.
            return Ok(());
        }
        let payload = json!({
            "refresh_token_id": old.id,
            "rotated_at": rotated_at.format(&Rfc3339).ok(),
            "presented_at": now.format(&Rfc3339).ok(),
        });
        record(
            txn,
            ctx,
            NewEvent::new("session.refresh_reused", "session", session_id).payload(payload),
        )
        .await?;
        Ok(())
    }
}

/// Marks refresh token `id` as rotated into `successor` unless it already
/// is; whether this call did it.
async fn mark_rotated(
    txn: &DatabaseTransaction,
    id: Uuid,
    successor: Uuid,
    now: OffsetDateTime,
) -> Result<bool> {
    let res = token::Entity::update_many()
        .col_expr(token::Column::RotatedAt, Expr::value(now))
        .col_expr(token::Column::SuccessorId, Expr::value(successor))
        .filter(token::Column::Id.eq(id))
        .filter(token::Column::RotatedAt.is_null())
        .exec(txn)
        .await?;
    Ok(res.rows_affected == 1)
}
