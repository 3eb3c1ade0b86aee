//! Creating sessions and checking access tokens: expiry, idle timeout,
//! absolute lifetime, activity tracking, malformed tokens and storage.

use crate::common::{START, ctx, service, service_with, sign_in, token_rows, topics, user};
use plinth_events::Events;
use plinth_sessions::{Error, NewSession, SessionConfig, TokenKind};
use serde_json::json;
use time::Duration;

plinth_db::db_test!(
    async fn create_then_authenticate(db) {
        let (sessions, _clock) = service(&db).await;
        let new = NewSession {
            data: json!({"theme": "dark"}),
            ip: Some("198.51.100.4".into()),
            user_agent: Some("curl/8".into()),
            device_id: Some("laptop".into()),
            mfa_verified: true,
            ..NewSession::new(user("alice"))
        };
        let (session, pair) = sessions.create(&ctx(), new).await.expect("create");
        assert!(pair.access_token.starts_with("plsa_"));
        assert!(pair.refresh_token.starts_with("plsr_"));
        assert_eq!(pair.access_expires_at, START + Duration::minutes(15));
        assert_eq!(pair.refresh_expires_at, START + Duration::days(30));
        assert_eq!(session.expires_at, START + Duration::days(90));
        assert_eq!((session.created_at, session.last_active_at), (START, START));

        let auth = sessions.authenticate(&pair.access_token).await.expect("authenticate");
        assert_eq!(auth.session, session);
        assert_eq!(auth.subject(), &user("alice"));
        assert_eq!(auth.expires_at, pair.access_expires_at);
        assert_eq!(auth.session.data, json!({"theme": "dark"}));
        assert_eq!(auth.session.device_id.as_deref(), Some("laptop"));
        assert!(auth.session.mfa_verified);
        assert_eq!(sessions.get(session.id).await.expect("get"), session);
        assert_eq!(topics(&db, session.id).await, ["session.created"]);
        let events = Events::new(db.conn().clone())
            .by_subject("session", &session.id.to_string(), None, 10)
            .await
            .expect("events");
        let created = &events[0];
        assert_eq!(created.actor_id.as_deref(), Some("alice"));
        assert_eq!(created.request_id.as_deref(), Some("req-1"));
        assert_eq!(created.payload["subject_type"], "user");
        assert_eq!(created.payload["subject_id"], "alice");
    }
);

plinth_db::db_test!(
    async fn an_empty_subject_is_refused(db) {
        let (sessions, _clock) = service(&db).await;
        let err = sessions.create(&ctx(), NewSession::new(user(""))).await;
        assert!(matches!(err, Err(Error::Invalid(_))), "{err:?}");
    }
);

plinth_db::db_test!(
    async fn access_tokens_expire(db) {
        let (sessions, clock) = service(&db).await;
        let (_, pair) = sign_in(&sessions, user("alice")).await;
        clock.advance(Duration::minutes(15) - Duration::seconds(1));
        sessions.authenticate(&pair.access_token).await.expect("valid until expiry");
        clock.advance(Duration::seconds(1));
        let err = sessions.authenticate(&pair.access_token).await;
        assert!(matches!(err, Err(Error::Expired)), "{err:?}");

        let next = sessions.refresh(&ctx(), &pair.refresh_token).await.expect("refresh");
        sessions.authenticate(&next.access_token).await.expect("new access token");
    }
);

plinth_db::db_test!(
    async fn idle_sessions_time_out(db) {
        let config = SessionConfig {
            access_token_ttl_secs: 24 * 3600,
            idle_timeout_secs: 3600,
            ..SessionConfig::default()
        };
        let (sessions, clock) = service_with(&db, config).await;
        let (_, pair) = sign_in(&sessions, user("alice")).await;
        // Each use within the hour keeps the session alive.
        for _ in 0..3 {
            clock.advance(Duration::minutes(59));
            sessions.authenticate(&pair.access_token).await.expect("active session");
        }
        clock.advance(Duration::hours(1));
        let err = sessions.authenticate(&pair.access_token).await;
        assert!(matches!(err, Err(Error::SessionExpired)), "{err:?}");
        let err = sessions.refresh(&ctx(), &pair.refresh_token).await;
        assert!(matches!(err, Err(Error::SessionExpired)), "{err:?}");
    }
);

plinth_db::db_test!(
    async fn sessions_end_at_their_absolute_lifetime(db) {
        let config = SessionConfig {
            max_lifetime_secs: 2 * 3600,
            idle_timeout_secs: 0,
            ..SessionConfig::default()
        };
        let (sessions, clock) = service_with(&db, config).await;
        let (session, mut pair) = sign_in(&sessions, user("alice")).await;
        assert_eq!(pair.refresh_expires_at, session.expires_at, "no token outlives its session");
        for _ in 0..7 {
            clock.advance(Duration::minutes(14));
            pair = sessions.refresh(&ctx(), &pair.refresh_token).await.expect("refresh while alive");
            sessions.authenticate(&pair.access_token).await.expect("alive");
            assert!(pair.access_expires_at <= session.expires_at);
        }
        clock.set(session.expires_at);
        let err = sessions.authenticate(&pair.access_token).await;
        assert!(matches!(err, Err(Error::SessionExpired)), "{err:?}");
        let err = sessions.refresh(&ctx(), &pair.refresh_token).await;
        assert!(matches!(err, Err(Error::SessionExpired)), "{err:?}");
    }
);

plinth_db::db_test!(
    async fn activity_is_written_at_most_once_per_interval(db) {
        let (sessions, clock) = service(&db).await;
        let (session, pair) = sign_in(&sessions, user("alice")).await;
        clock.advance(Duration::seconds(30));
        let auth = sessions.authenticate(&pair.access_token).await.expect("authenticate");
        assert_eq!(auth.session.last_active_at, START, "not written within the interval");
        assert_eq!(sessions.get(session.id).await.expect("get").last_active_at, START);

        clock.advance(Duration::seconds(30));
        let auth = sessions.authenticate(&pair.access_token).await.expect("authenticate");
        let touched = START + Duration::seconds(60);
        assert_eq!(auth.session.last_active_at, touched);
        let stored = sessions.get(session.id).await.expect("get");
        assert_eq!(stored.last_active_at, touched);
        assert_eq!(stored.updated_at, session.updated_at, "activity is not a change");
        assert_eq!(topics(&db, session.id).await, ["session.created"], "activity is not an event");
    }
);

plinth_db::db_test!(
    async fn malformed_and_unknown_tokens_are_invalid(db) {
        let (sessions, _clock) = service(&db).await;
        let (_, pair) = sign_in(&sessions, user("alice")).await;
        let secret = &pair.access_token[5..];
        let unknown = format!("plsa_{}", "0".repeat(64));
        let bad = [
            String::new(),
            "plsa_".into(),
            "garbage".into(),
            "Bearer x".into(),
            format!("plsx_{secret}"),
            format!("PLSA_{secret}"),
            format!("plsa_{}", &secret[1..]),
            format!("{}0", pair.access_token),
            format!("plsa_{}", secret.to_uppercase()),
            format!("plsa_{}'; DROP TABLE sessions_token; --", &secret[..30]),
            format!("plsa_{}\0", &secret[1..]),
            "plsa_ééééééééééééééééééééééééééééééééé".into(),
            "x".repeat(100_000),
            pair.refresh_token.clone(),
            unknown,
        ];
        for token in &bad {
            let err = sessions.authenticate(token).await;
            assert!(matches!(err, Err(Error::InvalidToken)), "authenticate {token:?}: {err:?}");
        }
        for token in bad.iter().filter(|t| !t.starts_with("plsr_")).chain([&pair.access_token]) {
            let err = sessions.refresh(&ctx(), token).await;
            assert!(matches!(err, Err(Error::InvalidToken)), "refresh {token:?}: {err:?}");
        }
        sessions.authenticate(&pair.access_token).await.expect("the real token still works");
    }
);

plinth_db::db_test!(
    async fn only_token_hashes_are_stored(db) {
        let (sessions, _clock) = service(&db).await;
        let (session, first) = sign_in(&sessions, user("alice")).await;
        let second = sessions.refresh(&ctx(), &first.refresh_token).await.expect("refresh");
        let rows = token_rows(&db, session.id).await;
        assert_eq!(rows.len(), 4);
        let dump = format!("{rows:?}");
        for token in [&first.access_token, &first.refresh_token, &second.access_token, &second.refresh_token] {
            let secret = &token[5..];
            assert!(!dump.contains(secret), "a token's secret is stored in plaintext");
            let hash = blake3::hash(token.as_bytes()).to_hex().to_string();
            let row = rows.iter().find(|r| r.token_hash == hash).expect("the token's hash is stored");
            let kind = if token.starts_with("plsa_") { TokenKind::Access } else { TokenKind::Refresh };
            assert_eq!(row.kind, kind.as_str());
        }
    }
);
