//! API tokens: named, scoped, expiring bearer tokens a user creates for
//! scripts. The secret (`plat_…`) is returned once; only its hash is stored.

use plinth_events::{Context, NewEvent, record};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::api_token;
use crate::users::find_user;
use crate::{Auth, Error, Result, scope, text};

/// Prefix of API tokens.
pub const PREFIX: &str = "plat_";

/// A request for a new token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewApiToken {
    /// A label, 1–100 characters.
    pub name: String,
    /// The scopes the token carries.
    pub scopes: Vec<String>,
    /// When it stops working (RFC 3339), if ever.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// A token as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Label.
    pub name: String,
    /// Scopes carried.
    pub scopes: Vec<String>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Expiry.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Last use.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// Address of the last use.
    pub last_used_ip: Option<String>,
    /// Revocation time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<api_token::Model> for ApiToken {
    fn from(m: api_token::Model) -> Self {
        Self {
            id: m.id,
            user_id: m.user_id,
            name: m.name,
            scopes: serde_json::from_value(m.scopes).unwrap_or_default(),
            created_at: m.created_at,
            expires_at: m.expires_at,
            last_used_at: m.last_used_at,
            last_used_ip: m.last_used_ip,
            revoked_at: m.revoked_at,
        }
    }
}

impl Auth {
    /// Creates a token for `user_id`. Every requested scope must be held by
    /// the owner (`owner_scopes`, expanded), so a token never exceeds its owner.
    /// Returns the token and its secret, shown this once.
    pub async fn create_api_token(
        &self,
        ctx: &Context,
        user_id: Uuid,
        owner_scopes: &[String],
        new: NewApiToken,
    ) -> Result<(ApiToken, String)> {
        let name = text::required("token name", &new.name, 100)?;
        scope::validate_all(&new.scopes)?;
        let missing: Vec<String> = new
            .scopes
            .iter()
            .filter(|s| !scope::satisfied(owner_scopes, s))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(Error::Forbidden(missing));
        }
        let expires_at = new.expires_at.map(|t| text::time("expires_at", t)).transpose()?;
        let now = OffsetDateTime::now_utc();
        if expires_at.is_some_and(|t| t <= now) {
            return Err(Error::Invalid("expires_at is in the past".into()));
        }
        let secret = plinth_db::secret::generate(PREFIX).map_err(|e| Error::Internal(e.to_string()))?;
        let txn = plinth_db::begin_write(&self.db).await?;
        find_user(&txn, user_id).await?;
        let row = api_token::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            name: Set(name),
            token_hash: Set(secret.hash),
            scopes: Set(json!(scope::normalize(new.scopes))),
            created_at: Set(now),
            expires_at: Set(expires_at),
            last_used_at: Set(None),
            last_used_ip: Set(None),
            revoked_at: Set(None),
        }
        .insert(&txn)
        .await?;
        record(
            &txn,
            ctx,
            NewEvent::new("api_token.created", "api_token", row.id).payload(json!({ "user_id": user_id })),
        )
        .await?;
        txn.commit().await?;
        Ok((row.into(), secret.plaintext))
    }

    /// The user's tokens, newest first.
    pub async fn list_api_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>> {
        Ok(api_token::Entity::find()
            .filter(api_token::Column::UserId.eq(user_id))
            .order_by_desc(api_token::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Revokes one of the user's tokens.
    pub async fn revoke_api_token(&self, ctx: &Context, user_id: Uuid, id: Uuid) -> Result<()> {
        let txn = plinth_db::begin_write(&self.db).await?;
        let row = api_token::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .filter(|t| t.user_id == user_id)
            .ok_or_else(|| Error::NotFound(format!("api token {id}")))?;
        if row.revoked_at.is_none() {
            let mut active: api_token::ActiveModel = row.into();
            active.revoked_at = Set(Some(OffsetDateTime::now_utc()));
            active.update(&txn).await?;
            record(&txn, ctx, NewEvent::new("api_token.revoked", "api_token", id)).await?;
        }
        txn.commit().await?;
        self.principals.api_tokens.invalidate(&id);
        Ok(())
    }
}
