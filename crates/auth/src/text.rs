//! Checks of the free text callers give (names, descriptions, URLs, device
//! ids, preferences). PostgreSQL cannot store the NUL character (U+0000) in
//! text or JSON, so it is refused up front with `Invalid` on both backends.
//! Times callers give are checked here too, for the same reason: both
//! backends must be able to store them and read them back.

use serde_json::Value;
use time::OffsetDateTime;

use crate::{Error, Result};

/// Refuses `value` of `field` when it holds a NUL character.
pub(crate) fn storable(field: &str, value: &str) -> Result<()> {
    plinth_db::text::storable(field, value).map_err(Error::Invalid)
}

/// Refuses the JSON `value` of `field` when a string or key in it holds a NUL character.
pub(crate) fn storable_json(field: &str, value: &Value) -> Result<()> {
    plinth_db::text::storable_json(field, value).map_err(Error::Invalid)
}

/// The trimmed `value` of `field` when that is 1 to `max` bytes of storable text.
pub(crate) fn required(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() || value.len() > max {
        return Err(Error::Invalid(format!("{field} must be 1-{max} bytes")));
    }
    storable(field, value)?;
    Ok(value.to_owned())
}

/// `None` for a missing or blank value, else the trimmed value when it is at
/// most `max` bytes of storable text.
pub(crate) fn optional(field: &str, value: Option<String>, max: usize) -> Result<Option<String>> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.len() > max {
        return Err(Error::Invalid(format!("{field} is longer than {max} bytes")));
    }
    storable(field, &value)?;
    Ok(Some(value))
}

/// The time `value` of `field` in UTC when both backends can store it
/// ([`plinth_db::text::storable_time`]).
pub(crate) fn time(field: &str, value: OffsetDateTime) -> Result<OffsetDateTime> {
    plinth_db::text::storable_time(field, value).map_err(Error::Invalid)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_characters_are_refused_everywhere() {
        assert!(storable("name", "Ada").is_ok());
        assert!(
            matches!(storable("name", "A\0da"), Err(Error::Invalid(m)) if m == "name must not contain NUL characters")
        );
        assert!(storable_json("preferences", &json!({"a": ["b", 1]})).is_ok());
        assert!(storable_json("preferences", &json!({"a": ["b\u{0}"]})).is_err());
        assert!(storable_json("preferences", &json!({"a\u{0}": 1})).is_err());
        assert_eq!(required("name", "  Ada ", 10).ok().as_deref(), Some("Ada"));
        for bad in ["", "   ", "Ada Lovelace", "A\0"] {
            assert!(required("name", bad, 10).is_err(), "{bad:?}");
        }
        assert_eq!(optional("website", Some(" ".into()), 10).ok(), Some(None));
        assert_eq!(optional("website", None, 10).ok(), Some(None));
        assert_eq!(
            optional("website", Some(" x.org ".into()), 10).ok(),
            Some(Some("x.org".into()))
        );
        assert!(optional("website", Some("x\0.org".into()), 10).is_err());
        assert!(optional("website", Some("x".repeat(11)), 10).is_err());
    }
}
