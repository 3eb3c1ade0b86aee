//! Killing the server in the middle of an upload leaves no file: no row, no
//! blob a reader can see, nothing listed after a restart.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use common::{Server, free_port, plinth, request, workdir};
use futures_util::StreamExt;
use plinth_file_store::{BlobConfig, BlobStore};
use sea_orm::{ConnectionTrait, Statement};

const PASSWORD: &str = "correct horse battery staple";
/// The upload announces this many bytes but sends only [`SENT`] before the kill.
const DECLARED: usize = 64 << 20;
const SENT: usize = 8 << 20;

/// Signs in as the admin and returns the access token.
fn sign_in(port: u16) -> String {
    let body = serde_json::json!({ "login": "admin", "password": PASSWORD }).to_string();
    let (status, body) = request(
        port,
        "POST",
        "/v1/auth/login",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .expect("POST /v1/auth/login");
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("login JSON");
    json["tokens"]["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// Total bytes of the regular files under `dir`, recursively.
fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => bytes_under(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The file blobs a reader of the store can see.
async fn visible_blobs(root: &Path) -> Vec<String> {
    let store = BlobStore::from_config(&BlobConfig::Local {
        root: root.to_owned(),
        fsync: false,
    })
    .expect("blob store");
    let mut listing = store.list(plinth_file_store::key::FILES);
    let mut keys = Vec::new();
    while let Some(meta) = listing.next().await {
        keys.push(meta.expect("list blobs").key);
    }
    keys
}

plinth_db::db_test!(async fn a_server_killed_mid_upload_leaves_no_file(db) {
    let port = free_port();
    let dir = workdir("killed-upload", port);
    let created = plinth(db.url(), &dir)
        .args(["admin", "create-user", "--username", "admin", "--email", "admin@example.com", "--admin"])
        .env("PLINTH_ADMIN_PASSWORD", PASSWORD)
        .output()
        .expect("plinth admin create-user");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    let mut server = Server::start(db.url(), &dir, port);
    let token = sign_in(port);
    let mut upload = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        upload,
        "POST /v1/files/buckets/default/files?name=big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\nContent-Length: {DECLARED}\r\n\r\n"
    )
    .expect("send headers");
    let chunk = vec![0x5a_u8; 1 << 20];
    for _ in 0..SENT / chunk.len() {
        upload.write_all(&chunk).expect("send part of the body");
    }
    upload.flush().expect("flush");
    // The upload is in flight once its bytes reach the blob directory.
    let blobs = dir.join("data").join("blobs");
    let mut staged = 0;
    for _ in 0..100 {
        staged = bytes_under(&blobs);
        if staged >= (SENT / 2) as u64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(staged > 0, "the upload never reached storage");
    server.kill();
    drop(upload);

    let rows = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM files_file"))
        .await
        .expect("count files")
        .expect("a row");
    assert_eq!(rows.try_get::<i64>("", "n").expect("n"), 0, "no file row");
    assert!(visible_blobs(&blobs).await.is_empty(), "no visible blob");

    // A restarted server lists nothing, and uploads again.
    let mut server = Server::start(db.url(), &dir, port);
    let token = sign_in(port);
    let auth = format!("Bearer {token}");
    let (status, body) = request(port, "GET", "/v1/files/buckets/default/files", &[("Authorization", &auth)], b"")
        .expect("list files");
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).expect("list JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{body}");
    let (status, body) = request(port, "POST", "/v1/files/buckets/default/files?name=small.txt", &[("Authorization", &auth)], b"hello")
        .expect("upload");
    assert_eq!(status, 201, "{body}");
    assert_eq!(visible_blobs(&blobs).await.len(), 1);
    server.kill();
    std::fs::remove_dir_all(&dir).ok();
});
