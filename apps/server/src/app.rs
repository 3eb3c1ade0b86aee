//! Building the actix-web application: shared state, middleware, the
//! operational routes, the `/v1` scope and the problem+json fallbacks.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, Route, guard, web};
use plinth_db::sea_orm::DatabaseConnection;
use tracing_actix_web::TracingLogger;

use plinth_auth::Auth;
use plinth_file_store::FileStore;
use plinth_task_queue::Queue;

use crate::config::Config;
use crate::error::Result;
use crate::{health, logging, metrics, openapi, problems, request_id, v1};

/// What every handler can reach, registered as `web::Data<AppState>`: the
/// database and every crate's service.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// Largest JSON request body accepted, in bytes.
    pub json_limit_bytes: usize,
    /// Identity and authorisation.
    pub auth: Auth,
    /// Files, uploads, file groups and attachments.
    pub files: FileStore,
    /// The task queue.
    pub queue: Queue,
}

impl AppState {
    /// Builds every service over `db` from the configuration.
    pub async fn build(db: DatabaseConnection, config: &Config) -> Result<Self> {
        let auth = Auth::new(db.clone(), config.auth.clone()).await?;
        let files = FileStore::new(db.clone(), &config.files)?;
        let queue = Queue::new(db.clone(), config.queue.queue());
        Ok(Self {
            db,
            json_limit_bytes: config.http.json_limit_bytes,
            auth,
            files,
            queue,
        })
    }
}

/// The complete application: operational routes plus every crate's routes under `/v1`.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    app_with(state, v1::configure)
}

/// The application with `mount_v1` instead of [`v1::configure`] inside the
/// `/v1` scope, for embedding applications and tests. Everything else — the
/// middleware, extractor configs and problem+json fallbacks — is the same.
pub fn app_with<F>(
    state: AppState,
    mount_v1: F,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
>
where
    F: FnOnce(&mut web::ServiceConfig, &AppState),
{
    // The recorder is process-wide; this only installs it on the first call.
    metrics::handle();
    let json_limit = state.json_limit_bytes;
    App::new()
        .app_data(web::Data::new(state.clone()))
        .configure(|cfg| plinth_db::problem::configure_extractors(cfg, json_limit))
        .configure(configure_operations)
        .service(web::scope("/v1").configure(|cfg| mount_v1(cfg, &state)))
        .default_service(web::to(problems::no_route))
        .wrap(ErrorHandlers::new().default_handler(problems::as_problem))
        .wrap(from_fn(problems::catch_panic))
        .wrap(from_fn(metrics::observe))
        .wrap(from_fn(request_id::echo))
        .wrap(TracingLogger::<logging::RequestSpan>::new())
}

/// Health, readiness, metrics and API documentation routes. Each answers
/// HEAD as it answers GET (without the body), as HTTP requires and as load
/// balancers' health checks may ask.
pub fn configure_operations(cfg: &mut web::ServiceConfig) {
    fn get_or_head() -> Route {
        web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
    }
    let not_allowed = || problems::method_not_allowed("GET, HEAD");
    cfg.service(
        web::resource("/healthz")
            .route(get_or_head().to(health::healthz))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/readyz")
            .route(get_or_head().to(health::readyz))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/metrics")
            .route(get_or_head().to(metrics::render))
            .default_service(not_allowed()),
    )
    .service(
        web::resource(openapi::JSON_PATH)
            .route(get_or_head().to(openapi::json))
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/docs")
            .route(get_or_head().to(openapi::docs_redirect))
            .default_service(not_allowed()),
    )
    .service(openapi::swagger_ui());
}
