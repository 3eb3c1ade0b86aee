//! The migration commands, as a clap subcommand and a runner that prints results.

use std::io::Write;

use clap::Subcommand;
use plinth_db::migrate::{self, State};
use plinth_db::sea_orm::DatabaseConnection;
use plinth_db::{Error, Result};
use time::format_description::well_known::Rfc3339;

/// A migration command.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum MigrateCommand {
    /// Apply every pending migration of every crate (a no-op when current).
    Up,
    /// Revert the last N migrations of one crate.
    Down {
        /// The crate whose migrations to revert, e.g. `events`.
        #[arg(long = "crate", value_name = "NAME")]
        krate: String,
        /// How many migrations to revert.
        #[arg(short = 'n', default_value_t = 1)]
        n: usize,
    },
    /// List every crate's migrations: applied (with time), pending, edited or unknown.
    Status,
    /// Development only: revert everything Plinth applied and drop its tracking tables.
    Reset {
        /// Required: confirms that every Plinth table and its data will be destroyed.
        #[arg(long)]
        yes_destroy_all_data: bool,
    },
}

/// Runs `cmd` against `db` with every crate's migrator, writing a report to `out`.
pub async fn run(db: &DatabaseConnection, cmd: &MigrateCommand, out: &mut impl Write) -> Result<()> {
    let migrators = crate::all();
    let changes = match cmd {
        MigrateCommand::Up => migrate::up(db, &migrators).await?,
        MigrateCommand::Down { krate, n } => migrate::down(db, &migrators, krate, *n).await?,
        MigrateCommand::Reset { yes_destroy_all_data } => {
            if !yes_destroy_all_data {
                return Err(Error::Migration(
                    "reset destroys every Plinth table and its data; pass --yes-destroy-all-data".into(),
                ));
            }
            migrate::reset(db, &migrators).await?
        }
        MigrateCommand::Status => {
            print_status(db, &migrators, out).await?;
            return Ok(());
        }
    };
    let verb = match cmd {
        MigrateCommand::Up => "applied",
        _ => "reverted",
    };
    if changes.is_empty() {
        writeln!(out, "nothing to do").map_err(io)?;
    }
    for c in changes {
        writeln!(out, "{verb} {}/{}", c.crate_name, c.name).map_err(io)?;
    }
    Ok(())
}

async fn print_status(
    db: &DatabaseConnection,
    migrators: &[&dyn migrate::Migrator],
    out: &mut impl Write,
) -> Result<()> {
    let rows = migrate::status(db, migrators).await?;
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(9).max(9);
    writeln!(out, "{:<10} {:<width$} STATE", "CRATE", "MIGRATION").map_err(io)?;
    for row in rows {
        let at = |t: &time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
        let state = match &row.state {
            State::Applied(t) => format!("applied {}", at(t)),
            State::Pending => "pending".to_owned(),
            State::Edited(t) => format!("EDITED since applied {}", at(t)),
            State::Unknown(t) => format!("UNKNOWN to this build, applied {}", at(t)),
        };
        writeln!(out, "{:<10} {:<width$} {state}", row.crate_name, row.name).map_err(io)?;
    }
    Ok(())
}

fn io(e: std::io::Error) -> Error {
    Error::Migration(format!("cannot write report: {e}"))
}
