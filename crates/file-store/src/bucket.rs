//! Buckets: named groups of files with their own size limit and allowed
//! content types.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The default largest file of a bucket: 2 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 2 * 1024 * 1024 * 1024;
/// The largest file any bucket can hold: lengths are stored as signed 64-bit integers.
pub const MAX_STORABLE_SIZE: u64 = i64::MAX.unsigned_abs();

/// The rules of one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BucketConfig {
    /// Largest accepted file in bytes.
    pub max_size: u64,
    /// Content types accepted, as sniffed from the bytes: exact (`image/png`),
    /// a whole family (`image/*`) or anything (`*/*`).
    pub allowed_types: Vec<String>,
}

impl Default for BucketConfig {
    fn default() -> Self {
        Self {
            max_size: DEFAULT_MAX_SIZE,
            allowed_types: vec!["*/*".to_owned()],
        }
    }
}

impl BucketConfig {
    /// Whether `content_type` (parameters ignored) matches the allow-list.
    pub fn allows(&self, content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        let family = essence.split('/').next().unwrap_or_default();
        self.allowed_types
            .iter()
            .any(|pattern| match pattern.strip_suffix("/*") {
                Some("*") => true,
                Some(prefix) => prefix.eq_ignore_ascii_case(family),
                None => pattern.eq_ignore_ascii_case(essence),
            })
    }

    /// Refuses `content_type` in bucket `name` unless allowed.
    pub fn check_type(&self, name: &str, content_type: &str) -> Result<()> {
        if self.allows(content_type) {
            Ok(())
        } else {
            Err(Error::UnsupportedType {
                content_type: content_type.to_owned(),
                bucket: name.to_owned(),
            })
        }
    }

    /// The largest file accepted: `max_size`, or [`MAX_STORABLE_SIZE`] when that is smaller.
    pub fn limit(&self) -> u64 {
        self.max_size.min(MAX_STORABLE_SIZE)
    }

    /// Refuses a file of `size` bytes if it is over the [limit](Self::limit).
    pub fn check_size(&self, size: u64) -> Result<()> {
        if size > self.limit() {
            Err(Error::TooLarge { limit: self.limit() })
        } else {
            Ok(())
        }
    }
}

/// Longest bucket name.
pub const MAX_NAME_LEN: usize = 63;

/// Checks a bucket name: 1-63 characters of `a-z`, `0-9`, `-`, `_`, `.`,
/// starting with a letter or digit (bucket names appear in scopes and URLs).
pub fn check_name(name: &str) -> Result<()> {
    let valid = name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "bucket name `{name}` must be 1-{MAX_NAME_LEN} characters of a-z, 0-9, '-', '_' or '.', \
             starting with a letter or digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_patterns_match() {
        let bucket = BucketConfig {
            allowed_types: vec!["image/*".into(), "application/pdf".into()],
            ..BucketConfig::default()
        };
        assert!(bucket.allows("image/png"));
        assert!(bucket.allows("application/pdf"));
        assert!(!bucket.allows("text/plain; charset=utf-8"));
        assert!(!bucket.allows("application/pdfx"));
        assert!(BucketConfig::default().allows("anything/at-all"));
    }

    #[test]
    fn limits_stop_at_what_can_be_stored() {
        let unbounded = BucketConfig {
            max_size: u64::MAX,
            ..BucketConfig::default()
        };
        assert_eq!(unbounded.limit(), MAX_STORABLE_SIZE);
        assert!(unbounded.check_size(MAX_STORABLE_SIZE).is_ok());
        assert!(matches!(
            unbounded.check_size(MAX_STORABLE_SIZE + 1),
            Err(Error::TooLarge {
                limit: MAX_STORABLE_SIZE
            })
        ));
        assert_eq!(BucketConfig::default().limit(), DEFAULT_MAX_SIZE);
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("avatars").is_ok());
        assert!(check_name("a.b-c_d9").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("-x").is_err());
        assert!(check_name("Up").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name(&"a".repeat(64)).is_err());
    }
}
