//! Integration tests of plinth-sessions, each run on SQLite and PostgreSQL.

mod cleanup;
mod common;
mod data;
mod migration;
mod refresh;
mod revoke;
mod tokens;
