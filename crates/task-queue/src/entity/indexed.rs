//! `queue_index`: namespaced names pointing at tasks.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::clock::rfc3339;

/// An index entry: `namespace.name` → task, kept while its rank is the highest seen.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = IndexedTask))]
#[sea_orm(table_name = "queue_index")]
pub struct Model {
    /// Dotted namespace, e.g. `project.app.branch`; empty for the root.
    #[sea_orm(primary_key, auto_increment = false)]
    pub namespace: String,
    /// Last segment of the path, e.g. `latest`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Higher ranks replace lower ones.
    pub rank: i64,
    /// The indexed task.
    pub task_id: Uuid,
    /// Free-form data stored with the entry.
    #[cfg_attr(feature = "http", schema(value_type = serde_json::Value))]
    pub data: Json,
    /// After this time the entry is ignored and may be deleted.
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub expires: TimeDateTimeWithTimeZone,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
