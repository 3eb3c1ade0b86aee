//! Revoking one session, and all of a subject's.

use plinth_sessions::Error;
use uuid::Uuid;

use crate::common::{ctx, service, sign_in, topics, user};

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
