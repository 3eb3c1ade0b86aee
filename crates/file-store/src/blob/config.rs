//! Where blobs live: local disk (the default), memory (tests) or any
//! S3-compatible service.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The default root of the local blob store.
pub const DEFAULT_ROOT: &str = "./data/blobs";

/// The blob backend, chosen by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BlobConfig {
    /// A directory on local disk. Writes go to a staging file that is renamed
    /// into place, so a reader never sees a partial blob.
    Local {
        /// The directory holding the blobs (default `./data/blobs`); created if missing.
        #[serde(default = "root_default")]
        root: PathBuf,
        /// Flush each blob and its directory to disk before the write returns.
        #[serde(default = "fsync_default")]
        fsync: bool,
    },
    /// Process memory; gone on exit. For tests.
    // A struct variant, so that keys besides `kind` are refused.
    Memory {},
    /// An S3-compatible service.
    S3(S3Config),
}

fn root_default() -> PathBuf {
    PathBuf::from(DEFAULT_ROOT)
}

fn fsync_default() -> bool {
    true
}

impl Default for BlobConfig {
    fn default() -> Self {
        Self::Local {
            root: root_default(),
            fsync: fsync_default(),
        }
    }
}

/// Settings of an S3-compatible blob store.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The service URL, e.g. `http://127.0.0.1:9000`; when absent, `AWS_ENDPOINT`, else AWS.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The bucket holding the blobs.
    pub bucket: String,
    /// The region; when absent, `AWS_REGION` or `AWS_DEFAULT_REGION`, else `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    /// The access key id; when absent, credentials come from the usual AWS
    /// sources (`AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, container or
    /// instance credentials).
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// The secret access key, with `access_key_id`.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Allow a plain `http://` endpoint.
    #[serde(default)]
    pub allow_http: bool,
    /// A key prefix inside the bucket, for sharing one bucket between deployments.
    #[serde(default)]
    pub prefix: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("allow_http", &self.allow_http)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl BlobConfig {
    /// Opens the configured backend.
    pub fn open(&self) -> Result<Arc<dyn ObjectStore>> {
        Ok(match self {
            Self::Local { root, fsync } => {
                std::fs::create_dir_all(root)
                    .map_err(|e| Error::Config(format!("cannot create {}: {e}", root.display())))?;
                Arc::new(LocalFileSystem::new_with_prefix(root)?.with_fsync(*fsync))
            }
            Self::Memory {} => Arc::new(InMemory::new()),
            Self::S3(s3) => s3.open()?,
        })
    }
}

impl S3Config {
    fn open(&self) -> Result<Arc<dyn ObjectStore>> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&self.bucket)
            .with_allow_http(self.allow_http);
        if let Some(region) = &self.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &self.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(key) = &self.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &self.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder.build()?;
        Ok(match self.prefix.as_deref().filter(|p| !p.is_empty()) {
            Some(prefix) => Arc::new(PrefixStore::new(store, prefix)),
            None => Arc::new(store),
        })
    }
}
