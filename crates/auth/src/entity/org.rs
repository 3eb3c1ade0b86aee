//! `auth_org`: an organisation that users belong to.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// An organisation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "auth_org")]
pub struct Model {
    /// Time-ordered id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique slug, used in URLs and scopes.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// What the organisation is.
    pub description: Option<String>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// Public contact address.
    pub email: Option<String>,
    /// Web site.
    pub website: Option<String>,
    /// Where invoices go.
    pub billing_email: Option<String>,
    /// Billing plan (`free` until changed).
    pub plan: String,
    /// Seats the plan includes.
    pub plan_seats: Option<i32>,
    /// Storage the plan includes, in bytes.
    pub plan_storage_bytes: Option<i64>,
    /// Settings (JSON object).
    pub settings: Json,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: TimeDateTimeWithTimeZone,
    /// When it last changed (also bumped by membership changes).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Members and teams.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The organisation's members.
    #[sea_orm(has_many = "super::org_member::Entity")]
    Members,
    /// The organisation's teams.
    #[sea_orm(has_many = "super::team::Entity")]
    Teams,
}

impl Related<super::org_member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Members.def()
    }
}

impl Related<super::team::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Teams.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
