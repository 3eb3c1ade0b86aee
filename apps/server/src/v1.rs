//! What is mounted under `/v1`: each domain crate's routes and OpenAPI
//! document. This is the one place to add a crate to the HTTP API.

use actix_web::web;
use utoipa::openapi::{OpenApi, OpenApiBuilder};

use crate::app::AppState;

/// Mounts every domain crate's routes inside the `/v1` scope, e.g.
/// `plinth_auth::http::configure(cfg)` after registering the crate's service
/// built from `state.db` as `web::Data`. No crate is mounted yet.
pub fn configure(_cfg: &mut web::ServiceConfig, _state: &AppState) {}

/// The OpenAPI documents of the routes mounted by [`configure`], with paths
/// relative to `/v1`: merge each crate's document here, e.g.
/// `.merge_from(plinth_auth::http::ApiDoc::openapi())`.
pub fn openapi() -> OpenApi {
    OpenApiBuilder::new().build()
}
