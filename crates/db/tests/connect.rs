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
