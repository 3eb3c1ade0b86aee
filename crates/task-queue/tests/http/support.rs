//! Building the app the way the server mounts it, credentials with chosen
//! scopes, and requests that come back as status plus JSON.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::test;
use plinth_db::testing::TestDb;
use plinth_task_queue::{Config, Queue, Task};
use serde_json::{Value, json};
use uuid::Uuid;

/// The JSON body limit of the test app, as the server's `http.json_limit_bytes`.
pub const JSON_LIMIT: usize = 64 * 1024;

/// Every queue scope.
pub const ALL: &[&str] = &["queue:*"];

/// A migrated database with auth and the queue over `config`.
pub async fn setup(db: &TestDb, config: Config) -> Queue {
    let mut migrators = plinth_auth::testing::migrators();
    migrators.push(&plinth_task_queue::Migrator);
    plinth_db::migrate::up(db, &migrators).await.expect("migrate");
    Queue::new(db.conn().clone(), config)
}

/// A bearer secret holding exactly `scopes`.
pub async fn token(db: &TestDb, scopes: &[&str]) -> String {
    plinth_auth::testing::bearer_with_scopes(db, scopes)
        .await
        .expect("token")
}

/// The service with the queue routes under `/v1`, as the server mounts them.
pub async fn service(
    db: &TestDb,
    queue: &Queue,
) -> impl Service<actix_http::Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>
{
    let app = plinth_auth::testing::app(
        db.conn().clone(),
        queue.clone(),
        plinth_task_queue::http::configure,
        JSON_LIMIT,
    )
    .await
    .expect("app");
    test::init_service(app).await
}

/// A response: status, media type and JSON body (`null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Reply {
    /// Asserts a problem+json response with `status`; returns its detail.
    #[track_caller]
    pub fn problem(&self, status: StatusCode) -> &str {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.content_type, "application/problem+json", "{}", self.body);
        assert_eq!(self.body["status"], status.as_u16(), "{}", self.body);
        self.body["detail"].as_str().unwrap_or_default()
    }

    /// Asserts a 403 naming exactly `missing` as the missing scopes.
    #[track_caller]
    pub fn forbidden(&self, missing: &[&str]) {
        self.problem(StatusCode::FORBIDDEN);
        assert_eq!(self.body["missing_scopes"], json!(missing), "{}", self.body);
    }

    /// Asserts `status` and returns the body.
    #[track_caller]
    pub fn ok(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        &self.body
    }
}

/// Sends `req` (with `token` as bearer, when given).
pub async fn send<S, B>(app: &S, req: test::TestRequest, token: Option<&str>) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = match token {
        Some(token) => req.insert_header((header::AUTHORIZATION, format!("Bearer {token}"))),
        None => req,
    };
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = test::read_body(res).await;
    Reply {
        status,
        content_type,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

/// `GET uri`.
pub async fn get<S, B>(app: &S, token: &str, uri: &str) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(app, test::TestRequest::get().uri(uri), Some(token)).await
}

/// `POST uri` with a JSON body.
pub async fn post<S, B>(app: &S, token: &str, uri: &str, body: Value) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(
        app,
        test::TestRequest::post().uri(uri).set_json(body),
        Some(token),
    )
    .await
}

/// `PUT uri` with a JSON body.
pub async fn put<S, B>(app: &S, token: &str, uri: &str, body: Value) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(app, test::TestRequest::put().uri(uri).set_json(body), Some(token)).await
}

/// Creates a task of type `noop` on `queue` with `extra` fields; returns its id.
pub async fn create<S, B>(app: &S, token: &str, queue: &str, extra: Value) -> Uuid
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let id = Uuid::now_v7();
    let mut body = json!({ "queue": queue, "task_type": "noop" });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    put(app, token, &format!("/v1/queue/tasks/{id}"), body)
        .await
        .ok(StatusCode::CREATED);
    id
}

/// The worker `worker_id` of group `test`, as bodies name it.
pub fn worker(worker_id: &str) -> Value {
    json!({ "worker_group": "test", "worker_id": worker_id })
}

/// Claims up to `n` tasks of `queue` for `worker_id`, waiting at most `wait_ms`.
pub async fn claim<S, B>(
    app: &S,
    token: &str,
    queue: &str,
    worker_id: &str,
    n: usize,
    wait_ms: u64,
) -> Vec<Value>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = json!({ "worker": worker(worker_id), "tasks": n, "wait_ms": wait_ms });
    let reply = post(app, token, &format!("/v1/queue/claim-work/{queue}"), body).await;
    reply.ok(StatusCode::OK)["tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The task as stored.
pub async fn stored(queue: &Queue, id: Uuid) -> Task {
    queue.task(id).await.expect("task")
}
