//! Checks for values a backend cannot store: PostgreSQL refuses the NUL
//! character (U+0000) in `text` and `jsonb`, and cannot read back instants
//! past the year 9999, so every crate refuses them up front and both
//! backends behave alike.

use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

/// Whether `s` holds a NUL character.
pub fn has_nul(s: &str) -> bool {
    s.contains('\0')
}

/// Whether any string or object key inside `value` holds a NUL character.
pub fn json_has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => has_nul(s),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| has_nul(k) || json_has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Longest accepted value, in bytes, of a free-text column under an index:
/// PostgreSQL refuses index entries over a few kilobytes.
pub const MAX_INDEXED_LEN: usize = 1_000;

/// `value` of `field` as storable text: an error message naming `field` when
/// it holds a NUL character. Each crate wraps the message in its own error.
pub fn storable(field: &str, value: &str) -> Result<(), String> {
    refuse_nul(field, has_nul(value))
}

/// Like [`storable`], for a JSON value, any string or key of which may hold the NUL.
pub fn storable_json(field: &str, value: &Value) -> Result<(), String> {
    refuse_nul(field, json_has_nul(value))
}

/// Like [`storable`], for an indexed column: also at most [`MAX_INDEXED_LEN`] bytes.
pub fn indexable(field: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_INDEXED_LEN {
        return Err(format!("{field} must be at most {MAX_INDEXED_LEN} bytes"));
    }
    storable(field, value)
}

/// The time `value` of `field` in UTC when its UTC year is 1970–9999, so
/// that both backends store it, read it back and give it an RFC 3339 form:
/// a local time late in 9999 can be an instant in 10000. Otherwise an error
/// message naming `field`.
pub fn storable_time(field: &str, value: OffsetDateTime) -> Result<OffsetDateTime, String> {
    match value.checked_to_offset(UtcOffset::UTC) {
        Some(utc) if (1970..=9999).contains(&utc.year()) => Ok(utc),
        _ => Err(format!("{field} must be between the years 1970 and 9999 UTC")),
    }
}

fn refuse_nul(field: &str, nul: bool) -> Result<(), String> {
    if nul {
        Err(format!("{field} must not contain NUL characters"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_nul_in_strings_keys_and_nested_values() {
        assert!(has_nul("a\0b"));
        assert!(!has_nul("ab"));
        assert!(json_has_nul(&json!({"k": ["x", {"y": "\u{0}"}]})));
        assert!(json_has_nul(&json!({"k\u{0}": 1})));
        assert!(!json_has_nul(&json!({"k": [1, true, null, "v"]})));
    }

    #[test]
    fn messages_name_the_field() {
        assert_eq!(
            storable("name", "a\0"),
            Err("name must not contain NUL characters".into())
        );
        assert_eq!(
            storable_json("data", &json!(["\u{0}"])),
            Err("data must not contain NUL characters".into())
        );
        assert_eq!(indexable("id", &"x".repeat(MAX_INDEXED_LEN)), Ok(()));
        assert_eq!(
            indexable("id", &"x".repeat(MAX_INDEXED_LEN + 1)),
            Err("id must be at most 1000 bytes".into())
        );
        assert_eq!(
            indexable("id", "\0"),
            Err("id must not contain NUL characters".into())
        );
    }

    #[test]
    fn times_must_fall_in_the_years_1970_to_9999_utc() {
        use time::macros::datetime;
        assert_eq!(
            storable_time("at", datetime!(2030-01-01 01:00 +01:00)),
            Ok(datetime!(2030-01-01 00:00 UTC))
        );
        let late = "at must be between the years 1970 and 9999 UTC";
        assert_eq!(
            storable_time("at", datetime!(9999-12-31 23:59 -01:00)),
            Err(late.into())
        );
        assert_eq!(
            storable_time("at", datetime!(1969-12-31 23:59 UTC)),
            Err(late.into())
        );
    }
}
