//! The Plinth server: configuration, logging, the actix-web application that
//! composes every crate's routes, and the `plinth` command line.
//!
//! [`app::app`] builds the whole HTTP application from an [`app::AppState`];
//! [`v1`] is where domain crates mount their routes and OpenAPI documents.

pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod error;
pub mod health;
pub mod housekeeping;
pub mod logging;
pub mod metrics;
pub mod openapi;
pub mod problems;
pub mod request_id;
pub mod server;
pub mod v1;

pub use app::{AppState, app, app_with};
pub use config::Config;
pub use error::{Error, Result};
