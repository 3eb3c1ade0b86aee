//! The blob layer: opaque byte objects under string keys, on any
//! `object_store` backend. Files and (later) content-addressed chunks are
//! stored through it; it knows nothing about either.
//!
//! Keys are `/`-separated segments chosen by the caller (never derived from
//! user input). Writes stream through a [`BlobWriter`] and become visible
//! atomically; reads stream whole blobs or byte ranges.

pub mod config;
pub mod writer;

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectMeta, ObjectStore, ObjectStoreExt};
use time::OffsetDateTime;

pub use config::{BlobConfig, S3Config};
pub use writer::{BlobWriter, PART_SIZE, Written};

use crate::{Error, Result};

/// A stream of a blob's bytes.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// Size of the reads that stream a blob from local disk.
const READ_CHUNK: usize = 256 * 1024;

/// What the store knows about one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// The blob's key.
    pub key: String,
    /// Length in bytes.
    pub size: u64,
    /// When the blob was last written.
    pub last_modified: OffsetDateTime,
}

/// A handle on the blob backend; cheap to clone.
#[derive(Debug, Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
}

impl BlobStore {
    /// Blobs in `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self { inner }
    }

    /// Opens the backend described by `config`.
    pub fn from_config(config: &BlobConfig) -> Result<Self> {
        Ok(Self::new(config.open()?))
    }

    /// A fresh, empty store in memory.
    pub fn in_memory() -> Self {
        Self::new(Arc::new(object_store::memory::InMemory::new()))
    }

    /// A writer for the blob at `key`, replacing any blob there when finished.
    pub fn writer(&self, key: &str) -> Result<BlobWriter> {
        Ok(BlobWriter::new(Arc::clone(&self.inner), path(key)?))
    }

    /// Stores `bytes` at `key` in one go.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<Written> {
        let mut writer = self.writer(key)?;
        writer.write(bytes).await?;
        writer.finish().await
    }

    /// Streams `body` into the blob at `key`, refusing it with
    /// [`Error::TooLarge`] past `limit` bytes. On any failure nothing is
    /// stored and the key is left as it was.
    pub async fn put_stream<S, E>(&self, key: &str, body: S, limit: u64) -> Result<Written>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        self.write_stream(key, body.map_err(Error::body), limit).await
    }

    /// Like [`put_stream`](Self::put_stream), for a stream whose errors are
    /// the file store's own and are returned as they are.
    pub(crate) async fn write_stream<S>(&self, key: &str, body: S, limit: u64) -> Result<Written>
    where
        S: Stream<Item = Result<Bytes>>,
    {
        let mut writer = self.writer(key)?.limit(limit);
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let step = match chunk {
                Ok(chunk) => writer.write(chunk).await,
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                writer.abort().await;
                return Err(e);
            }
        }
        writer.finish().await
    }

    /// Streams the whole blob at `key`.
    pub async fn get(&self, key: &str) -> Result<ByteStream> {
        self.read(key, None).await
    }

    /// Streams bytes `range` of the blob at `key`; the range must lie within the blob.
    pub async fn get_range(&self, key: &str, range: Range<u64>) -> Result<ByteStream> {
        if range.is_empty() {
            return Ok(stream::empty().boxed());
        }
        self.read(key, Some(GetRange::Bounded(range))).await
    }

    async fn read(&self, key: &str, range: Option<GetRange>) -> Result<ByteStream> {
        let location = path(key)?;
        let options = GetOptions {
            range,
            ..GetOptions::default()
        };
        let result = self
            .inner
            .get_opts(&location, options)
            .await
            .map_err(|e| classify(e, key))?;
        let range = result.range.clone();
        Ok(match result.payload {
            GetResultPayload::File(file, _) => read_file(file, range),
            GetResultPayload::Stream(s) => s.map_err(Error::from).boxed(),
        })
    }

    /// The blob's size and modification time, `None` when there is no blob at `key`.
    pub async fn head(&self, key: &str) -> Result<Option<BlobMeta>> {
        match self.inner.head(&path(key)?).await {
            Ok(meta) => Ok(Some(meta.into())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a blob exists at `key`.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.head(key).await?.is_some())
    }

    /// Deletes the blob at `key`; deleting a missing blob succeeds.
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.inner.delete(&path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every blob whose key starts with the segments of `prefix`, in no
    /// particular order, with its modification time for sweeps.
    pub fn list(&self, prefix: &str) -> BoxStream<'static, Result<BlobMeta>> {
        match path(prefix) {
            Ok(prefix) => self
                .inner
                .list(Some(&prefix))
                .map_ok(BlobMeta::from)
                .map_err(Error::from)
                .boxed(),
            Err(e) => stream::once(async { Err(e) }).boxed(),
        }
    }
}

impl From<ObjectMeta> for BlobMeta {
    fn from(meta: ObjectMeta) -> Self {
        let nanos = i128::from(meta.last_modified.timestamp()) * 1_000_000_000
            + i128::from(meta.last_modified.timestamp_subsec_nanos());
        Self {
            key: meta.location.to_string(),
            size: meta.size,
            last_modified: OffsetDateTime::from_unix_timestamp_nanos(nanos)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        }
    }
}

/// Parses a key, refusing empty, `.`/`..` and otherwise malformed segments.
fn path(key: &str) -> Result<Path> {
    Path::parse(key).map_err(|e| Error::Invalid(format!("blob key `{key}`: {e}")))
}

/// A missing blob is [`Error::NotFound`]; anything else stays a backend error.
fn classify(err: object_store::Error, key: &str) -> Error {
    match err {
        object_store::Error::NotFound { .. } => Error::NotFound(format!("blob `{key}`")),
        other => other.into(),
    }
}

fn local_error(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Blob(object_store::Error::Generic {
        store: "LocalFileSystem",
        source: err.into(),
    })
}

/// Streams `range` of a local file in large blocking reads.
fn read_file(file: std::fs::File, range: Range<u64>) -> ByteStream {
    stream::try_unfold((Some(file), range), |(file, range)| async move {
        let Some(mut file) = file.filter(|_| !range.is_empty()) else {
            return Ok(None);
        };
        let want = (range.end - range.start).min(READ_CHUNK as u64);
        let start = range.start;
        let (file, buf) = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            file.seek(SeekFrom::Start(start))?;
            let mut buf = Vec::with_capacity(want as usize);
            (&mut file).take(want).read_to_end(&mut buf)?;
            Ok((file, buf))
        })
        .await
        .map_err(local_error)?
        .map_err(local_error)?;
        if buf.is_empty() {
            return Err(local_error("the blob is shorter than its recorded size"));
        }
        let next = range.start + buf.len() as u64..range.end;
        Ok(Some((Bytes::from(buf), (Some(file), next))))
    })
    .boxed()
}
