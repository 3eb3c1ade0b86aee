//! Checksums of session data: BLAKE3 of its canonical JSON, so data that
//! round-trips through the database with its object keys reordered (as
//! PostgreSQL `jsonb` does) still has the same checksum.

use serde_json::Value;

/// The hex BLAKE3 checksum of `data`'s canonical JSON.
pub(crate) fn checksum(data: &Value) -> String {
    let mut hasher = blake3::Hasher::new();
    let mut out = String::new();
    canonical(data, &mut out);
    hasher.update(out.as_bytes());
    hasher.finalize().to_hex().to_string()
}

/// Writes `value` as compact JSON with object keys sorted, whatever the map
/// order of the `serde_json` build.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn key_order_does_not_matter() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, "x"], "x": null}}"#).expect("json");
        let b: Value = serde_json::from_str(r#"{"a": {"x": null, "y": [1, "x"]}, "b": 1}"#).expect("json");
        assert_eq!(checksum(&a), checksum(&b));
    }

    #[test]
    fn canonical_form_is_compact_and_sorted() {
        let mut out = String::new();
        canonical(&json!({"b": [true, 1.5], "a": "q\""}), &mut out);
        assert_eq!(out, r#"{"a":"q\"","b":[true,1.5]}"#);
    }

    #[test]
    fn different_data_differs() {
        assert_ne!(checksum(&json!({"a": 1})), checksum(&json!({"a": 2})));
        assert_ne!(checksum(&json!([1, 2])), checksum(&json!([2, 1])));
    }
}
