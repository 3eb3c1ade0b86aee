//! plinth-auth: identity and authorisation.
//!
//! Users with passwords (argon2id) and email verification, API tokens,
//! clients (service principals), and roles and scopes with Taskcluster's
//! semantics. [`Auth::authenticate`] turns a bearer credential into a
//! [`Principal`] whose expanded scopes every route checks. Apply
//! [`Migrator`] after `plinth_events::Migrator` and `plinth_sessions::Migrator`.

pub mod api_tokens;
mod cached;
pub mod clients;
pub mod config;
pub mod entity;
pub mod error;
mod grants;
mod hash_pool;
#[cfg(feature = "http")]
pub mod http;
pub mod invitations;
pub mod login;
pub mod mfa;
pub mod migration;
mod migration_orgs;
pub mod orgs;
pub mod password;
pub mod principal;
pub mod rate_limit;
pub mod role;
mod roles;
pub mod scope;
mod service;
pub mod teams;
#[cfg(feature = "testing")]
pub mod testing;
mod text;
pub mod users;

pub use config::AuthConfig;
pub use error::{Error, Result};
pub use migration::Migrator;
pub use principal::{Principal, PrincipalKind};
pub use role::Role;
pub use scope::ScopeExpr;
pub use service::Auth;
