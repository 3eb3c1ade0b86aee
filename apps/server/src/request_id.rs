//! Echoing the request id that `TracingLogger` assigns as an `x-request-id` response header.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing_actix_web::RequestId;

/// The response header carrying the request id, also found in every log line of the request.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware (for `from_fn`, inside `TracingLogger`) that copies the request
/// id to the response, also to the response of an error that reaches it
/// unanswered (a panic caught by [`crate::problems::catch_panic`]).
pub async fn echo(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| HeaderValue::from_str(&id.to_string()).ok());
    let Some(id) = id else {
        return next.call(req).await;
    };
    match next.call(req).await {
        Ok(mut res) => {
            res.headers_mut().insert(HEADER, id);
            Ok(res)
        }
        Err(err) => {
            let mut res = err.error_response();
            res.headers_mut().insert(HEADER, id);
            Err(InternalError::from_response(err, res).into())
        }
    }
}
