//! Files: storing a stream of bytes with its metadata, reading it back
//! (whole or by range), renaming, and deleting.

use std::ops::Range;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt, stream};
use plinth_db::OptionExt;
use plinth_events::{Context, NewEvent, record};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::blob::{ByteStream, Written};
use crate::entity::file::{self, Column, Entity};
use crate::sniff::Peeked;
use crate::txn::{self, find_locked, settle};
use crate::{Error, FileStore, Result, attachment, bucket, group, key, name, upload};

/// A stored file.
pub type File = file::Model;

/// How a file is named in errors.
const WHAT: &str = "file";

/// Largest page of files a listing returns.
pub const MAX_PAGE: u64 = 1_000;

/// Where a new file goes and what it is called.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFile {
    /// A configured bucket.
    pub bucket: String,
    /// The name as given; it is cleaned before it is stored.
    pub name: String,
    /// Application metadata: a JSON object.
    pub meta: Value,
}

impl NewFile {
    /// A file named `name` in `bucket` with empty metadata.
    pub fn new(bucket: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            name: name.into(),
            meta: json!({}),
        }
    }
}

/// Changes to a file's name or metadata; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileUpdate {
    /// The new name (cleaned before it is stored).
    pub name: Option<String>,
    /// The new metadata, replacing the old.
    pub meta: Option<Value>,
}

/// A blob stored for a file that has no row yet.
pub(crate) struct Ingested {
    pub written: Written,
    pub content_type: String,
}

impl FileStore {
    /// Stores `body` as a new file: its type is sniffed from the first bytes
    /// and checked against the bucket ([`Error::UnsupportedType`]), its size
    /// is checked while it streams ([`Error::TooLarge`]), and it is hashed on
    /// the way. The row and a `file.created` event commit together once the
    /// blob is complete; nothing is kept on failure.
    pub async fn create<S, E>(&self, ctx: &Context, new: NewFile, body: S) -> Result<File>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        check_meta(&new.meta)?;
        let id = Uuid::now_v7();
        let ingested = self.ingest(&new.bucket, id, body.map_err(Error::body)).await?;
        let row = file_row(id, &new.bucket, &new.name, new.meta, &ingested);
        let inserted = async {
            let txn = txn::begin(&self.db).await?;
            let result = insert_file(&txn, ctx, row).await;
            settle(txn, result).await
        }
        .await;
        if inserted.is_err() {
            self.discard(&key::file(id)).await;
        }
        inserted
    }

    /// Streams `body` into the blob of file `id` after checking its type
    /// against bucket `bucket_name`, within the bucket's size limit. An
    /// error of `body` is returned as it is.
    pub(crate) async fn ingest<S>(&self, bucket_name: &str, id: Uuid, body: S) -> Result<Ingested>
    where
        S: Stream<Item = Result<Bytes>>,
    {
        let bucket = self.bucket(bucket_name)?;
        let mut body = std::pin::pin!(body);
        let mut peeked = Peeked::read(&mut body).await;
        if let Some(e) = peeked.broken.take() {
            return Err(e);
        }
        let content_type = peeked.content_type(peeked.complete);
        bucket.check_type(bucket_name, &content_type)?;
        let head = stream::iter(peeked.chunks.into_iter().map(Ok));
        let written = self
            .blobs
            .write_stream(&key::file(id), head.chain(body), bucket.limit())
            .await?;
        Ok(Ingested {
            written,
            content_type,
        })
    }

    /// Deletes a blob that no row will reference, leaving it to the sweep if that fails.
    pub(crate) async fn discard(&self, blob: &str) {
        if let Err(e) = self.blobs.delete(blob).await {
            tracing::warn!(key = blob, error = %e, "could not delete a blob; the sweep will");
        }
    }

    /// The file with `id`.
    pub async fn get(&self, id: Uuid) -> Result<File> {
        find(&self.db, id).await
    }

    /// Up to `limit` files of `bucket` after the file `after` (ids are time
    /// ordered, so this pages oldest first). A malformed bucket name is
    /// [`Error::Invalid`] (see [`bucket::check_name`]).
    pub async fn list(&self, bucket: &str, after: Option<Uuid>, limit: u64) -> Result<Vec<File>> {
        bucket::check_name(bucket)?;
        let mut query = Entity::find().filter(Column::BucketName.eq(bucket));
        if let Some(after) = after {
            query = query.filter(Column::Id.gt(after));
        }
        Ok(query
            .order_by_asc(Column::Id)
            .limit(limit.clamp(1, MAX_PAGE))
            .all(&self.db)
            .await?)
    }

    /// Renames a file or replaces its metadata, recording `file.updated`.
    pub async fn update(&self, ctx: &Context, id: Uuid, update: FileUpdate) -> Result<File> {
        if let Some(meta) = &update.meta {
            check_meta(meta)?;
        }
        let txn = txn::begin(&self.db).await?;
        let result = async {
            let mut row = find_locked::<Entity>(&txn, id, WHAT).await?.into_active_model();
            if let Some(new_name) = &update.name {
                row.name = Set(name::clean(new_name));
            }
            if let Some(meta) = update.meta {
                row.meta = Set(meta);
            }
            let file = row.update(&txn).await?;
            record(&txn, ctx, event("file.updated", &file)).await?;
            Ok::<_, Error>(file)
        }
        .await;
        settle(txn, result).await
    }

    /// Deletes the file's row, its group entries and its attachments
    /// (closing the gaps they leave in their orders) and the resumable
    /// upload it came from, recording `file.deleted`. The blob stays until
    /// [`FileStore::sweep`] finds it unreferenced.
    pub async fn delete(&self, ctx: &Context, id: Uuid) -> Result<File> {
        let txn = txn::begin(&self.db).await?;
        let result = async {
            group::remove_file(&txn, id).await?;
            attachment::remove_file(&txn, id).await?;
            let file = find_locked::<Entity>(&txn, id, WHAT).await?;
            upload::remove_file(&txn, id).await?;
            Entity::delete_by_id(id).exec(&txn).await?;
            record(&txn, ctx, event("file.deleted", &file)).await?;
            Ok::<_, Error>(file)
        }
        .await;
        settle(txn, result).await
    }

    /// Streams the file's content.
    pub async fn content(&self, file: &File) -> Result<ByteStream> {
        self.blobs.get(&key::file(file.id)).await
    }

    /// Streams bytes `range` of the file's content.
    pub async fn content_range(&self, file: &File, range: Range<u64>) -> Result<ByteStream> {
        self.blobs.get_range(&key::file(file.id), range).await
    }
}

/// The file with `id` on `conn`.
pub(crate) async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<File> {
    Ok(Entity::find_by_id(id)
        .one(conn)
        .await?
        .or_not_found(format!("{WHAT} {id}"))?)
}

/// The row of a file whose blob was just ingested.
pub(crate) fn file_row(id: Uuid, bucket: &str, raw_name: &str, meta: Value, ingested: &Ingested) -> File {
    let now = OffsetDateTime::now_utc();
    File {
        id,
        bucket_name: bucket.to_owned(),
        name: name::clean(raw_name),
        content_type: ingested.content_type.clone(),
        content_length: i64::try_from(ingested.written.size).unwrap_or(i64::MAX),
        checksum: ingested.written.blake3.to_hex().to_string(),
        meta,
        created_at: now,
        updated_at: now,
    }
}

/// Inserts `row` and records `file.created` on `conn` (the caller's transaction).
pub(crate) async fn insert_file(conn: &impl ConnectionTrait, ctx: &Context, row: File) -> Result<File> {
    let file = row.into_active_model().insert(conn).await?;
    record(conn, ctx, event("file.created", &file)).await?;
    Ok(file)
}

fn event(topic: &str, file: &File) -> NewEvent {
    NewEvent::new(topic, "file", file.id).payload(json!({
        "bucket": file.bucket_name,
        "name": file.name,
        "content_type": file.content_type,
        "content_length": file.content_length,
        "checksum": file.checksum,
    }))
}

/// Refuses metadata that is not a JSON object, or that holds a NUL
/// character anywhere (PostgreSQL cannot store one).
pub(crate) fn check_meta(meta: &Value) -> Result<()> {
    if !meta.is_object() {
        return Err(Error::Invalid("meta must be a JSON object".into()));
    }
    if plinth_db::text::json_has_nul(meta) {
        return Err(Error::Invalid("meta must not contain NUL characters".into()));
    }
    Ok(())
}
