//! `/healthz` (the process is up) and `/readyz` (the database answers and is migrated).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use plinth_db::migrate::State;
use plinth_db::problem::Problem;
use serde::Serialize;

use crate::app::AppState;

/// How long a readiness check may take before it counts as not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// The body of a successful health or readiness check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

fn ok() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".to_owned(),
    })
}

/// Liveness: answers 200 while the process serves requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = Health))
)]
pub async fn healthz() -> HttpResponse {
    ok()
}

/// Readiness: 200 when the database answers and every known migration is
/// applied, otherwise 503 saying what is missing.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve traffic", body = Health),
        (status = 503, description = "The database is unreachable or not migrated",
         body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    match tokio::time::timeout(READY_TIMEOUT, check(&state)).await {
        Ok(result) => result.map(|()| ok()),
        Err(_) => Err(not_ready(format!(
            "the database did not answer within {} s",
            READY_TIMEOUT.as_secs()
        ))),
    }
}

async fn check(state: &AppState) -> Result<(), Problem> {
    state
        .db
        .ping()
        .await
        .map_err(|e| not_ready(format!("the database does not answer: {e}")))?;
    let rows = plinth_db::migrate::status(&state.db, &plinth_migrations::all())
        .await
        .map_err(|e| not_ready(format!("cannot read the migration status: {e}")))?;
    // Migrations unknown to this build were applied by a newer release: during a
    // rolling upgrade the older replicas stay ready.
    let missing: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            let what = match row.state {
                State::Pending => "pending",
                State::Edited(_) => "edited since applied",
                State::Applied(_) | State::Unknown(_) => return None,
            };
            Some(format!("{}/{} ({what})", row.crate_name, row.name))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(not_ready(format!(
        "{} migration(s) not applied: {}; run `plinth migrate up`",
        missing.len(),
        missing.join(", ")
    ))
    .with("migrations", missing))
}

fn not_ready(detail: String) -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", detail)
}
