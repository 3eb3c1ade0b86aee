//! Echoing the request id that `TracingLogger` assigns as an `x-request-id` response header.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing_actix_web::RequestId;

/// The response header carrying the request id, also found in every log line of the request.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware (for `from_fn`, inside `TracingLogger`) that copies the request id to the response.
pub async fn echo(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.extensions().get::<RequestId>().copied();
    let mut res = next.call(req).await?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok()) {
        res.headers_mut().insert(HEADER, value);
    }
    Ok(res)
}
