//! `files_upload`: a resumable upload in progress and the parts received.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A resumable upload: the promised length, the bytes received so far (as
/// part blobs) and, once complete, the file it became.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "files_upload")]
pub struct Model {
    /// Time-ordered id (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The bucket the file goes to.
    pub bucket_name: String,
    /// The cleaned name the file gets.
    pub name: String,
    /// The metadata the file gets.
    #[sea_orm(column_type = "JsonBinary")]
    pub meta: Json,
    /// Total length in bytes, declared at creation.
    pub upload_length: i64,
    /// Bytes received so far.
    pub upload_offset: i64,
    /// The received parts in order: a JSON array of [`Part`].
    #[sea_orm(column_type = "JsonBinary")]
    pub parts: Json,
    /// The file created when the upload completed.
    pub file: Option<Uuid>,
    /// When the upload is abandoned unless appended to.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: TimeDateTimeWithTimeZone,
    /// When the upload was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: TimeDateTimeWithTimeZone,
    /// When it last received data.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// One received part: its blob key and length.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The part's blob key.
    pub key: String,
    /// Its length in bytes.
    pub size: u64,
}

/// Relations are enforced by foreign keys in the migration.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

super::touch_updated_at!();
