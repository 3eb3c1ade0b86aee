//! RFC 9457 `application/problem+json` errors for actix-web, and extractor
//! configs whose failures (bad JSON, oversize bodies, bad paths or queries)
//! come out as problems instead of plain text.

use std::borrow::Cow;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;

use crate::Error;

/// The media type of problem responses.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem: a stable `type`, a short `title`, the HTTP `status`
/// and a human `detail`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `urn:plinth:problem:not-found`.
    #[serde(rename = "type")]
    pub kind: Cow<'static, str>,
    /// Short summary of the kind of problem.
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this case, for a human.
    pub detail: String,
    /// Extra members, e.g. the missing scopes.
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Response headers that go with the problem (`WWW-Authenticate`, `Retry-After`).
    #[serde(skip)]
    #[schema(ignore)]
    pub headers: Vec<(&'static str, String)>,
}

impl Problem {
    /// A problem of kind `slug` (`urn:plinth:problem:<slug>`) with the status's reason as title.
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: Cow::Owned(format!("urn:plinth:problem:{slug}")),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            extra: serde_json::Map::new(),
            headers: Vec::new(),
        }
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// 400: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// 422: the request is well-formed but its content is invalid.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail)
    }

    /// 404: the resource does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// 413: the body is larger than allowed.
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", detail)
    }

    /// 500: a bug; the detail shown to the client is generic.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; it has been logged",
        )
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)));
        for (name, value) in &self.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                res.insert_header((*name, value));
            }
        }
        res.body(serde_json::to_string(self).unwrap_or_default())
    }
}

impl From<Error> for Problem {
    fn from(err: Error) -> Self {
        match err {
            Error::Conflict(msg) => Self::conflict(msg),
            Error::NotFound(what) => Self::not_found(format!("{what} not found")),
            Error::ForeignKey(msg) => Self::invalid(format!("a referenced resource does not exist: {msg}")),
            busy if busy.is_busy() => {
                tracing::warn!(error = %busy, "database busy");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is too busy to answer now; retry shortly",
                )
                .with_header("retry-after", "1")
            }
            other => {
                tracing::error!(error = %other, "database error");
                Self::internal()
            }
        }
    }
}

/// Maps a JSON body failure to 400 (naming what was wrong), 413 or 415.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let problem = match &err {
        JsonPayloadError::OverflowKnownLength { length, limit } => Problem::too_large(format!(
            "body of {length} bytes exceeds the limit of {limit} bytes"
        )),
        JsonPayloadError::Overflow { limit } => {
            Problem::too_large(format!("body exceeds the limit of {limit} bytes"))
        }
        JsonPayloadError::ContentType => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "expected Content-Type: application/json",
        ),
        JsonPayloadError::Deserialize(e) => Problem::bad_request(format!("invalid JSON body: {e}")),
        JsonPayloadError::Payload(actix_web::error::PayloadError::Overflow) => {
            Problem::too_large("body exceeds the size limit")
        }
        other => Problem::bad_request(format!("could not read JSON body: {other}")),
    };
    problem.into()
}

/// Maps a path-parameter failure to 404 naming the bad segment.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    Problem::not_found(format!("invalid path parameter: {err}")).into()
}

/// Maps a query-string failure to 400 naming what was wrong.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    Problem::bad_request(format!("invalid query string: {err}")).into()
}

/// Registers JSON, path and query extractor configs that answer with problems;
/// `json_limit` caps JSON bodies in bytes.
pub fn configure_extractors(cfg: &mut web::ServiceConfig, json_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(json_limit)
            .error_handler(json_error),
    )
    .app_data(web::PathConfig::default().error_handler(path_error))
    .app_data(web::QueryConfig::default().error_handler(query_error));
}
