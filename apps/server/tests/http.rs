//! The real application against a real database (SQLite and PostgreSQL):
//! operational routes, and problem+json for every kind of bad request.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, test, web};
use plinth_db::testing::TestDb;
use plinth_server::{AppState, app, app_with};
use serde::{Deserialize, Serialize};
use serde_json::Value;

async fn state(db: &TestDb) -> AppState {
    AppState::build(db.conn().clone(), &plinth_server::Config::default())
        .await
        .expect("state")
}

async fn migrate(db: &TestDb) {
    plinth_db::migrate::up(db, &plinth_migrations::all())
        .await
        .expect("migrate");
}

/// A JSON body for the test-only route.
#[derive(Debug, Deserialize, Serialize)]
struct Greeting {
    name: String,
}

/// A query string for the test-only route.
#[derive(Debug, Deserialize)]
struct Page {
    n: u32,
}

/// Test-only routes mounted under `/v1` through the real application.
fn test_routes(cfg: &mut web::ServiceConfig, _state: &AppState) {
    cfg.route(
        "/test/json",
        web::post().to(|body: web::Json<Greeting>| async move { HttpResponse::Ok().json(body.into_inner()) }),
    )
    .route(
        "/test/query",
        web::get().to(|page: web::Query<Page>| async move { HttpResponse::Ok().json(page.n) }),
    )
    .route(
        "/test/items/{id}",
        web::get().to(|_id: web::Path<u32>| async { HttpResponse::NoContent().finish() }),
    )
    .route(
        "/test/plain-500",
        web::get().to(|| async { HttpResponse::InternalServerError().body("secret stack trace") }),
    )
    .route(
        "/test/plain-502",
        web::get().to(|| async { HttpResponse::BadGateway().body("upstream said no") }),
    )
    .route("/test/panic", web::get().to(panics));
}

async fn panics() -> HttpResponse {
    panic!("handler bug")
}

/// Asserts a problem+json response with `status` and returns its body.
async fn problem<B: MessageBody>(res: ServiceResponse<B>, status: StatusCode) -> Value {
    assert_eq!(res.status(), status);
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body = test::read_body(res).await;
    let value: Value = serde_json::from_slice(&body).expect("problem body is JSON");
    assert_eq!(value["status"], status.as_u16());
    assert!(
        value["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:plinth:problem:")),
        "{value}"
    );
    assert!(value["title"].is_string(), "{value}");
    assert!(value["detail"].is_string(), "{value}");
    value
}

plinth_db::db_test!(async fn healthz_is_ok(db) {
    let svc = test::init_service(app(state(&db).await)).await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-request-id"));
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body, serde_json::json!({"status": "ok"}));
});

plinth_db::db_test!(async fn readyz_needs_every_migration(db) {
    let svc = test::init_service(app(state(&db).await)).await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/readyz").to_request()).await;
    let body = problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("events/") && detail.contains("pending"), "{detail}");
    assert!(body["migrations"].as_array().is_some_and(|m| !m.is_empty()), "{body}");

    migrate(&db).await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["status"], "ok");
});

plinth_db::db_test!(async fn metrics_count_requests(db) {
    let svc = test::init_service(app(state(&db).await)).await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = test::call_service(&svc, test::TestRequest::get().uri("/nowhere").to_request()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let res = test::call_service(&svc, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = String::from_utf8(test::read_body(res).await.to_vec()).expect("UTF-8");
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="unmatched",status="404"}"#),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
});

plinth_db::db_test!(async fn openapi_document_lists_the_routes(db) {
    let svc = test::init_service(app(state(&db).await)).await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/openapi.json").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = serde_json::from_slice(&test::read_body(res).await).expect("valid JSON");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{doc}");
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][path].is_object(), "missing {path}: {doc}");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object(), "{doc}");
});

plinth_db::db_test!(async fn docs_are_browsable(db) {
    let svc = test::init_service(app(state(&db).await)).await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/docs/").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert!(content_type.is_some_and(|c| c.starts_with("text/html")));
    let html = String::from_utf8(test::read_body(res).await.to_vec()).expect("UTF-8");
    assert!(html.contains("<html"), "{html}");

    let res = test::call_service(&svc, test::TestRequest::get().uri("/docs/swagger-initializer.js").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let js = String::from_utf8(test::read_body(res).await.to_vec()).expect("UTF-8");
    assert!(js.contains("/openapi.json"), "{js}");

    let res = test::call_service(&svc, test::TestRequest::get().uri("/docs").to_request()).await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/docs/"));

    let res = test::call_service(&svc, test::TestRequest::get().uri("/docs/no-such-file.js").to_request()).await;
    problem(res, StatusCode::NOT_FOUND).await;
});

plinth_db::db_test!(async fn json_round_trips_through_a_test_route(db) {
    let svc = test::init_service(app_with(state(&db).await, test_routes)).await;
    let req = test::TestRequest::post()
        .uri("/v1/test/json")
        .set_json(serde_json::json!({"name": "plinth"}))
        .to_request();
    let res = test::call_service(&svc, req).await;
    assert_eq!(res.status(), StatusCode::OK);
});

plinth_db::db_test!(async fn malformed_json_is_400_naming_the_error(db) {
    let svc = test::init_service(app_with(state(&db).await, test_routes)).await;
    let req = test::TestRequest::post()
        .uri("/v1/test/json")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(r#"{"name": "#)
        .to_request();
    let body = problem(test::call_service(&svc, req).await, StatusCode::BAD_REQUEST).await;
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("invalid JSON body") && detail.contains("EOF"), "{detail}");

    let req = test::TestRequest::post()
        .uri("/v1/test/json")
        .set_json(serde_json::json!({"name": 5}))
        .to_request();
    let body = problem(test::call_service(&svc, req).await, StatusCode::BAD_REQUEST).await;
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("invalid type"), "{detail}");

    let req = test::TestRequest::post()
        .uri("/v1/test/json")
        .insert_header((header::CONTENT_TYPE, "text/plain"))
        .set_payload(r#"{"name": "x"}"#)
        .to_request();
    problem(test::call_service(&svc, req).await, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
});

plinth_db::db_test!(async fn oversize_body_is_413(db) {
    let svc = test::init_service(app_with(state(&db).await, test_routes)).await;
    let limit = plinth_server::config::HttpConfig::default().json_limit_bytes;
    let name = "x".repeat(limit);
    let req = test::TestRequest::post()
        .uri("/v1/test/json")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(format!(r#"{{"name": "{name}"}}"#))
        .to_request();
    let body = problem(test::call_service(&svc, req).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&limit.to_string()), "{detail}");
});

plinth_db::db_test!(async fn bad_query_and_path_are_client_errors(db) {
    let svc = test::init_service(app_with(state(&db).await, test_routes)).await;
    let req = test::TestRequest::get().uri("/v1/test/query?n=7").to_request();
    assert_eq!(test::call_service(&svc, req).await.status(), StatusCode::OK);
    let req = test::TestRequest::get().uri("/v1/test/query?n=many").to_request();
    problem(test::call_service(&svc, req).await, StatusCode::BAD_REQUEST).await;
    let req = test::TestRequest::get().uri("/v1/test/items/abc").to_request();
    problem(test::call_service(&svc, req).await, StatusCode::NOT_FOUND).await;
});

plinth_db::db_test!(async fn unknown_route_is_404(db) {
    let svc = test::init_service(app(state(&db).await)).await;
    for uri in ["/nowhere", "/v1/nowhere", "/v1", "/healthz/extra"] {
        let res = test::call_service(&svc, test::TestRequest::get().uri(uri).to_request()).await;
        let body = problem(res, StatusCode::NOT_FOUND).await;
        assert_eq!(body["type"], "urn:plinth:problem:not-found");
    }
});

plinth_db::db_test!(async fn wrong_method_is_405(db) {
    let svc = test::init_service(app_with(state(&db).await, test_routes)).await;
    let res = test::call_service(&svc, test::TestRequest::post().uri("/healthz").to_request()).await;
    assert_eq!(res.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()), Some("GET, HEAD"));
    let body = problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(body["type"], "urn:plinth:problem:method-not-allowed");

    // A route of a mounted crate, without an explicit 405 handler.
    let res = test::call_service(&svc, test::TestRequest::delete().uri("/v1/test/json").to_request()).await;
    problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
});

plinth_db::db_test!(async fn plain_server_errors_become_problems(db) {
    let svc = test::init_service(app_with(state(&db).await, test_routes)).await;
    let res = test::call_service(&svc, test::TestRequest::get().uri("/v1/test/plain-500").to_request()).await;
    let body = problem(res, StatusCode::INTERNAL_SERVER_ERROR).await;
    assert!(!body.to_string().contains("secret"), "{body}");
    let res = test::call_service(&svc, test::TestRequest::get().uri("/v1/test/plain-502").to_request()).await;
    problem(res, StatusCode::BAD_GATEWAY).await;
});

plinth_db::db_test!(async fn panics_become_problems(db) {
    let svc = test::init_service(app_with(state(&db).await, test_routes)).await;
    let req = test::TestRequest::get().uri("/v1/test/panic").to_request();
    let res = match svc.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        // The dispatcher turns an error into a response the same way.
        Err(err) => ServiceResponse::new(
            test::TestRequest::get().uri("/v1/test/panic").to_http_request(),
            err.error_response(),
        ),
    };
    assert!(res.headers().contains_key("x-request-id"), "{:?}", res.headers());
    problem(res, StatusCode::INTERNAL_SERVER_ERROR).await;

    // The worker survives: the next request is served.
    let res = test::call_service(&svc, test::TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
});

/// Log output captured in memory by a subscriber set for the test's thread.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

plinth_db::db_test!(async fn signed_link_signatures_stay_out_of_the_logs(db) {
    migrate(&db).await;
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let svc = test::init_service(app(state(&db).await)).await;
    let sig = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7";
    let uri = format!(
        "/v1/files/shared/{}?expires=4102444800&key=k1&sig={sig}&disposition=inline",
        uuid::Uuid::now_v7()
    );
    let res = test::call_service(&svc, test::TestRequest::get().uri(&uri).to_request()).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let text = logs.text();
    assert!(text.contains("request done"), "{text}");
    assert!(!text.contains(sig), "{text}");
    assert!(text.contains("expires=4102444800&key=k1&sig=***&disposition=inline"), "{text}");
});

plinth_db::db_test!(async fn head_is_answered_like_get_on_operational_routes(db) {
    migrate(&db).await;
    let svc = test::init_service(app(state(&db).await)).await;
    for (uri, status) in [
        ("/healthz", StatusCode::OK),
        ("/readyz", StatusCode::OK),
        ("/metrics", StatusCode::OK),
        ("/openapi.json", StatusCode::OK),
        ("/docs", StatusCode::PERMANENT_REDIRECT),
    ] {
        let req = test::TestRequest::default().method(actix_web::http::Method::HEAD).uri(uri).to_request();
        assert_eq!(test::call_service(&svc, req).await.status(), status, "HEAD {uri}");
    }
    let res = test::call_service(&svc, test::TestRequest::post().uri("/healthz").to_request()).await;
    assert_eq!(res.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()), Some("GET, HEAD"));
    problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
});
