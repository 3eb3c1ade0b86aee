//! `auth_org_invitation`: a pending, accepted or declined invitation to join an organisation.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// An invitation (only the token's hash is stored, and never serialised).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "auth_org_invitation")]
pub struct Model {
    /// Time-ordered id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organisation.
    pub org_id: Uuid,
    /// The invited address, lower-cased.
    pub email: String,
    /// The role the invitee gets on accepting.
    pub role: String,
    /// BLAKE3 of the invitation token.
    #[serde(skip)]
    pub token_hash: String,
    /// Who sent it.
    pub invited_by: Uuid,
    /// When it was sent.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: TimeDateTimeWithTimeZone,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: TimeDateTimeWithTimeZone,
    /// When it was accepted.
    #[serde(with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<TimeDateTimeWithTimeZone>,
    /// When it was declined.
    #[serde(with = "time::serde::rfc3339::option")]
    pub declined_at: Option<TimeDateTimeWithTimeZone>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
