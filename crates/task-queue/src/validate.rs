//! Input checks shared by every entry point: names, identifiers and sizes.

use time::OffsetDateTime;

use crate::clock::db_time;
use crate::{Error, Result};

/// Longest queue name.
pub const MAX_QUEUE_LEN: usize = 64;
/// Longest task type.
pub const MAX_TYPE_LEN: usize = 128;
/// Longest worker group, worker id, scheduler id or provisioner id.
pub const MAX_IDENT_LEN: usize = 128;
/// Longest unique key.
pub const MAX_UNIQUE_KEY_LEN: usize = 255;
/// Most tags on a task.
pub const MAX_TAGS: usize = 64;
/// Longest tag key or value.
pub const MAX_TAG_LEN: usize = 1_024;
/// Longest artifact name.
pub const MAX_NAME_LEN: usize = 1_024;
/// Longest index path or namespace: a written path is the subject of its
/// `index.updated` event, so it is no longer than an event subject.
pub const MAX_INDEX_PATH_LEN: usize = plinth_events::record::MAX_ID_LEN;
/// Most task types one claim may name.
pub const MAX_CLAIM_TYPES: usize = 100;
/// Longest retry backoff, base or cap, in milliseconds (30 days).
pub const MAX_BACKOFF_MS: u64 = 30 * 24 * 3_600 * 1_000;

/// A caller's time in UTC at the stored precision, when its UTC year is
/// 1970–9999 (every stored time then has an RFC 3339 form).
pub fn time(what: &str, t: OffsetDateTime) -> Result<OffsetDateTime> {
    plinth_db::text::storable_time(what, t)
        .map(db_time)
        .map_err(Error::Invalid)
}

/// Refuses a list of more than `max` items, named `what` (plural).
pub fn at_most(what: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(Error::Invalid(format!("at most {max} {what}")));
    }
    Ok(())
}

fn check(what: &str, value: &str, max: usize, allowed: impl Fn(u8) -> bool, rule: &str) -> Result<()> {
    if !value.is_empty() && value.len() <= max && value.bytes().all(allowed) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what} `{value}` must be 1-{max} characters of {rule}"
        )))
    }
}

/// A queue name: 1–64 of `a-z 0-9 _ - / .`.
pub fn queue_name(name: &str) -> Result<()> {
    check(
        "queue name",
        name,
        MAX_QUEUE_LEN,
        name_byte,
        "a-z, 0-9, '_', '-', '/' or '.'",
    )
}

/// A task type: 1–128 of `a-z 0-9 _ - / .`.
pub fn task_type(name: &str) -> Result<()> {
    check(
        "task type",
        name,
        MAX_TYPE_LEN,
        name_byte,
        "a-z, 0-9, '_', '-', '/' or '.'",
    )
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'/' | b'.')
}

/// A worker group, worker id, scheduler id or provisioner id: 1–128 of `A-Z a-z 0-9 _ - . :`.
pub fn ident(what: &str, value: &str) -> Result<()> {
    check(
        what,
        value,
        MAX_IDENT_LEN,
        |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'),
        "A-Z, a-z, 0-9, '_', '-', '.' or ':'",
    )
}

/// Free text with a length limit and no control characters (unique keys, tags, content types).
pub fn text(what: &str, value: &str, max: usize) -> Result<()> {
    check_chars(what, value, max, |c| !c.is_control(), "control characters")
}

/// A JSON value named `what` whose serialized size is at most `limit` bytes
/// and which holds no NUL character; returns the size.
pub fn json(what: &str, value: &serde_json::Value, limit: usize) -> Result<usize> {
    let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
    if size > limit {
        return Err(Error::PayloadTooLarge { size, limit });
    }
    if plinth_db::text::json_has_nul(value) {
        return Err(Error::Invalid(format!("{what} must not contain NUL characters")));
    }
    Ok(size)
}

/// An artifact name: `/`-separated segments, none empty, no `.` or `..` segment.
pub fn artifact_name(name: &str) -> Result<()> {
    text("artifact name", name, MAX_NAME_LEN)?;
    if name.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(Error::Invalid(format!(
            "artifact name `{name}` must be `/`-separated non-empty segments without `.` or `..`"
        )));
    }
    Ok(())
}

/// An index path or namespace: at most [`MAX_INDEX_PATH_LEN`] bytes of
/// `.`-separated segments of `A-Z a-z 0-9 _ -`; the empty string is the root
/// namespace when `allow_root`.
pub fn index_path(path: &str, allow_root: bool) -> Result<()> {
    if path.is_empty() && allow_root {
        return Ok(());
    }
    let valid = !path.is_empty()
        && path.len() <= MAX_INDEX_PATH_LEN
        && path.split('.').all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        });
    if valid {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "index path `{path}` must be at most {MAX_INDEX_PATH_LEN} bytes of `.`-separated segments \
             of A-Z, a-z, 0-9, '_' or '-'"
        )))
    }
}

/// A message of 1–`max` bytes that may span lines (tabs and line breaks are
/// allowed; other control characters are not).
pub fn message(what: &str, value: &str, max: usize) -> Result<()> {
    check_chars(
        what,
        value,
        max,
        |c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'),
        "control characters other than tabs and line breaks",
    )
}

/// Refuses `value` unless it is 1–`max` bytes of characters `allowed`;
/// `refused` names the characters that are not.
fn check_chars(
    what: &str,
    value: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
    refused: &str,
) -> Result<()> {
    if !value.is_empty() && value.len() <= max && value.chars().all(allowed) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what} must be 1-{max} bytes without {refused}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names() {
        for ok in ["default", "a", "proj-ci/linux.x64_2", &"q".repeat(64)] {
            assert!(queue_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Default", "a b", "é", &"q".repeat(65), "a\n"] {
            assert!(matches!(queue_name(bad), Err(Error::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn sizes_and_paths() {
        let big = serde_json::json!({ "s": "x".repeat(100) });
        assert!(matches!(
            json("payload", &big, 50),
            Err(Error::PayloadTooLarge { limit: 50, .. })
        ));
        assert!(json("payload", &big, 1_000).is_ok());
        assert!(artifact_name("public/logs/live.log").is_ok());
        for bad in ["", "/abs", "a//b", "a/../b", "a/"] {
            assert!(artifact_name(bad).is_err(), "{bad}");
        }
        assert!(index_path("project.app.latest", false).is_ok());
        assert!(index_path("", true).is_ok());
        for bad in ["", "a..b", ".a", "a b"] {
            assert!(index_path(bad, false).is_err(), "{bad}");
        }
        assert!(ident("worker id", "host-1.example:7").is_ok());
        assert!(ident("worker id", "a b").is_err());
        assert!(message("error message", "line one\n\tline two\r\n", 100).is_ok());
        for bad in ["", "nul \0 inside", "bell \u{7}"] {
            assert!(message("error message", bad, 100).is_err(), "{bad:?}");
        }
        assert!(message("error message", "too long", 4).is_err());
        assert!(matches!(
            json("result", &serde_json::json!({"k": "a\u{0}"}), 100),
            Err(Error::Invalid(_))
        ));
        assert!(text("tag", "x\u{7}", 10).is_err());
    }
}
