//! `plinth`: the Plinth server and its administration commands.

use std::process::ExitCode;

use clap::Parser;
use plinth_server::cli::{self, Cli};

#[actix_web::main]
async fn main() -> ExitCode {
    match cli::run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
