//! In-memory, keyed rate limits for the sign-in, refresh, password-change
//! and token endpoints, per client IP and per account.
//!
//! Each key has a token bucket kept as one instant (the generic cell rate
//! algorithm): a bucket holds `burst` requests and refills at `per_minute`.
//! A refused request costs nothing and is told how long to wait. The number
//! of keys is bounded: when a limiter is full it forgets the buckets that
//! have refilled, then the half closest to refilled. Limits are per process;
//! behind a load balancer each replica enforces them separately.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A request rate: `burst` requests at once, refilled at `per_minute`.
/// `per_minute = 0` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Sustained requests per minute; 0 turns the limit off.
    pub per_minute: u32,
    /// Requests allowed in a burst (at least 1 is used).
    pub burst: u32,
}

impl Rate {
    /// `per_minute` requests a minute with bursts of `burst`.
    pub const fn new(per_minute: u32, burst: u32) -> Self {
        Self { per_minute, burst }
    }
}

/// The limits of one endpoint: per client IP and per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointLimits {
    /// Per client IP address.
    pub per_ip: Rate,
    /// Per account (the login name at sign-in, else the user or client).
    pub per_account: Rate,
}

/// Rate limits of the endpoints that take credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Signing in with a password (and second factor).
    pub login: EndpointLimits,
    /// Exchanging a refresh token; per account is per owner of the token's session.
    pub refresh: EndpointLimits,
    /// Changing the password, which checks the current one; per account is
    /// per user.
    pub password: EndpointLimits,
    /// Issuing tokens (API tokens, client credentials).
    pub token: EndpointLimits,
    /// Most keys one limiter remembers.
    pub max_keys: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            login: EndpointLimits {
                per_ip: Rate::new(30, 10),
                per_account: Rate::new(10, 5),
            },
            refresh: EndpointLimits {
                per_ip: Rate::new(120, 30),
                per_account: Rate::new(30, 10),
            },
            password: EndpointLimits {
                per_ip: Rate::new(30, 10),
                per_account: Rate::new(10, 5),
            },
            token: EndpointLimits {
                per_ip: Rate::new(60, 20),
                per_account: Rate::new(30, 10),
            },
            max_keys: 100_000,
        }
    }
}

/// Which endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Password sign-in.
    Login,
    /// Refresh-token exchange.
    Refresh,
    /// Password change.
    Password,
    /// Token issuance.
    Token,
}

/// One keyed limiter: a token bucket per key.
#[derive(Debug)]
pub struct RateLimiter {
    /// Time between two refills of one request.
    interval: Duration,
    /// How far ahead of now a key's schedule may run: `interval × burst`.
    tolerance: Duration,
    max_keys: usize,
    /// Per key (BLAKE3 of it, so memory per key is fixed): when its bucket is full again.
    full_at: Mutex<HashMap<[u8; 32], Instant>>,
}

impl RateLimiter {
    /// A limiter allowing `rate` per key and remembering at most `max_keys` keys.
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        let interval = Duration::from_secs(60)
            .checked_div(rate.per_minute)
            .unwrap_or(Duration::ZERO);
        Self {
            interval,
            tolerance: interval.saturating_mul(rate.burst.max(1)),
            max_keys: max_keys.max(1),
            full_at: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `key` now: `Err(retry_after)` when its bucket is empty.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// Takes one request for `key` at `now` (time is injected for tests).
    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.interval.is_zero() {
            return Ok(());
        }
        let id: [u8; 32] = blake3::hash(key.as_bytes()).into();
        let mut map = self.full_at.lock().unwrap_or_else(PoisonError::into_inner);
        let start = map.get(&id).copied().filter(|t| *t > now).unwrap_or(now);
        let next = start + self.interval;
        let ahead = next.saturating_duration_since(now);
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        if map.len() >= self.max_keys && !map.contains_key(&id) {
            evict(&mut map, now);
        }
        map.insert(id, next);
        Ok(())
    }

    /// How many keys the limiter remembers now.
    pub fn len(&self) -> usize {
        self.full_at.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether the limiter remembers no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Forgets refilled buckets, then, if that freed nothing, the half closest to refilled.
fn evict(map: &mut HashMap<[u8; 32], Instant>, now: Instant) {
    let before = map.len();
    map.retain(|_, t| *t > now);
    if map.len() < before {
        return;
    }
    let mut by_time: Vec<([u8; 32], Instant)> = map.iter().map(|(k, t)| (*k, *t)).collect();
    let n = (by_time.len() / 2).max(1);
    by_time.select_nth_unstable_by_key(n - 1, |(_, t)| *t);
    for (key, _) in &by_time[..n] {
        map.remove(key);
    }
}

#[derive(Debug)]
struct Pair {
    ip: RateLimiter,
    account: RateLimiter,
}

impl Pair {
    fn new(limits: EndpointLimits, max_keys: usize) -> Self {
        Self {
            ip: RateLimiter::new(limits.per_ip, max_keys),
            account: RateLimiter::new(limits.per_account, max_keys),
        }
    }
}

/// The limiters of every credential endpoint, built from [`RateLimitConfig`].
#[derive(Debug)]
pub struct RateLimits {
    login: Pair,
    refresh: Pair,
    password: Pair,
    token: Pair,
}

impl RateLimits {
    /// Limiters for `config`.
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            login: Pair::new(config.login, config.max_keys),
            refresh: Pair::new(config.refresh, config.max_keys),
            password: Pair::new(config.password, config.max_keys),
            token: Pair::new(config.token, config.max_keys),
        }
    }

    fn pair(&self, endpoint: Endpoint) -> &Pair {
        match endpoint {
            Endpoint::Login => &self.login,
            Endpoint::Refresh => &self.refresh,
            Endpoint::Password => &self.password,
            Endpoint::Token => &self.token,
        }
    }

    /// Takes one request to `endpoint` from `ip` for `account` (either may be
    /// unknown); `Err(retry_after)` when either limit is exhausted. Account
    /// keys are trimmed and lower-cased, so `Bob@x.org` and `bob@x.org` share one.
    pub fn check(&self, endpoint: Endpoint, ip: Option<&str>, account: Option<&str>) -> Result<(), Duration> {
        self.check_at(endpoint, ip, account, Instant::now())
    }

    /// [`check`](Self::check) at `now` (time is injected for tests).
    pub fn check_at(
        &self,
        endpoint: Endpoint,
        ip: Option<&str>,
        account: Option<&str>,
        now: Instant,
    ) -> Result<(), Duration> {
        let pair = self.pair(endpoint);
        if let Some(ip) = ip {
            pair.ip.check_at(ip, now)?;
        }
        if let Some(account) = account {
            pair.account.check_at(&account.trim().to_lowercase(), now)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn a_burst_is_allowed_then_requests_refill_at_the_rate() {
        // 6 a minute: one every 10 s, bursts of 3.
        let limiter = RateLimiter::new(Rate::new(6, 3), 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check_at("k", t0), Ok(()));
        }
        assert_eq!(limiter.check_at("k", t0), Err(10 * SEC));
        assert_eq!(
            limiter.check_at("k", t0 + 4 * SEC),
            Err(6 * SEC),
            "refused requests cost nothing"
        );
        assert_eq!(limiter.check_at("k", t0 + 10 * SEC), Ok(()));
        assert_eq!(limiter.check_at("k", t0 + 10 * SEC), Err(10 * SEC));
        // After a long pause the bucket is full again, but holds no more than the burst.
        let later = t0 + 3600 * SEC;
        for _ in 0..3 {
            assert_eq!(limiter.check_at("k", later), Ok(()));
        }
        assert!(limiter.check_at("k", later).is_err());
    }

    #[test]
    fn keys_are_independent_and_zero_means_unlimited() {
        let limiter = RateLimiter::new(Rate::new(1, 1), 100);
        let t0 = Instant::now();
        assert_eq!(limiter.check_at("a", t0), Ok(()));
        assert_eq!(limiter.check_at("a", t0), Err(60 * SEC));
        assert_eq!(limiter.check_at("b", t0), Ok(()));
        let off = RateLimiter::new(Rate::new(0, 0), 100);
        for _ in 0..1000 {
            assert_eq!(off.check_at("a", t0), Ok(()));
        }
        assert!(off.is_empty(), "an unlimited limiter remembers nothing");
    }

    #[test]
    fn the_number_of_keys_is_bounded() {
        let limiter = RateLimiter::new(Rate::new(60, 1), 4);
        let t0 = Instant::now();
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            let at = t0 + Duration::from_millis(100 * u64::try_from(i).unwrap_or(0));
            assert_eq!(limiter.check_at(key, at), Ok(()));
        }
        assert_eq!(limiter.len(), 4);
        // Full and nothing refilled: the half closest to refilled (a, b) goes.
        assert_eq!(limiter.check_at("e", t0 + Duration::from_millis(500)), Ok(()));
        assert_eq!(limiter.len(), 3);
        assert!(
            limiter.check_at("d", t0 + Duration::from_millis(500)).is_err(),
            "d is still limited"
        );
        assert_eq!(limiter.check_at("f", t0 + Duration::from_millis(600)), Ok(()));
        // Once buckets refill they are forgotten first.
        assert_eq!(limiter.check_at("g", t0 + 10 * SEC), Ok(()));
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn endpoints_limit_per_ip_and_per_account() {
        let config = RateLimitConfig {
            login: EndpointLimits {
                per_ip: Rate::new(60, 3),
                per_account: Rate::new(60, 2),
            },
            ..RateLimitConfig::default()
        };
        let limits = RateLimits::new(&config);
        let t0 = Instant::now();
        let login = |ip, account| limits.check_at(Endpoint::Login, Some(ip), Some(account), t0);
        assert_eq!(login("192.0.2.1", "bob@example.com"), Ok(()));
        assert_eq!(login("192.0.2.2", "Bob@Example.com "), Ok(()));
        assert_eq!(
            login("192.0.2.3", "bob@example.com"),
            Err(SEC),
            "the account is limited across IPs"
        );
        assert_eq!(login("192.0.2.1", "carol"), Ok(()));
        assert_eq!(login("192.0.2.1", "dave"), Ok(()));
        assert_eq!(
            login("192.0.2.1", "erin"),
            Err(SEC),
            "the IP is limited across accounts"
        );
        // Other endpoints have their own buckets.
        assert_eq!(
            limits.check_at(Endpoint::Refresh, Some("192.0.2.1"), Some("bob@example.com"), t0),
            Ok(())
        );
        assert_eq!(limits.check_at(Endpoint::Token, None, None, t0), Ok(()));
    }
}
