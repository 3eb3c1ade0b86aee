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
        .map(|t| Uuid::parse_str(t).map_err(|_| Error::BadRequest(format!("bad continuation token `{t}`"))))
        .transpose()
}

/// Reads a continuation token that holds a JSON array of `N` strings.
pub(crate) fn tuple_token<const N: usize>(token: Option<&str>) -> Result<Option<[String; N]>> {
    token
        .map(|t| {
            let bad = || Error::BadRequest(format!("bad continuation token `{t}`"));
            let parts: Vec<String> = serde_json::from_str(t).map_err(|_| bad())?;
            <[String; N]>::try_from(parts).map_err(|_| bad())
        })
        .transpose()
}

/// Writes a continuation token for [`tuple_token`].
pub(crate) fn tuple_of(key: &[&str]) -> String {
    serde_json::to_string(key).unwrap_or_default()
}
