//! Database plumbing shared by every Plinth crate: connecting to SQLite or
//! PostgreSQL, branching on the backend, typed constraint errors, the
//! per-crate migration runner and (behind features) the test harness and
//! `application/problem+json` responses.

pub mod backend;
pub mod connect;
pub mod error;
pub mod migrate;
#[cfg(feature = "http")]
pub mod problem;
pub mod schema;
pub mod secret;
pub mod sql;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod write;

pub use backend::Backend;
pub use connect::{DEFAULT_URL, DbConfig, connect, connect_with};
pub use error::{Error, OptionExt, Result};
pub use sea_orm;
pub use write::begin_write;
