//! `files_group`: an ordered tree of folders and file entries.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A node of a file group: a folder (no `file`) or an entry pointing at a
/// file, placed under `parent` at position `order`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = FileGroup))]
#[sea_orm(table_name = "files_group")]
pub struct Model {
    /// Time-ordered id (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Position among its siblings, from 0.
    pub order: i32,
    /// The file of an entry; `None` for a folder. Deleting the file deletes the entry.
    pub file: Option<Uuid>,
    /// The parent folder; `None` at the root. Deleting the parent deletes the node.
    pub parent: Option<Uuid>,
    /// Display name.
    pub name: Option<String>,
    /// Application metadata: a JSON object.
    #[sea_orm(column_type = "JsonBinary")]
    #[cfg_attr(feature = "http", schema(value_type = Object))]
    pub meta: Json,
    /// When the node was created.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub created_at: TimeDateTimeWithTimeZone,
    /// When it last changed (renamed, moved, reordered).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations are enforced by foreign keys in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

super::touch_updated_at!();
