//! Finding a presented token and deciding whether it and its session may be
//! used at a given time.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use crate::entity::{session, token};
use crate::token::{TokenKind, hashes_match, parse};
use crate::{Error, Result, SessionConfig};

/// The stored token of `kind` matching `presented`, with its session.
/// Malformed and unknown tokens are both [`Error::InvalidToken`].
pub(crate) async fn find(
    conn: &impl ConnectionTrait,
    kind: TokenKind,
    presented: &str,
) -> Result<(token::Model, session::Model)> {
    find_hash(conn, kind, &parse(presented, kind)?).await
}

/// The stored token of `kind` whose hash is `hash`, with its session.
/// Unknown tokens are [`Error::InvalidToken`].
pub(crate) async fn find_hash(
    conn: &impl ConnectionTrait,
    kind: TokenKind,
    hash: &str,
) -> Result<(token::Model, session::Model)> {
    let found = token::Entity::find()
        .filter(token::Column::TokenHash.eq(hash))
        .filter(token::Column::Kind.eq(kind.as_str()))
        .find_also_related(session::Entity)
        .one(conn)
        .await?;
    match found {
        Some((token, Some(session))) if hashes_match(&token.token_hash, hash) => Ok((token, session)),
        _ => Err(Error::InvalidToken),
    }
}

/// Whether `session` is usable at `now`: not revoked, within its absolute
/// lifetime and not idle for longer than the idle timeout.
pub(crate) fn check_session(
    session: &session::Model,
    config: &SessionConfig,
    now: OffsetDateTime,
) -> Result<()> {
    if session.revoked_at.is_some() {
        return Err(Error::Revoked);
    }
    if now >= session.expires_at {
        return Err(Error::SessionExpired);
    }
    if let Some(idle) = config.idle_timeout()
        && now >= session.last_active_at.saturating_add(idle)
    {
        return Err(Error::SessionExpired);
    }
    Ok(())
}

/// Whether `token` and its `session` are usable at `now`. Session problems
/// come first, so a client is told to sign in again rather than to refresh
/// when refreshing could not help.
pub(crate) fn check(
    token: &token::Model,
    session: &session::Model,
    config: &SessionConfig,
    now: OffsetDateTime,
) -> Result<()> {
    if token.revoked_at.is_some() {
        return Err(Error::Revoked);
    }
    check_session(session, config, now)?;
    if now >= token.expires_at {
        return Err(Error::Expired);
    }
    Ok(())
}
