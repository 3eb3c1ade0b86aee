//! `auth_org_member`: a user's membership and role in an organisation.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A membership.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "auth_org_member")]
pub struct Model {
    /// The organisation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// The member.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// `owner`, `admin`, `member` or `billing`.
    pub role: String,
    /// When the user joined.
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: TimeDateTimeWithTimeZone,
    /// Who invited or added the user, if anyone.
    pub invited_by: Option<Uuid>,
}

/// The organisation.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The organisation of the membership.
    #[sea_orm(
        belongs_to = "super::org::Entity",
        from = "Column::OrgId",
        to = "super::org::Column::Id",
        on_delete = "Cascade"
    )]
    Org,
}

impl Related<super::org::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Org.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
