//! `auth_api_token`: long-lived tokens a user creates for scripts.

use sea_orm::entity::prelude::*;

/// An API token (only its hash is stored).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_api_token")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The owner.
    pub user_id: Uuid,
    /// The owner's label for it.
    pub name: String,
    /// BLAKE3 of the token.
    pub token_hash: String,
    /// Scopes the token carries (JSON array), never more than the owner's.
    pub scopes: Json,
    /// When it was created.
    pub created_at: TimeDateTimeWithTimeZone,
    /// When it stops working, if ever.
    pub expires_at: Option<TimeDateTimeWithTimeZone>,
    /// When it was last used.
    pub last_used_at: Option<TimeDateTimeWithTimeZone>,
    /// From where it was last used.
    pub last_used_ip: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<TimeDateTimeWithTimeZone>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
