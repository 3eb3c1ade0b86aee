//! Revoking sessions: one, or all of a subject's ("log out everywhere").

use plinth_events::{Context, NewEvent, record};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::{session, token};
use crate::{Result, Sessions, Subject};

/// `revoke_reason` of a session revoked on its own.
const REASON_REVOKED: &str = "revoked";
/// `revoke_reason` of a session revoked with the rest of its subject's.
const REASON_REVOKE_ALL: &str = "revoke_all";
/// `revoke_reason` of a session whose rotated refresh token was reused.
pub(crate) const REASON_REFRESH_REUSED: &str = "refresh_reused";

impl Sessions {
    /// Revokes the session with `id` and every token of it, recording
    /// `session.revoked`. Revoking a revoked session changes nothing and
    /// returns `false`.
    pub async fn revoke(&self, ctx: &Context, id: Uuid) -> Result<bool> {
        let now = self.now();
        let txn = self.begin().await?;
        let session = self.find(&txn, id).await?;
        if session.revoked_at.is_some() {
            // Revoked elsewhere: stop trusting what this process cached.
            self.cache.invalidate(&id);
            return Ok(false);
        }
        let revoked = revoke_session(&txn, ctx, session, REASON_REVOKED, now).await?;
        txn.commit().await?;
        self.cache.invalidate(&id);
        Ok(revoked)
    }

    /// Revokes every unrevoked session of `subject` ("log out everywhere"),
    /// except the session `except` if given (e.g. the one that just changed
    /// the password). Records `session.revoked` for each; returns how many.
    pub async fn revoke_all(&self, ctx: &Context, subject: &Subject, except: Option<Uuid>) -> Result<u64> {
        subject.storable()?;
        let now = self.now();
        let txn = self.begin().await?;
        let mut query = session::Entity::find()
            .filter(session::Column::SubjectType.eq(subject.kind.as_str()))
            .filter(session::Column::SubjectId.eq(subject.id.as_str()))
            .filter(session::Column::RevokedAt.is_null());
        if let Some(except) = except {
            query = query.filter(session::Column::Id.ne(except));
        }
        // In id order, so concurrent revocations lock the rows in one order.
        let sessions = query.order_by_asc(session::Column::Id).all(&txn).await?;
        let ids: Vec<Uuid> = sessions.iter().map(|s| s.id).collect();
        let mut revoked = 0;
        for session in sessions {
            if revoke_session(&txn, ctx, session, REASON_REVOKE_ALL, now).await? {
                revoked += 1;
            }
        }
        txn.commit().await?;
        for id in &ids {
            self.cache.invalidate(id);
        }
        Ok(revoked)
    }
}

/// Revokes `session` and its unrevoked tokens for `reason` and records
/// `session.revoked`, inside the caller's transaction, unless the session is
/// already revoked (a concurrent caller may have revoked it since it was
/// read). Whether this call revoked it.
pub(crate) async fn revoke_session(
    txn: &DatabaseTransaction,
    ctx: &Context,
    session: session::Model,
    reason: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let id = session.id;
    let revoked = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .col_expr(session::Column::RevokeReason, Expr::value(reason))
        .col_expr(session::Column::UpdatedAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    if revoked.rows_affected == 0 {
        return Ok(false);
    }
    token::Entity::update_many()
        .col_expr(token::Column::RevokedAt, Expr::value(now))
        .filter(token::Column::Session.eq(id))
        .filter(token::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    let payload = json!({
        "reason": reason,
        "subject_type": session.subject_type,
        "subject_id": session.subject_id,
    });
    record(
        txn,
        ctx,
        NewEvent::new("session.revoked", "session", id).payload(payload),
    )
    .await?;
    Ok(true)
}
