//! `files_file`: one row per stored file; its bytes are the blob at `key::file(id)`.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A stored file: where it belongs, what it is called, what it contains.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema), schema(as = File))]
#[sea_orm(table_name = "files_file")]
pub struct Model {
    /// Time-ordered id (UUID v7); also names the blob.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The bucket the file is in.
    pub bucket_name: String,
    /// The cleaned name the file was uploaded with (metadata only).
    pub name: String,
    /// The media type sniffed from the bytes.
    pub content_type: String,
    /// Length in bytes.
    pub content_length: i64,
    /// BLAKE3 of the content, hex; also the HTTP `ETag`.
    pub checksum: String,
    /// Application metadata: a JSON object.
    #[sea_orm(column_type = "JsonBinary")]
    #[cfg_attr(feature = "http", schema(value_type = Object))]
    pub meta: Json,
    /// When the file was stored (its content never changes afterwards).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub created_at: TimeDateTimeWithTimeZone,
    /// When its name or metadata last changed.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "http", schema(value_type = String, format = DateTime))]
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations are enforced by foreign keys in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

super::touch_updated_at!();
