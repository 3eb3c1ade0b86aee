//! plinth-file-store: files kept as blobs on local disk or any S3-compatible
//! store, with their metadata in the database.
//!
//! - [`blob`]: the blob layer (put/get/delete by key, streaming, ranges,
//!   listing with modification times), shared with crates that keep their
//!   own blobs.
//! - [`FileStore`]: files streamed in with a sniffed, per-bucket allowed
//!   type, a size limit and a BLAKE3 checksum ([`file`]); resumable uploads
//!   ([`upload`]); signed download links ([`signing`]); file groups
//!   ([`group`]); attachments to other crates' entities ([`attachment`]);
//!   and the [`sweep`] that removes unreferenced blobs after a grace period.
//! - [`Migrator`]: the `files_*` tables, tracked in `files_migrations`.
//! - `http` (feature): the routes under `/v1/files`.

pub mod attachment;
pub mod blob;
pub mod bucket;
pub mod config;
pub mod entity;
pub mod error;
pub mod file;
pub mod group;
#[cfg(feature = "http")]
// `Problem`, the API-wide error, is returned by value as in every crate's routes.
#[allow(clippy::result_large_err)]
pub mod http;
pub mod key;
pub mod migration;
pub mod name;
mod order;
pub mod service;
pub mod signing;
pub mod sniff;
pub mod sweep;
#[cfg(feature = "testing")]
pub mod testing;
mod txn;
pub mod upload;

pub use attachment::{Attachment, Owner};
pub use blob::{BlobConfig, BlobMeta, BlobStore, S3Config};
pub use bucket::BucketConfig;
pub use config::FileStoreConfig;
pub use error::{Error, Result};
pub use file::{File, FileUpdate, NewFile};
pub use group::{FileGroup, GroupUpdate, NewGroup};
pub use migration::Migrator;
pub use service::FileStore;
pub use signing::{LinkSignature, SigningConfig};
pub use sweep::SweepReport;
pub use upload::{NewUpload, Upload};
