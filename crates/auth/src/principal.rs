//! Principals: who is calling (a user through a session or an API token, or
//! a client) and the expanded scopes they hold for this request.

use std::sync::Arc;

use plinth_events::{Actor, Context};
use plinth_sessions::cache::Cached;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::cached::{ApiTokenGrant, ClientGrant, Expansion, Touch, UserGrants};
use crate::entity::{api_token, client, user};
use crate::scope::{self, ScopeExpr};
use crate::users::{find_user, suspended};
use crate::{Auth, Error, Result};

/// What kind of principal is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// A user signed in with a session.
    User,
    /// A user's API token.
    ApiToken,
    /// A client (service principal).
    Client,
}

/// An authenticated caller and the scopes it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// How the caller authenticated.
    pub kind: PrincipalKind,
    /// User id or client id.
    pub id: String,
    /// The user, for sessions and API tokens.
    pub user_id: Option<Uuid>,
    /// The session, for session tokens.
    pub session_id: Option<Uuid>,
    /// The API token, for API tokens.
    pub token_id: Option<Uuid>,
    /// Whether the session passed a second factor.
    pub mfa_verified: bool,
    /// Expanded, normalised scopes.
    pub scopes: Vec<String>,
}

impl Principal {
    /// Whether the principal satisfies `expr`.
    pub fn satisfies(&self, expr: &ScopeExpr) -> bool {
        expr.satisfied_by(&self.scopes)
    }

    /// `Ok` when the principal satisfies `expr`, else `Forbidden` naming what is missing.
    pub fn check(&self, expr: &ScopeExpr) -> Result<()> {
        if self.satisfies(expr) {
            Ok(())
        } else {
            Err(Error::Forbidden(expr.missing(&self.scopes)))
        }
    }

    /// The actor recorded in events.
    pub fn actor(&self) -> Actor {
        match self.kind {
            PrincipalKind::Client => Actor::new("client", &self.id),
            PrincipalKind::User | PrincipalKind::ApiToken => Actor::new("user", &self.id),
        }
    }

    /// An event context with this principal as actor.
    pub fn context(&self) -> Context {
        Context {
            actor: Some(self.actor()),
            ..Context::default()
        }
    }
}

impl Auth {
    /// Resolves a bearer credential — session access token (`plsa_`), API
    /// token (`plat_`) or client secret (`plcs_`) — into a principal.
    /// Anything missing, malformed, unknown, expired or revoked is `Unauthenticated`.
    ///
    /// What credentials and users resolve to is cached for a few seconds
    /// (`sessions.cache_ms`, `principal_cache_ms`), so that most requests read
    /// nothing from the database. Changes made through this process (and its
    /// clones of [`Auth`]) apply to the next request; changes made by other
    /// processes sharing the database apply once those few seconds are over.
    pub async fn authenticate(&self, bearer: &str, ip: Option<&str>) -> Result<Principal> {
        let now = OffsetDateTime::now_utc();
        if bearer.starts_with("plsa_") {
            let auth = self.sessions.authenticate(bearer).await.map_err(session_error)?;
            let subject = auth.subject();
            let user_id: Uuid = subject
                .id
                .parse()
                .ok()
                .filter(|_| subject.kind == "user")
                .ok_or_else(|| Error::Unauthenticated("session is not a user's".into()))?;
            let grants = self.usable_user(user_id, now).await?;
            let scopes = grants.expanded.of(&self.role_set().await?, &grants.held);
            return Ok(Principal {
                kind: PrincipalKind::User,
                id: user_id.to_string(),
                user_id: Some(user_id),
                session_id: Some(auth.session.id),
                token_id: None,
                mfa_verified: auth.session.mfa_verified,
                scopes: scopes.to_vec(),
            });
        }
        if let Some(hash) = plinth_db::secret::parse(bearer, crate::api_tokens::PREFIX) {
            return self.authenticate_api_token(hash, ip, now).await;
        }
        if let Some(hash) = plinth_db::secret::parse(bearer, crate::clients::PREFIX) {
            return self.authenticate_client(hash, now).await;
        }
        Err(Error::Unauthenticated(
            "unrecognised or malformed credential".into(),
        ))
    }

    async fn authenticate_api_token(
        &self,
        hash: String,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Principal> {
        let cache = &self.principals.api_tokens;
        let token = match cache.get(hash.as_str()) {
            Some(hit) => hit,
            None => {
                let stamp = cache.stamp();
                let row = api_token::Entity::find()
                    .filter(api_token::Column::TokenHash.eq(hash.as_str()))
                    .one(&self.db)
                    .await?
                    .filter(|t| plinth_db::secret::ct_eq(&t.token_hash, &hash))
                    .ok_or_else(|| Error::Unauthenticated("unknown API token".into()))?;
                let grant = ApiTokenGrant {
                    requested: serde_json::from_value(row.scopes.clone()).unwrap_or_default(),
                    expanded: Expansion::default(),
                    last_used: Touch::new(row.last_used_at),
                    row,
                };
                cache.insert(hash, grant.row.id, stamp, grant)
            }
        };
        if token.row.revoked_at.is_some() {
            return Err(Error::Unauthenticated("API token revoked".into()));
        }
        if token.row.expires_at.is_some_and(|t| t <= now) {
            return Err(Error::Unauthenticated("API token expired".into()));
        }
        let (id, user_id) = (token.row.id, token.row.user_id);
        let owner = self.usable_user(user_id, now).await?;
        let roles = self.role_set().await?;
        let held = owner.expanded.of(&roles, &owner.held);
        // A token never exceeds what its owner holds now.
        let scopes = token
            .expanded
            .of(&roles, &token.requested)
            .iter()
            .filter(|s| scope::satisfied(&held, s))
            .cloned()
            .collect();
        if token.last_used.due(now) {
            api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
                .col_expr(api_token::Column::LastUsedIp, Expr::value(ip.map(str::to_owned)))
                .filter(api_token::Column::Id.eq(id))
                .exec(&self.db)
                .await?;
        }
        Ok(Principal {
            kind: PrincipalKind::ApiToken,
            id: user_id.to_string(),
            user_id: Some(user_id),
            session_id: None,
            token_id: Some(id),
            mfa_verified: false,
            scopes,
        })
    }

    async fn authenticate_client(&self, hash: String, now: OffsetDateTime) -> Result<Principal> {
        let cache = &self.principals.clients;
        let client = match cache.get(hash.as_str()) {
            Some(hit) => hit,
            None => {
                let stamp = cache.stamp();
                let row = client::Entity::find()
                    .filter(client::Column::SecretHash.eq(hash.as_str()))
                    .one(&self.db)
                    .await?
                    .filter(|c| plinth_db::secret::ct_eq(&c.secret_hash, &hash))
                    .ok_or_else(|| Error::Unauthenticated("unknown client secret".into()))?;
                let mut held: Vec<String> = serde_json::from_value(row.scopes.clone()).unwrap_or_default();
                held.push(format!("assume:client:{}", row.client_id));
                let grant = ClientGrant {
                    held,
                    expanded: Expansion::default(),
                    last_used: Touch::new(row.last_used_at),
                    row,
                };
                cache.insert(hash, grant.row.client_id.clone(), stamp, grant)
            }
        };
        if client.row.disabled {
            return Err(Error::Unauthenticated("client disabled".into()));
        }
        if client.row.expires_at <= now {
            return Err(Error::Unauthenticated("client expired".into()));
        }
        let scopes = client.expanded.of(&self.role_set().await?, &client.held);
        if client.last_used.due(now) {
            client::Entity::update_many()
                .col_expr(client::Column::LastUsedAt, Expr::value(now))
                .filter(client::Column::ClientId.eq(client.row.client_id.as_str()))
                .exec(&self.db)
                .await?;
        }
        Ok(Principal {
            kind: PrincipalKind::Client,
            id: client.row.client_id.clone(),
            user_id: None,
            session_id: None,
            token_id: None,
            mfa_verified: false,
            scopes: scopes.to_vec(),
        })
    }

    /// A user's expanded scopes: direct grants, `assume:user:<id>`, and the
    /// relational grants of their memberships.
    pub async fn user_scopes(&self, user: &user::Model) -> Result<Vec<String>> {
        let held = self.held_scopes(user).await?;
        self.expand(&held).await
    }

    /// A user's scopes before expansion: direct grants, `assume:user:<id>`
    /// and the relational grants of their memberships.
    async fn held_scopes(&self, user: &user::Model) -> Result<Vec<String>> {
        let mut held: Vec<String> = serde_json::from_value(user.scopes.clone()).unwrap_or_default();
        held.push(format!("assume:user:{}", user.id));
        held.extend(self.relational_scopes(user.id).await?);
        Ok(held)
    }

    /// The user with `id` and their grants if they may act now: not deleted,
    /// not suspended. From the principal cache when it holds them.
    async fn usable_user(&self, id: Uuid, now: OffsetDateTime) -> Result<Arc<Cached<Uuid, UserGrants>>> {
        let cache = &self.principals.users;
        let grants = match cache.get(&id) {
            Some(hit) => hit,
            None => {
                let stamp = cache.stamp();
                let user = find_user(&self.db, id)
                    .await
                    .map_err(|_| Error::Unauthenticated("account no longer exists".into()))?;
                let held = self.held_scopes(&user).await?;
                let grants = UserGrants {
                    user,
                    held,
                    expanded: Expansion::default(),
                };
                cache.insert(id, id, stamp, grants)
            }
        };
        if suspended(&grants.user, now) {
            return Err(Error::Unauthenticated("account suspended".into()));
        }
        Ok(grants)
    }

    /// Forgets what this process cached about user `id` (their status and
    /// grants), after a change to them has been committed.
    pub(crate) fn user_changed(&self, id: Uuid) {
        self.principals.users.invalidate(&id);
    }
}

fn session_error(err: plinth_sessions::Error) -> Error {
    match err {
        plinth_sessions::Error::Db(e) => Error::from(e),
        other => Error::Unauthenticated(other.to_string()),
    }
}
