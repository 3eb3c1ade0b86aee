//! Settings of a [`Queue`](crate::Queue): limits, defaults for new tasks,
//! leases, retry backoff, retention and polling.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Queue-wide settings; every field has a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Largest serialized payload, result or artifact/index data in bytes (an error that maps to 413).
    pub max_payload_bytes: usize,
    /// Runs a task may take when its definition does not say (first run plus
    /// automatic retries), 1 to [`MAX_RUNS`](crate::definition::MAX_RUNS).
    pub max_attempts: u32,
    /// Delay before automatic retries when a task does not set its own.
    pub backoff: Backoff,
    /// How long a remote worker's claim lasts before it must be renewed.
    pub lease: Duration,
    /// Deadline given to tasks created without one, counted from creation; `None` for no deadline.
    pub deadline: Option<Duration>,
    /// How long resolved tasks are kept.
    pub retention: Retention,
    /// Longest wait between claims of an idle worker when no wake-up arrives.
    pub poll_interval: Duration,
    /// Rows changed per statement by expiry sweeps and pruning.
    pub maintenance_batch: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_payload_bytes: 1 << 20,
            max_attempts: 3,
            backoff: Backoff::default(),
            lease: Duration::from_secs(20 * 60),
            deadline: None,
            retention: Retention::default(),
            poll_interval: Duration::from_secs(1),
            maintenance_batch: 1_000,
        }
    }
}

/// Exponential backoff with jitter: retry `n` (1-based) waits a random time
/// between half and all of `min(max, base * 2^(n-1))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Backoff {
    /// Delay before the first retry, in milliseconds, before jitter.
    pub base_ms: u64,
    /// Longest delay, in milliseconds, before jitter.
    pub max_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base_ms: 1_000,
            max_ms: 3_600_000,
        }
    }
}

impl Backoff {
    /// The delay before retry number `retry` (1 for the first retry), jitter included.
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(62);
        let full = self.base_ms.saturating_mul(1u64 << exp).min(self.max_ms);
        let half = full / 2;
        Duration::from_millis(half + fastrand::u64(0..=full - half))
    }
}

/// How long resolved tasks stay before [`Queue::prune`](crate::Queue::prune) deletes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Completed tasks, counted from resolution (default 7 days).
    pub completed: Duration,
    /// Failed and exception tasks (dead letters), counted from resolution
    /// (default 30 days); `None` keeps them, except a task whose own
    /// `expires` has passed.
    pub failed: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            completed: Duration::from_secs(7 * 24 * 3600),
            failed: Some(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let b = Backoff {
            base_ms: 100,
            max_ms: 1_000,
        };
        for _ in 0..100 {
            let d1 = b.delay(1).as_millis();
            let d3 = b.delay(3).as_millis();
            let d9 = b.delay(9).as_millis();
            assert!((50..=100).contains(&d1), "{d1}");
            assert!((200..=400).contains(&d3), "{d3}");
            assert!((500..=1_000).contains(&d9), "{d9}");
        }
        assert!(b.delay(u32::MAX).as_millis() <= 1_000);
    }
}
