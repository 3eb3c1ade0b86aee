//! The routes under `/v1/queue` through the real service, on SQLite and PostgreSQL.

mod support;

mod groups;
mod openapi;
mod refusals;
mod tasks;
mod workers;
