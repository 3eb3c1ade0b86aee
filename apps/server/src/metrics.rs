//! Prometheus metrics: one recorder per process, the `/metrics` endpoint and
//! the middleware that counts requests and times them by method, matched
//! route pattern and status.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Counter of handled requests, labelled `method`, `route`, `status`.
pub const REQUESTS: &str = "http_requests_total";
/// Histogram of request latency in seconds, labelled like [`REQUESTS`].
pub const DURATION: &str = "http_request_duration_seconds";
/// The `route` label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// Latency histogram buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Routes probed so often that their requests are logged at debug level only.
const QUIET_ROUTES: &[&str] = &["/healthz", "/readyz", "/metrics"];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus handle; the first call builds the recorder and
/// installs it as the global `metrics` recorder.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), BUCKETS)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "latency buckets refused; recording summaries");
                PrometheusBuilder::new()
            });
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if ::metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows none of its metrics");
        }
        ::metrics::describe_counter!(REQUESTS, "HTTP requests handled");
        ::metrics::describe_histogram!(DURATION, ::metrics::Unit::Seconds, "HTTP request latency");
        handle
    })
}

/// Drains histogram samples every few seconds so memory stays bounded between
/// scrapes; runs until the returned task is aborted.
pub fn spawn_upkeep() -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle().run_upkeep();
        }
    })
}

/// `GET /metrics`: every metric in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format",
               body = String, content_type = "text/plain"))
)]
pub async fn render() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(handle().render())
}

/// Middleware (for `from_fn`) that counts and times each request and logs one line for it.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let start = Instant::now();
    let method = method_label(req.method());
    let res = next.call(req).await;
    let elapsed = start.elapsed();
    let (status, route) = match &res {
        Ok(res) => (res.status(), res.request().match_pattern()),
        Err(e) => (e.as_response_error().status_code(), None),
    };
    let route = route.unwrap_or_else(|| UNMATCHED.to_owned());
    let labels = [
        ("method", method.to_owned()),
        ("route", route.clone()),
        ("status", status.as_str().to_owned()),
    ];
    ::metrics::counter!(REQUESTS, &labels).increment(1);
    ::metrics::histogram!(DURATION, &labels).record(elapsed.as_secs_f64());
    // Method, path and route are fields of the enclosing request span.
    let millis = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let status = status.as_u16();
    if QUIET_ROUTES.contains(&route.as_str()) {
        tracing::debug!(status, millis, "request done");
    } else {
        tracing::info!(status, millis, "request done");
    }
    res
}

/// The method as a label; non-standard methods share one value to bound cardinality.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
