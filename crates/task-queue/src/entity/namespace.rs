//! `queue_index_namespace`: the namespaces that hold index entries, for browsing.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::clock::rfc3339;

/// A namespace `parent.name`, alive while any entry below it is.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = Namespace))]
#[sea_orm(table_name = "queue_index_namespace")]
pub struct Model {
    /// The parent namespace; empty for the root.
    #[sea_orm(primary_key, auto_increment = false)]
    pub parent: String,
    /// Last segment.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The latest expiry of the entries below it.
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub expires: TimeDateTimeWithTimeZone,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
