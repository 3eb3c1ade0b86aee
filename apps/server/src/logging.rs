//! Process-wide `tracing` setup: human lines (coloured on a terminal) or JSON,
//! filtered by `log.filter` or `RUST_LOG`, written to stderr by a background
//! thread so that no request waits on the write; and each request's root
//! span, which keeps credentials in query strings out of the logs.

use std::io::{BufWriter, IsTerminal};

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::{Uri, Version};
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};
use crate::error::{Error, Result};

/// Installs the global subscriber and a panic hook that logs panics as errors.
/// `RUST_LOG`, when set, replaces `log.filter`. Calling it twice keeps the first.
///
/// Lines queue for a writer thread that writes whatever has queued up in one
/// go; a full queue makes loggers wait rather than drop lines. Hold the
/// returned guard while the process runs: dropping it writes what is left.
pub fn init(config: &LogConfig) -> Result<Option<WorkerGuard>> {
    let filter_text = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| config.filter.clone());
    let filter = EnvFilter::try_new(&filter_text).map_err(|e| Error::LogFilter {
        filter: filter_text.clone(),
        reason: e.to_string(),
    })?;
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("plinth-log")
        .finish(BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match config.format {
        LogFormat::Pretty => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    if installed.is_err() {
        return Ok(None);
    }
    install_panic_hook();
    Ok(Some(guard))
}

/// Logs panics through `tracing`, so they carry the request's span and format.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        tracing::error!(%location, panic = %message, "panic");
    }));
}

/// Query parameters whose values are credentials: a signed link's `sig`,
/// bearer tokens and passwords. A log line holding one is as good as the
/// link or token itself, so the logged request target shows `***` instead.
const SECRET_PARAMS: &[&str] = &["sig", "token", "access_token", "password"];

/// The target of request spans: `tracing-actix-web`'s, which this span
/// replaces, so that filters select request spans as they did before (a
/// filter such as `warn,plinth_server=info` keeps the per-request span off
/// and its cost, about half the throughput of a trivial route, away).
const SPAN_TARGET: &str = "tracing_actix_web::root_span_builder";

/// The root span of every request, for `TracingLogger`: the fields of
/// `tracing-actix-web`'s default span, with the values of [`SECRET_PARAMS`]
/// hidden in `http.target`.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let method = request.method().as_str();
        let route = request.match_pattern().unwrap_or_else(|| "default".to_owned());
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let connection = request.connection_info();
        tracing::info_span!(
            target: SPAN_TARGET,
            "HTTP request",
            http.method = %method,
            http.route = %route,
            http.flavor = flavor(request.version()),
            http.scheme = %connection.scheme(),
            http.host = %connection.host(),
            http.client_ip = %connection.realip_remote_addr().unwrap_or(""),
            http.user_agent = %user_agent,
            http.target = %logged_target(request.uri()),
            http.status_code = Empty,
            otel.name = %format!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
            exception.details = Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The HTTP version as OpenTelemetry's `http.flavor` names it.
fn flavor(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2.0",
        Version::HTTP_3 => "3.0",
        _ => "unknown",
    }
}

/// The path and query of `uri` with the values of [`SECRET_PARAMS`] replaced by `***`.
fn logged_target(uri: &Uri) -> String {
    match uri.query() {
        Some(query) => format!(
            "{}?{}",
            uri.path(),
            plinth_db::secret::hide_query_values(query, SECRET_PARAMS)
        ),
        None => uri.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_query_values_are_hidden() {
        let target = |uri: &str| logged_target(&uri.parse().expect("a URI"));
        assert_eq!(target("/healthz"), "/healthz");
        assert_eq!(target("/a?b=1&c"), "/a?b=1&c");
        assert_eq!(
            target("/f?expires=1&key=k&sig=abc&x=sig"),
            "/f?expires=1&key=k&sig=***&x=sig"
        );
        assert_eq!(target("/t?token=t&password=p"), "/t?token=***&password=***");
    }
}
