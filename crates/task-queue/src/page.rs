//! Listings page by keyset: each page carries the token that continues it.

use serde::Serialize;
use uuid::Uuid;

use crate::{Error, Result};

/// Largest page any listing returns.
pub const MAX_PAGE: u64 = 1_000;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items, in listing order.
    pub items: Vec<T>,
    /// Pass this to get the next page; `None` on the last page.
    pub continuation: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items` fetched with `limit`; full pages continue after `key(last)`.
    pub(crate) fn of(items: Vec<T>, limit: u64, key: impl Fn(&T) -> String) -> Self {
        let full = u64::try_from(items.len()).unwrap_or(u64::MAX) >= limit;
        let continuation = if full { items.last().map(key) } else { None };
        Self { items, continuation }
    }
}

/// `limit` clamped to 1..=[`MAX_PAGE`].
pub(crate) fn limit(limit: u64) -> u64 {
    limit.clamp(1, MAX_PAGE)
}

/// Reads a continuation token that holds a task id.
pub(crate) fn uuid_token(token: Option<&str>) -> Result<Option<Uuid>> {
    token
        .map(|t| Uuid::parse_str(t).map_err(|_| bad_token(t)))
        .transpose()
}

/// Reads a continuation token that holds a name: at most
/// [`MAX_NAME_LEN`](crate::validate::MAX_NAME_LEN) bytes, no control characters.
pub(crate) fn name_token(token: Option<&str>) -> Result<Option<&str>> {
    token
        .map(|t| if is_name(t) { Ok(t) } else { Err(bad_token(t)) })
        .transpose()
}

/// Reads a continuation token that holds a JSON array of `N` names.
pub(crate) fn tuple_token<const N: usize>(token: Option<&str>) -> Result<Option<[String; N]>> {
    token
        .map(|t| {
            let parts: Vec<String> = serde_json::from_str(t).map_err(|_| bad_token(t))?;
            match <[String; N]>::try_from(parts) {
                Ok(parts) if parts.iter().all(|p| is_name(p)) => Ok(parts),
                _ => Err(bad_token(t)),
            }
        })
        .transpose()
}

fn is_name(s: &str) -> bool {
    s.is_empty() || crate::validate::text("name", s, crate::validate::MAX_NAME_LEN).is_ok()
}

fn bad_token(token: &str) -> Error {
    Error::BadRequest(format!("bad continuation token `{}`", token.escape_debug()))
}

/// Writes a continuation token for [`tuple_token`].
pub(crate) fn tuple_of(key: &[&str]) -> String {
    serde_json::to_string(key).unwrap_or_default()
}
