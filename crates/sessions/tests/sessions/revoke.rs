//! Revoking one session, and all of a subject's.

use plinth_sessions::{Error, Sessions};
use sea_orm::{ConnectionTrait, Statement};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::common::{ctx, hold_row, service, sign_in, topics, user, wait_for_waiters};

plinth_db::db_test!(
    async fn a_revoked_session_rejects_its_tokens(db) {
        let (sessions, _clock) = service(&db).await;
        let (session, pair) = sign_in(&sessions, user("alice")).await;
        assert!(sessions.revoke(&ctx(), session.id).await.expect("revoke"));
        let err = sessions.authenticate(&pair.access_token).await;
        assert!(matches!(err, Err(Error::Revoked)), "{err:?}");
        let err = sessions.refresh(&ctx(), &pair.refresh_token).await;
        assert!(matches!(err, Err(Error::Revoked)), "{err:?}");

        assert!(!sessions.revoke(&ctx(), session.id).await.expect("revoke again"), "idempotent");
        assert_eq!(topics(&db, session.id).await, ["session.created", "session.revoked"]);
        let stored = sessions.get(session.id).await.expect("get");
        assert_eq!(stored.revoke_reason.as_deref(), Some("revoked"));

        let err = sessions.revoke(&ctx(), Uuid::now_v7()).await;
        assert!(matches!(err, Err(Error::NotFound(_))), "{err:?}");
        let err = sessions.get(Uuid::now_v7()).await;
        assert!(matches!(err, Err(Error::NotFound(_))), "{err:?}");
    }
);

plinth_db::db_test!(
    async fn log_out_everywhere_keeps_the_current_session(db) {
        let (sessions, _clock) = service(&db).await;
        let (a, a_pair) = sign_in(&sessions, user("alice")).await;
        let (current, current_pair) = sign_in(&sessions, user("alice")).await;
        let (c, _) = sign_in(&sessions, user("alice")).await;
        let (bob, bob_pair) = sign_in(&sessions, user("bob")).await;
        assert_eq!(sessions.list(&user("alice")).await.expect("list").len(), 3);

        let revoked = sessions
            .revoke_all(&ctx(), &user("alice"), Some(current.id))
            .await
            .expect("revoke all");
        assert_eq!(revoked, 2);
        let err = sessions.authenticate(&a_pair.access_token).await;
        assert!(matches!(err, Err(Error::Revoked)), "{err:?}");
        sessions.authenticate(&current_pair.access_token).await.expect("current session kept");
        sessions.authenticate(&bob_pair.access_token).await.expect("other subjects untouched");
        for id in [a.id, c.id] {
            let stored = sessions.get(id).await.expect("get");
            assert_eq!(stored.revoke_reason.as_deref(), Some("revoke_all"));
            assert_eq!(topics(&db, id).await, ["session.created", "session.revoked"]);
        }
        let listed: Vec<_> = sessions.list(&user("alice")).await.expect("list").into_iter().map(|s| s.id).collect();
        assert_eq!(listed, [current.id]);

        // Without an exception, everything goes.
        assert_eq!(sessions.revoke_all(&ctx(), &user("alice"), None).await.expect("revoke all"), 1);
        assert!(sessions.list(&user("alice")).await.expect("list").is_empty());
        assert_eq!(sessions.list(&user("bob")).await.expect("list").len(), 1);
        assert!(sessions.get(bob.id).await.expect("get").revoked_at.is_none());
    }
);

plinth_db::db_test!(
    async fn concurrent_revocations_revoke_once(db) {
        let (sessions, _clock) = service(&db).await;
        let (session, _) = sign_in(&sessions, user("alice")).await;
        let holder = hold_row(&db, session.id).await;
        let (a, b) = (revoker(&sessions, session.id), revoker(&sessions, session.id));
        wait_for_waiters(&db, 2).await;
        holder.commit().await.expect("release");
        let a = a.await.expect("join").expect("first revocation");
        let b = b.await.expect("join").expect("second revocation");
        assert!(a ^ b, "exactly one call revokes: {a} {b}");
        assert_eq!(topics(&db, session.id).await, ["session.created", "session.revoked"]);

        // Log out everywhere racing a single revocation revokes once too.
        let (other, _) = sign_in(&sessions, user("bob")).await;
        let holder = hold_row(&db, other.id).await;
        let one = revoker(&sessions, other.id);
        let all = {
            let sessions = sessions.clone();
            tokio::spawn(async move { sessions.revoke_all(&ctx(), &user("bob"), None).await })
        };
        wait_for_waiters(&db, 2).await;
        holder.commit().await.expect("release");
        let one = one.await.expect("join").expect("revoke");
        let all = all.await.expect("join").expect("revoke all");
        assert_eq!(u64::from(one) + all, 1, "revoked once: {one} {all}");
        assert_eq!(topics(&db, other.id).await, ["session.created", "session.revoked"]);
    }
);

plinth_db::db_test!(
    async fn a_refresh_racing_a_revocation_issues_no_live_pair(db) {
        let (sessions, _clock) = service(&db).await;
        let (session, pair) = sign_in(&sessions, user("alice")).await;
        // Another process revokes the session while the refresh is under way.
        let holder = hold_row(&db, session.id).await;
        for sql in [
            "UPDATE sessions_session SET revoked_at = updated_at, revoke_reason = 'revoked' WHERE id = $1",
            "UPDATE sessions_token SET revoked_at = created_at WHERE session = $1",
        ] {
            holder
                .execute_raw(Statement::from_sql_and_values(db.backend().db_backend(), sql, [session.id.into()]))
                .await
                .expect("revoke elsewhere");
        }
        let refresh = {
            let sessions = sessions.clone();
            tokio::spawn(async move { sessions.refresh(&ctx(), &pair.refresh_token).await })
        };
        wait_for_waiters(&db, 1).await;
        holder.commit().await.expect("commit the revocation");
        let err = refresh.await.expect("join");
        assert!(matches!(err, Err(Error::Revoked)), "{err:?}");
        let rows = crate::common::token_rows(&db, session.id).await;
        assert_eq!(rows.len(), 2, "no new pair was written");
        assert!(rows.iter().all(|t| t.revoked_at.is_some()));
        assert_eq!(topics(&db, session.id).await, ["session.created"]);
    }
);

/// Revokes session `id` in a task of its own.
fn revoker(sessions: &Sessions, id: Uuid) -> JoinHandle<plinth_sessions::Result<bool>> {
    let sessions = sessions.clone();
    tokio::spawn(async move { sessions.revoke(&ctx(), id).await })
}

plinth_db::db_test!(
    async fn a_refresh_and_a_revocation_at_once_do_not_deadlock(db) {
        let (sessions, _clock) = service(&db).await;
        // Which of the two goes first after the holder is up to the
        // database, so the race is run a few times.
        for round in 0..5 {
            let subject = user(&format!("user-{round}"));
            let (session, pair) = sign_in(&sessions, subject.clone()).await;
            let holder = hold_row(&db, session.id).await;
            // Logging out everywhere queues for the session first, the refresh after it.
            let revoke_all = {
                let sessions = sessions.clone();
                tokio::spawn(async move { sessions.revoke_all(&ctx(), &subject, None).await })
            };
            wait_for_waiters(&db, 1).await;
            let refresh = {
                let sessions = sessions.clone();
                tokio::spawn(async move { sessions.refresh(&ctx(), &pair.refresh_token).await })
            };
            wait_for_waiters(&db, 2).await;
            holder.commit().await.expect("release");
            let revoked = revoke_all.await.expect("join");
            assert!(matches!(revoked, Ok(1)), "{revoked:?}");
            let refreshed = refresh.await.expect("join");
            assert!(matches!(refreshed, Ok(_) | Err(Error::Revoked)), "{refreshed:?}");
            let rows = crate::common::token_rows(&db, session.id).await;
            assert!(rows.iter().all(|t| t.revoked_at.is_some()), "no token outlives the revocation");
        }
    }
);
