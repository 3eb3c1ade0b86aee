//! Checks for text PostgreSQL cannot store: it refuses the NUL character
//! (U+0000) in `text` and `jsonb`, so every crate refuses it up front and
//! both backends behave alike.

use serde_json::Value;

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
}
