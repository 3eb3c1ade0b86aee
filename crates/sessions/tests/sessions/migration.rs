//! The crate's migrations apply, revert and re-apply cleanly.

use plinth_db::migrate::{self, State};

use crate::common::{migrate, service, sign_in, user};

plinth_db::db_test!(
    async fn migrations_revert_and_reapply(db) {
        let migrators: [&dyn migrate::Migrator; 2] = [&plinth_events::Migrator, &plinth_sessions::Migrator];
        migrate(&db).await;
        assert!(migrate::up(&db, &migrators).await.expect("up again").is_empty(), "up is idempotent");

        let reverted = migrate::down(&db, &migrators, "sessions", 1).await.expect("down");
        assert_eq!(reverted.len(), 1);
        let status = migrate::status(&db, &migrators).await.expect("status");
        let ours: Vec<_> = status.iter().filter(|s| s.crate_name == "sessions").collect();
        assert!(ours.iter().all(|s| s.state == State::Pending), "{ours:?}");
        for table in ["sessions_session", "sessions_token"] {
            let exists = migrate::table_exists(db.conn(), db.backend(), table).await.expect("exists");
            assert!(!exists, "{table} is dropped");
        }

        let (sessions, _clock) = service(&db).await;
        let (_, pair) = sign_in(&sessions, user("alice")).await;
        sessions.authenticate(&pair.access_token).await.expect("works after re-applying");
    }
);
