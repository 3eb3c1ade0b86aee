//! Organisations, invitations, teams and MFA over HTTP against a real
//! database: who may do what (403), the last owner (409), and bad input
//! answered with problem+json, never a 500.

use actix_web::http::{StatusCode, header};
use actix_web::{App, test, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use plinth_auth::mfa::{MfaConfig, MfaKey, RECOVERY_CODES};
use plinth_auth::rate_limit::{EndpointLimits, Rate, RateLimitConfig};
use plinth_auth::users::NewUser;
use plinth_auth::{Auth, AuthConfig};
use plinth_events::Context;
use serde_json::{Value, json};

#[path = "common/totp.rs"]
mod totp;
use totp::{authenticator, now, wrong_code};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

fn config() -> AuthConfig {
    AuthConfig {
        role_cache_ms: 0,
        mfa: MfaConfig {
            key: Some(MfaKey::from_base64(&STANDARD.encode([7u8; 32])).expect("key")),
            ..MfaConfig::default()
        },
        ..AuthConfig::default()
    }
}

/// The users of every test.
struct Users {
    olivia: Uuid,
    pat: Uuid,
    quinn: Uuid,
}

async fn auth_with(db: &sea_orm::DatabaseConnection, config: AuthConfig) -> (Auth, Users) {
    plinth_db::migrate::up(db, &plinth_auth::testing::migrators())
        .await
        .expect("migrate");
    let auth = Auth::new(db.clone(), config).await.expect("auth");
    let mut ids = Vec::new();
    for (name, scopes) in [
        ("root", vec!["*".to_owned()]),
        ("olivia", vec![]),
        ("pat", vec![]),
        ("quinn", vec![]),
    ] {
        let (user, _) = auth
            .create_user(
                &Context::default(),
                NewUser {
                    username: name.into(),
                    email: format!("{name}@example.com"),
                    name: None,
                    password: PASSWORD.into(),
                    scopes,
                },
            )
            .await
            .expect("user");
        ids.push(user.id);
    }
    let users = Users {
        olivia: ids[1],
        pat: ids[2],
        quinn: ids[3],
    };
    (auth, users)
}

macro_rules! app {
    ($auth:expr) => {
        test::init_service(
            App::new()
                .app_data(web::Data::new($auth.clone()))
                .configure(|cfg| plinth_db::problem::configure_extractors(cfg, 64 * 1024))
                .service(web::scope("/v1").configure(plinth_auth::http::configure)),
        )
        .await
    };
}

trait Service:
    actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
    >
{
}

impl<S> Service for S where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >
{
}

async fn call(app: &impl Service, req: test::TestRequest) -> (StatusCode, header::HeaderMap, Value) {
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = test::read_body(res).await;
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(
            headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "errors are problem+json: {status} {json}"
        );
        assert!(json["detail"].is_string() && json["type"].is_string(), "{json}");
    }
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{json}");
    (status, headers, json)
}

/// Calls and checks the status, returning the body.
async fn expect(app: &impl Service, req: test::TestRequest, expected: StatusCode) -> Value {
    let (status, _, body) = call(app, req).await;
    assert_eq!(status, expected, "{body}");
    body
}

async fn login(app: &impl Service, who: &str, mfa_code: Option<&str>) -> (StatusCode, Value) {
    let (status, _, body) = call(
        app,
        test::TestRequest::post()
            .uri("/v1/auth/login")
            .set_json(json!({"login": who, "password": PASSWORD, "mfa_code": mfa_code})),
    )
    .await;
    (status, body)
}

async fn sign_in(app: &impl Service, who: &str) -> String {
    let (status, body) = login(app, who, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["tokens"]["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

fn get(uri: &str, token: &str) -> test::TestRequest {
    test::TestRequest::get().uri(uri).insert_header(bearer(token))
}

fn post(uri: &str, token: &str, body: Value) -> test::TestRequest {
    test::TestRequest::post()
        .uri(uri)
        .insert_header(bearer(token))
        .set_json(body)
}

fn put(uri: &str, token: &str, body: Value) -> test::TestRequest {
    test::TestRequest::put()
        .uri(uri)
        .insert_header(bearer(token))
        .set_json(body)
}

fn delete(uri: &str, token: &str) -> test::TestRequest {
    test::TestRequest::delete().uri(uri).insert_header(bearer(token))
}

fn bearer(token: &str) -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer {token}"))
}

/// The user ids in a `{"members": [...]}` body, with their roles.
fn members(body: &Value) -> Vec<(String, String)> {
    body["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().expect("user_id").to_owned(),
                m["role"].as_str().expect("role").to_owned(),
            )
        })
        .collect()
}

fn member(id: Uuid, role: &str) -> (String, String) {
    (id.to_string(), role.to_owned())
}

/// Olivia creates `acme` and adds pat as a plain member; returns their tokens.
async fn acme_with_pat(app: &impl Service, users: &Users) -> (String, String) {
    let olivia = sign_in(app, "olivia").await;
    let pat = sign_in(app, "pat").await;
    expect(
        app,
        post("/v1/orgs", &olivia, json!({"name": "acme"})),
        StatusCode::CREATED,
    )
    .await;
    expect(
        app,
        post(
            "/v1/orgs/acme/members",
            &olivia,
            json!({"user_id": users.pat, "role": "member"}),
        ),
        StatusCode::CREATED,
    )
    .await;
    (olivia, pat)
}

plinth_db::db_test!(
    async fn the_owner_invites_and_the_invitee_accepts(db) {
        let (auth, users) = auth_with(&db, config()).await;
        let app = app!(auth);
        let olivia = sign_in(&app, "olivia").await;
        let pat = sign_in(&app, "pat").await;

        let org = expect(&app, post("/v1/orgs", &olivia, json!({"name": "acme", "display_name": "Acme Ltd"})), StatusCode::CREATED).await;
        assert_eq!(org["name"], "acme");
        assert_eq!(org["display_name"], "Acme Ltd");
        expect(&app, post("/v1/orgs", &pat, json!({"name": "acme"})), StatusCode::CONFLICT).await;
        let mine = expect(&app, get("/v1/orgs", &olivia), StatusCode::OK).await;
        assert_eq!(mine["orgs"][0]["org"]["name"], "acme");
        assert_eq!(mine["orgs"][0]["role"], "owner");
        assert_eq!(expect(&app, get("/v1/orgs", &pat), StatusCode::OK).await["orgs"], json!([]));

        // Before accepting, pat is a stranger to acme.
        let body = expect(&app, get("/v1/orgs/acme", &pat), StatusCode::FORBIDDEN).await;
        assert_eq!(body["missing_scopes"], json!(["auth:read-org:acme"]));

        let body = expect(&app, post("/v1/orgs/acme/invitations", &olivia, json!({"email": "Pat@Example.com"})), StatusCode::CREATED).await;
        let token = body["token"].as_str().expect("token").to_owned();
        assert!(token.starts_with("plin_"), "{token}");
        assert_eq!(body["invitation"]["email"], "pat@example.com");
        assert_eq!(body["invitation"]["role"], "member");
        expect(&app, post("/v1/orgs/acme/invitations", &olivia, json!({"email": "pat@example.com"})), StatusCode::CONFLICT).await;
        let pending = expect(&app, get("/v1/orgs/acme/invitations", &olivia), StatusCode::OK).await;
        assert_eq!(pending["invitations"].as_array().map(Vec::len), Some(1));
        assert!(!pending.to_string().contains(&token) && pending["invitations"][0].get("token_hash").is_none());

        // Only the invited address can accept.
        let quinn = sign_in(&app, "quinn").await;
        expect(&app, post("/v1/invitations/accept", &quinn, json!({"token": token})), StatusCode::UNPROCESSABLE_ENTITY).await;
        // A refused attempt does not use the invitation up.
        let joined = expect(&app, post("/v1/invitations/accept", &pat, json!({"token": token})), StatusCode::OK).await;
        assert_eq!(joined["user_id"], users.pat.to_string());
        assert_eq!(joined["role"], "member");
        assert_eq!(joined["invited_by"], users.olivia.to_string());
        let list = expect(&app, get("/v1/orgs/acme/members", &pat), StatusCode::OK).await;
        assert_eq!(members(&list), vec![member(users.olivia, "owner"), member(users.pat, "member")]);
        assert_eq!(expect(&app, get("/v1/orgs/acme", &pat), StatusCode::OK).await["name"], "acme");
        assert_eq!(expect(&app, get("/v1/orgs", &pat), StatusCode::OK).await["orgs"][0]["role"], "member");
        // Used up: neither accepted again nor declined.
        expect(&app, post("/v1/invitations/accept", &pat, json!({"token": token})), StatusCode::UNPROCESSABLE_ENTITY).await;
        expect(&app, test::TestRequest::post().uri("/v1/invitations/decline").set_json(json!({"token": token})), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(expect(&app, get("/v1/orgs/acme/invitations", &olivia), StatusCode::OK).await["invitations"], json!([]));

        // Declining needs only the token; a declined invitation cannot be accepted.
        let body = expect(&app, post("/v1/orgs/acme/invitations", &olivia, json!({"email": "quinn@example.com", "role": "admin"})), StatusCode::CREATED).await;
        let token = body["token"].as_str().expect("token").to_owned();
        let declined = expect(&app, test::TestRequest::post().uri("/v1/invitations/decline").set_json(json!({"token": token})), StatusCode::OK).await;
        assert!(declined["declined_at"].is_string(), "{declined}");
        expect(&app, post("/v1/invitations/accept", &quinn, json!({"token": token})), StatusCode::UNPROCESSABLE_ENTITY).await;

        // A pending invitation can be withdrawn, once.
        let body = expect(&app, post("/v1/orgs/acme/invitations", &olivia, json!({"email": "someone@example.com"})), StatusCode::CREATED).await;
        let id = body["invitation"]["id"].as_str().expect("id").to_owned();
        let token = body["token"].as_str().expect("token").to_owned();
        expect(&app, delete(&format!("/v1/orgs/acme/invitations/{id}"), &pat), StatusCode::FORBIDDEN).await;
        expect(&app, delete(&format!("/v1/orgs/acme/invitations/{id}"), &olivia), StatusCode::NO_CONTENT).await;
        expect(&app, delete(&format!("/v1/orgs/acme/invitations/{id}"), &olivia), StatusCode::NOT_FOUND).await;
        expect(&app, test::TestRequest::post().uri("/v1/invitations/decline").set_json(json!({"token": token})), StatusCode::UNPROCESSABLE_ENTITY).await;

        // Accepting needs a signed-in user.
        let (status, _, _) = call(&app, test::TestRequest::post().uri("/v1/invitations/accept").set_json(json!({"token": token}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
);

plinth_db::db_test!(
    async fn members_cannot_manage_and_the_last_owner_stays(db) {
        let (auth, users) = auth_with(&db, config()).await;
        let app = app!(auth);
        let (olivia, pat) = acme_with_pat(&app, &users).await;
        let quinn = sign_in(&app, "quinn").await;

        // A plain member reads but cannot manage.
        expect(&app, get("/v1/orgs/acme/members", &pat), StatusCode::OK).await;
        let body = expect(&app, post("/v1/orgs/acme/members", &pat, json!({"user_id": users.quinn})), StatusCode::FORBIDDEN).await;
        assert_eq!(body["missing_scopes"], json!(["auth:manage-org:acme"]));
        assert!(body["detail"].as_str().is_some_and(|d| d.contains("owners and admins")), "{body}");
        expect(&app, put(&format!("/v1/orgs/acme/members/{}", users.pat), &pat, json!({"role": "admin"})), StatusCode::FORBIDDEN).await;
        expect(&app, delete(&format!("/v1/orgs/acme/members/{}", users.olivia), &pat), StatusCode::FORBIDDEN).await;
        expect(&app, post("/v1/orgs/acme/invitations", &pat, json!({"email": "x@example.com"})), StatusCode::FORBIDDEN).await;
        expect(&app, get("/v1/orgs/acme/invitations", &pat), StatusCode::FORBIDDEN).await;
        // A stranger cannot even read; an unknown organisation is 404.
        let body = expect(&app, get("/v1/orgs/acme/members", &quinn), StatusCode::FORBIDDEN).await;
        assert_eq!(body["missing_scopes"], json!(["auth:read-org:acme"]));
        expect(&app, get("/v1/orgs/nowhere", &quinn), StatusCode::NOT_FOUND).await;

        // An admin manages members but not owners.
        let promoted = expect(&app, put(&format!("/v1/orgs/acme/members/{}", users.pat), &olivia, json!({"role": "admin"})), StatusCode::OK).await;
        assert_eq!(promoted["role"], "admin");
        expect(&app, post("/v1/orgs/acme/members", &pat, json!({"user_id": users.quinn})), StatusCode::CREATED).await;
        expect(&app, post("/v1/orgs/acme/members", &pat, json!({"user_id": users.quinn})), StatusCode::CONFLICT).await;
        let body = expect(&app, put(&format!("/v1/orgs/acme/members/{}", users.quinn), &pat, json!({"role": "owner"})), StatusCode::FORBIDDEN).await;
        assert!(body["detail"].as_str().is_some_and(|d| d.contains("owner role")), "{body}");
        expect(&app, put(&format!("/v1/orgs/acme/members/{}", users.pat), &pat, json!({"role": "owner"})), StatusCode::FORBIDDEN).await;
        expect(&app, put(&format!("/v1/orgs/acme/members/{}", users.olivia), &pat, json!({"role": "member"})), StatusCode::FORBIDDEN).await;
        expect(&app, delete(&format!("/v1/orgs/acme/members/{}", users.olivia), &pat), StatusCode::FORBIDDEN).await;
        expect(&app, post("/v1/orgs/acme/invitations", &pat, json!({"email": "x@example.com", "role": "owner"})), StatusCode::FORBIDDEN).await;
        expect(&app, put(&format!("/v1/orgs/acme/members/{}", users.quinn), &pat, json!({"role": "billing"})), StatusCode::OK).await;

        // The last owner can neither leave, nor be demoted, nor be removed.
        for req in [
            post("/v1/orgs/acme/leave", &olivia, json!({})),
            put(&format!("/v1/orgs/acme/members/{}", users.olivia), &olivia, json!({"role": "admin"})),
            delete(&format!("/v1/orgs/acme/members/{}", users.olivia), &olivia),
        ] {
            let body = expect(&app, req, StatusCode::CONFLICT).await;
            assert!(body["detail"].as_str().is_some_and(|d| d.contains("last owner")), "{body}");
        }
        // With a second owner, the first may step down.
        expect(&app, put(&format!("/v1/orgs/acme/members/{}", users.pat), &olivia, json!({"role": "owner"})), StatusCode::OK).await;
        expect(&app, put(&format!("/v1/orgs/acme/members/{}", users.olivia), &olivia, json!({"role": "admin"})), StatusCode::OK).await;
        expect(&app, post("/v1/orgs/acme/leave", &pat, json!({})), StatusCode::CONFLICT).await;

        // Holders of auth:manage-org:acme manage without being members; they may touch owners.
        let root = sign_in(&app, "root").await;
        expect(&app, get("/v1/orgs/acme", &root), StatusCode::OK).await;
        expect(&app, put(&format!("/v1/orgs/acme/members/{}", users.quinn), &root, json!({"role": "owner"})), StatusCode::OK).await;
        expect(&app, delete(&format!("/v1/orgs/acme/members/{}", users.quinn), &root), StatusCode::NO_CONTENT).await;
        expect(&app, delete(&format!("/v1/orgs/acme/members/{}", users.quinn), &root), StatusCode::NOT_FOUND).await;

        // An API token acts through its scopes only, not its owner's membership.
        let body = expect(&app, post("/v1/users/me/api-tokens", &pat, json!({"name": "ci", "scopes": []})), StatusCode::CREATED).await;
        let token = body["secret"].as_str().expect("secret").to_owned();
        expect(&app, get("/v1/orgs/acme/members", &token), StatusCode::FORBIDDEN).await;
        expect(&app, post("/v1/orgs/acme/members", &token, json!({"user_id": users.quinn})), StatusCode::FORBIDDEN).await;
        let body = expect(&app, post("/v1/orgs", &token, json!({"name": "tokenorg"})), StatusCode::FORBIDDEN).await;
        assert_eq!(body["type"], "urn:plinth:problem:session-required");
        // So does a client.
        let client = plinth_auth::testing::bearer_with_scopes(db.conn(), &["auth:read-org:acme"]).await.expect("client");
        expect(&app, get("/v1/orgs/acme/members", &client), StatusCode::OK).await;
        expect(&app, get("/v1/orgs/acme/teams", &client), StatusCode::OK).await;
        expect(&app, post("/v1/orgs/acme/teams", &client, json!({"name": "x"})), StatusCode::FORBIDDEN).await;

        // Olivia (now admin) leaves; she is no longer let in.
        expect(&app, post("/v1/orgs/acme/leave", &olivia, json!({})), StatusCode::NO_CONTENT).await;
        expect(&app, post("/v1/orgs/acme/leave", &olivia, json!({})), StatusCode::NOT_FOUND).await;
        expect(&app, get("/v1/orgs/acme", &olivia), StatusCode::FORBIDDEN).await;
        let list = expect(&app, get("/v1/orgs/acme/members", &pat), StatusCode::OK).await;
        assert_eq!(members(&list), vec![member(users.pat, "owner")]);
    }
);

plinth_db::db_test!(
    async fn teams_over_http(db) {
        let (auth, users) = auth_with(&db, config()).await;
        let app = app!(auth);
        let (olivia, pat) = acme_with_pat(&app, &users).await;

        let team = expect(&app, post("/v1/orgs/acme/teams", &olivia, json!({"name": "core", "description": "The core team"})), StatusCode::CREATED).await;
        assert_eq!(team["name"], "core");
        expect(&app, post("/v1/orgs/acme/teams", &olivia, json!({"name": "core"})), StatusCode::CONFLICT).await;
        expect(&app, post("/v1/orgs/acme/teams", &pat, json!({"name": "rogue"})), StatusCode::FORBIDDEN).await;
        let teams = expect(&app, get("/v1/orgs/acme/teams", &pat), StatusCode::OK).await;
        assert_eq!(teams["teams"].as_array().map(Vec::len), Some(1));

        let uri = format!("/v1/orgs/acme/teams/core/members/{}", users.pat);
        expect(&app, put(&uri, &pat, json!({})), StatusCode::FORBIDDEN).await;
        let added = expect(&app, put(&uri, &olivia, json!({"role": "maintainer"})), StatusCode::OK).await;
        assert_eq!(added["role"], "maintainer");
        expect(&app, put(&uri, &olivia, json!({"role": "maintainer"})), StatusCode::OK).await;
        expect(&app, put(&uri, &olivia, json!({})), StatusCode::CONFLICT).await;
        // Only members of the organisation join its teams.
        let stranger = format!("/v1/orgs/acme/teams/core/members/{}", users.quinn);
        expect(&app, put(&stranger, &olivia, json!({})), StatusCode::UNPROCESSABLE_ENTITY).await;
        expect(&app, delete(&stranger, &olivia), StatusCode::NOT_FOUND).await;
        expect(&app, put("/v1/orgs/acme/teams/nope/members/00000000-0000-0000-0000-000000000000", &olivia, json!({})), StatusCode::NOT_FOUND).await;
        let list = expect(&app, get("/v1/orgs/acme/teams/core/members", &pat), StatusCode::OK).await;
        assert_eq!(members(&list), vec![member(users.pat, "maintainer")]);

        expect(&app, delete(&uri, &pat), StatusCode::FORBIDDEN).await;
        expect(&app, delete(&uri, &olivia), StatusCode::NO_CONTENT).await;
        expect(&app, put(&uri, &olivia, json!({})), StatusCode::OK).await;
        // Leaving the organisation leaves its teams.
        expect(&app, post("/v1/orgs/acme/leave", &pat, json!({})), StatusCode::NO_CONTENT).await;
        let list = expect(&app, get("/v1/orgs/acme/teams/core/members", &olivia), StatusCode::OK).await;
        assert_eq!(list["members"], json!([]));

        expect(&app, delete("/v1/orgs/acme/teams/core", &pat), StatusCode::FORBIDDEN).await;
        expect(&app, delete("/v1/orgs/acme/teams/core", &olivia), StatusCode::NO_CONTENT).await;
        expect(&app, delete("/v1/orgs/acme/teams/core", &olivia), StatusCode::NOT_FOUND).await;
        expect(&app, get("/v1/orgs/acme/teams/core/members", &olivia), StatusCode::NOT_FOUND).await;
    }
);

plinth_db::db_test!(
    async fn mfa_enrolment_and_sign_in_over_http(db) {
        let (auth, _) = auth_with(&db, config()).await;
        let app = app!(auth);
        let pat = sign_in(&app, "pat").await;

        let status = expect(&app, get("/v1/users/me/mfa", &pat), StatusCode::OK).await;
        assert_eq!(status, json!({"enabled": false, "enrollment_pending": false, "recovery_codes_left": 0}));
        expect(&app, post("/v1/users/me/mfa/confirm", &pat, json!({"code": "123456"})), StatusCode::CONFLICT).await;

        let enrollment = expect(&app, test::TestRequest::post().uri("/v1/users/me/mfa").insert_header(bearer(&pat)), StatusCode::OK).await;
        let secret = enrollment["secret"].as_str().expect("secret");
        assert!(enrollment["otpauth_uri"].as_str().is_some_and(|u| u.starts_with("otpauth://totp/") && u.contains(secret)), "{enrollment}");
        let totp = authenticator(secret);
        assert_eq!(expect(&app, get("/v1/users/me/mfa", &pat), StatusCode::OK).await["enrollment_pending"], true);

        expect(&app, post("/v1/users/me/mfa/confirm", &pat, json!({"code": wrong_code(&totp)})), StatusCode::UNPROCESSABLE_ENTITY).await;
        let body = expect(&app, post("/v1/users/me/mfa/confirm", &pat, json!({"code": totp.generate(now()).to_string()})), StatusCode::OK).await;
        let codes: Vec<String> = serde_json::from_value(body["recovery_codes"].clone()).expect("codes");
        assert_eq!(codes.len(), RECOVERY_CODES);
        let status = expect(&app, get("/v1/users/me/mfa", &pat), StatusCode::OK).await;
        assert_eq!(status, json!({"enabled": true, "enrollment_pending": false, "recovery_codes_left": RECOVERY_CODES}));
        expect(&app, test::TestRequest::post().uri("/v1/users/me/mfa").insert_header(bearer(&pat)), StatusCode::CONFLICT).await;

        // Sign-in now needs a code; the one that confirmed enrolment is spent, the next step's is not.
        let (status, body) = login(&app, "pat", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        let next = totp.generate(now() + 30).to_string();
        let (status, body) = login(&app, "pat", Some(&next)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let verified = body["tokens"]["access_token"].as_str().expect("token").to_owned();
        let who = expect(&app, get("/v1/auth/whoami", &verified), StatusCode::OK).await;
        assert_eq!(who["mfa_verified"], true);
        let who = expect(&app, get("/v1/auth/whoami", &pat), StatusCode::OK).await;
        assert_eq!(who["mfa_verified"], false, "the older session did not pass the second factor");

        // Recovery codes: replaced with one of them, then MFA is disabled with a new one.
        let body = expect(&app, post("/v1/users/me/mfa/recovery-codes", &verified, json!({"code": codes[0]})), StatusCode::OK).await;
        let fresh: Vec<String> = serde_json::from_value(body["recovery_codes"].clone()).expect("codes");
        assert_eq!(fresh.len(), RECOVERY_CODES);
        let wrong = test::TestRequest::delete().uri("/v1/users/me/mfa").insert_header(bearer(&verified)).set_json(json!({"code": codes[1]}));
        expect(&app, wrong, StatusCode::UNPROCESSABLE_ENTITY).await;
        let right = test::TestRequest::delete().uri("/v1/users/me/mfa").insert_header(bearer(&verified)).set_json(json!({"code": fresh[0]}));
        expect(&app, right, StatusCode::NO_CONTENT).await;
        assert_eq!(expect(&app, get("/v1/users/me/mfa", &pat), StatusCode::OK).await["enabled"], false);
        let (status, body) = login(&app, "pat", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // API tokens cannot change the second factor.
        let body = expect(&app, post("/v1/users/me/api-tokens", &pat, json!({"name": "ci", "scopes": []})), StatusCode::CREATED).await;
        let token = body["secret"].as_str().expect("secret").to_owned();
        expect(&app, test::TestRequest::post().uri("/v1/users/me/mfa").insert_header(bearer(&token)), StatusCode::FORBIDDEN).await;
        expect(&app, get("/v1/users/me/mfa", &token), StatusCode::OK).await;
    }
);

plinth_db::db_test!(
    async fn mfa_code_guessing_is_rate_limited(db) {
        let tight = EndpointLimits { per_ip: Rate::new(0, 0), per_account: Rate::new(1, 3) };
        let config = AuthConfig {
            rate_limit: RateLimitConfig { token: tight, ..RateLimitConfig::default() },
            ..config()
        };
        let (auth, _) = auth_with(&db, config).await;
        let app = app!(auth);
        let pat = sign_in(&app, "pat").await;
        let enrollment = expect(&app, test::TestRequest::post().uri("/v1/users/me/mfa").insert_header(bearer(&pat)), StatusCode::OK).await;
        let totp = authenticator(enrollment["secret"].as_str().expect("secret"));
        for _ in 0..3 {
            expect(&app, post("/v1/users/me/mfa/confirm", &pat, json!({"code": wrong_code(&totp)})), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        let (status, headers, _) = call(&app, post("/v1/users/me/mfa/confirm", &pat, json!({"code": totp.generate(now()).to_string()}))).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(headers.get(header::RETRY_AFTER).is_some());
        assert_eq!(expect(&app, get("/v1/users/me/mfa", &pat), StatusCode::OK).await["enabled"], false);
    }
);

plinth_db::db_test!(
    async fn bad_input_is_a_4xx_problem_and_changes_nothing(db) {
        let (auth, users) = auth_with(&db, config()).await;
        let app = app!(auth);
        let (olivia, pat) = acme_with_pat(&app, &users).await;
        expect(&app, post("/v1/orgs/acme/teams", &olivia, json!({"name": "core"})), StatusCode::CREATED).await;
        let member_uri = format!("/v1/orgs/acme/members/{}", users.pat);
        let cases: Vec<(test::TestRequest, StatusCode)> = vec![
            // Unknown fields are refused.
            (post("/v1/orgs", &olivia, json!({"name": "beta", "owner": users.pat})), StatusCode::BAD_REQUEST),
            (post("/v1/orgs/acme/members", &olivia, json!({"user_id": users.quinn, "admin": true})), StatusCode::BAD_REQUEST),
            (post("/v1/orgs/acme/invitations", &olivia, json!({"email": "x@example.com", "scopes": ["*"]})), StatusCode::BAD_REQUEST),
            (put(&member_uri, &olivia, json!({"role": "admin", "force": true})), StatusCode::BAD_REQUEST),
            (post("/v1/orgs/acme/teams", &olivia, json!({"name": "beta", "members": []})), StatusCode::BAD_REQUEST),
            (post("/v1/invitations/accept", &pat, json!({"token": "plin_x", "extra": 1})), StatusCode::BAD_REQUEST),
            (post("/v1/users/me/mfa/confirm", &pat, json!({"code": "123456", "trust": true})), StatusCode::BAD_REQUEST),
            // Missing or malformed bodies.
            (post("/v1/orgs/acme/members", &olivia, json!({"role": "member"})), StatusCode::BAD_REQUEST),
            (post("/v1/orgs/acme/members", &olivia, json!({"user_id": "not-a-uuid"})), StatusCode::BAD_REQUEST),
            (test::TestRequest::post().uri("/v1/orgs").insert_header(bearer(&olivia)).insert_header((header::CONTENT_TYPE, "application/json")).set_payload("{\"name\": "), StatusCode::BAD_REQUEST),
            // Bad slugs and values.
            (post("/v1/orgs", &olivia, json!({"name": "Bad Org!"})), StatusCode::UNPROCESSABLE_ENTITY),
            (post("/v1/orgs", &olivia, json!({"name": "-beta"})), StatusCode::UNPROCESSABLE_ENTITY),
            (post("/v1/orgs", &olivia, json!({"name": "x".repeat(40)})), StatusCode::UNPROCESSABLE_ENTITY),
            (post("/v1/orgs", &olivia, json!({"name": "beta", "email": "not-an-email"})), StatusCode::UNPROCESSABLE_ENTITY),
            (post("/v1/orgs/acme/teams", &olivia, json!({"name": "Core Team"})), StatusCode::UNPROCESSABLE_ENTITY),
            (post("/v1/orgs/acme/members", &olivia, json!({"user_id": users.quinn, "role": "emperor"})), StatusCode::UNPROCESSABLE_ENTITY),
            (put(&member_uri, &olivia, json!({"role": "Owner"})), StatusCode::UNPROCESSABLE_ENTITY),
            (post("/v1/orgs/acme/invitations", &olivia, json!({"email": "not-an-email"})), StatusCode::UNPROCESSABLE_ENTITY),
            (put(&format!("/v1/orgs/acme/teams/core/members/{}", users.pat), &olivia, json!({"role": "owner"})), StatusCode::UNPROCESSABLE_ENTITY),
            (post("/v1/orgs/acme/members", &olivia, json!({"user_id": Uuid::now_v7()})), StatusCode::NOT_FOUND),
            // Malformed paths.
            (get("/v1/orgs/Bad_Org", &olivia), StatusCode::NOT_FOUND),
            (get("/v1/orgs/a%20b/members", &olivia), StatusCode::NOT_FOUND),
            (get("/v1/orgs/*", &olivia), StatusCode::NOT_FOUND),
            (post("/v1/orgs/Bad_Org/leave", &olivia, json!({})), StatusCode::NOT_FOUND),
            (get("/v1/orgs/acme/teams/Bad_Team/members", &olivia), StatusCode::NOT_FOUND),
            (put("/v1/orgs/acme/members/not-a-uuid", &olivia, json!({"role": "admin"})), StatusCode::NOT_FOUND),
            (delete("/v1/orgs/acme/invitations/42", &olivia), StatusCode::NOT_FOUND),
            // Malformed, unknown or foreign tokens.
            (post("/v1/invitations/accept", &pat, json!({"token": "garbage"})), StatusCode::UNPROCESSABLE_ENTITY),
            (post("/v1/invitations/accept", &pat, json!({"token": "plin_"})), StatusCode::UNPROCESSABLE_ENTITY),
            (post("/v1/invitations/accept", &pat, json!({"token": format!("plin_{}", "a".repeat(5000))})), StatusCode::UNPROCESSABLE_ENTITY),
            (test::TestRequest::post().uri("/v1/invitations/decline").set_json(json!({"token": "plsa_not-an-invitation"})), StatusCode::UNPROCESSABLE_ENTITY),
            (test::TestRequest::post().uri("/v1/invitations/decline").set_json(json!({})), StatusCode::BAD_REQUEST),
            (post("/v1/users/me/mfa/confirm", &pat, json!({"code": ""})), StatusCode::CONFLICT),
        ];
        for (req, expected) in cases {
            let (status, _, body) = call(&app, req).await;
            assert_eq!(status, expected, "{body}");
        }
        // Nothing changed.
        let mine = expect(&app, get("/v1/orgs", &olivia), StatusCode::OK).await;
        assert_eq!(mine["orgs"].as_array().map(Vec::len), Some(1));
        let list = expect(&app, get("/v1/orgs/acme/members", &olivia), StatusCode::OK).await;
        assert_eq!(members(&list), vec![member(users.olivia, "owner"), member(users.pat, "member")]);
        let teams = expect(&app, get("/v1/orgs/acme/teams", &olivia), StatusCode::OK).await;
        assert_eq!(teams["teams"].as_array().map(Vec::len), Some(1));
        assert_eq!(expect(&app, get("/v1/orgs/acme/invitations", &olivia), StatusCode::OK).await["invitations"], json!([]));
        // The unknown field is named in the detail.
        let body = expect(&app, post("/v1/orgs", &olivia, json!({"name": "beta", "owner": users.pat})), StatusCode::BAD_REQUEST).await;
        assert!(body["detail"].as_str().is_some_and(|d| d.contains("owner")), "{body}");
    }
);

#[actix_web::test]
async fn the_openapi_document_describes_the_routes() {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(plinth_auth::http::ApiDoc::openapi()).expect("json");
    let paths = &doc["paths"];
    for (path, methods) in [
        ("/v1/orgs", &["get", "post"][..]),
        ("/v1/orgs/{org}", &["get"]),
        ("/v1/orgs/{org}/leave", &["post"]),
        ("/v1/orgs/{org}/members", &["get", "post"]),
        ("/v1/orgs/{org}/members/{user_id}", &["put", "delete"]),
        ("/v1/orgs/{org}/invitations", &["get", "post"]),
        ("/v1/orgs/{org}/invitations/{id}", &["delete"]),
        ("/v1/invitations/accept", &["post"]),
        ("/v1/invitations/decline", &["post"]),
        ("/v1/orgs/{org}/teams", &["get", "post"]),
        ("/v1/orgs/{org}/teams/{team}", &["delete"]),
        ("/v1/orgs/{org}/teams/{team}/members", &["get"]),
        (
            "/v1/orgs/{org}/teams/{team}/members/{user_id}",
            &["put", "delete"],
        ),
        ("/v1/users/me/mfa", &["get", "post", "delete"]),
        ("/v1/users/me/mfa/confirm", &["post"]),
        ("/v1/users/me/mfa/recovery-codes", &["post"]),
    ] {
        for method in methods {
            assert!(paths[path][method].is_object(), "{method} {path} is documented");
        }
    }
    for schema in [
        "NewOrg",
        "NewMember",
        "RoleChange",
        "NewInvitation",
        "InvitationToken",
        "NewTeam",
        "TeamRole",
        "MfaCode",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

plinth_db::db_test!(
    async fn nul_characters_in_organisation_text_are_422_and_store_nothing(db) {
        let (auth, users) = auth_with(&db, config()).await;
        let app = app!(auth);
        let (olivia, _) = acme_with_pat(&app, &users).await;
        let before = expect(&app, get("/v1/orgs/acme", &olivia), StatusCode::OK).await;
        for body in [
            json!({"name": "be\u{0}ta"}),
            json!({"name": "beta", "display_name": "Be\u{0}ta"}),
            json!({"name": "beta", "description": "\u{0}"}),
            json!({"name": "beta", "avatar_url": "https://example.com/\u{0}"}),
            json!({"name": "beta", "website": "https://beta\u{0}.example"}),
            json!({"name": "beta", "email": "x\u{0}@beta.example"}),
        ] {
            expect(&app, post("/v1/orgs", &olivia, body), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        expect(&app, post("/v1/orgs/acme/teams", &olivia, json!({"name": "core", "description": "the \u{0} team"})), StatusCode::UNPROCESSABLE_ENTITY).await;
        expect(&app, post("/v1/orgs/acme/invitations", &olivia, json!({"email": "ni\u{0}na@example.com"})), StatusCode::UNPROCESSABLE_ENTITY).await;
        // Nothing was stored.
        let mine = expect(&app, get("/v1/orgs", &olivia), StatusCode::OK).await;
        assert_eq!(mine["orgs"].as_array().map(Vec::len), Some(1), "{mine}");
        assert_eq!(expect(&app, get("/v1/orgs/acme/teams", &olivia), StatusCode::OK).await["teams"], json!([]));
        assert_eq!(expect(&app, get("/v1/orgs/acme/invitations", &olivia), StatusCode::OK).await["invitations"], json!([]));
        assert_eq!(expect(&app, get("/v1/orgs/acme", &olivia), StatusCode::OK).await, before);
    }
);

plinth_db::db_test!(
    async fn deleting_the_last_owner_of_an_organisation_is_409(db) {
        let (auth, users) = auth_with(&db, config()).await;
        let app = app!(auth);
        let root = sign_in(&app, "root").await;
        let olivia = sign_in(&app, "olivia").await;
        for name in ["beta", "acme", "gamma"] {
            expect(&app, post("/v1/orgs", &olivia, json!({"name": name})), StatusCode::CREATED).await;
        }
        // In gamma olivia has a fellow owner; in acme pat is only a member.
        expect(&app, post("/v1/orgs/gamma/members", &olivia, json!({"user_id": users.pat, "role": "owner"})), StatusCode::CREATED).await;
        expect(&app, post("/v1/orgs/acme/members", &olivia, json!({"user_id": users.pat})), StatusCode::CREATED).await;
        let status_uri = format!("/v1/users/{}/status", users.olivia);
        let body = expect(&app, put(&status_uri, &root, json!({"status": "deleted"})), StatusCode::CONFLICT).await;
        let detail = body["detail"].as_str().expect("detail");
        assert!(detail.contains("last owner") && detail.contains("acme, beta") && !detail.contains("gamma"), "{body}");
        // Nothing changed: the account, its session and its memberships are as they were.
        let me = expect(&app, get("/v1/users/me", &olivia), StatusCode::OK).await;
        assert_eq!(me["status"], "pending_verification");
        let mine = expect(&app, get("/v1/orgs", &olivia), StatusCode::OK).await;
        assert_eq!(mine["orgs"].as_array().map(Vec::len), Some(3));
        // Suspending is not deleting: the organisations keep their owner.
        expect(&app, put(&status_uri, &root, json!({"status": "suspended"})), StatusCode::OK).await;
        expect(&app, put(&status_uri, &root, json!({"status": "active"})), StatusCode::OK).await;
        // Once someone else owns acme and beta, the account can be deleted.
        for org in ["acme", "beta"] {
            let uri = format!("/v1/orgs/{org}/members");
            if org == "acme" {
                expect(&app, put(&format!("{uri}/{}", users.pat), &root, json!({"role": "owner"})), StatusCode::OK).await;
            } else {
                expect(&app, post(&uri, &root, json!({"user_id": users.pat, "role": "owner"})), StatusCode::CREATED).await;
            }
        }
        let deleted = expect(&app, put(&status_uri, &root, json!({"status": "deleted"})), StatusCode::OK).await;
        assert_eq!(deleted["status"], "deleted");
        // A deleted account no longer counts as an owner: pat is now gamma's last owner.
        let pat = sign_in(&app, "pat").await;
        let body = expect(&app, post("/v1/orgs/gamma/leave", &pat, json!({})), StatusCode::CONFLICT).await;
        assert!(body["detail"].as_str().is_some_and(|d| d.contains("last owner of gamma")), "{body}");
        expect(&app, delete(&format!("/v1/orgs/gamma/members/{}", users.olivia), &pat), StatusCode::NO_CONTENT).await;
        let list = expect(&app, get("/v1/orgs/gamma/members", &pat), StatusCode::OK).await;
        assert_eq!(members(&list), vec![member(users.pat, "owner")]);
    }
);
