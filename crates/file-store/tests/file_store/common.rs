//! Shared helpers: a migrated store with test buckets, bodies and readers.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt, stream};
use plinth_db::testing::TestDb;
use plinth_events::Context;
use plinth_file_store::blob::ByteStream;
use plinth_file_store::{BlobStore, BucketConfig, FileStore, FileStoreConfig, SigningConfig};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

/// A bucket accepting only images.
pub const IMAGES: &str = "images";
/// A bucket accepting at most [`TINY_MAX`] bytes.
pub const TINY: &str = "tiny";
/// The size limit of [`TINY`].
pub const TINY_MAX: u64 = 16;
/// A bucket accepting anything up to the default limit.
pub const DOCS: &str = "docs";

/// A 1x1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00,
    0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01,
    0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Signing settings: `current` signs, and links verify under any of `keys`.
pub fn signing(current: &str, keys: &[&str]) -> SigningConfig {
    SigningConfig {
        current: Some(current.to_owned()),
        keys: keys
            .iter()
            .map(|k| ((*k).to_owned(), format!("{k}-0123456789abcdef0123456789abcdef")))
            .collect(),
        max_ttl_secs: Some(3600),
    }
}

/// The test configuration: buckets `docs`, `images`, `tiny`; key `k1`.
pub fn config() -> FileStoreConfig {
    FileStoreConfig {
        buckets: [
            (DOCS.to_owned(), BucketConfig::default()),
            (
                IMAGES.to_owned(),
                BucketConfig {
                    allowed_types: vec!["image/*".into()],
                    ..BucketConfig::default()
                },
            ),
            (
                TINY.to_owned(),
                BucketConfig {
                    max_size: TINY_MAX,
                    ..BucketConfig::default()
                },
            ),
        ]
        .into(),
        signing: signing("k1", &["k1"]),
        ..FileStoreConfig::default()
    }
}

/// Migrates `db` and builds a store over it with fresh test blobs.
/// Stores `n` one-byte files in [`DOCS`], named `0.txt`, `1.txt`…; their ids in order.
pub async fn one_byte_files(store: &FileStore, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let new = plinth_file_store::NewFile::new(DOCS, format!("{i}.txt"));
        ids.push(
            store
                .create(&ctx(), new, stream_of(b"x", 1))
                .await
                .expect("file")
                .id,
        );
    }
    ids
}

pub async fn store(db: &TestDb) -> FileStore {
    store_with(db, plinth_file_store::testing::blob_store(), &config()).await
}

/// Migrates `db` and builds a store over it with `blobs` and `config`.
pub async fn store_with(db: &TestDb, blobs: BlobStore, config: &FileStoreConfig) -> FileStore {
    plinth_db::migrate::up(db, &[&plinth_events::Migrator, &plinth_file_store::Migrator])
        .await
        .expect("migrate");
    FileStore::with_blobs(db.conn().clone(), blobs, config).expect("file store")
}

/// The context of a test user.
pub fn ctx() -> Context {
    Context::actor("user", "tester")
}

/// `data` as a body of chunks of `chunk` bytes.
pub fn stream_of(data: &[u8], chunk: usize) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + use<> {
    let chunks: Vec<_> = data.chunks(chunk.max(1)).map(Bytes::copy_from_slice).collect();
    stream::iter(chunks.into_iter().map(Ok))
}

/// `data` followed by a broken connection.
pub fn broken_stream(data: &[u8]) -> impl Stream<Item = Result<Bytes, String>> + Send + use<> {
    let chunks: Vec<_> = data
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks).chain(stream::once(async { Err("connection reset".to_owned()) }))
}

/// Deterministic pseudo-random bytes.
pub fn data(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Collects a byte stream.
pub async fn read_all(stream: ByteStream) -> Vec<u8> {
    let chunks: Vec<Bytes> = stream.try_collect().await.expect("read stream");
    chunks.concat()
}

/// Every blob key under `prefix`.
pub async fn keys(blobs: &BlobStore, prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = blobs
        .list(prefix)
        .map_ok(|m| m.key)
        .try_collect()
        .await
        .expect("list blobs");
    keys.sort();
    keys
}

/// A transaction of another writer that has run `sql` (with `$1`, `$2`…
/// bound to `ids`) and not yet committed, so that on PostgreSQL callers
/// started meanwhile read the row before the change lands.
pub async fn hold<const N: usize>(db: &TestDb, sql: &str, ids: [Uuid; N]) -> DatabaseTransaction {
    plinth_db::testing::hold(db, sql, ids.map(Into::into)).await
}

pub use plinth_db::testing::wait_for_waiters;
