//! `auth_client`: service principals authenticating with a secret.

use sea_orm::entity::prelude::*;

/// A client (only the secret's hash is stored).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_client")]
pub struct Model {
    /// The client's chosen id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// What the client is for.
    pub description: String,
    /// BLAKE3 of the current secret.
    pub secret_hash: String,
    /// Scopes granted (JSON array).
    pub scopes: Json,
    /// When the client stops working.
    pub expires_at: TimeDateTimeWithTimeZone,
    /// Disabled clients cannot authenticate.
    pub disabled: bool,
    /// Delete the row once expired (by cleanup).
    pub delete_on_expiration: bool,
    /// When it was created.
    pub created_at: TimeDateTimeWithTimeZone,
    /// When it last changed.
    pub updated_at: TimeDateTimeWithTimeZone,
    /// When it last authenticated.
    pub last_used_at: Option<TimeDateTimeWithTimeZone>,
    /// When its secret last changed.
    pub last_rotated_at: TimeDateTimeWithTimeZone,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
