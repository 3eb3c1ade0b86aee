//! The auth HTTP API against a real database: sign-in, scopes (401/403),
//! and bad input answered with problem+json, never a 500.

use actix_web::http::{StatusCode, header};
use actix_web::{App, test, web};
use plinth_auth::rate_limit::{EndpointLimits, Rate, RateLimitConfig};
use plinth_auth::users::NewUser;
use plinth_auth::{Auth, AuthConfig, Role};
use plinth_events::Context;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

async fn auth_for(db: &sea_orm::DatabaseConnection) -> Auth {
    auth_with(
        db,
        AuthConfig {
            role_cache_ms: 0,
            ..AuthConfig::default()
        },
    )
    .await
}

async fn auth_with(db: &sea_orm::DatabaseConnection, config: AuthConfig) -> Auth {
    plinth_db::migrate::up(db, &plinth_auth::testing::migrators())
        .await
        .expect("migrate");
    let auth = Auth::new(db.clone(), config).await.expect("auth");
    auth.create_user(
        &Context::default(),
        NewUser {
            username: "root".into(),
            email: "root@example.com".into(),
            name: None,
            password: PASSWORD.into(),
            scopes: vec!["*".into()],
        },
    )
    .await
    .expect("admin");
    auth.create_user(
        &Context::default(),
        NewUser {
            username: "pat".into(),
            email: "pat@example.com".into(),
            name: None,
            password: PASSWORD.into(),
            scopes: vec![],
        },
    )
    .await
    .expect("plain user");
    auth
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

async fn call(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
    >,
    req: test::TestRequest,
) -> (StatusCode, actix_web::http::header::HeaderMap, Value) {
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
    }
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{json}");
    (status, headers, json)
}

async fn sign_in(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
    >,
    who: &str,
) -> String {
    let (status, _, body) = call(
        app,
        test::TestRequest::post()
            .uri("/v1/auth/login")
            .set_json(json!({"login": who, "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["tokens"]["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

fn bearer(token: &str) -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer {token}"))
}

plinth_db::db_test!(
    async fn sign_in_whoami_and_scope_checks(db) {
        let auth = auth_for(&db).await;
        let app = app!(auth);
        let admin = sign_in(&app, "root").await;
        let (status, _, me) = call(&app, test::TestRequest::get().uri("/v1/auth/whoami").insert_header(bearer(&admin))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["scopes"], json!(["*"]));

        // No credential: 401 with WWW-Authenticate.
        let (status, headers, body) = call(&app, test::TestRequest::get().uri("/v1/auth/whoami")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(headers.get(header::WWW_AUTHENTICATE).is_some());
        for token in ["garbage", "plsa_0000", "plat_zz"] {
            let (status, _, _) = call(&app, test::TestRequest::get().uri("/v1/auth/whoami").insert_header(bearer(token))).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }

        // A plain user lacks auth:list-clients: 403 naming it.
        let pat = sign_in(&app, "pat").await;
        let (status, _, body) = call(&app, test::TestRequest::get().uri("/v1/clients").insert_header(bearer(&pat))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["missing_scopes"], json!(["auth:list-clients"]));
        let (status, _, _) = call(&app, test::TestRequest::get().uri("/v1/clients").insert_header(bearer(&admin))).await;
        assert_eq!(status, StatusCode::OK);

        // A role granted to the user takes effect on the next request.
        auth.put_role(&Context::default(), Role { id: "user:*".into(), scopes: vec!["auth:list-clients".into()] }, "").await.expect("role");
        let (status, _, _) = call(&app, test::TestRequest::get().uri("/v1/clients").insert_header(bearer(&pat))).await;
        assert_eq!(status, StatusCode::OK);

        // Profile changes are validated and applied.
        let (status, _, body) = call(&app, test::TestRequest::patch().uri("/v1/users/me").insert_header(bearer(&pat)).set_json(json!({"name": "Pat Q", "preferences": {"theme": "dark"}}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((body["name"].clone(), body["preferences"]["theme"].clone()), (json!("Pat Q"), json!("dark")));
        let (status, _, _) = call(&app, test::TestRequest::patch().uri("/v1/users/me").insert_header(bearer(&pat)).set_json(json!({"preferences": [1, 2]}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, _, me) = call(&app, test::TestRequest::get().uri("/v1/users/me").insert_header(bearer(&pat))).await;
        assert_eq!(me["preferences"]["theme"], "dark", "the refused change left the profile alone");

        // Signing out ends the token.
        let (status, _, _) = call(&app, test::TestRequest::post().uri("/v1/auth/logout").insert_header(bearer(&pat))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _, _) = call(&app, test::TestRequest::get().uri("/v1/auth/whoami").insert_header(bearer(&pat))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
);

plinth_db::db_test!(
    async fn bad_input_is_a_4xx_problem_and_changes_nothing(db) {
        let auth = auth_for(&db).await;
        let app = app!(auth);
        let admin = sign_in(&app, "root").await;
        let cases: Vec<(test::TestRequest, StatusCode)> = vec![
            (test::TestRequest::post().uri("/v1/users").insert_header(bearer(&admin)).set_json(json!({"username": "x1", "email": "not-an-email", "password": PASSWORD})), StatusCode::UNPROCESSABLE_ENTITY),
            (test::TestRequest::post().uri("/v1/users").insert_header(bearer(&admin)).set_json(json!({"username": "x1", "email": "x1@example.com", "password": "short"})), StatusCode::UNPROCESSABLE_ENTITY),
            (test::TestRequest::post().uri("/v1/users").insert_header(bearer(&admin)).set_json(json!({"username": "x1", "email": "x1@example.com", "password": "y".repeat(300)})), StatusCode::UNPROCESSABLE_ENTITY),
            (test::TestRequest::post().uri("/v1/users").insert_header(bearer(&admin)).set_json(json!({"username": "x1", "email": "x1@example.com", "password": PASSWORD, "admin": true})), StatusCode::BAD_REQUEST),
            (test::TestRequest::post().uri("/v1/users").insert_header(bearer(&admin)).insert_header((header::CONTENT_TYPE, "application/json")).set_payload("{\"username\": "), StatusCode::BAD_REQUEST),
            (test::TestRequest::put().uri("/v1/roles/r1").insert_header(bearer(&admin)).set_json(json!({"scopes": ["queue:**"]})), StatusCode::UNPROCESSABLE_ENTITY),
            (test::TestRequest::post().uri("/v1/clients").insert_header(bearer(&admin)).set_json(json!({"client_id": "bad id!", "scopes": []})), StatusCode::UNPROCESSABLE_ENTITY),
            (test::TestRequest::post().uri("/v1/auth/refresh").set_json(json!({"refresh_token": "plsr_nope"})), StatusCode::UNAUTHORIZED),
            (test::TestRequest::post().uri("/v1/users/verify-email").set_json(json!({"token": "plev_expired"})), StatusCode::UNPROCESSABLE_ENTITY),
            (test::TestRequest::get().uri("/v1/users/not-a-uuid").insert_header(bearer(&admin)), StatusCode::NOT_FOUND),
        ];
        for (req, expected) in cases {
            let (status, _, body) = call(&app, req).await;
            assert_eq!(status, expected, "{body}");
            assert!(body["detail"].is_string() && body["type"].is_string(), "{body}");
        }
        // Nothing was created by the refused requests.
        let (_, _, clients) = call(&app, test::TestRequest::get().uri("/v1/clients").insert_header(bearer(&admin))).await;
        assert_eq!(clients["clients"], json!([]));
        let (_, _, roles) = call(&app, test::TestRequest::get().uri("/v1/roles").insert_header(bearer(&admin))).await;
        assert_eq!(roles["roles"], json!([]));
        // The unknown field is named in the detail.
        let (_, _, body) = call(&app, test::TestRequest::post().uri("/v1/users").insert_header(bearer(&admin)).set_json(json!({"username": "x1", "email": "x1@example.com", "password": PASSWORD, "admin": true}))).await;
        assert!(body["detail"].as_str().is_some_and(|d| d.contains("admin")), "{body}");
    }
);

plinth_db::db_test!(
    async fn lockout_answers_429_with_retry_after(db) {
        let auth = auth_for(&db).await;
        let app = app!(auth);
        for _ in 0..5 {
            let (status, _, _) = call(&app, test::TestRequest::post().uri("/v1/auth/login").set_json(json!({"login": "pat", "password": "wrong password!"}))).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, headers, _) = call(&app, test::TestRequest::post().uri("/v1/auth/login").set_json(json!({"login": "pat", "password": PASSWORD}))).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect("Retry-After");
        assert!((1..=30).contains(&retry));
    }
);

plinth_db::db_test!(
    async fn tokens_and_clients_over_http(db) {
        let auth = auth_for(&db).await;
        let app = app!(auth);
        let admin = sign_in(&app, "root").await;
        let (status, _, body) = call(&app, test::TestRequest::post().uri("/v1/users/me/api-tokens").insert_header(bearer(&admin)).set_json(json!({"name": "ci", "scopes": ["auth:list-roles"]}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let secret = body["secret"].as_str().expect("secret").to_owned();
        let (status, _, _) = call(&app, test::TestRequest::get().uri("/v1/roles").insert_header(bearer(&secret))).await;
        assert_eq!(status, StatusCode::OK, "the token's scope works");
        let (status, _, _) = call(&app, test::TestRequest::get().uri("/v1/clients").insert_header(bearer(&secret))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "and nothing else");
        // Nor can it manage the account it belongs to: tokens, sessions,
        // password and profile need a signed-in session.
        for (method, uri, body) in [
            ("POST", "/v1/users/me/api-tokens", json!({"name": "forever", "scopes": ["auth:list-roles"]})),
            ("GET", "/v1/users/me/api-tokens", json!(null)),
            ("GET", "/v1/auth/sessions", json!(null)),
            ("POST", "/v1/auth/logout-all", json!(null)),
            ("PATCH", "/v1/users/me", json!({"name": "owned"})),
            ("POST", "/v1/users/me/password", json!({"current_password": PASSWORD, "new_password": "another long password"})),
        ] {
            let req = test::TestRequest::default().method(method.parse().expect("method")).uri(uri).insert_header(bearer(&secret));
            let req = if body.is_null() { req } else { req.set_json(body) };
            let (status, _, problem) = call(&app, req).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {problem}");
            assert_eq!(problem["type"].as_str().map(|t| t.ends_with("session-required")), Some(true), "{problem}");
        }
        let (status, _, tokens) = call(&app, test::TestRequest::get().uri("/v1/users/me/api-tokens").insert_header(bearer(&admin))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(tokens["tokens"].as_array().map(Vec::len), Some(1), "the token minted nothing: {tokens}");
        let (status, _, me) = call(&app, test::TestRequest::get().uri("/v1/users/me").insert_header(bearer(&admin))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(me["username"].is_string() && me["name"] != "owned", "the profile is unchanged: {me}");
        // A plain user cannot mint a client with scopes they lack.
        let pat = sign_in(&app, "pat").await;
        let (status, _, _) = call(&app, test::TestRequest::post().uri("/v1/clients").insert_header(bearer(&pat)).set_json(json!({"client_id": "worker", "scopes": ["*"]}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, body) = call(&app, test::TestRequest::post().uri("/v1/clients").insert_header(bearer(&admin)).set_json(json!({"client_id": "worker", "scopes": ["queue:claim-work:*"]}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let client_secret = body["secret"].as_str().expect("secret").to_owned();
        let (status, _, who) = call(&app, test::TestRequest::get().uri("/v1/auth/whoami").insert_header(bearer(&client_secret))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(who["kind"], "client");
        let (status, _, _) = call(&app, test::TestRequest::post().uri("/v1/clients").insert_header(bearer(&admin)).set_json(json!({"client_id": "worker", "scopes": []}))).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }
);

plinth_db::db_test!(
    async fn nul_characters_in_text_are_422_and_store_nothing(db) {
        let auth = auth_for(&db).await;
        let app = app!(auth);
        let admin = sign_in(&app, "root").await;
        let pat = sign_in(&app, "pat").await;
        let (_, _, pat_before) = call(&app, test::TestRequest::get().uri("/v1/users/me").insert_header(bearer(&pat))).await;
        let pat_id = pat_before["id"].as_str().expect("id").to_owned();
        let new_user = |field: &str, value: &str| {
            let mut body = json!({"username": "nina", "email": "nina@example.com", "password": PASSWORD});
            body[field] = json!(value);
            test::TestRequest::post().uri("/v1/users").insert_header(bearer(&admin)).set_json(body)
        };
        let profile = |body: Value| test::TestRequest::patch().uri("/v1/users/me").insert_header(bearer(&pat)).set_json(body);
        let cases = vec![
            new_user("username", "ni\u{0}na"),
            new_user("email", "ni\u{0}na@example.com"),
            new_user("name", "Ni\u{0}na"),
            profile(json!({"name": "P\u{0}at"})),
            profile(json!({"avatar_url": "https://example.com/\u{0}.png"})),
            profile(json!({"preferences": {"theme": "da\u{0}rk"}})),
            profile(json!({"preferences": {"the\u{0}me": "dark"}})),
            test::TestRequest::put().uri(&format!("/v1/users/{pat_id}/status")).insert_header(bearer(&admin)).set_json(json!({"status": "suspended", "reason": "sp\u{0}am"})),
            test::TestRequest::post().uri("/v1/users/me/api-tokens").insert_header(bearer(&pat)).set_json(json!({"name": "c\u{0}i", "scopes": []})),
            test::TestRequest::post().uri("/v1/clients").insert_header(bearer(&admin)).set_json(json!({"client_id": "worker", "description": "w\u{0}", "scopes": []})),
            test::TestRequest::post().uri("/v1/clients/wor%00ker/rotate").insert_header(bearer(&admin)),
            test::TestRequest::delete().uri("/v1/clients/wor%00ker").insert_header(bearer(&admin)),
            test::TestRequest::put().uri("/v1/roles/r1").insert_header(bearer(&admin)).set_json(json!({"scopes": [], "description": "r\u{0}"})),
            test::TestRequest::delete().uri("/v1/roles/r%001").insert_header(bearer(&admin)),
            test::TestRequest::post().uri("/v1/auth/login").set_json(json!({"login": "pat\u{0}", "password": PASSWORD})),
            test::TestRequest::post().uri("/v1/auth/login").set_json(json!({"login": "pat@exam\u{0}ple.com", "password": PASSWORD})),
            test::TestRequest::post().uri("/v1/auth/login").set_json(json!({"login": "pat", "password": PASSWORD, "device_id": "pho\u{0}ne"})),
        ];
        for req in cases {
            let (status, _, body) = call(&app, req).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert!(body["detail"].is_string(), "{body}");
        }
        // Nothing was stored.
        let (_, _, pat_after) = call(&app, test::TestRequest::get().uri("/v1/users/me").insert_header(bearer(&pat))).await;
        assert_eq!(pat_after, pat_before, "the profile and status are unchanged");
        let users = plinth_auth::entity::user::Entity::find().count(db.conn()).await.expect("count");
        assert_eq!(users, 2, "no user was created");
        let (_, _, tokens) = call(&app, test::TestRequest::get().uri("/v1/users/me/api-tokens").insert_header(bearer(&pat))).await;
        assert_eq!(tokens["tokens"], json!([]));
        let (_, _, sessions) = call(&app, test::TestRequest::get().uri("/v1/auth/sessions").insert_header(bearer(&pat))).await;
        assert_eq!(sessions["sessions"].as_array().map(Vec::len), Some(1), "no session was opened: {sessions}");
        let (_, _, clients) = call(&app, test::TestRequest::get().uri("/v1/clients").insert_header(bearer(&admin))).await;
        assert_eq!(clients["clients"], json!([]));
        let (_, _, roles) = call(&app, test::TestRequest::get().uri("/v1/roles").insert_header(bearer(&admin))).await;
        assert_eq!(roles["roles"], json!([]));
    }
);

plinth_db::db_test!(
    async fn a_wrong_current_password_is_403_and_changes_are_rate_limited_per_account(db) {
        let tight = EndpointLimits { per_ip: Rate::new(0, 0), per_account: Rate::new(1, 2) };
        let config = AuthConfig { rate_limit: RateLimitConfig { password: tight, ..RateLimitConfig::default() }, ..AuthConfig::default() };
        let auth = auth_with(&db, config).await;
        let app = app!(auth);
        let pat = sign_in(&app, "pat").await;
        let other = sign_in(&app, "pat").await;
        let change = |token: &str, current: &str| {
            test::TestRequest::post()
                .uri("/v1/users/me/password")
                .insert_header(bearer(token))
                .set_json(json!({"current_password": current, "new_password": "another long password"}))
        };
        let (status, headers, body) = call(&app, change(&pat, "not the password")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["type"], "urn:plinth:problem:wrong-proof");
        assert!(headers.get(header::WWW_AUTHENTICATE).is_none(), "the caller is signed in");
        let (status, _, _) = call(&app, change(&pat, "still not it")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // The account's budget is spent: even the right password waits.
        let (status, headers, body) = call(&app, change(&pat, PASSWORD)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(headers.get(header::RETRY_AFTER).is_some());
        // Nothing changed: the other session lives and the old password still works.
        let (status, _, _) = call(&app, test::TestRequest::get().uri("/v1/auth/whoami").insert_header(bearer(&other))).await;
        assert_eq!(status, StatusCode::OK);
        sign_in(&app, "pat").await;
        // Another account has its own budget.
        let root = sign_in(&app, "root").await;
        let (status, _, body) = call(&app, change(&root, PASSWORD)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
);

plinth_db::db_test!(
    async fn refreshes_are_rate_limited_per_account(db) {
        let tight = EndpointLimits { per_ip: Rate::new(0, 0), per_account: Rate::new(1, 2) };
        let config = AuthConfig { rate_limit: RateLimitConfig { refresh: tight, ..RateLimitConfig::default() }, ..AuthConfig::default() };
        let auth = auth_with(&db, config).await;
        let app = app!(auth);
        let refresh_token = |who: &'static str| {
            let app = &app;
            async move {
                let login = test::TestRequest::post().uri("/v1/auth/login").set_json(json!({"login": who, "password": PASSWORD}));
                let (status, _, body) = call(app, login).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                body["tokens"]["refresh_token"].as_str().expect("refresh token").to_owned()
            }
        };
        let refresh = |token: &str| test::TestRequest::post().uri("/v1/auth/refresh").set_json(json!({"refresh_token": token}));
        // Two sessions of one account share its budget of two.
        let (first, second) = (refresh_token("pat").await, refresh_token("pat").await);
        let (status, _, body) = call(&app, refresh(&first)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let next = body["refresh_token"].as_str().expect("rotated").to_owned();
        let (status, _, _) = call(&app, refresh(&second)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, headers, body) = call(&app, refresh(&next)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(headers.get(header::RETRY_AFTER).is_some());
        let (status, _, _) = call(&app, refresh(&refresh_token("root").await)).await;
        assert_eq!(status, StatusCode::OK, "another account has its own budget");
        let (status, _, _) = call(&app, refresh("plsr_unknown")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "an unknown token is no account's");
    }
);

plinth_db::db_test!(
    async fn forwarded_addresses_are_believed_only_from_trusted_proxies(db) {
        let one_per_ip = EndpointLimits { per_ip: Rate::new(1, 1), per_account: Rate::new(0, 0) };
        let config = AuthConfig {
            trusted_proxies: vec!["10.0.0.0/30".parse().expect("range")],
            rate_limit: RateLimitConfig { login: one_per_ip, ..RateLimitConfig::default() },
            ..AuthConfig::default()
        };
        let auth = auth_with(&db, config).await;
        let app = app!(auth);
        let login = |peer: &str, forwarded: &str, who: &str, password: &str| {
            test::TestRequest::post()
                .uri("/v1/auth/login")
                .peer_addr(peer.parse().expect("peer"))
                .insert_header(("x-forwarded-for", forwarded))
                .set_json(json!({"login": who, "password": password}))
        };
        let attempt = |peer: &str, forwarded: &str| login(peer, forwarded, "nobody", "wrong password!");
        // An untrusted peer's X-Forwarded-For is ignored: its attempts share the peer's bucket.
        assert_eq!(call(&app, attempt("192.0.2.10:5000", "198.51.100.1")).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&app, attempt("192.0.2.10:5001", "198.51.100.2")).await.0, StatusCode::TOO_MANY_REQUESTS);
        // Behind the trusted proxy each forwarded client has its own bucket.
        assert_eq!(call(&app, attempt("10.0.0.1:6000", "198.51.100.3")).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&app, attempt("10.0.0.1:6000", "198.51.100.4")).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&app, attempt("10.0.0.2:6001", "198.51.100.3")).await.0, StatusCode::TOO_MANY_REQUESTS);
        // A peer outside the trusted range is not believed either.
        assert_eq!(call(&app, attempt("10.0.0.5:6002", "198.51.100.7")).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&app, attempt("10.0.0.5:6003", "198.51.100.8")).await.0, StatusCode::TOO_MANY_REQUESTS);
        // A forged entry left of the one the proxy appended buys no fresh bucket.
        assert_eq!(call(&app, attempt("10.0.0.1:6000", "203.0.113.50, 198.51.100.4")).await.0, StatusCode::TOO_MANY_REQUESTS);
        // Sessions record the client address found the same way.
        let (status, _, body) = call(&app, login("10.0.0.1:6000", "198.51.100.5", "pat", PASSWORD)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let pat = body["tokens"]["access_token"].as_str().expect("token").to_owned();
        let (status, _, _) = call(&app, login("192.0.2.20:7000", "198.51.100.6", "pat", PASSWORD)).await;
        assert_eq!(status, StatusCode::OK);
        let (_, _, sessions) = call(&app, test::TestRequest::get().uri("/v1/auth/sessions").insert_header(bearer(&pat))).await;
        let mut ips: Vec<&str> = sessions["sessions"].as_array().expect("sessions").iter().filter_map(|s| s["ip"].as_str()).collect();
        ips.sort_unstable();
        assert_eq!(ips, ["192.0.2.20", "198.51.100.5"]);
    }
);

plinth_db::db_test!(
    async fn times_beyond_the_year_9999_utc_are_422_and_store_nothing(db) {
        let auth = auth_for(&db).await;
        let app = app!(auth);
        let admin = sign_in(&app, "root").await;
        // A local time in 9999 whose UTC instant is in the year 10000.
        for when in ["9999-12-31T23:59:59-23:59"] {
            let cases = [
                test::TestRequest::post().uri("/v1/users/me/api-tokens").insert_header(bearer(&admin)).set_json(json!({"name": "ci", "scopes": [], "expires_at": when})),
                test::TestRequest::post().uri("/v1/clients").insert_header(bearer(&admin)).set_json(json!({"client_id": "worker", "scopes": [], "expires_at": when})),
                test::TestRequest::put().uri(&format!("/v1/users/{}/status", uuid_of(&app, &admin).await)).insert_header(bearer(&admin)).set_json(json!({"status": "suspended", "until": when})),
            ];
            for req in cases {
                let (status, _, body) = call(&app, req).await;
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{when}: {body}");
            }
        }
        let (status, _, tokens) = call(&app, test::TestRequest::get().uri("/v1/users/me/api-tokens").insert_header(bearer(&admin))).await;
        assert_eq!(status, StatusCode::OK, "the admin is not suspended");
        assert_eq!(tokens["tokens"], json!([]));
        let (_, _, clients) = call(&app, test::TestRequest::get().uri("/v1/clients").insert_header(bearer(&admin))).await;
        assert_eq!(clients["clients"], json!([]));
    }
);

async fn uuid_of(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
    >,
    token: &str,
) -> uuid::Uuid {
    let (_, _, me) = call(
        app,
        test::TestRequest::get()
            .uri("/v1/users/me")
            .insert_header(bearer(token)),
    )
    .await;
    me["id"].as_str().and_then(|id| id.parse().ok()).expect("user id")
}
