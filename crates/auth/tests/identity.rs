//! Users, passwords, lockout, sessions, API tokens, clients and roles on both backends.

use plinth_auth::api_tokens::NewApiToken;
use plinth_auth::clients::NewClient;
use plinth_auth::config::{LockoutConfig, PasswordConfig};
use plinth_auth::login::LoginRequest;
use plinth_auth::users::{NewUser, ProfileUpdate};
use plinth_auth::{Auth, AuthConfig, Error, PrincipalKind, Role, ScopeExpr};
use plinth_events::{Context, Events};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

async fn setup(db: &DatabaseConnection) -> Auth {
    setup_with(db, AuthConfig::default()).await
}

async fn setup_with(db: &DatabaseConnection, config: AuthConfig) -> Auth {
    plinth_db::migrate::up(db, &plinth_auth::testing::migrators())
        .await
        .expect("migrate");
    Auth::new(db.clone(), config).await.expect("auth")
}

async fn user(auth: &Auth, name: &str, scopes: &[&str]) -> Uuid {
    let (user, _) = auth
        .create_user(
            &Context::default(),
            NewUser {
                username: name.into(),
                email: format!("{name}@Example.com"),
                name: None,
                password: PASSWORD.into(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            },
        )
        .await
        .expect("create user");
    user.id
}

fn login(name: &str, password: &str) -> LoginRequest {
    LoginRequest {
        login: name.into(),
        password: password.into(),
        mfa_code: None,
        device_id: None,
    }
}

async fn unlock_now(db: &DatabaseConnection, id: Uuid) {
    let past = OffsetDateTime::now_utc() - Duration::seconds(1);
    let mut row: plinth_auth::entity::credential::ActiveModel =
        plinth_auth::entity::credential::Entity::find_by_id(id)
            .one(db)
            .await
            .expect("find")
            .expect("row")
            .into();
    row.locked_until = sea_orm::Set(Some(past));
    sea_orm::ActiveModelTrait::update(row, db).await.expect("unlock");
}

plinth_db::db_test!(
    async fn lockout_backs_off_exponentially(db) {
        let auth = setup(&db).await;
        let id = user(&auth, "alice", &[]).await;
        let ctx = Context::default();
        for _ in 0..4 {
            assert!(matches!(auth.login(&ctx, login("alice", "wrong password!")).await, Err(Error::Unauthenticated(_))));
        }
        // The fifth failure locks for the base time (30 s).
        assert!(matches!(auth.login(&ctx, login("alice", "wrong password!")).await, Err(Error::Unauthenticated(_))));
        match auth.login(&ctx, login("alice", PASSWORD)).await {
            Err(Error::Locked(secs)) => assert!((25..=30).contains(&secs), "{secs}"),
            other => panic!("expected a lock, got {other:?}"),
        }
        // Each further failure doubles the lock.
        unlock_now(&db, id).await;
        assert!(auth.login(&ctx, login("alice", "wrong password!")).await.is_err());
        match auth.login(&ctx, login("alice", PASSWORD)).await {
            Err(Error::Locked(secs)) => assert!((55..=60).contains(&secs), "{secs}"),
            other => panic!("expected a longer lock, got {other:?}"),
        }
        unlock_now(&db, id).await;
        assert!(auth.login(&ctx, login("alice", "wrong password!")).await.is_err());
        match auth.login(&ctx, login("alice", PASSWORD)).await {
            Err(Error::Locked(secs)) => assert!((115..=120).contains(&secs), "{secs}"),
            other => panic!("expected a doubled lock, got {other:?}"),
        }
        // After the lock, the right password works and resets the counter.
        unlock_now(&db, id).await;
        auth.login(&ctx, login("alice@example.com", PASSWORD)).await.expect("login after lock");
        let cred = plinth_auth::entity::credential::Entity::find_by_id(id).one(&*db).await.expect("q").expect("row");
        assert_eq!(cred.failed_login_attempts, 0);
        let events = Events::new(db.conn().clone());
        let history = events.by_subject("user", &id.to_string(), None, 100).await.expect("events");
        assert!(history.iter().any(|e| e.topic == "user.locked"), "lockout is audited");
    }
);

plinth_db::db_test!(
    async fn unknown_accounts_hash_a_dummy_and_fail_alike(db) {
        let auth = setup(&db).await;
        user(&auth, "bob", &[]).await;
        let before = auth.hasher().verifications();
        let unknown = auth.login(&Context::default(), login("nobody", PASSWORD)).await.expect_err("unknown");
        assert_eq!(auth.hasher().verifications(), before + 1, "the unknown path ran one argon2 verification");
        let wrong = auth.login(&Context::default(), login("bob", "wrong password!")).await.expect_err("wrong");
        assert_eq!(auth.hasher().verifications(), before + 2);
        assert_eq!(unknown.to_string(), wrong.to_string(), "same error for unknown and wrong");
    }
);

plinth_db::db_test!(
    async fn passwords_are_rehashed_when_parameters_change(db) {
        let old = setup(&db).await;
        let id = user(&old, "carol", &[]).await;
        let stored = || async {
            plinth_auth::entity::credential::Entity::find_by_id(id).one(&*db).await.expect("q").expect("row").password_hash
        };
        let first = stored().await;
        assert!(first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{first}");
        let stronger = AuthConfig {
            password: PasswordConfig { iterations: 3, ..PasswordConfig::default() },
            ..AuthConfig::default()
        };
        let new = Auth::new(db.conn().clone(), stronger).await.expect("auth");
        new.login(&Context::default(), login("carol", PASSWORD)).await.expect("login");
        let second = stored().await;
        assert!(second.starts_with("$argon2id$v=19$m=19456,t=3,p=1$"), "{second}");
        new.login(&Context::default(), login("carol", PASSWORD)).await.expect("login again");
        assert_eq!(stored().await, second, "no rehash when parameters match");
    }
);

plinth_db::db_test!(
    async fn password_rules_and_bad_input_are_refused(db) {
        let auth = setup(&db).await;
        let ctx = Context::default();
        let new = |name: &str, email: &str, password: &str| NewUser {
            username: name.into(),
            email: email.into(),
            name: None,
            password: password.into(),
            scopes: vec![],
        };
        for bad in [
            new("dave", "not-an-email", PASSWORD),
            new("dave", "dave@example.com", "short"),
            new("dave", "dave@example.com", &"x".repeat(257)),
            new("bad name", "dave@example.com", PASSWORD),
            NewUser { scopes: vec!["queue:**".into()], ..new("dave", "dave@example.com", PASSWORD) },
        ] {
            assert!(matches!(auth.create_user(&ctx, bad).await, Err(Error::Invalid(_))));
        }
        user(&auth, "dave", &[]).await;
        let dup = auth.create_user(&ctx, new("dave2", "DAVE@example.com", PASSWORD)).await;
        assert!(matches!(dup, Err(Error::Conflict(_))), "emails are unique case-insensitively: {dup:?}");
        // An overlong password at login is refused without hashing it.
        let err = auth.login(&ctx, login("dave", &"x".repeat(100_000))).await.expect_err("long");
        assert!(matches!(err, Error::Unauthenticated(_)));
        for garbage in ["", "Bearer", "plsa_nothex", "plat_123", "plcs_", "whatever"] {
            assert!(matches!(auth.authenticate(garbage, None).await, Err(Error::Unauthenticated(_))), "{garbage}");
        }
    }
);

plinth_db::db_test!(
    async fn email_verification_activates_once(db) {
        let auth = setup(&db).await;
        let (created, token) = auth
            .create_user(
                &Context::default(),
                NewUser { username: "erin".into(), email: "erin@example.com".into(), name: None, password: PASSWORD.into(), scopes: vec![] },
            )
            .await
            .expect("create");
        assert_eq!(created.status, "pending_verification");
        let verified = auth.verify_email(&Context::default(), &token).await.expect("verify");
        assert!(verified.email_verified);
        assert_eq!(verified.status, "active");
        assert!(matches!(auth.verify_email(&Context::default(), &token).await, Err(Error::Invalid(_))), "single use");
        assert!(matches!(auth.verify_email(&Context::default(), "plev_garbage").await, Err(Error::Invalid(_))));
    }
);

plinth_db::db_test!(
    async fn verified_users_are_active_at_once_with_no_token_issued(db) {
        let auth = setup(&db).await;
        let ctx = Context::default();
        let new = |name: &str, email: &str| NewUser {
            username: name.into(),
            email: email.into(),
            name: None,
            password: PASSWORD.into(),
            scopes: vec!["*".into()],
        };
        let created = auth.create_verified_user(&ctx, new("gina", "Gina@Example.com")).await.expect("create");
        assert_eq!((created.status.as_str(), created.email_verified), ("active", true));
        assert_eq!(created.email, "gina@example.com");
        let tokens = plinth_auth::entity::email_token::Entity::find().all(&*db).await.expect("tokens");
        assert!(tokens.is_empty(), "no verification token is issued: {tokens:?}");
        let signed_in = auth.login(&ctx, login("gina", PASSWORD)).await.expect("signs in at once");
        assert_eq!(signed_in.user.id, created.id);
        let dup = auth.create_verified_user(&ctx, new("gina2", "GINA@example.com")).await;
        assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
        let bad = auth.create_verified_user(&ctx, new("gina3", "not-an-email")).await;
        assert!(matches!(bad, Err(Error::Invalid(_))), "{bad:?}");
        let users = plinth_auth::entity::user::Entity::find().all(&*db).await.expect("users");
        assert_eq!(users.len(), 1, "refused accounts change nothing");
    }
);

plinth_db::db_test!(
    async fn usernames_differing_only_in_case_name_one_account(db) {
        let auth = setup(&db).await;
        let ctx = Context::default();
        let root = user(&auth, "root", &[]).await;
        let new = |name: &str, email: &str| NewUser {
            username: name.into(),
            email: email.into(),
            name: None,
            password: PASSWORD.into(),
            scopes: vec![],
        };
        let twin = auth.create_user(&ctx, new("Root", "twin@example.com")).await;
        assert!(matches!(twin, Err(Error::Conflict(_))), "{twin:?}");
        let signed_in = auth.login(&ctx, login("ROOT", PASSWORD)).await.expect("any case signs in");
        assert_eq!(signed_in.user.id, root);
        assert!(matches!(auth.login(&ctx, login("rOOT", "wrong password")).await, Err(Error::Unauthenticated(_))));

        // The migration refuses, changing nothing, a database already holding
        // such twins; renamed apart, it applies.
        let migrators = plinth_auth::testing::migrators();
        plinth_db::migrate::down(&db, &migrators, "auth", 1).await.expect("down");
        let other = user(&auth, "other", &[]).await;
        let rename = |to: &str| {
            sea_orm::Statement::from_sql_and_values(
                db.backend().db_backend(),
                "UPDATE auth_user SET username = $1 WHERE id = $2",
                [to.into(), other.into()],
            )
        };
        db.execute_raw(rename("ROOT")).await.expect("twin by hand");
        assert!(plinth_db::migrate::up(&db, &migrators).await.is_err(), "twins block the migration");
        db.execute_raw(rename("other")).await.expect("renamed apart");
        plinth_db::migrate::up(&db, &migrators).await.expect("up");
        let twin = auth.create_user(&ctx, new("OTHER", "twin2@example.com")).await;
        assert!(matches!(twin, Err(Error::Conflict(_))), "{twin:?}");
    }
);

plinth_db::db_test!(
    async fn refresh_rotates_and_logout_everywhere_revokes_all(db) {
        let auth = setup(&db).await;
        let id = user(&auth, "frank", &[]).await;
        let ctx = Context::default();
        let a = auth.login(&ctx, login("frank", PASSWORD)).await.expect("login a");
        let b = auth.login(&ctx, login("frank", PASSWORD)).await.expect("login b");
        let p = auth.authenticate(&a.tokens.access_token, None).await.expect("principal");
        assert_eq!((p.kind, p.user_id), (PrincipalKind::User, Some(id)));
        assert!(p.scopes.contains(&format!("assume:user:{id}")));
        let next = auth.sessions().refresh(&ctx, &a.tokens.refresh_token).await.expect("refresh");
        assert_ne!(next.refresh_token, a.tokens.refresh_token);
        auth.authenticate(&next.access_token, None).await.expect("rotated access works");
        let n = auth.sessions().revoke_all(&ctx, &plinth_sessions::Subject::new("user", id), None).await.expect("revoke all");
        assert_eq!(n, 2);
        for token in [&next.access_token, &b.tokens.access_token] {
            assert!(matches!(auth.authenticate(token, None).await, Err(Error::Unauthenticated(_))));
        }
    }
);

plinth_db::db_test!(
    async fn password_change_revokes_other_sessions(db) {
        let auth = setup(&db).await;
        let id = user(&auth, "grace", &[]).await;
        let ctx = Context::default();
        let keep = auth.login(&ctx, login("grace", PASSWORD)).await.expect("login");
        let other = auth.login(&ctx, login("grace", PASSWORD)).await.expect("login");
        let wrong = auth.change_password(&ctx, id, "not it at all", "a new long password", Some(keep.session.id)).await;
        assert!(matches!(&wrong, Err(Error::WrongProof(m)) if m.contains("current password")), "{wrong:?}");
        auth.authenticate(&other.tokens.access_token, None).await.expect("a refused change revokes nothing");
        auth.change_password(&ctx, id, PASSWORD, "a new long password", Some(keep.session.id)).await.expect("change");
        auth.authenticate(&keep.tokens.access_token, None).await.expect("current session kept");
        assert!(auth.authenticate(&other.tokens.access_token, None).await.is_err(), "other session revoked");
        assert!(auth.login(&ctx, login("grace", PASSWORD)).await.is_err());
        auth.login(&ctx, login("grace", "a new long password")).await.expect("new password works");
    }
);

plinth_db::db_test!(
    async fn api_tokens_carry_at_most_their_owners_scopes(db) {
        let auth = setup(&db).await;
        let id = user(&auth, "heidi", &["files:read:*"]).await;
        let ctx = Context::default();
        let owner = auth.user_scopes(&plinth_auth::entity::user::Entity::find_by_id(id).one(&*db).await.expect("q").expect("u")).await.expect("scopes");
        let ask = |scopes: &[&str]| NewApiToken {
            name: "ci".into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            expires_at: None,
        };
        let over = auth.create_api_token(&ctx, id, &owner, ask(&["queue:*"])).await;
        assert!(matches!(&over, Err(Error::Forbidden(m)) if m == &vec!["queue:*".to_owned()]), "{over:?}");
        let (token, secret) = auth.create_api_token(&ctx, id, &owner, ask(&["files:read:photos"])).await.expect("token");
        assert!(secret.starts_with("plat_"));
        let p = auth.authenticate(&secret, Some("198.51.100.4")).await.expect("principal");
        assert_eq!(p.kind, PrincipalKind::ApiToken);
        assert_eq!(p.scopes, vec!["files:read:photos".to_owned()]);
        assert!(p.satisfies(&ScopeExpr::scope("files:read:photos")));
        assert!(!p.satisfies(&ScopeExpr::scope("files:read:other")));
        let listed = auth.list_api_tokens(id).await.expect("list");
        assert_eq!(listed[0].last_used_ip.as_deref(), Some("198.51.100.4"));
        // Only the hash is stored.
        let row = plinth_auth::entity::api_token::Entity::find_by_id(token.id).one(&*db).await.expect("q").expect("row");
        assert_ne!(row.token_hash, secret);
        assert!(!row.token_hash.contains(&secret[5..]));
        auth.revoke_api_token(&ctx, id, token.id).await.expect("revoke");
        assert!(matches!(auth.authenticate(&secret, None).await, Err(Error::Unauthenticated(_))));
        let past = NewApiToken { expires_at: Some(OffsetDateTime::now_utc() - Duration::hours(1)), ..ask(&[]) };
        assert!(matches!(auth.create_api_token(&ctx, id, &owner, past).await, Err(Error::Invalid(_))));
    }
);

plinth_db::db_test!(
    async fn clients_rotate_disable_and_expand_parameterised_roles(db) {
        let auth = setup_with(&db, AuthConfig { role_cache_ms: 0, ..AuthConfig::default() }).await;
        let ctx = Context::default();
        auth.put_role(&ctx, Role { id: "repo:*".into(), scopes: vec!["repos:push:<..>".into()] }, "repo writers")
            .await
            .expect("role");
        let new = NewClient {
            client_id: "deployer".into(),
            description: "deploys".into(),
            scopes: vec!["assume:repo:acme/site".into()],
            expires_at: None,
            delete_on_expiration: false,
        };
        let (_, secret) = auth.create_client(&ctx, new.clone()).await.expect("client");
        let p = auth.authenticate(&secret, None).await.expect("principal");
        assert_eq!(p.kind, PrincipalKind::Client);
        assert!(p.satisfies(&ScopeExpr::scope("repos:push:acme/site")), "{:?}", p.scopes);
        assert!(!p.satisfies(&ScopeExpr::scope("repos:push:acme/other")));
        assert!(matches!(auth.create_client(&ctx, new.clone()).await, Err(Error::Conflict(_))));
        let bad = NewClient { scopes: vec!["x**".into()], client_id: "other".into(), ..new };
        assert!(matches!(auth.create_client(&ctx, bad).await, Err(Error::Invalid(_))));
        let rotated = auth.rotate_client_secret(&ctx, "deployer").await.expect("rotate");
        assert!(auth.authenticate(&secret, None).await.is_err(), "old secret stops working");
        auth.authenticate(&rotated, None).await.expect("new secret works");
        auth.set_client_disabled(&ctx, "deployer", true).await.expect("disable");
        assert!(auth.authenticate(&rotated, None).await.is_err(), "disabled client refused");
    }
);

plinth_db::db_test!(
    async fn role_changes_reject_cycles_and_reach_other_processes(db) {
        let cfg = AuthConfig { role_cache_ms: 0, ..AuthConfig::default() };
        let one = setup_with(&db, cfg.clone()).await;
        let two = Auth::new(db.conn().clone(), cfg).await.expect("second process");
        let ctx = Context::default();
        let held = vec!["assume:dev".to_owned()];
        assert_eq!(two.expand(&held).await.expect("expand"), held, "no roles yet");
        one.put_role(&ctx, Role { id: "dev".into(), scopes: vec!["assume:ops".into(), "build".into()] }, "").await.expect("dev");
        one.put_role(&ctx, Role { id: "ops".into(), scopes: vec!["deploy".into()] }, "").await.expect("ops");
        assert_eq!(two.expand(&held).await.expect("expand"), ["assume:dev", "assume:ops", "build", "deploy"]);
        let cycle = one.put_role(&ctx, Role { id: "ops".into(), scopes: vec!["assume:dev".into()] }, "").await;
        assert!(matches!(&cycle, Err(Error::Invalid(m)) if m.contains("cycle")), "{cycle:?}");
        let bad = one.put_role(&ctx, Role { id: "x".into(), scopes: vec!["y**".into()] }, "").await;
        assert!(matches!(bad, Err(Error::Invalid(_))));
        assert_eq!(two.expand(&held).await.expect("expand"), ["assume:dev", "assume:ops", "build", "deploy"], "refused changes left nothing");
        assert!(one.delete_role(&ctx, "ops").await.expect("delete"));
        assert_eq!(two.expand(&held).await.expect("expand"), ["assume:dev", "assume:ops", "build"]);
        let n: i64 = db
            .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) AS n FROM events_event WHERE topic LIKE 'role.%'"))
            .await
            .expect("q")
            .expect("row")
            .try_get("", "n")
            .expect("n");
        assert_eq!(n, 3, "every accepted role change is audited");
    }
);

plinth_db::db_test!(
    async fn concurrent_failed_sign_ins_are_all_counted(db) {
        const N: u32 = 16;
        let config = AuthConfig {
            password: PasswordConfig { memory_kib: 64, iterations: 1, hash_concurrency: 8, ..PasswordConfig::default() },
            lockout: LockoutConfig { threshold: N, ..LockoutConfig::default() },
            ..AuthConfig::default()
        };
        let auth = setup_with(&db, config).await;
        let id = user(&auth, "ivan", &[]).await;
        let attempts: Vec<_> = (0..N)
            .map(|_| {
                let auth = auth.clone();
                tokio::spawn(async move { auth.login(&Context::default(), login("ivan", "wrong password!")).await })
            })
            .collect();
        for attempt in attempts {
            let result = attempt.await.expect("join");
            assert!(matches!(result, Err(Error::Unauthenticated(_))), "{result:?}");
        }
        let cred = plinth_auth::entity::credential::Entity::find_by_id(id).one(&*db).await.expect("q").expect("row");
        assert_eq!(cred.failed_login_attempts, i32::try_from(N).expect("n"), "no failure was lost");
        // The lock follows from the counted failures: the threshold was reached.
        let until = cred.locked_until.expect("locked") - OffsetDateTime::now_utc();
        assert!(until > Duration::seconds(20) && until <= Duration::seconds(30), "{until}");
        assert!(matches!(auth.login(&Context::default(), login("ivan", PASSWORD)).await, Err(Error::Locked(_))));
    }
);

plinth_db::db_test!(
    async fn concurrent_writers_all_succeed(db) {
        const N: usize = 12;
        let config = AuthConfig {
            password: PasswordConfig { memory_kib: 64, iterations: 1, hash_concurrency: 8, ..PasswordConfig::default() },
            ..AuthConfig::default()
        };
        let auth = setup_with(&db, config).await;
        let ctx = Context::default();
        let signups: Vec<_> = (0..N)
            .map(|i| {
                let auth = auth.clone();
                tokio::spawn(async move { user(&auth, &format!("user{i}"), &[]).await })
            })
            .collect();
        let mut ids = Vec::new();
        for signup in signups {
            ids.push(signup.await.expect("every sign-up succeeds"));
        }
        // Each account reads before it writes: creating tokens, changing profiles and passwords at once.
        let id = ids[0];
        let writes: Vec<_> = (0..N)
            .map(|i| {
                let (auth, mine) = (auth.clone(), ids[i]);
                tokio::spawn(async move {
                    let ctx = Context::default();
                    let token = NewApiToken { name: format!("t{i}"), scopes: vec![], expires_at: None };
                    auth.create_api_token(&ctx, id, &[], token).await.map(|_| ())?;
                    let change = ProfileUpdate { name: Some(format!("Name {i}")), ..ProfileUpdate::default() };
                    auth.update_profile(&ctx, mine, change).await.map(|_| ())?;
                    auth.set_password(&ctx, mine, "another long password", false).await
                })
            })
            .collect();
        for write in writes {
            write.await.expect("join").expect("every write succeeds");
        }
        assert_eq!(auth.list_api_tokens(id).await.expect("tokens").len(), N);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(auth.get_user(*id).await.expect("user").name, format!("Name {i}"));
        }
        auth.login(&ctx, login("user3", "another long password")).await.expect("new password");
    }
);
