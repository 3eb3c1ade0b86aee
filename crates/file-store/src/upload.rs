//! Resumable uploads (the model behind tus 1.0): an upload is created with
//! its total length, receives appends at its current offset, and becomes a
//! file when the last byte arrives.
//!
//! Each append is streamed into its own part blob and then recorded with a
//! compare-and-swap on the offset, so two racing appends cannot both land.
//! When the body of an append breaks off, the bytes that did arrive are
//! still published and recorded: the client resumes from the stored offset.
//! On completion the parts are streamed, in order, through the same path as
//! a direct upload (sniffing, limit, hashing) into the file's blob.

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt, stream};
use plinth_db::{Backend, OptionExt};
use plinth_events::Context;
use sea_orm::ExprTrait as _;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::upload::{self, Column, Entity, Part};
use crate::file::{self, File, check_meta, file_row, insert_file};
use crate::sniff::{Peeked, SNIFF_LEN};
use crate::txn::{self, settle};
use crate::{Error, FileStore, Result, bucket, key, name};

/// A resumable upload.
pub type Upload = upload::Model;

/// What a resumable upload will become.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUpload {
    /// A configured bucket.
    pub bucket: String,
    /// The file's name as given (cleaned before it is stored).
    pub name: String,
    /// The file's metadata: a JSON object.
    pub meta: Value,
    /// Total length in bytes.
    pub length: u64,
}

impl Upload {
    /// Total length in bytes.
    pub fn length(&self) -> u64 {
        u64::try_from(self.upload_length).unwrap_or_default()
    }

    /// Bytes received so far.
    pub fn offset(&self) -> u64 {
        u64::try_from(self.upload_offset).unwrap_or_default()
    }

    /// How many parts have been received, without reading their list.
    pub fn part_count(&self) -> usize {
        self.parts.as_array().map_or(0, Vec::len)
    }

    /// The parts received so far, in order.
    pub fn part_list(&self) -> Vec<Part> {
        serde_json::from_value(self.parts.clone()).unwrap_or_default()
    }
}

impl FileStore {
    /// When an upload last written at `now` expires: the configured lifetime
    /// later, or the latest time there is when that lies beyond it.
    fn upload_expiry(&self, now: OffsetDateTime) -> OffsetDateTime {
        now.saturating_add(self.upload_ttl)
    }

    /// Starts an upload of `new.length` bytes, refused up front when the
    /// bucket does not exist or the length is over its limit. A zero-length
    /// upload is complete at once.
    pub async fn create_upload(&self, ctx: &Context, new: NewUpload) -> Result<Upload> {
        self.bucket(&new.bucket)?.check_size(new.length)?;
        check_meta(&new.meta)?;
        let now = OffsetDateTime::now_utc();
        let row = Upload {
            id: Uuid::now_v7(),
            bucket_name: new.bucket,
            name: name::clean(&new.name),
            meta: new.meta,
            upload_length: i64::try_from(new.length).map_err(|_| Error::TooLarge {
                limit: bucket::MAX_STORABLE_SIZE,
            })?,
            upload_offset: 0,
            parts: Value::Array(Vec::new()),
            file: None,
            expires_at: self.upload_expiry(now),
            created_at: now,
            updated_at: now,
        };
        let upload = row.into_active_model().insert(&self.db).await?;
        if new.length == 0 {
            return self.complete(ctx, upload).await;
        }
        Ok(upload)
    }

    /// The upload with `id`, unless it has expired.
    pub async fn upload(&self, id: Uuid) -> Result<Upload> {
        let expired = Backend::of(&self.db)?.not_after(Column::ExpiresAt, OffsetDateTime::now_utc());
        Ok(Entity::find_by_id(id)
            .filter(expired.not())
            .one(&self.db)
            .await?
            .or_not_found(format!("upload {id}"))?)
    }

    /// Appends `body` to the upload at `offset`, which must be the stored
    /// offset ([`Error::OffsetMismatch`] otherwise). Returns the upload with
    /// its new offset and, once the last byte is in, its file.
    ///
    /// If `body` fails part-way, the bytes received are kept and recorded
    /// before [`Error::Body`] is returned; resume from [`Upload::offset`].
    /// An upload that already holds `max_upload_parts` parts takes no more
    /// appends ([`Error::Invalid`]).
    pub async fn append<S, E>(&self, ctx: &Context, id: Uuid, offset: u64, body: S) -> Result<Upload>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let upload = self.upload(id).await?;
        if offset != upload.offset() {
            return Err(Error::OffsetMismatch {
                expected: upload.offset(),
                given: offset,
            });
        }
        if offset == upload.length() {
            // Already complete, or completion was interrupted: finish it.
            return match upload.file {
                Some(_) => Ok(upload),
                None => self.complete(ctx, upload).await,
            };
        }
        let parts = upload.part_count();
        if parts >= self.max_upload_parts {
            return Err(Error::Invalid(format!(
                "upload {id} holds {parts} parts, the most one upload takes: start a new upload with larger appends"
            )));
        }
        let mut body = std::pin::pin!(body.map_err(Error::body));
        let mut broken = None;
        let mut chunks = Vec::new();
        if offset == 0 {
            // Refuse a type the bucket does not take before storing anything.
            let mut peeked = Peeked::read(&mut body).await;
            broken = peeked.broken.take();
            let whole = peeked.complete && peeked.len() == upload.length();
            if whole || peeked.len() >= SNIFF_LEN as u64 {
                self.bucket(&upload.bucket_name)?
                    .check_type(&upload.bucket_name, &peeked.content_type(whole))?;
            }
            chunks = peeked.chunks;
        }
        let part_key = key::part(id, offset, Uuid::now_v7());
        let mut writer = self.blobs.writer(&part_key)?.limit(upload.length() - offset);
        let mut written = Ok(());
        for chunk in chunks {
            written = writer.write(chunk).await;
            if written.is_err() {
                break;
            }
        }
        while written.is_ok() && broken.is_none() {
            match body.next().await {
                Some(Ok(chunk)) => written = writer.write(chunk).await,
                Some(Err(e)) => broken = Some(e),
                None => break,
            }
        }
        if let Err(e) = written {
            writer.abort().await;
            return Err(e);
        }
        if writer.size() == 0 {
            writer.abort().await;
            return match broken {
                Some(e) => Err(e),
                None => Ok(upload),
            };
        }
        let written = writer.finish().await?;
        let upload = self.record_part(upload, part_key, written.size).await?;
        if let Some(e) = broken {
            return Err(e);
        }
        if upload.offset() == upload.length() {
            return self.complete(ctx, upload).await;
        }
        Ok(upload)
    }

    /// Records a published part if the upload is still at the offset it was
    /// read at; otherwise the part is deleted and the append refused.
    async fn record_part(&self, upload: Upload, part_key: String, size: u64) -> Result<Upload> {
        let offset = upload.offset();
        let mut parts = upload.part_list();
        parts.push(Part {
            key: part_key.clone(),
            size,
        });
        let parts = serde_json::to_value(&parts).map_err(|e| Error::Invalid(e.to_string()))?;
        let now = OffsetDateTime::now_utc();
        let new_offset = i64::try_from(offset + size).map_err(|_| Error::TooLarge { limit: offset })?;
        let updated = Entity::update_many()
            .col_expr(Column::UploadOffset, Expr::value(new_offset))
            .col_expr(Column::Parts, Expr::value(parts.clone()))
            .col_expr(Column::ExpiresAt, Expr::value(self.upload_expiry(now)))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(upload.id))
            .filter(Column::UploadOffset.eq(upload.upload_offset))
            .exec(&self.db)
            .await?
            .rows_affected;
        if updated == 0 {
            self.discard(&part_key).await;
            let current = self.upload(upload.id).await?;
            return Err(Error::OffsetMismatch {
                expected: current.offset(),
                given: offset,
            });
        }
        Ok(Upload {
            upload_offset: new_offset,
            parts,
            expires_at: self.upload_expiry(now),
            updated_at: now,
            ..upload
        })
    }

    /// Turns a fully received upload into a file: the parts are streamed in
    /// order into the file's blob, then the file row, its event and the
    /// upload's link to it commit together. A type the bucket refuses ends
    /// the upload; a part that cannot be read fails it with the blob store's
    /// error, not as a broken request body. A completion that loses to a
    /// concurrent one returns the upload as the winner left it.
    async fn complete(&self, ctx: &Context, upload: Upload) -> Result<Upload> {
        let parts = upload.part_list();
        let blobs = self.blobs.clone();
        // Boxed, so that the future of a completion stays `Send`: the
        // compiler cannot prove it of the unboxed stream's async blocks.
        let body = stream::iter(parts.clone())
            .then(move |part| {
                let blobs = blobs.clone();
                async move { blobs.get(&part.key).await }
            })
            .try_flatten()
            .boxed();
        let id = Uuid::now_v7();
        let ingested = match self.ingest(&upload.bucket_name, id, body).await {
            Ok(ingested) => ingested,
            Err(e @ Error::UnsupportedType { .. }) => {
                self.cancel_upload(upload.id).await?;
                return Err(e);
            }
            Err(e) => return self.completed_elsewhere(upload.id, e).await,
        };
        let row = file_row(
            id,
            &upload.bucket_name,
            &upload.name,
            upload.meta.clone(),
            &ingested,
        );
        let linked = async {
            let txn = txn::begin(&self.db).await?;
            let result = async {
                let file: File = insert_file(&txn, ctx, row).await?;
                let linked = Entity::update_many()
                    .col_expr(Column::File, Expr::value(file.id))
                    .filter(Column::Id.eq(upload.id))
                    .filter(Column::File.is_null())
                    .exec(&txn)
                    .await?
                    .rows_affected;
                if linked == 0 {
                    return Err(Error::Conflict(format!(
                        "upload {} was completed concurrently",
                        upload.id
                    )));
                }
                Ok(file)
            }
            .await;
            settle(txn, result).await
        }
        .await;
        let file = match linked {
            Ok(file) => file,
            Err(e) => {
                self.discard(&key::file(id)).await;
                return self.completed_elsewhere(upload.id, e).await;
            }
        };
        for part in &parts {
            self.discard(&part.key).await;
        }
        Ok(Upload {
            file: Some(file.id),
            ..upload
        })
    }

    /// The upload `id` as a concurrent completion left it, when one linked
    /// it to its file (and removed the parts this one was reading); else `err`.
    async fn completed_elsewhere(&self, id: Uuid, err: Error) -> Result<Upload> {
        match self.upload(id).await {
            Ok(upload) if upload.file.is_some() => Ok(upload),
            _ => Err(err),
        }
    }

    /// Abandons an upload: its row goes now, its parts with the next sweep.
    pub async fn cancel_upload(&self, id: Uuid) -> Result<()> {
        let deleted = Entity::delete_by_id(id).exec(&self.db).await?.rows_affected;
        if deleted == 0 {
            return Err(Error::NotFound(format!("upload {id}")));
        }
        Ok(())
    }

    /// The file an upload became, once complete.
    pub async fn upload_file(&self, upload: &Upload) -> Result<Option<File>> {
        match upload.file {
            Some(id) => Ok(Some(file::find(&self.db, id).await?)),
            None => Ok(None),
        }
    }
}

/// Deletes the upload that became file `file`, for a file being deleted in
/// `conn`: left behind, it would look unfinished again and could be
/// completed into a new file.
pub(crate) async fn remove_file(conn: &impl ConnectionTrait, file: Uuid) -> Result<()> {
    Entity::delete_many()
        .filter(Column::File.eq(file))
        .exec(conn)
        .await?;
    Ok(())
}
