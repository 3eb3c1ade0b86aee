//! The `plinth` command line: `serve` (the default) and `migrate`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use plinth_migrations::cli::MigrateCommand;

use crate::admin::{self, AdminCommand};
use crate::config::Config;
use crate::error::Result;
use crate::{logging, server};

/// The Plinth server.
#[derive(Debug, Parser)]
#[command(name = "plinth", version, about)]
pub struct Cli {
    /// Configuration file [default: plinth.toml in the working directory, when present].
    #[arg(long, global = true, env = "PLINTH_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A `plinth` subcommand.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Migrate the database (unless `migrate_on_start = false`) and serve the HTTP API.
    Serve,
    /// Apply, revert or inspect database migrations.
    Migrate {
        /// The migration command.
        #[command(subcommand)]
        command: MigrateCommand,
    },
    /// Administration: create the first users.
    Admin {
        /// The admin command.
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// Loads the configuration, sets up logging and runs the command.
pub async fn run(cli: Cli) -> Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    let _log = logging::init(&config.log)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::serve(&config).await,
        Command::Admin { command } => admin::run(&config, command).await,
        Command::Migrate { command } => {
            let db = plinth_db::connect_with(&config.database).await?;
            let result = plinth_migrations::cli::run(&db, &command, &mut std::io::stdout()).await;
            db.close().await.ok();
            Ok(result?)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bare_plinth_serves() {
        let cli = Cli::try_parse_from(["plinth"]).ok();
        assert_eq!(cli.and_then(|c| c.command), None);
    }

    #[test]
    fn migrate_and_global_config_parse() {
        let cli = Cli::try_parse_from([
            "plinth", "migrate", "down", "--crate", "events", "--config", "x.toml",
        ])
        .ok();
        let cli = cli.map(|c| (c.command, c.config));
        assert_eq!(
            cli,
            Some((
                Some(Command::Migrate {
                    command: MigrateCommand::Down {
                        krate: "events".into(),
                        n: 1
                    }
                }),
                Some(PathBuf::from("x.toml"))
            ))
        );
    }
}
