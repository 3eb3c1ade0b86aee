//! Configuration of the file store: the blob backend, the buckets, the
//! signing keys and how long unfinished uploads are kept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::blob::BlobConfig;
use crate::bucket::BucketConfig;
use crate::signing::SigningConfig;

/// The default lifetime of an idle resumable upload: one day.
pub const DEFAULT_UPLOAD_TTL_SECS: u64 = 24 * 60 * 60;

/// Everything the file store needs besides a database connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileStoreConfig {
    /// Where blobs are stored (local disk under `./data/blobs` by default).
    pub blobs: BlobConfig,
    /// The buckets files can be stored in, by name; when none is configured,
    /// the single bucket `default`, accepting anything up to 2 GiB.
    pub buckets: BTreeMap<String, BucketConfig>,
    /// Keys for signed download links.
    pub signing: SigningConfig,
    /// Seconds an unfinished resumable upload is kept after its last append.
    pub upload_ttl_secs: u64,
}

impl Default for FileStoreConfig {
    fn default() -> Self {
        Self {
            blobs: BlobConfig::default(),
            buckets: [("default".to_owned(), BucketConfig::default())].into(),
            signing: SigningConfig::default(),
            upload_ttl_secs: DEFAULT_UPLOAD_TTL_SECS,
        }
    }
}
