//! The file store on SQLite and PostgreSQL, with blobs on local disk or, when
//! `PLINTH_TEST_S3_ENDPOINT` is set, on an S3-compatible server.

mod attachments;
mod blobs;
mod common;
mod files;
mod groups;
mod http;
mod links;
mod sweep;
mod uploads;
