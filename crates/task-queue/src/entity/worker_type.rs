//! `queue_worker_type`: a `provisioner/worker-type` pair, i.e. a queue that remote workers claim from.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::clock::rfc3339;

/// A worker type within a provisioner.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "queue_worker_type")]
pub struct Model {
    /// Provisioner id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub provisioner_id: String,
    /// Worker type.
    #[sea_orm(primary_key, auto_increment = false)]
    pub worker_type: String,
    /// Free-form description.
    pub description: String,
    /// `experimental`, `stable` or `deprecated`.
    pub stability: String,
    /// When one of its workers last claimed.
    #[serde(serialize_with = "rfc3339::serialize")]
    pub last_date_active: TimeDateTimeWithTimeZone,
    /// After this time the row may be deleted.
    #[serde(serialize_with = "rfc3339::serialize")]
    pub expires: TimeDateTimeWithTimeZone,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
