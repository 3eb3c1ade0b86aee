//! The OpenAPI document (`/openapi.json`) generated from the handlers'
//! annotations, merged with the `/v1` documents, and the browsable docs at `/docs/`.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header;
use plinth_db::problem::Problem;
use utoipa::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::health::Health;

/// Where the OpenAPI document is served.
pub const JSON_PATH: &str = "/openapi.json";
/// Where the browsable documentation is served.
pub const DOCS_PATH: &str = "/docs/";

/// The server's own routes; domain crates' documents (whose paths carry their
/// `/v1` prefix) are merged in by [`openapi`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plinth",
        description = "Identity, sessions, files and the task queue over HTTP. \
                       Errors are `application/problem+json` (RFC 9457)."
    ),
    paths(crate::health::healthz, crate::health::readyz, crate::metrics::render),
    components(schemas(Problem, Health)),
    tags((name = "operations", description = "Health, readiness and metrics"))
)]
pub struct ServerDoc;

/// The complete document: the server's routes plus [`crate::v1::openapi`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ServerDoc::openapi();
    doc.merge(crate::v1::openapi());
    doc
}

/// `GET /openapi.json`: the document, rendered once per process.
pub async fn json() -> HttpResponse {
    static RENDERED: OnceLock<Result<String, String>> = OnceLock::new();
    match RENDERED.get_or_init(|| openapi().to_json().map_err(|e| e.to_string())) {
        Ok(body) => HttpResponse::Ok()
            .content_type(header::ContentType::json())
            .body(body.clone()),
        Err(e) => {
            tracing::error!(error = %e, "cannot render the OpenAPI document");
            actix_web::ResponseError::error_response(&Problem::internal())
        }
    }
}

/// `GET /docs`: redirects to the browsable docs at `/docs/`.
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, DOCS_PATH))
        .finish()
}

/// Swagger UI at `/docs/`, reading [`JSON_PATH`]; its assets are compiled in.
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").config(Config::from(JSON_PATH))
}
