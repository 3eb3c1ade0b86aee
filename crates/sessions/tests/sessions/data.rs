//! Session data and its checksum, MFA step-up, and listing.

use plinth_db::testing::incompressible;
use plinth_sessions::{Error, NewSession, SessionConfig, Subject};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use time::Duration;

use crate::common::{START, ctx, hold_row, service, service_with, sign_in, topics, user, wait_for_waiters};

plinth_db::db_test!(
    async fn unchanged_data_is_not_rewritten(db) {
        let (sessions, clock) = service(&db).await;
        let new = NewSession {
            data: json!({"cart": [1, 2], "locale": {"lang": "en", "region": "GB"}}),
            ..NewSession::new(user("alice"))
        };
        let (session, _) = sessions.create(&ctx(), new).await.expect("create");

        clock.advance(Duration::minutes(1));
        // The same data with its keys in another order is the same data.
        let same = json!({"locale": {"region": "GB", "lang": "en"}, "cart": [1, 2]});
        let unchanged = sessions.update_data(&ctx(), session.id, same).await.expect("update");
        assert_eq!(unchanged.updated_at, START);
        assert_eq!(unchanged.checksum, session.checksum);
        let stored = sessions.get(session.id).await.expect("get");
        assert_eq!(stored.updated_at, START, "unchanged data is not written");
        assert_eq!(topics(&db, session.id).await, ["session.created"]);

        clock.advance(Duration::minutes(1));
        let changed = sessions
            .update_data(&ctx(), session.id, json!({"cart": [1, 2, 3]}))
            .await
            .expect("update");
        assert_eq!(changed.updated_at, START + Duration::minutes(2));
        assert_ne!(changed.checksum, session.checksum);
        let stored = sessions.get(session.id).await.expect("get");
        assert_eq!(stored.data, json!({"cart": [1, 2, 3]}));
        assert_eq!(stored.updated_at, START + Duration::minutes(2));
        assert_eq!(stored.checksum, changed.checksum);
        assert_eq!(topics(&db, session.id).await, ["session.created", "session.data_updated"]);

        sessions.revoke(&ctx(), session.id).await.expect("revoke");
        let err = sessions.update_data(&ctx(), session.id, json!({})).await;
        assert!(matches!(err, Err(Error::Revoked)), "{err:?}");
    }
);

plinth_db::db_test!(
    async fn mfa_can_be_verified_later(db) {
        let (sessions, clock) = service(&db).await;
        let (session, pair) = sign_in(&sessions, user("alice")).await;
        assert!(!session.mfa_verified);
        clock.advance(Duration::seconds(5));
        let verified = sessions.set_mfa_verified(&ctx(), session.id).await.expect("verify");
        assert!(verified.mfa_verified);
        assert_eq!(verified.updated_at, START + Duration::seconds(5));
        sessions.set_mfa_verified(&ctx(), session.id).await.expect("verify again");
        let auth = sessions.authenticate(&pair.access_token).await.expect("authenticate");
        assert!(auth.session.mfa_verified);
        assert_eq!(topics(&db, session.id).await, ["session.created", "session.mfa_verified"]);
    }
);

plinth_db::db_test!(
    async fn list_shows_usable_sessions_most_recent_first(db) {
        let config = SessionConfig {
            idle_timeout_secs: 3600,
            access_token_ttl_secs: 4 * 3600,
            ..SessionConfig::default()
        };
        let (sessions, clock) = service_with(&db, config).await;
        let (idle, _) = sign_in(&sessions, user("alice")).await;
        let (older, older_pair) = sign_in(&sessions, user("alice")).await;
        let (newer, newer_pair) = sign_in(&sessions, user("alice")).await;
        let (revoked, _) = sign_in(&sessions, user("alice")).await;
        sessions.revoke(&ctx(), revoked.id).await.expect("revoke");
        sign_in(&sessions, user("bob")).await;

        clock.advance(Duration::minutes(40));
        sessions.authenticate(&newer_pair.access_token).await.expect("use newer");
        clock.advance(Duration::minutes(10));
        sessions.authenticate(&older_pair.access_token).await.expect("use older");
        clock.advance(Duration::minutes(20));

        let listed: Vec<_> = sessions.list(&user("alice")).await.expect("list").into_iter().map(|s| s.id).collect();
        assert_eq!(listed, [older.id, newer.id], "revoked and idle sessions are not listed");
        assert!(!listed.contains(&idle.id));
    }
);

plinth_db::db_test!(
    async fn text_with_nul_characters_is_refused(db) {
        let (sessions, _clock) = service(&db).await;
        let bad = [
            NewSession::new(user("al\0ice")),
            NewSession::new(plinth_sessions::Subject::new("us\0er", "alice")),
            NewSession { ip: Some("203.0.113.7\0".into()), ..NewSession::new(user("alice")) },
            NewSession { user_agent: Some("curl\0".into()), ..NewSession::new(user("alice")) },
            NewSession { device_id: Some("\0".into()), ..NewSession::new(user("alice")) },
            NewSession { data: json!({"k": ["x\u{0}"]}), ..NewSession::new(user("alice")) },
            NewSession { data: json!({"k\u{0}": 1}), ..NewSession::new(user("alice")) },
        ];
        for new in bad {
            let err = sessions.create(&ctx(), new.clone()).await;
            assert!(matches!(err, Err(Error::Invalid(_))), "{new:?}: {err:?}");
        }
        let err = sessions.list(&user("al\0ice")).await;
        assert!(matches!(err, Err(Error::Invalid(_))), "{err:?}");
        let err = sessions.revoke_all(&ctx(), &user("al\0ice"), None).await;
        assert!(matches!(err, Err(Error::Invalid(_))), "{err:?}");
        assert!(sessions.list(&user("alice")).await.expect("list").is_empty(), "nothing was stored");

        let (session, _) = sign_in(&sessions, user("alice")).await;
        let err = sessions.update_data(&ctx(), session.id, json!({"k": "\u{0}"})).await;
        assert!(matches!(err, Err(Error::Invalid(_))), "{err:?}");
        assert_eq!(sessions.get(session.id).await.expect("get").data, json!({}));
    }
);

plinth_db::db_test!(
    async fn concurrent_changes_wait_for_each_other(db) {
        let (sessions, _clock) = service(&db).await;
        let (session, _) = sign_in(&sessions, user("alice")).await;
        let holder = hold_row(&db, session.id).await;
        let verify = || {
            let sessions = sessions.clone();
            tokio::spawn(async move { sessions.set_mfa_verified(&ctx(), session.id).await })
        };
        let (a, b) = (verify(), verify());
        wait_for_waiters(&db, 2).await;
        holder.commit().await.expect("release");
        a.await.expect("join").expect("verify");
        b.await.expect("join").expect("verify");
        assert_eq!(topics(&db, session.id).await, ["session.created", "session.mfa_verified"], "recorded once");

        // Data written while another process revokes the session is refused.
        let holder = hold_row(&db, session.id).await;
        holder
            .execute_raw(Statement::from_sql_and_values(
                db.backend().db_backend(),
                "UPDATE sessions_session SET revoked_at = updated_at, revoke_reason = 'revoked' WHERE id = $1",
                [session.id.into()],
            ))
            .await
            .expect("revoke elsewhere");
        let update = {
            let sessions = sessions.clone();
            tokio::spawn(async move { sessions.update_data(&ctx(), session.id, json!({"k": 1})).await })
        };
        wait_for_waiters(&db, 1).await;
        holder.commit().await.expect("commit the revocation");
        let err = update.await.expect("join");
        assert!(matches!(err, Err(Error::Revoked)), "{err:?}");
        assert_eq!(sessions.get(session.id).await.expect("get").data, json!({}));
        assert_eq!(topics(&db, session.id).await, ["session.created", "session.mfa_verified"]);
    }
);

plinth_db::db_test!(
    async fn overlong_subjects_are_refused(db) {
        let (sessions, _clock) = service(&db).await;
        let max = plinth_sessions::session::MAX_SUBJECT_LEN;
        let longest = Subject::new(incompressible(max, 1), incompressible(max, 2));
        let (session, _) = sign_in(&sessions, longest.clone()).await;
        assert_eq!(session.subject, longest, "the longest accepted subject is stored");
        for subject in [
            Subject::new(incompressible(max + 1, 3), "alice"),
            Subject::new("user", incompressible(max + 1, 4)),
        ] {
            let err = sessions.create(&ctx(), NewSession::new(subject.clone())).await;
            assert!(matches!(err, Err(Error::Invalid(_))), "{err:?}");
        }
    }
);
