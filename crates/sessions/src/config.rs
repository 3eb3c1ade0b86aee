//! Lifetimes, timeouts and housekeeping settings.

use serde::{Deserialize, Serialize};
use time::Duration;

/// How long tokens and sessions live, and how cleanup behaves. Every
/// duration is in seconds so the struct reads naturally from TOML or the
/// environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Lifetime of an access token (default 15 minutes).
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token (default 30 days).
    pub refresh_token_ttl_secs: u64,
    /// A session unused for this long is over; 0 disables the idle timeout
    /// (default 14 days). Activity is recorded at most once per
    /// `touch_interval_secs`, so the timeout is accurate to that interval.
    pub idle_timeout_secs: u64,
    /// Absolute lifetime of a session, however active (default 90 days).
    /// No token outlives its session.
    pub max_lifetime_secs: u64,
    /// How long after its first rotation a refresh token may still be
    /// presented without being treated as stolen (default 15 seconds).
    pub refresh_grace_secs: u64,
    /// Least time between two writes of a session's `last_active_at`
    /// (default 60 seconds), so authenticating is not a write per request.
    pub touch_interval_secs: u64,
    /// How long revoked or expired rows are kept before cleanup deletes them
    /// (default 7 days).
    pub retention_secs: u64,
    /// Rows deleted per statement by cleanup (default 500).
    pub cleanup_batch_size: u64,
    /// Milliseconds a process keeps what an access token resolved to
    /// (default 5000); 0 disables the cache. Revocations, refreshes and other
    /// changes made through this process apply at once; those made by other
    /// processes sharing the database apply within this time.
    pub cache_ms: u64,
    /// Most access tokens cached at once (default 10000).
    pub cache_capacity: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        const DAY: u64 = 24 * 60 * 60;
        Self {
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * DAY,
            idle_timeout_secs: 14 * DAY,
            max_lifetime_secs: 90 * DAY,
            refresh_grace_secs: 15,
            touch_interval_secs: 60,
            retention_secs: 7 * DAY,
            cleanup_batch_size: 500,
            cache_ms: 5_000,
            cache_capacity: 10_000,
        }
    }
}

impl SessionConfig {
    /// Lifetime of an access token.
    pub fn access_token_ttl(&self) -> Duration {
        seconds(self.access_token_ttl_secs)
    }

    /// Lifetime of a refresh token.
    pub fn refresh_token_ttl(&self) -> Duration {
        seconds(self.refresh_token_ttl_secs)
    }

    /// The idle timeout, `None` when disabled.
    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_secs > 0).then(|| seconds(self.idle_timeout_secs))
    }

    /// Absolute lifetime of a session.
    pub fn max_lifetime(&self) -> Duration {
        seconds(self.max_lifetime_secs)
    }

    /// Grace window after a refresh token's first rotation.
    pub fn refresh_grace(&self) -> Duration {
        seconds(self.refresh_grace_secs)
    }

    /// Least time between two activity writes of one session.
    pub fn touch_interval(&self) -> Duration {
        seconds(self.touch_interval_secs)
    }

    /// How long dead rows are kept.
    pub fn retention(&self) -> Duration {
        seconds(self.retention_secs)
    }

    /// How long a resolved access token is cached.
    pub fn cache_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.cache_ms)
    }
}

/// `secs` as a duration, saturating instead of overflowing.
fn seconds(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documentation() {
        let c = SessionConfig::default();
        assert_eq!(c.access_token_ttl(), Duration::minutes(15));
        assert_eq!(c.refresh_token_ttl(), Duration::days(30));
        assert_eq!(c.refresh_grace(), Duration::seconds(15));
        assert_eq!(c.idle_timeout(), Some(Duration::days(14)));
    }

    #[test]
    fn zero_idle_timeout_disables_it() {
        let c = SessionConfig {
            idle_timeout_secs: 0,
            ..SessionConfig::default()
        };
        assert_eq!(c.idle_timeout(), None);
    }

    #[test]
    fn huge_values_saturate() {
        let c = SessionConfig {
            max_lifetime_secs: u64::MAX,
            ..SessionConfig::default()
        };
        assert_eq!(c.max_lifetime(), Duration::seconds(i64::MAX));
    }

    #[test]
    fn partial_config_deserializes_with_defaults() {
        let c: SessionConfig = serde_json::from_str(r#"{"refresh_grace_secs": 5}"#).expect("valid config");
        assert_eq!(c.refresh_grace_secs, 5);
        assert_eq!(c.access_token_ttl_secs, 900);
        assert!(serde_json::from_str::<SessionConfig>(r#"{"nope": 1}"#).is_err());
    }
}
