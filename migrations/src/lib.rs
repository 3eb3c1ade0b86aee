//! plinth-migrations: every crate's [`Migrator`] in dependency order, and the
//! `up` / `down` / `status` / `reset` commands shared by the `plinth-migrate`
//! binary and `plinth migrate`.

pub mod cli;

use plinth_db::migrate::Migrator;

/// Every migrator, dependencies first (events before the crates that record
/// events, sessions before auth, auth before the crates whose routes it guards).
pub fn all() -> Vec<&'static dyn Migrator> {
    vec![
        &plinth_events::Migrator,
        &plinth_sessions::Migrator,
        &plinth_auth::Migrator,
        &plinth_task_queue::Migrator,
        &plinth_file_store::Migrator,
    ]
}
