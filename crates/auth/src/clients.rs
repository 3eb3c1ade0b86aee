//! Clients: service principals with an id, scopes, an expiry and a secret
//! (`plcs_…`, shown once, stored hashed) that can be rotated.

use plinth_events::{Context, NewEvent, record};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::entity::client;
use crate::{Auth, Error, Result, scope, text};

/// Prefix of client secrets.
pub const PREFIX: &str = "plcs_";

/// A request for a new client.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// 1–100 of `[A-Za-z0-9_./:@-]`.
    pub client_id: String,
    /// What the client is for.
    #[serde(default)]
    pub description: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// Expiry (RFC 3339); a year from now when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Delete the client once it expires.
    #[serde(default)]
    pub delete_on_expiration: bool,
}

/// A client as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Client {
    /// Id.
    pub client_id: String,
    /// Description.
    pub description: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// Expiry.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Disabled clients cannot authenticate.
    pub disabled: bool,
    /// Deleted once expired.
    pub delete_on_expiration: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last authentication.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// Last secret rotation.
    #[serde(with = "time::serde::rfc3339")]
    pub last_rotated_at: OffsetDateTime,
}

impl From<client::Model> for Client {
    fn from(m: client::Model) -> Self {
        Self {
            client_id: m.client_id,
            description: m.description,
            scopes: serde_json::from_value(m.scopes).unwrap_or_default(),
            expires_at: m.expires_at,
            disabled: m.disabled,
            delete_on_expiration: m.delete_on_expiration,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
            last_rotated_at: m.last_rotated_at,
        }
    }
}

fn validate_client_id(id: &str) -> Result<()> {
    let ok = (1..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "client id `{id}` must be 1-100 of A-Z a-z 0-9 _ . / : @ -"
        )))
    }
}

fn new_secret() -> Result<plinth_db::secret::Generated> {
    plinth_db::secret::generate(PREFIX).map_err(|e| Error::Internal(e.to_string()))
}

impl Auth {
    /// Creates a client; returns it and its secret, shown this once.
    pub async fn create_client(&self, ctx: &Context, new: NewClient) -> Result<(Client, String)> {
        validate_client_id(&new.client_id)?;
        text::storable("description", &new.description)?;
        scope::validate_all(&new.scopes)?;
        let now = OffsetDateTime::now_utc();
        let default_ttl = i64::try_from(self.config.tokens.client_default_secs).unwrap_or(i64::MAX);
        let expires_at = match new.expires_at {
            Some(t) => text::time("expires_at", t)?,
            None => now.saturating_add(Duration::seconds(default_ttl)),
        };
        if expires_at <= now {
            return Err(Error::Invalid("expires_at is in the past".into()));
        }
        let secret = new_secret()?;
        let txn = plinth_db::begin_write(&self.db).await?;
        if client::Entity::find_by_id(new.client_id.clone())
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(Error::Conflict(format!(
                "client `{}` already exists",
                new.client_id
            )));
        }
        let row = client::ActiveModel {
            client_id: Set(new.client_id.clone()),
            description: Set(new.description),
            secret_hash: Set(secret.hash),
            scopes: Set(json!(scope::normalize(new.scopes))),
            expires_at: Set(expires_at),
            disabled: Set(false),
            delete_on_expiration: Set(new.delete_on_expiration),
            created_at: Set(now),
            updated_at: Set(now),
            last_used_at: Set(None),
            last_rotated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        record(
            &txn,
            ctx,
            NewEvent::new("client.created", "client", &new.client_id),
        )
        .await?;
        txn.commit().await?;
        Ok((row.into(), secret.plaintext))
    }

    /// Replaces a client's secret; the old one stops working at once.
    pub async fn rotate_client_secret(&self, ctx: &Context, client_id: &str) -> Result<String> {
        let secret = new_secret()?;
        self.update_client(ctx, client_id, "client.rotated", |c, now| {
            c.secret_hash = Set(secret.hash.clone());
            c.last_rotated_at = Set(now);
        })
        .await?;
        Ok(secret.plaintext)
    }

    /// Enables or disables a client.
    pub async fn set_client_disabled(
        &self,
        ctx: &Context,
        client_id: &str,
        disabled: bool,
    ) -> Result<Client> {
        let topic = if disabled {
            "client.disabled"
        } else {
            "client.enabled"
        };
        self.update_client(ctx, client_id, topic, |c, _| c.disabled = Set(disabled))
            .await
    }

    async fn update_client(
        &self,
        ctx: &Context,
        client_id: &str,
        topic: &str,
        change: impl FnOnce(&mut client::ActiveModel, OffsetDateTime),
    ) -> Result<Client> {
        validate_client_id(client_id)?;
        let now = OffsetDateTime::now_utc();
        let txn = plinth_db::begin_write(&self.db).await?;
        let mut row: client::ActiveModel = client::Entity::find_by_id(client_id.to_owned())
            .one(&txn)
            .await?
            .ok_or_else(|| Error::NotFound(format!("client {client_id}")))?
            .into();
        change(&mut row, now);
        row.updated_at = Set(now);
        let row = row.update(&txn).await?;
        record(&txn, ctx, NewEvent::new(topic, "client", client_id)).await?;
        txn.commit().await?;
        self.principals.clients.invalidate(&row.client_id);
        Ok(row.into())
    }

    /// Deletes a client.
    pub async fn delete_client(&self, ctx: &Context, client_id: &str) -> Result<()> {
        validate_client_id(client_id)?;
        let txn = plinth_db::begin_write(&self.db).await?;
        let gone = client::Entity::delete_by_id(client_id.to_owned())
            .exec(&txn)
            .await?
            .rows_affected;
        if gone == 0 {
            return Err(Error::NotFound(format!("client {client_id}")));
        }
        record(&txn, ctx, NewEvent::new("client.deleted", "client", client_id)).await?;
        txn.commit().await?;
        self.principals.clients.invalidate(&client_id.to_owned());
        Ok(())
    }

    /// Every client, by id.
    pub async fn list_clients(&self) -> Result<Vec<Client>> {
        Ok(client::Entity::find()
            .order_by_asc(client::Column::ClientId)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}
