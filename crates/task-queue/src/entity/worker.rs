//! `queue_worker`: remote workers seen claiming, with their quarantine.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::clock::rfc3339;

/// A remote worker, recorded when it claims.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = Worker))]
#[sea_orm(table_name = "queue_worker")]
pub struct Model {
    /// Provisioner id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub provisioner_id: String,
    /// Worker type.
    #[sea_orm(primary_key, auto_increment = false)]
    pub worker_type: String,
    /// Worker group (e.g. a region).
    #[sea_orm(primary_key, auto_increment = false)]
    pub worker_group: String,
    /// Worker id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub worker_id: String,
    /// The last runs it claimed, newest last: `[{"task_id": …, "run_id": …}]`.
    #[cfg_attr(feature = "http", schema(value_type = serde_json::Value))]
    pub recent_tasks: Json,
    /// Until this time the worker gets no work.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>, format = DateTime))]
    pub quarantine_until: Option<TimeDateTimeWithTimeZone>,
    /// When it first claimed.
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub first_claim: TimeDateTimeWithTimeZone,
    /// When it last claimed (last seen).
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub last_date_active: TimeDateTimeWithTimeZone,
    /// After this time the row may be deleted.
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub expires: TimeDateTimeWithTimeZone,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
