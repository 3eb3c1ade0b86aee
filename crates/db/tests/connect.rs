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

/// An in-memory SQLite database lives as long as its one connection: the pool
/// must never close it for being idle or old, or the data would vanish.
#[tokio::test]
async fn an_in_memory_database_keeps_its_one_connection() {
    let conn = plinth_db::connect("sqlite::memory:").await.expect("connect");
    let options = conn.get_sqlite_connection_pool().options();
    assert_eq!(options.get_max_connections(), 1);
    assert_eq!(options.get_idle_timeout(), None, "idle connections are closed");
    assert_eq!(options.get_max_lifetime(), None, "old connections are closed");
    conn.close().await.expect("close");
}
