//! `plinth-migrate`: apply, revert and inspect every Plinth crate's migrations.

use std::process::ExitCode;

use clap::Parser;
use plinth_migrations::cli::{self, MigrateCommand};

/// Manage the schema of a Plinth database.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Database to migrate.
    #[arg(long, env = "DATABASE_URL", default_value = plinth_db::DEFAULT_URL)]
    database_url: String,
    #[command(subcommand)]
    command: MigrateCommand,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let result = async {
        let db = plinth_db::connect(&args.database_url).await?;
        cli::run(&db, &args.command, &mut std::io::stdout()).await
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
