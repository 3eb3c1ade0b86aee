//! What users, API tokens and clients resolved to, as the per-process
//! principal caches keep them (see [`AuthConfig::principal_cache_ms`]), so
//! that authenticating a request usually reads no database row.
//!
//! Each entry is tagged with what invalidates it: a user id, an API token id
//! or a client id. Every change this crate makes to those (status, grants,
//! memberships, revocation, rotation…) invalidates the tag after its
//! transaction commits; role changes need nothing here, because expansions
//! are remembered per role set and the role set is replaced when roles change.
//!
//! [`AuthConfig::principal_cache_ms`]: crate::AuthConfig::principal_cache_ms

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use plinth_sessions::CredentialCache;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AuthConfig;
use crate::entity::{api_token, client, user};
use crate::role::RoleSet;

/// Least time between two writes of a credential's `last_used_at`.
const TOUCH_INTERVAL: time::Duration = time::Duration::seconds(60);

/// The principal caches of one [`Auth`](crate::Auth) and its clones.
#[derive(Debug, Clone)]
pub(crate) struct PrincipalCache {
    /// User id → the user and the scopes they hold, tagged with the user id.
    pub users: CredentialCache<Uuid, Uuid, UserGrants>,
    /// API token hash → the token, tagged with the token id.
    pub api_tokens: CredentialCache<String, Uuid, ApiTokenGrant>,
    /// Client secret hash → the client, tagged with the client id.
    pub clients: CredentialCache<String, String, ClientGrant>,
}

impl PrincipalCache {
    /// Empty caches as `config` says.
    pub fn new(config: &AuthConfig) -> Self {
        let ttl = Duration::from_millis(config.principal_cache_ms);
        let capacity = config.principal_cache_capacity;
        Self {
            users: CredentialCache::new(ttl, capacity),
            api_tokens: CredentialCache::new(ttl, capacity),
            clients: CredentialCache::new(ttl, capacity),
        }
    }
}

/// A user and the scopes they hold before role expansion: direct grants,
/// `assume:user:<id>` and their memberships' relational grants.
pub(crate) struct UserGrants {
    /// The account as read.
    pub user: user::Model,
    /// Held scopes, unexpanded.
    pub held: Vec<String>,
    /// `held` expanded through the current roles.
    pub expanded: Expansion,
}

/// An API token and the scopes it asks for before role expansion.
pub(crate) struct ApiTokenGrant {
    /// The token as read.
    pub row: api_token::Model,
    /// The scopes the token was created with.
    pub requested: Vec<String>,
    /// `requested` expanded through the current roles.
    pub expanded: Expansion,
    /// When this process last recorded the token's use.
    pub last_used: Touch,
}

/// A client and the scopes it holds before role expansion.
pub(crate) struct ClientGrant {
    /// The client as read.
    pub row: client::Model,
    /// Its scopes and `assume:client:<id>`.
    pub held: Vec<String>,
    /// `held` expanded through the current roles.
    pub expanded: Expansion,
    /// When this process last recorded the client's use.
    pub last_used: Touch,
}

/// A scope list expanded through one role set, remembered until the role
/// set changes.
#[derive(Default)]
pub(crate) struct Expansion(Mutex<Option<Expanded>>);

/// A role set and a scope list expanded through it.
type Expanded = (Arc<RoleSet>, Arc<Vec<String>>);

impl Expansion {
    /// `scopes` expanded through `roles`, computed once per role set.
    pub fn of(&self, roles: &Arc<RoleSet>, scopes: &[String]) -> Arc<Vec<String>> {
        let mut memo = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((set, expanded)) = memo.as_ref()
            && Arc::ptr_eq(set, roles)
        {
            return expanded.clone();
        }
        let expanded = Arc::new(roles.expand(scopes));
        *memo = Some((roles.clone(), expanded.clone()));
        expanded
    }
}

/// The last recorded use of a credential, so that use is written at most
/// once per minute per process instead of on every request.
pub(crate) struct Touch(Mutex<Option<OffsetDateTime>>);

impl Touch {
    /// Starts from the use recorded in the row.
    pub fn new(last_used: Option<OffsetDateTime>) -> Self {
        Self(Mutex::new(last_used))
    }

    /// Whether a use at `now` should be written; if so, it counts as written.
    pub fn due(&self, now: OffsetDateTime) -> bool {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let due = last.is_none_or(|t| now - t > TOUCH_INTERVAL);
        if due {
            *last = Some(now);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    #[test]
    fn expansions_are_remembered_per_role_set() {
        let held = vec!["assume:dev".to_owned()];
        let one = Arc::new(
            RoleSet::new(vec![Role {
                id: "dev".into(),
                scopes: vec!["build".into()],
            }])
            .expect("roles"),
        );
        let memo = Expansion::default();
        let first = memo.of(&one, &held);
        assert_eq!(*first, ["assume:dev", "build"]);
        assert!(Arc::ptr_eq(&first, &memo.of(&one, &held)), "computed once");
        let two = Arc::new(
            RoleSet::new(vec![Role {
                id: "dev".into(),
                scopes: vec!["deploy".into()],
            }])
            .expect("roles"),
        );
        assert_eq!(
            *memo.of(&two, &held),
            ["assume:dev", "deploy"],
            "a new role set expands again"
        );
    }

    #[test]
    fn use_is_written_at_most_once_a_minute() {
        let start = OffsetDateTime::UNIX_EPOCH;
        let touch = Touch::new(None);
        assert!(touch.due(start));
        assert!(!touch.due(start + time::Duration::seconds(60)));
        assert!(touch.due(start + time::Duration::seconds(61)));
        assert!(Touch::new(Some(start)).due(start + time::Duration::minutes(2)));
    }
}
