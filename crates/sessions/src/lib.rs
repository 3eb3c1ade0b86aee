//! plinth-sessions: server-side sessions with rotating access/refresh token
//! pairs.
//!
//! A session belongs to a subject (`user`/id, `client`/id…) and carries
//! application data, client details and its lifetimes. Signing in
//! ([`Sessions::create`]) issues a pair of opaque tokens: a short-lived
//! access token (`plsa_…`) checked on every request
//! ([`Sessions::authenticate`]) and a long-lived refresh token (`plsr_…`)
//! exchanged for the next pair ([`Sessions::refresh`]), which rotates it and
//! detects reuse. Tokens are 256 random bits from the operating system and
//! are stored only as BLAKE3 hashes. What an access token resolves to is
//! cached in memory for a few seconds ([`SessionConfig::cache_ms`]); changes
//! made through a [`Sessions`] apply to it at once.
//!
//! Every change records an event through `plinth-events` in the same
//! transaction (`session.created`, `session.refreshed`,
//! `session.data_updated`, `session.mfa_verified`, `session.revoked`,
//! `session.refresh_reused`). Apply [`Migrator`] after
//! `plinth_events::Migrator`.

mod authenticate;
pub mod cache;
mod checksum;
mod cleanup;
pub mod clock;
pub mod config;
pub mod entity;
pub mod error;
pub mod migration;
mod pair;
mod refresh;
mod revoke;
mod service;
pub mod session;
pub mod token;
mod validity;

pub use authenticate::Authenticated;
pub use cache::CredentialCache;
pub use cleanup::CleanupReport;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::SessionConfig;
pub use error::{Error, Result};
pub use migration::Migrator;
pub use pair::TokenPair;
pub use service::Sessions;
pub use session::{NewSession, Session, Subject};
pub use token::TokenKind;
