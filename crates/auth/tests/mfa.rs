//! TOTP enrolment, sign-in with a second factor, recovery codes and disabling, on both backends.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use plinth_auth::login::LoginRequest;
use plinth_auth::mfa::{MfaConfig, MfaKey, RECOVERY_CODES};
use plinth_auth::users::NewUser;
use plinth_auth::{Auth, AuthConfig, Error};
use plinth_events::{Context, Events};
use sea_orm::{DatabaseConnection, EntityTrait};
use totp_rs::Totp;

#[path = "common/totp.rs"]
mod totp;
use totp::{authenticator, now, wrong_code};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

fn with_key() -> AuthConfig {
    let key = MfaKey::from_base64(&STANDARD.encode([42u8; 32])).expect("key");
    AuthConfig {
        mfa: MfaConfig {
            key: Some(key),
            ..MfaConfig::default()
        },
        ..AuthConfig::default()
    }
}

async fn setup(db: &DatabaseConnection) -> (Auth, Uuid) {
    plinth_db::migrate::up(db, &plinth_auth::testing::migrators())
        .await
        .expect("migrate");
    let auth = Auth::new(db.clone(), with_key()).await.expect("auth");
    let new = NewUser {
        username: "alice".into(),
        email: "alice@example.com".into(),
        name: None,
        password: PASSWORD.into(),
        scopes: vec![],
    };
    let id = auth
        .create_user(&Context::default(), new)
        .await
        .expect("user")
        .0
        .id;
    (auth, id)
}

fn login(code: Option<&str>) -> LoginRequest {
    LoginRequest {
        login: "alice".into(),
        password: PASSWORD.into(),
        mfa_code: code.map(str::to_owned),
        device_id: None,
    }
}

/// Enrols the user; returns the authenticator and the recovery codes.
async fn enrol(auth: &Auth, id: Uuid) -> (Totp, Vec<String>) {
    let ctx = Context::default();
    let enrollment = auth.begin_mfa_enrollment(&ctx, id).await.expect("begin");
    let totp = authenticator(&enrollment.secret);
    let codes = auth
        .confirm_mfa_enrollment(&ctx, id, &totp.generate(now()).to_string())
        .await
        .expect("confirm");
    (totp, codes)
}

async fn credential(db: &DatabaseConnection, id: Uuid) -> plinth_auth::entity::credential::Model {
    plinth_auth::entity::credential::Entity::find_by_id(id)
        .one(db)
        .await
        .expect("q")
        .expect("row")
}

plinth_db::db_test!(
    async fn enrolment_needs_a_key_and_a_confirming_code(db) {
        let (auth, id) = setup(&db).await;
        let ctx = Context::default();
        let keyless = Auth::new(db.conn().clone(), AuthConfig::default()).await.expect("auth");
        let refused = keyless.begin_mfa_enrollment(&ctx, id).await;
        assert!(matches!(&refused, Err(Error::Conflict(m)) if m.contains("no MFA key")), "{refused:?}");
        let none = auth.confirm_mfa_enrollment(&ctx, id, "123456").await;
        assert!(matches!(none, Err(Error::Conflict(_))), "nothing to confirm yet");

        let enrollment = auth.begin_mfa_enrollment(&ctx, id).await.expect("begin");
        assert!(enrollment.otpauth_uri.starts_with("otpauth://totp/Plinth:alice?secret="), "{}", enrollment.otpauth_uri);
        assert!(enrollment.otpauth_uri.contains(&enrollment.secret));
        let totp = authenticator(&enrollment.secret);
        let status = auth.mfa_status(id).await.expect("status");
        assert!(!status.enabled && status.enrollment_pending);
        // Not enabled until confirmed: sign-in needs no code yet.
        let signed_in = auth.login(&ctx, login(None)).await.expect("login");
        assert!(!auth.authenticate(&signed_in.tokens.access_token, None).await.expect("principal").mfa_verified);

        // The secret is stored encrypted: neither its base32 nor its bytes appear.
        let stored = credential(&db, id).await.mfa_secret_encrypted.expect("stored");
        let raw = totp.secret().as_bytes().to_vec();
        assert!(!stored.contains(&enrollment.secret));
        assert!(!stored.contains(&STANDARD.encode(&raw)));
        let sealed = STANDARD.decode(&stored).expect("base64");
        assert_eq!(sealed.len(), 24 + raw.len() + 16, "nonce, ciphertext and tag");
        assert!(!sealed.windows(raw.len()).any(|w| w == raw.as_slice()));

        let wrong = auth.confirm_mfa_enrollment(&ctx, id, &wrong_code(&totp)).await;
        assert!(matches!(wrong, Err(Error::Invalid(_))), "{wrong:?}");
        assert!(!auth.mfa_status(id).await.expect("status").enabled, "a wrong code enables nothing");
        let codes = auth.confirm_mfa_enrollment(&ctx, id, &totp.generate(now()).to_string()).await.expect("confirm");
        assert_eq!(codes.len(), RECOVERY_CODES);
        let status = auth.mfa_status(id).await.expect("status");
        assert!(status.enabled && !status.enrollment_pending);
        assert_eq!(status.recovery_codes_left, RECOVERY_CODES);
        let hashes = credential(&db, id).await.mfa_recovery_codes_hash.to_string();
        assert!(codes.iter().all(|c| !hashes.contains(c.as_str())), "recovery codes are stored hashed");
        assert!(matches!(auth.begin_mfa_enrollment(&ctx, id).await, Err(Error::Conflict(_))), "already enabled");
    }
);

plinth_db::db_test!(
    async fn sign_in_requires_a_fresh_code_and_marks_the_session(db) {
        let (auth, id) = setup(&db).await;
        let ctx = Context::default();
        let enrolled_at = now();
        let (totp, _) = enrol(&auth, id).await;
        let missing = auth.login(&ctx, login(None)).await;
        assert!(matches!(&missing, Err(Error::Unauthenticated(m)) if m.contains("required")), "{missing:?}");
        assert!(matches!(auth.login(&ctx, login(Some(&wrong_code(&totp)))).await, Err(Error::Unauthenticated(_))));
        // The code that confirmed enrolment was used; its time step cannot be used again.
        let reused = totp.generate(enrolled_at).to_string();
        assert!(matches!(auth.login(&ctx, login(Some(&reused))).await, Err(Error::Unauthenticated(_))));

        let next = totp.generate(now() + 30).to_string();
        let signed_in = auth.login(&ctx, login(Some(&next))).await.expect("login with code");
        let principal = auth.authenticate(&signed_in.tokens.access_token, None).await.expect("principal");
        assert!(principal.mfa_verified);
        assert!(matches!(auth.login(&ctx, login(Some(&next))).await, Err(Error::Unauthenticated(_))), "no replay");

        let events = Events::new(db.conn().clone()).by_subject("user", &id.to_string(), None, 100).await.expect("events");
        assert_eq!(events.iter().filter(|e| e.topic == "user.mfa_failed").count(), 3, "wrong and reused codes are audited");
    }
);

plinth_db::db_test!(
    async fn recovery_codes_are_single_use_and_disabling_needs_a_code(db) {
        let (auth, id) = setup(&db).await;
        let ctx = Context::default();
        let (totp, codes) = enrol(&auth, id).await;
        // Typed loosely: upper case, no dash, surrounding space.
        let typed = format!(" {} ", codes[0].replace('-', "").to_uppercase());
        let signed_in = auth.login(&ctx, login(Some(&typed))).await.expect("recovery code");
        assert!(auth.authenticate(&signed_in.tokens.access_token, None).await.expect("principal").mfa_verified);
        assert!(matches!(auth.login(&ctx, login(Some(&codes[0]))).await, Err(Error::Unauthenticated(_))), "used up");
        assert_eq!(auth.mfa_status(id).await.expect("status").recovery_codes_left, RECOVERY_CODES - 1);

        // New codes replace the old ones.
        let fresh = auth.regenerate_recovery_codes(&ctx, id, &codes[1]).await.expect("regenerate");
        assert_eq!(auth.mfa_status(id).await.expect("status").recovery_codes_left, RECOVERY_CODES);
        assert!(matches!(auth.login(&ctx, login(Some(&codes[2]))).await, Err(Error::Unauthenticated(_))), "old codes are void");

        let wrong = auth.disable_mfa(&ctx, id, &wrong_code(&totp)).await;
        assert!(matches!(wrong, Err(Error::Invalid(_))), "{wrong:?}");
        assert!(auth.mfa_status(id).await.expect("status").enabled);
        auth.disable_mfa(&ctx, id, &fresh[0]).await.expect("disable");
        let cred = credential(&db, id).await;
        assert!(!cred.mfa_enabled && cred.mfa_secret_encrypted.is_none());
        assert_eq!(cred.mfa_recovery_codes_hash, serde_json::json!([]));
        let signed_in = auth.login(&ctx, login(None)).await.expect("no code needed");
        assert!(!auth.authenticate(&signed_in.tokens.access_token, None).await.expect("principal").mfa_verified);
        assert!(matches!(auth.disable_mfa(&ctx, id, &fresh[1]).await, Err(Error::Conflict(_))), "not enabled");
        // Enrolling again works, and the new secret's codes are accepted at once.
        enrol(&auth, id).await;
    }
);

plinth_db::db_test!(
    async fn wrong_codes_at_sign_in_count_towards_the_lockout(db) {
        let (auth, id) = setup(&db).await;
        let ctx = Context::default();
        let (totp, _) = enrol(&auth, id).await;
        // A missing code is the first step of a two-step sign-in, not a failure.
        for _ in 0..6 {
            let missing = auth.login(&ctx, login(None)).await;
            assert!(matches!(&missing, Err(Error::Unauthenticated(m)) if m.contains("required")), "{missing:?}");
        }
        assert_eq!(credential(&db, id).await.failed_login_attempts, 0);
        // Wrong TOTP and recovery codes count like wrong passwords.
        for code in [wrong_code(&totp), "aaaaa-aaaaa".to_owned(), wrong_code(&totp), "bbbbb-bbbbb".to_owned()] {
            assert!(matches!(auth.login(&ctx, login(Some(&code))).await, Err(Error::Unauthenticated(_))), "{code}");
        }
        let cred = credential(&db, id).await;
        assert_eq!((cred.failed_login_attempts, cred.locked_until), (4, None));
        // The fifth locks the account: then even a valid code is refused.
        assert!(matches!(auth.login(&ctx, login(Some(&wrong_code(&totp)))).await, Err(Error::Unauthenticated(_))));
        let cred = credential(&db, id).await;
        assert_eq!(cred.failed_login_attempts, 5);
        assert!(cred.locked_until.is_some());
        let valid = totp.generate(now() + 30).to_string();
        assert!(matches!(auth.login(&ctx, login(Some(&valid))).await, Err(Error::Locked(_))));
        let events = Events::new(db.conn().clone()).by_subject("user", &id.to_string(), None, 100).await.expect("events");
        let count = |topic: &str| events.iter().filter(|e| e.topic == topic).count();
        assert_eq!((count("user.mfa_failed"), count("user.login_failed"), count("user.locked")), (5, 4, 1));
    }
);
