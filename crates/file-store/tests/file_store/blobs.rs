//! The blob layer alone, on the test backend and on local disk.

use bytes::Bytes;
use plinth_file_store::blob::{BlobConfig, BlobStore, PART_SIZE};
use plinth_file_store::{Error, testing};

use crate::common::{data, keys, read_all, stream_of};

async fn exercise(blobs: &BlobStore) {
    let content = data(PART_SIZE + 1234);
    let written = blobs
        .put_stream("chunks/ab/cd/one", stream_of(&content, 100_000), u64::MAX)
        .await
        .expect("put stream");
    assert_eq!(written.size, content.len() as u64);
    assert_eq!(written.blake3, blake3::hash(&content));
    assert!(blobs.exists("chunks/ab/cd/one").await.expect("exists"));
    assert_eq!(
        read_all(blobs.get("chunks/ab/cd/one").await.expect("get")).await,
        content
    );
    assert_eq!(
        read_all(
            blobs
                .get_range("chunks/ab/cd/one", 10..PART_SIZE as u64 + 20)
                .await
                .expect("range")
        )
        .await,
        content[10..PART_SIZE + 20]
    );
    let meta = blobs
        .head("chunks/ab/cd/one")
        .await
        .expect("head")
        .expect("present");
    assert_eq!(meta.size, content.len() as u64);
    assert!(meta.last_modified <= time::OffsetDateTime::now_utc() + time::Duration::seconds(5));

    blobs
        .put("chunks/ab/ef/two", Bytes::from_static(b"two"))
        .await
        .expect("put");
    blobs.put("other/three", Bytes::new()).await.expect("put empty");
    assert_eq!(
        keys(blobs, "chunks").await,
        ["chunks/ab/cd/one", "chunks/ab/ef/two"]
    );
    assert_eq!(
        read_all(blobs.get("other/three").await.expect("get empty")).await,
        b""
    );

    let refused = blobs
        .put_stream("chunks/big", stream_of(&content, 4096), 1000)
        .await;
    assert!(
        matches!(refused, Err(Error::TooLarge { limit: 1000 })),
        "{refused:?}"
    );
    assert!(
        !blobs.exists("chunks/big").await.expect("exists"),
        "a refused blob leaves nothing"
    );

    blobs.delete("chunks/ab/cd/one").await.expect("delete");
    blobs
        .delete("chunks/ab/cd/one")
        .await
        .expect("deleting twice is fine");
    assert!(blobs.head("chunks/ab/cd/one").await.expect("head").is_none());
    assert!(matches!(
        blobs.get("chunks/ab/cd/one").await.err(),
        Some(Error::NotFound(_))
    ));
    assert!(matches!(blobs.writer("../escape").err(), Some(Error::Invalid(_))));
}

#[tokio::test]
async fn blobs_on_the_test_backend() {
    exercise(&testing::blob_store()).await;
}

#[tokio::test]
async fn blobs_on_local_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = BlobStore::from_config(&BlobConfig::Local {
        root: dir.path().to_path_buf(),
        fsync: true,
    })
    .expect("local store");
    exercise(&blobs).await;
}

#[tokio::test]
async fn a_blob_is_invisible_until_finished() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = BlobStore::from_config(&BlobConfig::Local {
        root: dir.path().to_path_buf(),
        fsync: false,
    })
    .expect("local store");
    blobs
        .put("files/x", Bytes::from_static(b"old"))
        .await
        .expect("put old");
    let mut writer = blobs.writer("files/x").expect("writer");
    for chunk in data(2 * PART_SIZE + 5).chunks(1 << 20) {
        writer.write(Bytes::copy_from_slice(chunk)).await.expect("write");
    }
    assert_eq!(
        read_all(blobs.get("files/x").await.expect("get")).await,
        b"old",
        "readers see the old blob while the new one is written"
    );
    assert_eq!(
        keys(&blobs, "files").await,
        ["files/x"],
        "staging files are not listed"
    );
    writer.finish().await.expect("finish");
    assert_eq!(
        blobs.head("files/x").await.expect("head").map(|m| m.size),
        Some(2 * PART_SIZE as u64 + 5)
    );

    let mut aborted = blobs.writer("files/y").expect("writer");
    aborted
        .write(Bytes::from(data(PART_SIZE + 1)))
        .await
        .expect("write");
    aborted.abort().await;
    assert!(!blobs.exists("files/y").await.expect("exists"));
}
