//! Connecting with the pool settings a configuration may hold, on both backends.

use plinth_db::DbConfig;

plinth_db::db_test!(
    async fn a_zero_connect_timeout_still_connects(db) {
        let cfg = DbConfig {
            url: db.url().to_owned(),
            connect_timeout_secs: 0,
            ..DbConfig::default()
        };
        let conn = plinth_db::connect_with(&cfg).await.expect("connect");
        conn.ping().await.expect("ping");
        conn.close().await.expect("close");
    }
);

plinth_db::db_test!(
    async fn a_busy_timeout_beyond_what_sqlite_takes_still_connects(db) {
        // Configuration accepts durations of up to 100 years; SQLite takes at
        // most 2^31 - 1 milliseconds.
        let cfg = DbConfig {
            url: db.url().to_owned(),
            busy_timeout_ms: u64::from(u32::MAX),
            ..DbConfig::default()
        };
        let conn = tokio::time::timeout(std::time::Duration::from_secs(20), plinth_db::connect_with(&cfg))
            .await
            .expect("connecting does not hang")
            .expect("connect");
        conn.ping().await.expect("ping");
        conn.close().await.expect("close");
    }
);
