//! What is mounted under `/v1`: each domain crate's routes and OpenAPI
//! document. This is the one place to add a crate to the HTTP API.

use actix_web::web;
use utoipa::OpenApi as _;
use utoipa::openapi::{OpenApi, OpenApiBuilder};

use crate::app::AppState;

/// Mounts every domain crate's routes inside the `/v1` scope, each with its
/// service from `state` registered as `web::Data`.
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.app_data(web::Data::new(state.auth.clone()))
        .app_data(web::Data::new(state.files.clone()))
        .app_data(web::Data::new(state.queue.clone()))
        .configure(plinth_auth::http::configure)
        .configure(plinth_file_store::http::configure)
        .configure(plinth_task_queue::http::configure);
}

/// The OpenAPI documents of the routes mounted by [`configure`].
pub fn openapi() -> OpenApi {
    let mut doc = OpenApiBuilder::new().build();
    doc.merge(plinth_auth::http::ApiDoc::openapi());
    doc.merge(plinth_file_store::http::ApiDoc::openapi());
    doc.merge(plinth_task_queue::http::ApiDoc::openapi());
    doc
}
