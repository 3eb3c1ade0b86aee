//! `files_attachment`: a file linked to an entity of another crate.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A file attached to an owner (`owner_type`, `owner_id`) at position `order`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = Attachment))]
#[sea_orm(table_name = "files_attachment")]
pub struct Model {
    /// Time-ordered id (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The attached file. Deleting the file deletes the attachment.
    pub file: Uuid,
    /// Kind of the owning entity, e.g. `event` or `user`.
    pub owner_type: String,
    /// Id of the owning entity.
    pub owner_id: String,
    /// Position among the owner's attachments, from 0.
    pub order: i32,
    /// When the file was attached.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub created_at: TimeDateTimeWithTimeZone,
}

/// Relations are enforced by foreign keys in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
