//! `auth_email_token`: hashed, expiring email-verification tokens.

use sea_orm::entity::prelude::*;

/// A pending email verification.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_email_token")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user verifying.
    pub user_id: Uuid,
    /// The address being verified.
    pub email: String,
    /// BLAKE3 of the token.
    pub token_hash: String,
    /// When it was issued.
    pub created_at: TimeDateTimeWithTimeZone,
    /// When it stops working.
    pub expires_at: TimeDateTimeWithTimeZone,
    /// When it was used.
    pub used_at: Option<TimeDateTimeWithTimeZone>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
