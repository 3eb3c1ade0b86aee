//! Settings of the auth crate.

use ipnet::IpNet;
use plinth_sessions::SessionConfig;
use serde::{Deserialize, Deserializer, Serialize};

/// Password hashing and policy. The defaults are OWASP's argon2id minimum
/// (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Memory per hash in KiB, at most [`MAX_MEMORY_KIB`](crate::password::MAX_MEMORY_KIB).
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Shortest accepted password, in characters.
    pub min_length: usize,
    /// Longest accepted password, in bytes, so long inputs cannot burn CPU.
    pub max_length: usize,
    /// Most password hashes computed at once; 0 (the default) means one
    /// fewer than the CPU cores, at least one, so that sign-in storms leave
    /// a core to the requests that are already authenticated. Further
    /// sign-ins wait their turn. Each running hash holds `memory_kib`.
    pub hash_concurrency: usize,
    /// How much lower than the request workers' the hashing threads'
    /// scheduling priority is, as a nice increment (0–19, default 10; 0
    /// keeps them equal). Where the system refuses, hashing runs at normal
    /// priority.
    pub hash_nice: i32,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            min_length: 10,
            max_length: 256,
            hash_concurrency: 0,
            hash_nice: 10,
        }
    }
}

impl PasswordConfig {
    /// How many hashes may run at once: `hash_concurrency`, or when that is
    /// 0, the available CPU cores less one (at least one).
    pub fn effective_hash_concurrency(&self) -> usize {
        if self.hash_concurrency > 0 {
            return self.hash_concurrency;
        }
        std::thread::available_parallelism()
            .map_or(1, |n| n.get().saturating_sub(1))
            .max(1)
    }
}

/// Lockout after failed sign-ins: from `threshold` failures on, the account
/// is locked for `base_secs`, doubling with each further failure up to `max_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutConfig {
    /// Failures before the first lock.
    pub threshold: u32,
    /// Length of the first lock in seconds.
    pub base_secs: u64,
    /// Longest lock in seconds.
    pub max_secs: u64,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            threshold: 5,
            base_secs: 30,
            max_secs: 3600,
        }
    }
}

/// Everything the auth crate can be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Password hashing and policy.
    pub password: PasswordConfig,
    /// Lockout after failed sign-ins.
    pub lockout: LockoutConfig,
    /// Sessions and their tokens.
    pub sessions: SessionConfig,
    /// Lifetimes of one-time tokens.
    pub tokens: TokenConfig,
    /// Milliseconds a process trusts its cached role expansion before checking
    /// the role generation again (default 5000). Role changes made through
    /// this process apply at once; those made elsewhere show up within this.
    pub role_cache_ms: u64,
    /// Milliseconds a process keeps what a user, API token or client
    /// resolved to for authentication — account status, direct and
    /// membership grants, token and client rows (default 5000); 0 disables
    /// the cache. Changes made through this process apply at once; those
    /// made by other processes sharing the database apply within this time.
    /// Session access tokens are cached as `sessions.cache_ms` says.
    pub principal_cache_ms: u64,
    /// Most entries of each principal cache (users, API tokens, clients;
    /// default 10000).
    pub principal_cache_capacity: u64,
    /// TOTP second factor: the key that encrypts secrets at rest, and the issuer name.
    pub mfa: crate::mfa::MfaConfig,
    /// Organisations: invitation lifetime.
    pub orgs: crate::orgs::OrgConfig,
    /// Request rate limits for sign-in, refresh, password-change and token endpoints.
    pub rate_limit: crate::rate_limit::RateLimitConfig,
    /// Addresses or CIDR ranges (`10.0.0.2`, `10.1.0.0/16`, `fd00::/8`) of
    /// the reverse proxies in front of the server (default: none). A request
    /// whose peer is in one of them is taken to come from the right-most
    /// `X-Forwarded-For` entry that is not; other requests come from their
    /// peer, whatever they claim. The client address keys the per-IP rate
    /// limits and is recorded with sessions and events.
    #[serde(deserialize_with = "proxy_ranges")]
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            password: PasswordConfig::default(),
            lockout: LockoutConfig::default(),
            sessions: SessionConfig::default(),
            tokens: TokenConfig::default(),
            role_cache_ms: 5_000,
            principal_cache_ms: 5_000,
            principal_cache_capacity: 10_000,
            mfa: crate::mfa::MfaConfig::default(),
            orgs: crate::orgs::OrgConfig::default(),
            rate_limit: crate::rate_limit::RateLimitConfig::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Reads `trusted_proxies`: each entry is a CIDR range or a single address
/// (a range of one).
fn proxy_ranges<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .map(|range| range.trunc())
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "trusted_proxies: {entry:?} is neither an IP address nor a CIDR range"
                    ))
                })
        })
        .collect()
}

/// Lifetimes of one-time tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenConfig {
    /// Email verification token lifetime in seconds (default 24 h).
    pub email_verification_secs: u64,
    /// Client lifetime when none is given, in seconds (default 1 year).
    pub client_default_secs: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            email_verification_secs: 24 * 3600,
            client_default_secs: 365 * 24 * 3600,
        }
    }
}
