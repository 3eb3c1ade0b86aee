//! `queue_artifact`: named outputs of a run.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::clock::rfc3339;
use crate::state::ArtifactKind;

/// An artifact of a run: a reference to content, a link to another
/// artifact, or an error explaining why the content is missing.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = Artifact))]
#[sea_orm(table_name = "queue_artifact")]
pub struct Model {
    /// The task.
    #[sea_orm(primary_key, auto_increment = false)]
    pub task_id: Uuid,
    /// The run.
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: i32,
    /// `/`-separated name, e.g. `public/logs/live.log`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Reference, link or error.
    pub kind: ArtifactKind,
    /// Media type of the content.
    pub content_type: String,
    /// Kind-specific details: `url` for a reference, `artifact` for a link,
    /// `reason` and `message` for an error.
    #[cfg_attr(feature = "http", schema(value_type = serde_json::Value))]
    pub details: Json,
    /// After this time the artifact may be deleted.
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub expires: TimeDateTimeWithTimeZone,
    /// When it was created.
    #[serde(serialize_with = "rfc3339::serialize")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Artifacts belong to a task's run.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
