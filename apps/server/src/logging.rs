//! Process-wide `tracing` setup: human lines (coloured on a terminal) or JSON,
//! filtered by `log.filter` or `RUST_LOG`, written to stderr by a background
//! thread so that no request waits on the write.

use std::io::{BufWriter, IsTerminal};

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
