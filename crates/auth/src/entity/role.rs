//! `auth_role`: a role id and the scopes it grants.

use sea_orm::entity::prelude::*;

/// A stored role.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_role")]
pub struct Model {
    /// Role id; may end in `*` (parameterised).
    #[sea_orm(primary_key, auto_increment = false)]
    pub role_id: String,
    /// JSON array of scopes.
    pub scopes: Json,
    /// What the role is for.
    pub description: String,
    /// When it was created.
    pub created_at: TimeDateTimeWithTimeZone,
    /// When it last changed.
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
