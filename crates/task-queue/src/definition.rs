//! What a caller asks for when creating a task, its checks, and the row it becomes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::db_time;
use crate::config::{Backoff, Config};
use crate::entity::task;
use crate::state::{ReasonCreated, Requires, TaskState};
use crate::{Error, Result, validate};

/// Most dependencies one task may have.
pub const MAX_DEPENDENCIES: usize = 10_000;
/// Most runs one task may have, as in Taskcluster: retries stop and reruns
/// are refused once a task has had this many.
pub const MAX_RUNS: i32 = 50;
/// The scheduler of tasks created without one.
pub const DEFAULT_SCHEDULER: &str = "-";

/// The definition of a task to create. Only `queue` and `task_type` are
/// required; the rest default from [`Config`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// Task id; a new uuid v7 when absent. Creating again with the same id
    /// and an equal definition returns the existing task.
    #[serde(default)]
    pub id: Option<Uuid>,
    /// Queue to claim it from (`provisioner/worker-type` for remote workers).
    pub queue: String,
    /// Which handler runs it.
    pub task_type: String,
    /// Input of the handler.
    #[serde(default)]
    pub payload: Value,
    /// Higher runs first.
    #[serde(default)]
    pub priority: i32,
    /// Earliest time to run; now when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub run_at: Option<OffsetDateTime>,
    /// Runs the task may take, first run plus automatic retries (at least 1).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Delay before automatic retries.
    #[serde(default)]
    pub backoff: Option<Backoff>,
    /// Longest an in-process handler may run, in milliseconds.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// After this time the task resolves exception/deadline-exceeded.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    /// After this time the resolved task may be deleted.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
    /// While a task on the same queue with this key is unscheduled, pending
    /// or running, creating another there returns that one instead.
    #[serde(default)]
    pub unique_key: Option<String>,
    /// Free-form string tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Task group to join; created on first use.
    #[serde(default)]
    pub task_group_id: Option<Uuid>,
    /// Scheduler id shared by the group's tasks; `-` when absent.
    #[serde(default)]
    pub scheduler_id: Option<String>,
    /// Tasks that must resolve first: existing ones, or ones earlier in the same batch.
    #[serde(default)]
    pub dependencies: Vec<Uuid>,
    /// Whether the dependencies must complete or merely resolve.
    #[serde(default)]
    pub requires: Requires,
    /// Whether to record task.created and task.resolved events (on by default;
    /// high-volume jobs whose lifecycle nobody subscribes to may turn it off).
    #[serde(default = "yes")]
    pub record_events: bool,
}

fn yes() -> bool {
    true
}

impl NewTask {
    /// A task of `task_type` on `queue` with `payload` and every default.
    pub fn new(queue: impl Into<String>, task_type: impl Into<String>, payload: Value) -> Self {
        Self {
            id: None,
            queue: queue.into(),
            task_type: task_type.into(),
            payload,
            priority: 0,
            run_at: None,
            max_attempts: None,
            backoff: None,
            timeout_ms: None,
            deadline: None,
            expires: None,
            unique_key: None,
            tags: BTreeMap::new(),
            task_group_id: None,
            scheduler_id: None,
            dependencies: Vec::new(),
            requires: Requires::AllCompleted,
            record_events: true,
        }
    }

    /// Sets the id.
    pub fn id(mut self, id: Uuid) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the priority (higher runs first).
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Delays the first run until `at`.
    pub fn run_at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Sets the number of runs allowed, first run plus retries.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// Sets the retry backoff.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// Sets the in-process handler timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Sets the deadline.
    pub fn deadline(mut self, at: OffsetDateTime) -> Self {
        self.deadline = Some(at);
        self
    }

    /// Sets the expiry.
    pub fn expires(mut self, at: OffsetDateTime) -> Self {
        self.expires = Some(at);
        self
    }

    /// Sets the unique key.
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Puts the task in a group.
    pub fn group(mut self, task_group_id: Uuid) -> Self {
        self.task_group_id = Some(task_group_id);
        self
    }

    /// Sets the scheduler id.
    pub fn scheduler(mut self, scheduler_id: impl Into<String>) -> Self {
        self.scheduler_id = Some(scheduler_id.into());
        self
    }

    /// Adds dependencies.
    pub fn depends_on(mut self, ids: impl IntoIterator<Item = Uuid>) -> Self {
        self.dependencies.extend(ids);
        self
    }

    /// Sets when the dependencies count as satisfied.
    pub fn requires(mut self, requires: Requires) -> Self {
        self.requires = requires;
        self
    }

    /// Turns off task.created and task.resolved events for this task.
    pub fn without_events(mut self) -> Self {
        self.record_events = false;
        self
    }

    /// Checks the definition and normalises its times and dependency list.
    pub(crate) fn validated(mut self, config: &Config) -> Result<Self> {
        validate::queue_name(&self.queue)?;
        validate::task_type(&self.task_type)?;
        validate::json("payload", &self.payload, config.max_payload_bytes)?;
        if let Some(key) = &self.unique_key {
            validate::text("unique key", key, validate::MAX_UNIQUE_KEY_LEN)?;
        }
        if let Some(id) = &self.scheduler_id {
            validate::ident("scheduler id", id)?;
        }
        validate::at_most("tags", self.tags.len(), validate::MAX_TAGS)?;
        for (k, v) in &self.tags {
            validate::text("tag key", k, validate::MAX_TAG_LEN)?;
            if v.len() > validate::MAX_TAG_LEN || plinth_db::text::has_nul(v) {
                return Err(Error::Invalid(format!(
                    "tag `{k}` must be at most {} bytes without NUL characters",
                    validate::MAX_TAG_LEN
                )));
            }
        }
        if self
            .max_attempts
            .is_some_and(|n| n == 0 || n > MAX_RUNS.unsigned_abs())
        {
            return Err(Error::Invalid(format!("max_attempts must be 1-{MAX_RUNS}")));
        }
        self.dependencies.sort_unstable();
        self.dependencies.dedup();
        validate::at_most("dependencies", self.dependencies.len(), MAX_DEPENDENCIES)?;
        if let Some(id) = self.id
            && self.dependencies.binary_search(&id).is_ok()
        {
            return Err(Error::Invalid(format!("task {id} depends on itself")));
        }
        if let Some(b) = &self.backoff
            && (b.base_ms > validate::MAX_BACKOFF_MS || b.max_ms > validate::MAX_BACKOFF_MS)
        {
            return Err(Error::Invalid(format!(
                "backoff base_ms and max_ms must be at most {} (30 days)",
                validate::MAX_BACKOFF_MS
            )));
        }
        self.run_at = self.run_at.map(|t| validate::time("run_at", t)).transpose()?;
        self.deadline = self.deadline.map(|t| validate::time("deadline", t)).transpose()?;
        self.expires = self.expires.map(|t| validate::time("expires", t)).transpose()?;
        if let (Some(deadline), Some(expires)) = (self.deadline, self.expires)
            && expires < deadline
        {
            return Err(Error::Invalid("expires must not be before the deadline".into()));
        }
        Ok(self)
    }

    /// BLAKE3 of the definition without its id, object keys sorted, so an
    /// equal definition hashes equal whatever the key order of the payload.
    pub(crate) fn hash(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.remove("id");
        }
        canonical(&value, &mut hasher);
        hasher.finalize().to_hex().to_string()
    }

    /// The row this definition becomes, unscheduled when it has dependencies.
    pub(crate) fn into_row(self, id: Uuid, config: &Config, now: OffsetDateTime) -> task::Model {
        let hash = self.hash();
        let max_attempts = self.max_attempts.unwrap_or(config.max_attempts);
        let max_attempts = i32::try_from(max_attempts).unwrap_or(MAX_RUNS).clamp(1, MAX_RUNS);
        let backoff = self.backoff.unwrap_or(config.backoff);
        let waits = !self.dependencies.is_empty();
        let deadline = self.deadline.or_else(|| {
            config
                .deadline
                .map(|d| db_time(now.saturating_add(crate::clock::duration(d))))
        });
        let big = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        task::Model {
            id,
            queue: self.queue,
            task_type: self.task_type,
            payload: self.payload,
            priority: self.priority,
            state: if waits {
                TaskState::Unscheduled
            } else {
                TaskState::Pending
            },
            run_id: if waits { None } else { Some(0) },
            run_reason: if waits {
                None
            } else {
                Some(ReasonCreated::Scheduled)
            },
            scheduled_at: if waits { None } else { Some(now) },
            run_at: self.run_at.unwrap_or(now),
            attempts: 0,
            max_attempts,
            retries_left: max_attempts - 1,
            backoff_base_ms: big(backoff.base_ms),
            backoff_max_ms: big(backoff.max_ms),
            timeout_ms: self.timeout_ms.map(big),
            deadline,
            expires: self.expires,
            worker_group: None,
            worker_id: None,
            taken_until: None,
            started_at: None,
            resolved_at: None,
            reason: None,
            error: None,
            result: None,
            unique_key: self.unique_key,
            tags: serde_json::to_value(self.tags).unwrap_or_default(),
            task_group_id: self.task_group_id,
            scheduler_id: self.scheduler_id.unwrap_or_else(|| DEFAULT_SCHEDULER.to_owned()),
            requires: self.requires,
            record_events: self.record_events,
            definition_hash: hash,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Feeds a JSON value to the hasher in a canonical form (object keys sorted),
/// scalars and keys written as JSON text straight into the hasher.
fn canonical(value: &Value, hasher: &mut blake3::Hasher) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            hasher.update(b"{");
            for key in keys {
                scalar(key, hasher);
                hasher.update(b":");
                canonical(&map[key], hasher);
                hasher.update(b",");
            }
            hasher.update(b"}");
        }
        Value::Array(items) => {
            hasher.update(b"[");
            for item in items {
                canonical(item, hasher);
                hasher.update(b",");
            }
            hasher.update(b"]");
        }
        other => scalar(other, hasher),
    }
}

/// Writes a string or scalar as JSON text into the hasher.
fn scalar<T: serde::Serialize + ?Sized>(value: &T, hasher: &mut blake3::Hasher) {
    // Writing to a hasher cannot fail, nor can serialising a string or a JSON scalar.
    let _ = serde_json::to_writer(hasher, value);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn equal_definitions_hash_equal_whatever_the_key_order() {
        let a = NewTask::new("q", "t", json!({"a": 1, "b": [1, {"x": 2, "y": 3}]}));
        let b = NewTask::new("q", "t", json!({"b": [1, {"y": 3, "x": 2}], "a": 1}));
        assert_eq!(a.hash(), b.hash());
        assert_eq!(
            a.clone().id(Uuid::now_v7()).hash(),
            a.hash(),
            "the id is not part of the definition"
        );
        assert_ne!(a.clone().priority(1).hash(), a.hash());
    }

    #[test]
    fn the_hash_of_a_definition_does_not_change_between_versions() {
        let task = NewTask::new(
            "q",
            "t",
            json!({"s": "é\"\n", "n": [1.5, -2, null, true], "o": {}}),
        )
        .priority(2)
        .tag("k", "v");
        assert_eq!(
            task.hash(),
            "cd2c14e753eb60c5d1936a90e123faf32bf49a5d324bc53b596abde8f0f3642d"
        );
    }

    #[test]
    fn definitions_are_checked() {
        let config = Config::default();
        assert!(
            NewTask::new("Bad Queue", "t", Value::Null)
                .validated(&config)
                .is_err()
        );
        assert!(NewTask::new("q", "", Value::Null).validated(&config).is_err());
        assert!(
            NewTask::new("q", "t", Value::Null)
                .max_attempts(0)
                .validated(&config)
                .is_err()
        );
        let id = Uuid::now_v7();
        assert!(
            NewTask::new("q", "t", Value::Null)
                .id(id)
                .depends_on([id])
                .validated(&config)
                .is_err()
        );
        let small = Config {
            max_payload_bytes: 10,
            ..Config::default()
        };
        let big = NewTask::new("q", "t", json!("a long string")).validated(&small);
        assert!(matches!(big, Err(Error::PayloadTooLarge { .. })));
        let parsed: NewTask =
            serde_json::from_value(json!({"queue": "q", "task_type": "t", "run_at": "2030-01-01T00:00:00Z"}))
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(parsed.record_events);
        assert!(parsed.run_at.is_some());
    }
}
