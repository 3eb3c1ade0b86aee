//! Settings of the auth crate.

use plinth_sessions::SessionConfig;
use serde::{Deserialize, Serialize};

/// Password hashing and policy. The defaults are OWASP's argon2id minimum
/// (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Memory per hash in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Shortest accepted password, in characters.
    pub min_length: usize,
    /// Longest accepted password, in bytes, so long inputs cannot burn CPU.
    pub max_length: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            min_length: 10,
            max_length: 256,
        }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
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
    /// the role generation again (role changes elsewhere show up within this).
    pub role_cache_ms: u64,
    /// TOTP second factor: the key that encrypts secrets at rest, and the issuer name.
    pub mfa: crate::mfa::MfaConfig,
    /// Organisations: invitation lifetime.
    pub orgs: crate::orgs::OrgConfig,
    /// Request rate limits for sign-in, refresh and token endpoints.
    pub rate_limit: crate::rate_limit::RateLimitConfig,
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
