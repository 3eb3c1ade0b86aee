//! `auth_user`: a person who signs in.

use sea_orm::entity::prelude::*;

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_user")]
pub struct Model {
    /// Time-ordered id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique handle.
    pub username: String,
    /// Unique email, stored lower-cased.
    pub email: String,
    /// Whether the email address was confirmed.
    pub email_verified: bool,
    /// Display name.
    pub name: String,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// `active`, `suspended`, `pending_verification` or `deleted`.
    pub status: String,
    /// Why the status was set.
    pub status_reason: Option<String>,
    /// When a suspension ends.
    pub status_until: Option<TimeDateTimeWithTimeZone>,
    /// User preferences (JSON object).
    pub preferences: Json,
    /// Scopes granted directly to the user (JSON array).
    pub scopes: Json,
    /// When the account was created.
    pub created_at: TimeDateTimeWithTimeZone,
    /// When it last changed.
    pub updated_at: TimeDateTimeWithTimeZone,
    /// When the user was last seen.
    pub last_active_at: Option<TimeDateTimeWithTimeZone>,
    /// When the account was soft-deleted.
    pub deleted_at: Option<TimeDateTimeWithTimeZone>,
}

/// The user's credentials.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// One credential row per user.
    #[sea_orm(has_one = "super::credential::Entity")]
    Credential,
}

impl Related<super::credential::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Credential.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
