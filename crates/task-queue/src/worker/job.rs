//! What an in-process handler receives and returns.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::state::Reason;
use crate::{Outcome, Task};

/// A claimed task handed to a handler.
#[derive(Debug, Clone)]
pub struct Job {
    task: Task,
}

impl Job {
    pub(crate) fn new(task: Task) -> Self {
        Self { task }
    }

    /// The task id.
    pub fn id(&self) -> Uuid {
        self.task.id
    }

    /// The run being executed, from 0.
    pub fn run_id(&self) -> i32 {
        self.task.run_id.unwrap_or(0)
    }

    /// Which attempt this is, from 1.
    pub fn attempt(&self) -> i32 {
        self.task.attempts
    }

    /// The raw payload.
    pub fn payload(&self) -> &Value {
        &self.task.payload
    }

    /// The payload as `T`; a payload that does not fit resolves the task
    /// exception/malformed-payload, without retry.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        T::deserialize(&self.task.payload).map_err(|e| JobError::malformed(e.to_string()))
    }

    /// The whole task row.
    pub fn task(&self) -> &Task {
        &self.task
    }
}

/// Why a handler gave up: retryable by default (any `std::error::Error`
/// converts into a retryable error with `?`), or permanent, or a malformed
/// payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    kind: Kind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Retry,
    Permanent,
    Malformed,
}

impl JobError {
    /// A failure worth retrying (while retries remain, after the backoff).
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Retry,
            message: message.into(),
        }
    }

    /// A failure that retrying will not fix: the task fails at once.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Permanent,
            message: message.into(),
        }
    }

    /// The payload cannot be understood: exception/malformed-payload, no retry.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Malformed,
            message: message.into(),
        }
    }

    /// How the run ends because of this error.
    pub(crate) fn outcome(self) -> Outcome {
        match self.kind {
            Kind::Retry => Outcome::Failed {
                error: self.message,
                retry: true,
            },
            Kind::Permanent => Outcome::Failed {
                error: self.message,
                retry: false,
            },
            Kind::Malformed => Outcome::Exception {
                reason: Reason::MalformedPayload,
                error: Some(self.message),
            },
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for JobError {
    fn from(err: E) -> Self {
        Self::retry(err.to_string())
    }
}

/// What a handler returns: a result kept on the task (`Value::Null` for
/// none), or an error.
pub type JobResult = Result<Value, JobError>;

/// A boxed handler future.
pub type HandlerFuture = Pin<Box<dyn Future<Output = JobResult> + Send + 'static>>;

/// An async function run for each claimed task of its type.
pub trait Handler: Send + Sync + 'static {
    /// Runs the job.
    fn call(&self, job: Job) -> HandlerFuture;
}

impl<F, Fut> Handler for F
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = JobResult> + Send + 'static,
{
    fn call(&self, job: Job) -> HandlerFuture {
        Box::pin(self(job))
    }
}
