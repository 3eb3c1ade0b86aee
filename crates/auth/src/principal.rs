//! Principals: who is calling (a user through a session or an API token, or
//! a client) and the expanded scopes they hold for this request.

use plinth_events::{Actor, Context};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::entity::{api_token, client, user};
use crate::scope::{self, ScopeExpr};
use crate::users::{find_user, status};
use crate::{Auth, Error, Result};

/// Least time between two writes of a credential's `last_used_at`.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

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
            let user = usable_user(&self.db, user_id, now).await?;
            return Ok(Principal {
                kind: PrincipalKind::User,
                id: user_id.to_string(),
                user_id: Some(user_id),
                session_id: Some(auth.session.id),
                token_id: None,
                mfa_verified: auth.session.mfa_verified,
                scopes: self.user_scopes(&user).await?,
            });
        }
        if let Some(hash) = plinth_db::secret::parse(bearer, crate::api_tokens::PREFIX) {
            return self.authenticate_api_token(&hash, ip, now).await;
        }
        if let Some(hash) = plinth_db::secret::parse(bearer, crate::clients::PREFIX) {
            return self.authenticate_client(&hash, now).await;
        }
        Err(Error::Unauthenticated(
            "unrecognised or malformed credential".into(),
        ))
    }

    async fn authenticate_api_token(
        &self,
        hash: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Principal> {
        let token = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash))
            .one(&self.db)
            .await?
            .filter(|t| plinth_db::secret::ct_eq(&t.token_hash, hash))
            .ok_or_else(|| Error::Unauthenticated("unknown API token".into()))?;
        if token.revoked_at.is_some() {
            return Err(Error::Unauthenticated("API token revoked".into()));
        }
        if token.expires_at.is_some_and(|t| t <= now) {
            return Err(Error::Unauthenticated("API token expired".into()));
        }
        let user = usable_user(&self.db, token.user_id, now).await?;
        let owner = self.user_scopes(&user).await?;
        let requested: Vec<String> = serde_json::from_value(token.scopes.clone()).unwrap_or_default();
        // A token never exceeds what its owner holds now.
        let scopes = self
            .expand(&requested)
            .await?
            .into_iter()
            .filter(|s| scope::satisfied(&owner, s))
            .collect();
        let (id, user_id) = (token.id, token.user_id);
        if token.last_used_at.is_none_or(|t| now - t > TOUCH_INTERVAL) {
            let mut active: api_token::ActiveModel = token.into();
            active.last_used_at = Set(Some(now));
            active.last_used_ip = Set(ip.map(str::to_owned));
            active.update(&self.db).await?;
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

    async fn authenticate_client(&self, hash: &str, now: OffsetDateTime) -> Result<Principal> {
        let row = client::Entity::find()
            .filter(client::Column::SecretHash.eq(hash))
            .one(&self.db)
            .await?
            .filter(|c| plinth_db::secret::ct_eq(&c.secret_hash, hash))
            .ok_or_else(|| Error::Unauthenticated("unknown client secret".into()))?;
        if row.disabled {
            return Err(Error::Unauthenticated("client disabled".into()));
        }
        if row.expires_at <= now {
            return Err(Error::Unauthenticated("client expired".into()));
        }
        let mut held: Vec<String> = serde_json::from_value(row.scopes.clone()).unwrap_or_default();
        held.push(format!("assume:client:{}", row.client_id));
        let scopes = self.expand(&held).await?;
        let id = row.client_id.clone();
        if row.last_used_at.is_none_or(|t| now - t > TOUCH_INTERVAL) {
            let mut active: client::ActiveModel = row.into();
            active.last_used_at = Set(Some(now));
            active.update(&self.db).await?;
        }
        Ok(Principal {
            kind: PrincipalKind::Client,
            id,
            user_id: None,
            session_id: None,
            token_id: None,
            mfa_verified: false,
            scopes,
        })
    }

    /// A user's expanded scopes: direct grants, `assume:user:<id>`, and the
    /// relational grants of their memberships.
    pub async fn user_scopes(&self, user: &user::Model) -> Result<Vec<String>> {
        let mut held: Vec<String> = serde_json::from_value(user.scopes.clone()).unwrap_or_default();
        held.push(format!("assume:user:{}", user.id));
        held.extend(self.relational_scopes(user.id).await?);
        self.expand(&held).await
    }
}

/// The user if they may act now: not deleted, not suspended.
async fn usable_user(db: &sea_orm::DatabaseConnection, id: Uuid, now: OffsetDateTime) -> Result<user::Model> {
    let user = find_user(db, id)
        .await
        .map_err(|_| Error::Unauthenticated("account no longer exists".into()))?;
    if user.status == status::SUSPENDED && user.status_until.is_none_or(|t| t > now) {
        return Err(Error::Unauthenticated("account suspended".into()));
    }
    Ok(user)
}

fn session_error(err: plinth_sessions::Error) -> Error {
    match err {
        plinth_sessions::Error::Db(e) => Error::from(e),
        other => Error::Unauthenticated(other.to_string()),
    }
}
