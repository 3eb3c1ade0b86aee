//! `queue_dependency`: one row per (dependent, required) task pair.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::state::Requires;

/// A dependency edge and whether the required task has satisfied it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = Dependency))]
#[sea_orm(table_name = "queue_dependency")]
pub struct Model {
    /// The task that must wait.
    #[sea_orm(primary_key, auto_increment = false)]
    pub dependent_task_id: Uuid,
    /// The task it waits for.
    #[sea_orm(primary_key, auto_increment = false)]
    pub required_task_id: Uuid,
    /// The dependent's rule: all completed or all resolved.
    pub requires: Requires,
    /// Whether the required task has resolved in a way the rule accepts.
    pub satisfied: bool,
}

/// Dependencies reference tasks.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
