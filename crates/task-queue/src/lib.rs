//! plinth-task-queue: one engine for in-process jobs and remote-worker tasks.
//!
//! A task is a unit of work on a named queue, after Taskcluster: it waits
//! *unscheduled* for its dependencies, becomes *pending*, is claimed by a
//! worker (*running*, under a lease the worker renews), and its run resolves
//! *completed*, *failed* or *exception*. Automatic retries add a new pending
//! run where Taskcluster's rules allow it and retries remain; every run is
//! kept: the task row holds its latest run, the history table the runs a
//! later one replaced, and [`Queue::status`] lists them all. Past its deadline a task resolves
//! exception/deadline-exceeded and changes no more.
//!
//! [`Queue`] is the service. Creation works inside the caller's transaction
//! ([`Queue::create_in`]); claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL
//! and the single writer on SQLite; idle workers wake through
//! `LISTEN`/`NOTIFY` with polling as the fallback. [`Workers`] runs async
//! Rust handlers in-process; remote workers use [`Queue::claim_work`] (or
//! [`Queue::claim_work_waiting`], which long-polls), [`Queue::reclaim`] and
//! [`Queue::report`] — over HTTP through the routes of the `http` feature
//! (`http::configure`, mounted by the server under `/v1/queue`).

pub mod artifact;
pub mod claim;
pub mod clock;
mod completed;
pub mod config;
pub mod control;
pub mod create;
pub mod dead_letter;
pub mod definition;
pub mod entity;
pub mod error;
pub mod events;
pub mod group;
#[cfg(feature = "http")]
pub mod http;
pub mod index;
mod long_poll;
pub mod maintenance;
mod metrics;
pub mod migration;
mod notify;
pub mod page;
pub mod queue;
pub mod registry;
pub mod report;
mod resolve;
pub mod state;
mod store;
pub mod transition;
pub mod validate;
pub mod worker;

pub use claim::{Claim, WorkerRef};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Backoff, Config, Retention};
pub use create::{Created, Enqueued};
pub use definition::NewTask;
pub use entity::artifact::Model as Artifact;
pub use entity::group::Model as Group;
pub use entity::indexed::Model as IndexedTask;
pub use entity::run::Model as Run;
pub use entity::task::Model as Task;
pub use entity::worker::Model as Worker;
pub use error::{Error, Result};
pub use migration::Migrator;
pub use page::Page;
pub use queue::{Queue, TaskStatus};
pub use report::Report;
pub use state::{ArtifactKind, Reason, ReasonCreated, Requires, RunState, TaskState};
pub use transition::Outcome;
pub use worker::{Handler, Job, JobError, JobResult, RunningWorkers, ShutdownReport, WorkerOptions, Workers};
