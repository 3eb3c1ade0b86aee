//! Configuration of the file store: the blob backend, the buckets, the
//! signing keys, how long unfinished uploads are kept and how many appends
//! one takes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::blob::BlobConfig;
use crate::bucket::BucketConfig;
use crate::signing::SigningConfig;

/// The default lifetime of an idle resumable upload: one day.
pub const DEFAULT_UPLOAD_TTL_SECS: u64 = 24 * 60 * 60;

/// The default number of appends a resumable upload takes, as many as the
/// parts of an S3 multipart upload.
pub const DEFAULT_MAX_UPLOAD_PARTS: u32 = 10_000;

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
    /// The most appends (parts) one resumable upload takes. Each append
    /// rewrites the upload's list of parts, so this bounds what a client
    /// sending many tiny appends can make the database write. 0 counts as 1.
    pub max_upload_parts: u32,
}

impl Default for FileStoreConfig {
    fn default() -> Self {
        Self {
            blobs: BlobConfig::default(),
            buckets: [("default".to_owned(), BucketConfig::default())].into(),
            signing: SigningConfig::default(),
            upload_ttl_secs: DEFAULT_UPLOAD_TTL_SECS,
            max_upload_parts: DEFAULT_MAX_UPLOAD_PARTS,
        }
    }
}
