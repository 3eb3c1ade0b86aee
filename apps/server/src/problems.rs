//! Making every error response `application/problem+json`: unknown routes,
//! wrong methods, framework errors with plain-text bodies, and panics.

use std::panic::AssertUnwindSafe;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, Next};
use actix_web::{Error, HttpRequest, HttpResponse, ResponseError, Route, web};
use futures_util::FutureExt;
use plinth_db::problem::{CONTENT_TYPE, Problem};

/// Default service: 405 when some route has this path but none this method
/// (routes registered with `cfg.route` or the method macros put the method
/// guard on the resource, so they end up here), otherwise 404.
pub async fn no_route(req: HttpRequest) -> Result<HttpResponse, Problem> {
    if req.resource_map().has_resource(req.path()) {
        return Err(method_problem(&req, None));
    }
    Err(Problem::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}

/// A resource's default service answering 405 with an `Allow: allow` header,
/// for methods the resource has no route for.
pub fn method_not_allowed(allow: &'static str) -> Route {
    web::route().to(move |req: HttpRequest| async move {
        let mut res = method_problem(&req, Some(allow)).error_response();
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        res
    })
}

fn method_problem(req: &HttpRequest, allow: Option<&str>) -> Problem {
    let mut detail = format!("method {} is not allowed on {}", req.method(), req.path());
    if let Some(allow) = allow {
        detail.push_str(&format!("; allowed: {allow}"));
    }
    Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", detail)
}

/// `ErrorHandlers` default handler: an error response that is not already
/// problem+json gets a problem body (status and headers kept). 5xx details
/// are logged, not shown.
pub fn as_problem<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if is_problem(res.headers()) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (req, res) = res.into_parts();
    let status = res.status();
    let cause = res.error().map(ToString::to_string);
    let problem = if status.is_server_error() {
        tracing::error!(
            status = status.as_u16(),
            error = cause.as_deref().unwrap_or("-"),
            "server error"
        );
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            Problem::internal()
        } else {
            Problem::new(status, &slug(status), "the server could not handle the request")
        }
    } else {
        client_problem(status, &req, cause)
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut res = res.set_body(BoxBody::new(body));
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.remove(header::CONTENT_ENCODING);
    headers.remove(header::CONTENT_LENGTH);
    let res: ServiceResponse<EitherBody<B>> = ServiceResponse::new(req, res).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

fn client_problem(status: StatusCode, req: &HttpRequest, cause: Option<String>) -> Problem {
    match status {
        StatusCode::NOT_FOUND => {
            Problem::not_found(cause.unwrap_or_else(|| format!("nothing found at {}", req.path())))
        }
        StatusCode::METHOD_NOT_ALLOWED => method_problem(req, None),
        StatusCode::BAD_REQUEST => Problem::bad_request(cause.unwrap_or_else(|| reason(status))),
        StatusCode::UNPROCESSABLE_ENTITY => Problem::invalid(cause.unwrap_or_else(|| reason(status))),
        StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::too_large(cause.unwrap_or_else(|| "the body is larger than allowed".to_owned()))
        }
        _ => Problem::new(status, &slug(status), cause.unwrap_or_else(|| reason(status))),
    }
}

fn is_problem(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(CONTENT_TYPE))
}

fn reason(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("error").to_owned()
}

/// `Payload Too Large` → `payload-too-large`.
fn slug(status: StatusCode) -> String {
    reason(status)
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            ' ' | '-' => Some('-'),
            _ => None,
        })
        .collect()
}

/// Middleware (for `from_fn`) turning a panic in a handler into a 500
/// problem instead of a dropped connection. The panic itself is logged by the
/// panic hook installed with the logger.
pub async fn catch_panic(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    match AssertUnwindSafe(async move { next.call(req).await })
        .catch_unwind()
        .await
    {
        Ok(res) => res,
        // The request went down with the handler, so the response is made from the error.
        Err(_) => Err(Problem::internal().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_kebab_case() {
        assert_eq!(slug(StatusCode::PAYLOAD_TOO_LARGE), "payload-too-large");
        assert_eq!(slug(StatusCode::METHOD_NOT_ALLOWED), "method-not-allowed");
        assert_eq!(slug(StatusCode::IM_A_TEAPOT), "im-a-teapot");
    }
}
