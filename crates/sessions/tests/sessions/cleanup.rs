//! Cleanup of dead sessions and tokens after the retention period.

use plinth_sessions::entity::{session, token};
use plinth_sessions::{CleanupReport, Error, SessionConfig};
use sea_orm::{EntityTrait, PaginatorTrait};
use time::Duration;

use crate::common::{START, ctx, service_with, sign_in, token_rows, user};

plinth_db::db_test!(
    async fn cleanup_removes_dead_rows_after_retention_and_keeps_live_ones(db) {
        let config = SessionConfig {
            max_lifetime_secs: 10 * 24 * 3600,
            idle_timeout_secs: 0,
            retention_secs: 24 * 3600,
            cleanup_batch_size: 2,
            ..SessionConfig::default()
        };
        let (sessions, clock) = service_with(&db, config).await;
        let mut revoked = Vec::new();
        for _ in 0..3 {
            let (s, _) = sign_in(&sessions, user("alice")).await;
            sessions.revoke(&ctx(), s.id).await.expect("revoke");
            revoked.push(s.id);
        }
        let (expired, _) = sign_in(&sessions, user("carol")).await;

        // Within retention nothing goes, even the revoked sessions.
        clock.advance(Duration::hours(12));
        assert_eq!(sessions.cleanup(START + Duration::hours(12)).await.expect("cleanup"), CleanupReport::default());

        // A later session rotates its pair twice; `expired` ages past its lifetime.
        clock.set(START + Duration::days(9));
        let (live, first) = sign_in(&sessions, user("bob")).await;
        let second = sessions.refresh(&ctx(), &first.refresh_token).await.expect("refresh");
        clock.set(START + Duration::days(9) + Duration::minutes(30));
        let current = sessions.refresh(&ctx(), &second.refresh_token).await.expect("refresh");
        assert_eq!(token_rows(&db, live.id).await.len(), 6);

        let now = START + Duration::days(11) + Duration::minutes(1);
        clock.set(now);
        let report = sessions.cleanup(now).await.expect("cleanup");
        assert_eq!(report.sessions, 4, "three revoked, one past its lifetime: {report:?}");

        let remaining: Vec<_> = session::Entity::find()
            .all(db.conn())
            .await
            .expect("sessions")
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(remaining, [live.id]);
        assert!(!remaining.contains(&expired.id));
        assert!(revoked.iter().all(|id| !remaining.contains(id)));

        // Of `live`'s tokens, the three access tokens (revoked by rotation or
        // expired) are gone; the rotated refresh tokens stay until they
        // expire, to detect reuse, and so does the current one.
        assert_eq!(report.tokens, 3, "{report:?}");
        let kept = token_rows(&db, live.id).await;
        assert_eq!(kept.len(), 3);
        assert!(kept.iter().all(|t| t.kind == "refresh"));

        // Nothing else is due.
        assert_eq!(sessions.cleanup(now).await.expect("cleanup"), CleanupReport::default());
        assert_eq!(token::Entity::find().count(db.conn()).await.expect("count"), 3);

        let next = sessions.refresh(&ctx(), &current.refresh_token).await.expect("live session survives");
        sessions.authenticate(&next.access_token).await.expect("authenticate");
        let err = sessions.refresh(&ctx(), &first.refresh_token).await;
        assert!(matches!(err, Err(Error::RefreshReused)), "reuse is still detected: {err:?}");
    }
);

plinth_db::db_test!(
    async fn cleanup_removes_idle_sessions_after_retention(db) {
        let config = SessionConfig {
            idle_timeout_secs: 3600,
            retention_secs: 24 * 3600,
            ..SessionConfig::default()
        };
        let (sessions, clock) = service_with(&db, config).await;
        let (idle, _) = sign_in(&sessions, user("alice")).await;
        let (active, mut pair) = sign_in(&sessions, user("alice")).await;
        let mut now = START;
        while now < START + Duration::hours(26) {
            now += Duration::minutes(50);
            clock.set(now);
            pair = sessions.refresh(&ctx(), &pair.refresh_token).await.expect("keep active");
        }
        // `idle` timed out at START + 1h; it goes once a day of retention has passed.
        let cutoff = START + Duration::hours(25);
        assert_eq!(sessions.cleanup(cutoff).await.expect("cleanup").sessions, 0);
        let report = sessions.cleanup(cutoff + Duration::seconds(1)).await.expect("cleanup");
        assert_eq!(report.sessions, 1, "{report:?}");
        let err = sessions.get(idle.id).await;
        assert!(matches!(err, Err(Error::NotFound(_))), "{err:?}");
        sessions.get(active.id).await.expect("the active session is kept");
    }
);

plinth_db::db_test!(
    async fn cleanup_with_huge_retention_and_idle_timeout_keeps_everything(db) {
        let config = SessionConfig {
            idle_timeout_secs: u64::MAX,
            retention_secs: u64::MAX,
            ..SessionConfig::default()
        };
        let (sessions, clock) = service_with(&db, config).await;
        let (revoked, _) = sign_in(&sessions, user("alice")).await;
        sessions.revoke(&ctx(), revoked.id).await.expect("revoke");
        let (live, _) = sign_in(&sessions, user("alice")).await;
        let now = START + Duration::days(365);
        clock.set(now);
        assert_eq!(sessions.cleanup(now).await.expect("cleanup"), CleanupReport::default());
        for id in [revoked.id, live.id] {
            sessions.get(id).await.expect("kept");
        }
    }
);

plinth_db::db_test!(
    async fn cleanup_with_a_huge_batch_size(db) {
        let config = SessionConfig {
            retention_secs: 0,
            cleanup_batch_size: u64::MAX,
            ..SessionConfig::default()
        };
        let (sessions, clock) = service_with(&db, config).await;
        let (revoked, _) = sign_in(&sessions, user("alice")).await;
        sessions.revoke(&ctx(), revoked.id).await.expect("revoke");
        let now = START + Duration::seconds(1);
        clock.set(now);
        let report = sessions.cleanup(now).await.expect("cleanup");
        assert_eq!(report.sessions, 1, "{report:?}");
    }
);
