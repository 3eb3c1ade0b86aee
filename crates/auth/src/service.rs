//! The `Auth` service: the entry point an application builds once.

use std::sync::Arc;

use plinth_sessions::Sessions;
use sea_orm::DatabaseConnection;

use crate::Result;
use crate::cached::PrincipalCache;
use crate::config::AuthConfig;
use crate::password::Hasher;
use crate::rate_limit::RateLimits;
use crate::roles::RoleCache;

/// Identity and authorisation over one database. Cheap to clone: clones
/// share the connection pool, caches, limiters and hashing slots. Build one
/// per process and share it, so that what one clone changes the others see
/// at once.
#[derive(Debug, Clone)]
pub struct Auth {
    pub(crate) db: DatabaseConnection,
    pub(crate) sessions: Sessions,
    pub(crate) config: Arc<AuthConfig>,
    pub(crate) hasher: Hasher,
    pub(crate) roles: Arc<RoleCache>,
    pub(crate) rate_limits: Arc<RateLimits>,
    pub(crate) principals: PrincipalCache,
}

impl Auth {
    /// Builds the service; hashes one dummy password to calibrate the
    /// unknown-account path.
    pub async fn new(db: DatabaseConnection, config: AuthConfig) -> Result<Self> {
        let hasher = Hasher::new(&config.password).await?;
        let sessions = Sessions::new(db.clone(), config.sessions.clone());
        let roles = Arc::new(RoleCache::new(config.role_cache_ms));
        let rate_limits = Arc::new(RateLimits::new(&config.rate_limit));
        let principals = PrincipalCache::new(&config);
        Ok(Self {
            db,
            sessions,
            config: Arc::new(config),
            hasher,
            roles,
            rate_limits,
            principals,
        })
    }

    /// The session service used for sign-ins.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The in-memory rate limiters of the credential endpoints.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.rate_limits
    }

    /// The password hasher.
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// The configuration in force.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The database connection.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }
}
