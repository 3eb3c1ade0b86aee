//! `plinth serve`: connect, migrate, bind, serve, and stop gracefully on SIGINT or SIGTERM.

use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use plinth_db::Backend;

use crate::app::{AppState, app};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::{housekeeping, metrics};

/// Runs the server until a shutdown signal; in-flight requests get
/// `http.shutdown_timeout_secs` to finish. A second signal stops at once.
pub async fn serve(config: &Config) -> Result<()> {
    let db = plinth_db::connect_with(&config.database).await?;
    let backend = Backend::of(&db)?;
    tracing::info!(
        backend = backend.name(),
        url = %plinth_db::connect::redact(&config.database.url),
        "connected to the database"
    );
    if config.migrate_on_start {
        let changes = plinth_db::migrate::up(&db, &plinth_migrations::all()).await?;
        for change in &changes {
            tracing::info!(crate_name = %change.crate_name, migration = %change.name, "applied migration");
        }
        tracing::info!(applied = changes.len(), "database is migrated");
    } else {
        tracing::info!("migrate_on_start is false: not migrating");
    }

    let state = AppState::build(db.clone(), config).await?;
    let workers = housekeeping::start_workers(
        &state.queue,
        state.auth.clone(),
        state.files.clone(),
        &config.housekeeping,
        Duration::from_secs(config.queue.maintenance_interval_secs),
    )?;
    let scheduler = housekeeping::spawn_scheduler(
        state.queue.clone(),
        Duration::from_secs(config.housekeeping.interval_secs),
    );
    let mut server = HttpServer::new(move || app(state.clone()))
        .shutdown_timeout(config.http.shutdown_timeout_secs)
        .disable_signals();
    if let Some(workers) = config.http.workers {
        server = server.workers(workers.max(1));
    }
    let server = server.bind(&config.http.bind).map_err(|source| Error::Io {
        context: format!("cannot listen on {}", config.http.bind),
        source,
    })?;
    for addr in server.addrs() {
        tracing::info!(%addr, version = env!("CARGO_PKG_VERSION"), "listening");
    }
    let server = server.run();
    let signals = actix_web::rt::spawn(stop_on_signal(server.handle(), config.http.shutdown_timeout_secs));
    let upkeep = metrics::spawn_upkeep();
    let result = server.await;
    signals.abort();
    upkeep.abort();
    scheduler.abort();
    let report = workers
        .shutdown(Duration::from_secs(config.http.shutdown_timeout_secs))
        .await?;
    tracing::info!(released = report.released, "queue workers stopped");
    db.close().await.ok();
    result.map_err(|source| Error::Io {
        context: "the HTTP server failed".to_owned(),
        source,
    })?;
    tracing::info!("shutdown complete");
    Ok(())
}

/// Waits for SIGINT or SIGTERM, then stops the server gracefully; a second
/// signal stops it immediately.
async fn stop_on_signal(server: ServerHandle, timeout_secs: u64) {
    let signal = shutdown_signal().await;
    tracing::info!(
        signal,
        timeout = ?Duration::from_secs(timeout_secs),
        "shutting down: finishing in-flight requests"
    );
    tokio::select! {
        () = server.stop(true) => {}
        signal = shutdown_signal() => {
            tracing::warn!(signal, "second signal: stopping now");
            server.stop(false).await;
        }
    }
}

/// The name of the first shutdown signal received.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => "SIGINT",
                    _ = term.recv() => "SIGTERM",
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the server");
                tokio::signal::ctrl_c().await.ok();
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.ok();
        "ctrl-c"
    }
}
