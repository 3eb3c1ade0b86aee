//! [`FileStore`]: the service every file operation hangs off.

use std::collections::BTreeMap;
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::blob::BlobStore;
use crate::bucket::{self, BucketConfig};
use crate::config::FileStoreConfig;
use crate::signing::Signer;
use crate::{Error, Result};

/// Files, uploads, groups and attachments over one database and one blob store.
#[derive(Debug, Clone)]
pub struct FileStore {
    pub(crate) db: DatabaseConnection,
    pub(crate) blobs: BlobStore,
    buckets: Arc<BTreeMap<String, BucketConfig>>,
    pub(crate) signer: Arc<Signer>,
    pub(crate) upload_ttl: time::Duration,
    pub(crate) max_upload_parts: usize,
}

impl FileStore {
    /// A store over `db` with the blob backend named in `config`.
    pub fn new(db: DatabaseConnection, config: &FileStoreConfig) -> Result<Self> {
        let blobs = BlobStore::from_config(&config.blobs)?;
        Self::with_blobs(db, blobs, config)
    }

    /// A store over `db` and an already opened `blobs` (`config.blobs` is ignored).
    pub fn with_blobs(db: DatabaseConnection, blobs: BlobStore, config: &FileStoreConfig) -> Result<Self> {
        for name in config.buckets.keys() {
            bucket::check_name(name).map_err(|e| Error::Config(e.to_string()))?;
        }
        Ok(Self {
            db,
            blobs,
            buckets: Arc::new(config.buckets.clone()),
            signer: Arc::new(Signer::new(&config.signing)?),
            upload_ttl: time::Duration::seconds(i64::try_from(config.upload_ttl_secs).unwrap_or(i64::MAX)),
            max_upload_parts: usize::try_from(config.max_upload_parts.max(1)).unwrap_or(usize::MAX),
        })
    }

    /// The database connection.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The blob store, shared with crates that keep their own blobs.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// The rules of bucket `name`, or [`Error::UnknownBucket`].
    pub fn bucket(&self, name: &str) -> Result<&BucketConfig> {
        self.buckets
            .get(name)
            .ok_or_else(|| Error::UnknownBucket(name.to_owned()))
    }

    /// The signer of download links.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }
}
