//! Periodic upkeep while serving: deleting dead sessions and tokens after
//! their retention period. Each pass is idempotent, so several server
//! processes running it is harmless.

use std::time::Duration;

use plinth_auth::Auth;
use time::OffsetDateTime;

/// Spawns the upkeep loop: one pass shortly after start, then every `every`.
pub fn spawn(auth: Auth, every: Duration) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        loop {
            tick.tick().await;
            match auth.sessions().cleanup(OffsetDateTime::now_utc()).await {
                Ok(report) => tracing::info!(
                    sessions = report.sessions,
                    tokens = report.tokens,
                    "session cleanup"
                ),
                Err(e) => tracing::warn!(error = %e, "session cleanup failed; retrying next pass"),
            }
        }
    })
}
