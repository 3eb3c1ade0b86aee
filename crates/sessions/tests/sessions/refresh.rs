//! Refresh: rotation, the grace window, and reuse detection.

use plinth_sessions::Error;
use time::Duration;

use crate::common::{START, ctx, hold_row, service, sign_in, token_rows, topics, wait_for_waiters};

plinth_db::db_test!(
    async fn refresh_rotates_the_pair(db) {
        let (sessions, clock) = service(&db).await;
        let (session, first) = sign_in(&sessions, crate::common::user("alice")).await;
        clock.advance(Duration::minutes(10));
        let second = sessions.refresh(&ctx(), &first.refresh_token).await.expect("refresh");
        assert_ne!(second.access_token, first.access_token);
        assert_ne!(second.refresh_token, first.refresh_token);
        assert_eq!(second.access_expires_at, START + Duration::minutes(25));

        let auth = sessions.authenticate(&second.access_token).await.expect("new access token");
        assert_eq!(auth.session.id, session.id);
        assert_eq!(auth.session.last_active_at, START + Duration::minutes(10), "refreshing is activity");
        let err = sessions.authenticate(&first.access_token).await;
        assert!(matches!(err, Err(Error::Revoked)), "the replaced access token is revoked: {err:?}");

        // The old refresh token is marked rotated and linked to its successor.
        let rows = token_rows(&db, session.id).await;
        let hash = |t: &str| blake3::hash(t.as_bytes()).to_hex().to_string();
        let old = rows.iter().find(|r| r.token_hash == hash(&first.refresh_token)).expect("old refresh");
        let new = rows.iter().find(|r| r.token_hash == hash(&second.refresh_token)).expect("new refresh");
        assert_eq!(old.rotated_at, Some(START + Duration::minutes(10)));
        assert_eq!(old.successor_id, Some(new.id));
        assert_eq!((new.rotated_at, new.revoked_at), (None, None));

        // The successor rotates in turn.
        let third = sessions.refresh(&ctx(), &second.refresh_token).await.expect("refresh successor");
        sessions.authenticate(&third.access_token).await.expect("third access token");
        assert_eq!(
            topics(&db, session.id).await,
            ["session.created", "session.refreshed", "session.refreshed"]
        );
    }
);

plinth_db::db_test!(
    async fn reuse_after_the_grace_window_revokes_the_session(db) {
        let (sessions, clock) = service(&db).await;
        let (session, first) = sign_in(&sessions, crate::common::user("alice")).await;
        let second = sessions.refresh(&ctx(), &first.refresh_token).await.expect("refresh");
        clock.advance(Duration::seconds(16));

        let err = sessions.refresh(&ctx(), &first.refresh_token).await;
        assert!(matches!(err, Err(Error::RefreshReused)), "{err:?}");

        let stored = sessions.get(session.id).await.expect("get");
        assert!(stored.revoked_at.is_some());
        assert_eq!(stored.revoke_reason.as_deref(), Some("refresh_reused"));
        for token in [&second.access_token, &first.access_token] {
            let err = sessions.authenticate(token).await;
            assert!(matches!(err, Err(Error::Revoked)), "{err:?}");
        }
        let err = sessions.refresh(&ctx(), &second.refresh_token).await;
        assert!(matches!(err, Err(Error::Revoked)), "the successor dies with the session: {err:?}");
        assert!(token_rows(&db, session.id).await.iter().all(|t| t.revoked_at.is_some()));
        assert_eq!(
            topics(&db, session.id).await,
            ["session.created", "session.refreshed", "session.revoked", "session.refresh_reused"]
        );
    }
);

plinth_db::db_test!(
    async fn the_grace_window_does_not_slide(db) {
        let (sessions, clock) = service(&db).await;
        let (session, first) = sign_in(&sessions, crate::common::user("alice")).await;
        let second = sessions.refresh(&ctx(), &first.refresh_token).await.expect("first rotation at t");

        clock.set(START + Duration::seconds(10));
        let retry = sessions.refresh(&ctx(), &first.refresh_token).await.expect("within grace at t+10s");
        assert_ne!(retry.refresh_token, second.refresh_token);
        sessions.authenticate(&retry.access_token).await.expect("retry pair works");
        sessions.authenticate(&second.access_token).await.expect("earlier pair untouched");

        clock.set(START + Duration::seconds(14));
        sessions.refresh(&ctx(), &first.refresh_token).await.expect("within grace at t+14s");

        clock.set(START + Duration::seconds(16));
        let err = sessions.refresh(&ctx(), &first.refresh_token).await;
        assert!(
            matches!(err, Err(Error::RefreshReused)),
            "the window counts from the first rotation, not the last presentation: {err:?}"
        );
        let err = sessions.authenticate(&retry.access_token).await;
        assert!(matches!(err, Err(Error::Revoked)), "{err:?}");
        assert!(sessions.get(session.id).await.expect("get").revoked_at.is_some());
    }
);

plinth_db::db_test!(
    async fn a_rotated_token_is_accepted_up_to_the_end_of_the_window(db) {
        let (sessions, clock) = service(&db).await;
        let (_, first) = sign_in(&sessions, crate::common::user("alice")).await;
        sessions.refresh(&ctx(), &first.refresh_token).await.expect("rotation");
        clock.advance(Duration::seconds(15));
        sessions.refresh(&ctx(), &first.refresh_token).await.expect("at exactly the window's end");
    }
);

plinth_db::db_test!(
    async fn concurrent_refreshes_of_one_token_both_succeed(db) {
        let (sessions, _clock) = service(&db).await;
        let (session, first) = sign_in(&sessions, crate::common::user("alice")).await;
        let racer = |sessions: plinth_sessions::Sessions, token: String| {
            tokio::spawn(async move { sessions.refresh(&ctx(), &token).await })
        };
        let a = racer(sessions.clone(), first.refresh_token.clone());
        let b = racer(sessions.clone(), first.refresh_token.clone());
        let (a, b) = (a.await.expect("join"), b.await.expect("join"));
        let (a, b) = (a.expect("first racer"), b.expect("second racer"));
        assert_ne!(a.refresh_token, b.refresh_token);
        sessions.authenticate(&a.access_token).await.expect("pair a works");
        sessions.authenticate(&b.access_token).await.expect("pair b works");
        let rows = token_rows(&db, session.id).await;
        let hash = blake3::hash(first.refresh_token.as_bytes()).to_hex().to_string();
        let old = rows.iter().find(|r| r.token_hash == hash).expect("old refresh");
        let successor = rows.iter().find(|r| Some(r.id) == old.successor_id).expect("one successor");
        let hashes = [a.refresh_token, b.refresh_token].map(|t| blake3::hash(t.as_bytes()).to_hex().to_string());
        assert!(hashes.contains(&successor.token_hash));
        assert!(sessions.get(session.id).await.expect("get").revoked_at.is_none());
    }
);

plinth_db::db_test!(
    async fn concurrent_reuse_revokes_once(db) {
        let (sessions, clock) = service(&db).await;
        let (session, first) = sign_in(&sessions, crate::common::user("alice")).await;
        sessions.refresh(&ctx(), &first.refresh_token).await.expect("rotation");
        clock.advance(Duration::seconds(16));
        let holder = hold_row(&db, session.id).await;
        let reuse = || {
            let (sessions, token) = (sessions.clone(), first.refresh_token.clone());
            tokio::spawn(async move { sessions.refresh(&ctx(), &token).await })
        };
        let (a, b) = (reuse(), reuse());
        wait_for_waiters(&db, 2).await;
        holder.commit().await.expect("release");
        for result in [a.await.expect("join"), b.await.expect("join")] {
            assert!(matches!(result, Err(Error::RefreshReused | Error::Revoked)), "{result:?}");
        }
        assert_eq!(
            topics(&db, session.id).await,
            ["session.created", "session.refreshed", "session.revoked", "session.refresh_reused"]
        );
    }
);
