//! Test support: the blob store tests run on, chosen by the environment.
//!
//! By default every test gets a fresh store on local disk, in its own
//! directory under the system's temporary directory. When
//! [`S3_ENDPOINT_ENV`] is set, tests run against that S3-compatible server
//! instead, each under its own random key prefix in one bucket (see
//! `scripts/s3-server.sh`, which starts one and prints the variables).

use uuid::Uuid;

use crate::blob::{BlobConfig, BlobStore, S3Config};

/// The S3-compatible endpoint to test against, e.g. `http://127.0.0.1:9000`.
pub const S3_ENDPOINT_ENV: &str = "PLINTH_TEST_S3_ENDPOINT";
/// The bucket on that endpoint (default `plinth-test`).
pub const S3_BUCKET_ENV: &str = "PLINTH_TEST_S3_BUCKET";
/// The access key id (default `test`).
pub const S3_ACCESS_KEY_ENV: &str = "PLINTH_TEST_S3_ACCESS_KEY_ID";
/// The secret access key (default `test`).
pub const S3_SECRET_KEY_ENV: &str = "PLINTH_TEST_S3_SECRET_ACCESS_KEY";
/// The region (default `us-east-1`).
pub const S3_REGION_ENV: &str = "PLINTH_TEST_S3_REGION";

/// The S3 settings from the environment, with a fresh prefix; `None` when
/// [`S3_ENDPOINT_ENV`] is unset.
pub fn s3_config() -> Option<S3Config> {
    let endpoint = std::env::var(S3_ENDPOINT_ENV).ok().filter(|e| !e.is_empty())?;
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    Some(S3Config {
        allow_http: endpoint.starts_with("http://"),
        endpoint: Some(endpoint),
        bucket: var(S3_BUCKET_ENV, "plinth-test"),
        region: Some(var(S3_REGION_ENV, "us-east-1")),
        access_key_id: Some(var(S3_ACCESS_KEY_ENV, "test")),
        secret_access_key: Some(var(S3_SECRET_KEY_ENV, "test")),
        prefix: Some(format!("test-{}", Uuid::new_v4().simple())),
    })
}

/// A fresh, empty blob store: S3 under a new prefix when configured, else a
/// new directory on local disk (without fsync, which only costs time here).
///
/// # Panics
/// When the settings cannot be used.
pub fn blob_store() -> BlobStore {
    let config = s3_config().map_or_else(local_config, BlobConfig::S3);
    BlobStore::from_config(&config).unwrap_or_else(|e| panic!("test blob store {config:?}: {e}"))
}

/// Local-disk settings for a new, empty directory under the temporary
/// directory, in a folder per test process. Folders of processes that have
/// ended are removed first, so test runs leave no blobs behind for long.
pub fn local_config() -> BlobConfig {
    let base = std::env::temp_dir().join("plinth-test-blobs");
    remove_ended(&base);
    BlobConfig::Local {
        root: base
            .join(std::process::id().to_string())
            .join(Uuid::new_v4().simple().to_string()),
        fsync: false,
    }
}

/// Removes the folders under `base` named for processes that no longer run
/// (where `/proc` tells).
fn remove_ended(base: &std::path::Path) {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ended = name
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|pid| pid != std::process::id() && !proc.join(pid.to_string()).exists());
        if ended {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
