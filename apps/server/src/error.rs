//! The errors that stop the server or a command.

/// Why `plinth` could not start, run or finish a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration could not be read (unknown key, bad value, missing file).
    #[error("configuration: {}", all_errors(.0))]
    Config(#[from] Box<figment::Error>),
    /// The log filter could not be parsed.
    #[error("log filter `{filter}`: {reason}")]
    LogFilter {
        /// The filter as configured.
        filter: String,
        /// What was wrong with it.
        reason: String,
    },
    /// Connecting, migrating or querying failed.
    #[error(transparent)]
    Db(#[from] plinth_db::Error),
    /// Building a service or running an admin command failed.
    #[error(transparent)]
    Auth(#[from] plinth_auth::Error),
    /// The file store could not be set up (blob backend, buckets, keys).
    #[error(transparent)]
    Files(#[from] plinth_file_store::Error),
    /// The task queue or its workers failed to start or stop.
    #[error(transparent)]
    Queue(#[from] plinth_task_queue::Error),
    /// Binding the listener or running the server failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying failure.
        source: std::io::Error,
    },
}

/// Every error figment collected (one per bad key), one per line.
fn all_errors(err: &figment::Error) -> String {
    err.clone()
        .into_iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// The result of server operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
