//! `queue_provisioner`: the first part of a `provisioner/worker-type` queue name.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::clock::rfc3339;

/// A provisioner: a family of worker types, seen when its workers claim.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "queue_provisioner")]
pub struct Model {
    /// Provisioner id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub provisioner_id: String,
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
