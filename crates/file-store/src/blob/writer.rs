//! Streaming a blob into the store while hashing and counting it.

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::{Error, Result};

/// Bytes buffered before a multipart upload starts, and the size of each part.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded at once; with [`PART_SIZE`] this bounds a writer's memory.
pub const PART_CONCURRENCY: usize = 4;

/// A finished blob: its size and BLAKE3 checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Length in bytes.
    pub size: u64,
    /// BLAKE3 of the content.
    pub blake3: blake3::Hash,
}

/// Writes one blob piece by piece. Nothing is visible under the key until
/// [`finish`](Self::finish) returns: a blob smaller than [`PART_SIZE`] is
/// stored with one atomic put, a larger one through a multipart upload that is
/// completed at the end.
#[derive(Debug)]
pub struct BlobWriter {
    store: Arc<dyn ObjectStore>,
    path: Path,
    pending: Vec<Bytes>,
    pending_len: usize,
    upload: Option<WriteMultipart>,
    hasher: blake3::Hasher,
    size: u64,
    limit: u64,
}

impl BlobWriter {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, path: Path) -> Self {
        Self {
            store,
            path,
            pending: Vec::new(),
            pending_len: 0,
            upload: None,
            hasher: blake3::Hasher::new(),
            size: 0,
            limit: u64::MAX,
        }
    }

    /// Refuses, with [`Error::TooLarge`], any write that would take the blob past `limit` bytes.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends `chunk`, waiting while too many parts are in flight.
    pub async fn write(&mut self, chunk: Bytes) -> Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        if self.size + chunk.len() as u64 > self.limit {
            return Err(Error::TooLarge { limit: self.limit });
        }
        self.hasher.update(&chunk);
        self.size += chunk.len() as u64;
        if let Some(upload) = &mut self.upload {
            upload.put(chunk);
            upload.wait_for_capacity(PART_CONCURRENCY).await?;
            return Ok(());
        }
        self.pending_len += chunk.len();
        self.pending.push(chunk);
        if self.pending_len >= PART_SIZE {
            let mut upload =
                WriteMultipart::new_with_chunk_size(self.store.put_multipart(&self.path).await?, PART_SIZE);
            for piece in self.pending.drain(..) {
                upload.put(piece);
            }
            self.pending_len = 0;
            upload.wait_for_capacity(PART_CONCURRENCY).await?;
            self.upload = Some(upload);
        }
        Ok(())
    }

    /// Publishes the blob under its key and returns its size and checksum.
    pub async fn finish(self) -> Result<Written> {
        match self.upload {
            Some(upload) => {
                upload.finish().await?;
            }
            None => {
                self.store
                    .put(&self.path, PutPayload::from_iter(self.pending))
                    .await?;
            }
        }
        Ok(Written {
            size: self.size,
            blake3: self.hasher.finalize(),
        })
    }

    /// Discards everything written; the key is left as it was. A failure to
    /// clean up the backend's partial upload is logged, not returned.
    pub async fn abort(self) {
        if let Some(upload) = self.upload
            && let Err(e) = upload.abort().await
        {
            tracing::warn!(key = %self.path, error = %e, "could not abort a multipart upload");
        }
    }
}
