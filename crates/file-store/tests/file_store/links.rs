//! Signed download links: expiry and key rotation.

use plinth_file_store::{Error, FileStore, LinkSignature, NewFile};
use time::Duration;

use crate::common::*;

plinth_db::db_test!(
    async fn links_expire_and_die_with_their_key(db) {
        let store = store(&db).await;
        let file = store
            .create(&ctx(), NewFile::new(DOCS, "shared.txt"), stream_of(b"shared", 3))
            .await
            .expect("file");
        let link = store.sign_link(file.id, Duration::minutes(5)).await.expect("sign");
        assert_eq!(link.key, "k1");
        assert_eq!(store.open_link(file.id, &link).await.expect("open").id, file.id);

        let too_long = store.sign_link(file.id, Duration::days(30)).await;
        assert!(matches!(too_long, Err(Error::Invalid(_))), "{too_long:?}");
        let past = LinkSignature {
            expires: link.expires - 3600,
            ..link.clone()
        };
        assert!(matches!(store.open_link(file.id, &past).await, Err(Error::BadLink(_))));
        let expired = store.signer().sign(file.id, time::OffsetDateTime::now_utc() - Duration::seconds(1)).expect("sign");
        assert!(matches!(store.open_link(file.id, &expired).await, Err(Error::BadLink(_))));

        // Rotation: k2 signs new links; k1's links live while k1 is listed, and die when it is removed.
        let mut config = config();
        config.signing = signing("k2", &["k1", "k2"]);
        let rotating = FileStore::with_blobs(db.conn().clone(), store.blobs().clone(), &config).expect("store");
        assert!(rotating.open_link(file.id, &link).await.is_ok());
        let fresh = rotating.sign_link(file.id, Duration::minutes(5)).await.expect("sign");
        assert_eq!(fresh.key, "k2");
        config.signing = signing("k2", &["k2"]);
        let rotated = FileStore::with_blobs(db.conn().clone(), store.blobs().clone(), &config).expect("store");
        assert!(matches!(rotated.open_link(file.id, &link).await, Err(Error::BadLink(_))));
        assert!(rotated.open_link(file.id, &fresh).await.is_ok());
    }
);

plinth_db::db_test!(
    async fn a_link_lifetime_beyond_any_time_lasts_until_the_latest_time(db) {
        let mut config = config();
        config.signing.max_ttl_secs = Some(u64::MAX);
        let store = store_with(&db, plinth_file_store::testing::blob_store(), &config).await;
        let file = store
            .create(&ctx(), NewFile::new(DOCS, "forever.txt"), stream_of(b"forever", 3))
            .await
            .expect("file");
        let link = store.sign_link(file.id, store.signer().max_ttl()).await.expect("sign");
        assert_eq!(link.expires_at().year(), 9999);
        assert_eq!(store.open_link(file.id, &link).await.expect("open").id, file.id);
    }
);
