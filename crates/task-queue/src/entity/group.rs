//! `queue_group`: task groups with their scheduler, seal and resolution.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::clock::rfc3339;

/// A task group: tasks created together by one scheduler.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = Group))]
#[sea_orm(table_name = "queue_group")]
pub struct Model {
    /// Group id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The scheduler every task of the group must share.
    pub scheduler_id: String,
    /// When the group was sealed: no task may be added after.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub sealed_at: Option<TimeDateTimeWithTimeZone>,
    /// When every task of the group last became resolved.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<TimeDateTimeWithTimeZone>,
    /// When the group was created.
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Tasks reference their group.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
