//! Server configuration: defaults, then `plinth.toml`, then `PLINTH_*`
//! environment variables, then `DATABASE_URL`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::error::{Actual, Kind};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use plinth_db::DbConfig;
use serde::{Deserialize, Serialize};

/// The configuration file read from the working directory unless `--config` names another.
pub const DEFAULT_FILE: &str = "plinth.toml";

/// Prefix of the environment variables that override the file; `__` separates nested keys.
pub const ENV_PREFIX: &str = "PLINTH_";

/// `PLINTH_*` variables that are not configuration keys and are therefore not reported as unknown.
const NOT_CONFIG_KEYS: &[&str] = &["CONFIG", "ADMIN_PASSWORD"];

/// Prefixes of the `PLINTH_*` variables the test suites and benchmarks read,
/// which are not configuration keys either.
const NOT_CONFIG_PREFIXES: &[&str] = &["TEST_", "BENCH_"];

/// Whether `PLINTH_<key>` configures the server.
fn is_config_key(key: &str) -> bool {
    let key = key.to_ascii_uppercase();
    !NOT_CONFIG_KEYS.contains(&key.as_str()) && !NOT_CONFIG_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Longest duration a setting may hold: 100 years of 365 days, in seconds.
/// Times computed from longer ones could overflow.
const MAX_DURATION_SECS: u64 = 100 * 365 * 24 * 60 * 60;

/// Default sections that the file and the environment replace whole instead
/// of merging into key by key, each with the default keys that stay as their
/// base: the buckets, a map whose default entry would otherwise always stay,
/// and the blob backend, whose keys depend on its `kind` (kept, so that a
/// section without `kind` still means local disk). Serde fills in the rest.
const REPLACED_WHOLE: &[(&str, &[&str])] = &[("files.blobs", &["kind"]), ("files.buckets", &[])];

/// The whole server configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The HTTP listener.
    pub http: HttpConfig,
    /// The database connection and pool.
    pub database: DbConfig,
    /// Log format and filter.
    pub log: LogConfig,
    /// Apply pending migrations when `serve` starts.
    pub migrate_on_start: bool,
    /// Identity: passwords, lockout, sessions, MFA, rate limits.
    pub auth: plinth_auth::AuthConfig,
    /// Files: where blobs live, buckets and their limits, signing keys.
    pub files: plinth_file_store::FileStoreConfig,
    /// The task queue: limits, leases, retention.
    pub queue: QueueConfig,
    /// Periodic upkeep run as queue jobs.
    pub housekeeping: HousekeepingConfig,
}

/// Task queue settings (the rest of [`plinth_task_queue::Config`] keeps its
/// defaults). Like every duration setting, each duration here is at most 100
/// years; longer ones stop the server at load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Largest task payload, result, artifact or index entry in bytes; larger ones get 413.
    pub max_payload_bytes: usize,
    /// Runs a task may take when its definition does not say, 1 to 50 (values
    /// outside are taken as the nearest end).
    pub max_attempts: u32,
    /// Seconds a remote worker's claim lasts before it must be reclaimed.
    pub lease_secs: u64,
    /// Longest wait between claims of an idle in-process worker without a wake-up, in milliseconds.
    pub poll_interval_ms: u64,
    /// Seconds completed tasks are kept (default 7 days); 0 deletes them at
    /// the next maintenance pass.
    pub retention_completed_secs: u64,
    /// Seconds failed tasks (dead letters) are kept (default 30 days); 0 keeps
    /// them, except a task whose own `expires` has passed.
    pub retention_failed_secs: u64,
    /// Seconds between maintenance passes: expired leases, deadlines, retention, depth gauges.
    pub maintenance_interval_secs: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        let queue = plinth_task_queue::Config::default();
        Self {
            max_payload_bytes: queue.max_payload_bytes,
            max_attempts: queue.max_attempts,
            lease_secs: queue.lease.as_secs(),
            poll_interval_ms: millis(queue.poll_interval),
            retention_completed_secs: queue.retention.completed.as_secs(),
            retention_failed_secs: queue.retention.failed.map_or(0, |d| d.as_secs()),
            maintenance_interval_secs: 5,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl QueueConfig {
    /// The queue's own configuration.
    pub fn queue(&self) -> plinth_task_queue::Config {
        plinth_task_queue::Config {
            max_payload_bytes: self.max_payload_bytes,
            max_attempts: self.max_attempts.max(1),
            lease: Duration::from_secs(self.lease_secs.max(1)),
            poll_interval: Duration::from_millis(self.poll_interval_ms.max(1)),
            retention: plinth_task_queue::Retention {
                completed: Duration::from_secs(self.retention_completed_secs),
                failed: (self.retention_failed_secs > 0)
                    .then(|| Duration::from_secs(self.retention_failed_secs)),
            },
            ..plinth_task_queue::Config::default()
        }
    }
}

/// Periodic upkeep: each pass enqueues one job per chore, deduplicated by a
/// unique key, so several server processes do each chore once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HousekeepingConfig {
    /// Seconds between passes.
    pub interval_secs: u64,
    /// Seconds a blob must be old before the file sweep may delete it (protects uploads in flight).
    pub file_sweep_grace_secs: u64,
}

impl Default for HousekeepingConfig {
    fn default() -> Self {
        Self {
            interval_secs: 3600,
            file_sweep_grace_secs: 3600,
        }
    }
}

/// The HTTP listener and request limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on, `HOST:PORT`.
    pub bind: String,
    /// Largest JSON request body accepted, in bytes; larger ones get 413.
    pub json_limit_bytes: usize,
    /// Seconds in-flight requests get to finish after a shutdown signal.
    pub shutdown_timeout_secs: u64,
    /// Worker threads; unset means one per CPU core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".to_owned(),
            json_limit_bytes: 1024 * 1024,
            shutdown_timeout_secs: 30,
            workers: None,
        }
    }
}

/// How logs are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `plinth=debug,sqlx=warn`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info".to_owned(),
        }
    }
}

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event, coloured on a terminal.
    #[default]
    Pretty,
    /// One JSON object per event.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http: HttpConfig::default(),
            database: DbConfig::default(),
            log: LogConfig::default(),
            migrate_on_start: true,
            auth: plinth_auth::AuthConfig::default(),
            files: plinth_file_store::FileStoreConfig::default(),
            queue: QueueConfig::default(),
            housekeeping: HousekeepingConfig::default(),
        }
    }
}

impl Config {
    /// The layered sources: defaults, the file (`path`, or `plinth.toml` in the
    /// working directory when it exists), `PLINTH_*` and `DATABASE_URL`.
    pub fn figment(path: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Defaults);
        let file = path.map_or_else(|| PathBuf::from(DEFAULT_FILE), Path::to_path_buf);
        if path.is_some() || file.is_file() {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(
                Env::prefixed(ENV_PREFIX)
                    .filter(|key| is_config_key(key.as_str()))
                    .split("__"),
            )
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database.url".into()))
    }

    /// Loads the configuration. A file named explicitly must exist; unknown
    /// keys, ill-typed values and durations over 100 years fail with the key
    /// and where it came from.
    pub fn load(path: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        if let Some(p) = path.filter(|p| !p.is_file()) {
            return Err(Box::new(figment::Error::from(format!(
                "configuration file {} does not exist",
                p.display()
            ))));
        }
        let figment = Self::figment(path);
        let config = figment.extract()?;
        check_durations(&figment)?;
        Ok(config)
    }
}

/// The built-in defaults as the lowest layer, with the sections in
/// [`REPLACED_WHOLE`] cut down to their base, so that partial settings of
/// every other section merge with the defaults.
struct Defaults;

impl Provider for Defaults {
    fn metadata(&self) -> Metadata {
        Metadata::named("built-in defaults")
    }

    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        let mut data = Serialized::defaults(Config::default()).data()?;
        for dict in data.values_mut() {
            for (path, kept) in REPLACED_WHOLE {
                cut_down(dict, path, kept);
            }
        }
        Ok(data)
    }
}

/// Keeps only the `kept` keys of the table at the dotted `path` in `dict`,
/// removing the table when none of them is there.
fn cut_down(dict: &mut Dict, path: &str, kept: &[&str]) {
    if let Some((head, rest)) = path.split_once('.') {
        if let Some(Value::Dict(_, inner)) = dict.get_mut(head) {
            cut_down(inner, rest, kept);
        }
        return;
    }
    if let Some(Value::Dict(_, table)) = dict.get_mut(path) {
        table.retain(|key, _| kept.contains(&key.as_str()));
        if table.is_empty() {
            dict.remove(path);
        }
    }
}

/// Refuses every duration setting (a key ending in `_secs` or `_ms`) longer
/// than [`MAX_DURATION_SECS`], naming each such key and where it was set.
fn check_durations(figment: &Figment) -> Result<(), Box<figment::Error>> {
    let mut errors = Vec::new();
    find_too_long(figment, &figment.extract()?, &mut Vec::new(), &mut errors);
    errors
        .into_iter()
        .reduce(figment::Error::chain)
        .map_or(Ok(()), |error| Err(Box::new(error)))
}

/// Adds to `errors` one error per too long duration in `dict`, the table at `path`.
fn find_too_long(figment: &Figment, dict: &Dict, path: &mut Vec<String>, errors: &mut Vec<figment::Error>) {
    for (key, value) in dict {
        path.push(key.clone());
        match value {
            Value::Dict(_, inner) => find_too_long(figment, inner, path, errors),
            Value::Num(_, num) => {
                if let (Some(max), Some(n)) = (longest(key), num.to_u128_lossy())
                    && n > max
                {
                    let mut error = figment::Error::from(Kind::InvalidValue(
                        Actual::Unsigned(n),
                        format!("a duration of at most 100 years ({max})"),
                    ));
                    error.metadata = figment.find_metadata(&path.join(".")).cloned();
                    error.profile = Some(figment.profile().clone());
                    error.path = path.clone();
                    errors.push(error);
                }
            }
            _ => {}
        }
        path.pop();
    }
}

/// The largest value of the duration setting `key` in its unit (`_secs` or
/// `_ms`), or `None` when `key` is not a duration.
fn longest(key: &str) -> Option<u128> {
    let secs = u128::from(MAX_DURATION_SECS);
    if key.ends_with("_secs") {
        Some(secs)
    } else if key.ends_with("_ms") {
        Some(secs * 1000)
    } else {
        None
    }
}

#[cfg(test)]
// `Jail` closures must return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;
    use plinth_file_store::{BlobConfig, BucketConfig, S3Config};

    use super::*;

    fn load(path: Option<&Path>) -> figment::Result<Config> {
        Config::load(path).map_err(|e| *e)
    }

    #[test]
    fn defaults_apply_without_file_or_env() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let config = load(None)?;
            assert_eq!(config, Config::default());
            assert_eq!(config.http.bind, "127.0.0.1:8080");
            assert_eq!(config.http.json_limit_bytes, 1024 * 1024);
            assert_eq!(config.database.url, plinth_db::DEFAULT_URL);
            assert_eq!(config.log.format, LogFormat::Pretty);
            assert!(config.migrate_on_start);
            Ok(())
        });
    }

    #[test]
    fn env_overrides_file() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                DEFAULT_FILE,
                r#"
                migrate_on_start = false
                [http]
                bind = "0.0.0.0:9000"
                workers = 3
                [log]
                format = "json"
                [database]
                url = "sqlite://from-file.db"
                max_connections = 4
                "#,
            )?;
            jail.set_env("PLINTH_HTTP__BIND", "127.0.0.1:7000");
            jail.set_env("PLINTH_DATABASE__MAX_CONNECTIONS", "7");
            jail.set_env("PLINTH_TEST_POSTGRES_URL", "postgres://ignored");
            jail.set_env("PLINTH_BENCH_JOBS", "1000");
            let config = load(None)?;
            assert_eq!(config.http.bind, "127.0.0.1:7000");
            assert_eq!(config.http.workers, Some(3));
            assert_eq!(config.database.url, "sqlite://from-file.db");
            assert_eq!(config.database.max_connections, 7);
            assert_eq!(config.log.format, LogFormat::Json);
            assert!(!config.migrate_on_start);

            jail.set_env("PLINTH_DATABASE__URL", "sqlite://from-plinth-env.db");
            assert_eq!(load(None)?.database.url, "sqlite://from-plinth-env.db");
            jail.set_env("DATABASE_URL", "postgres://u@h/db");
            assert_eq!(load(None)?.database.url, "postgres://u@h/db");
            Ok(())
        });
    }

    #[test]
    fn unknown_file_key_is_reported_with_its_source() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("custom.toml", "[http]\nbnd = \"0.0.0.0:1\"\n")?;
            let err = load(Some(Path::new("custom.toml"))).err();
            let msg = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains("bnd"), "{msg}");
            assert!(msg.contains("custom.toml"), "{msg}");
            Ok(())
        });
    }

    #[test]
    fn unknown_env_key_is_reported_with_its_source() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("PLINTH_DATABASE__URLL", "sqlite://x.db");
            let msg = load(None).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains("urll"), "{msg}");
            assert!(msg.contains("PLINTH_"), "{msg}");
            Ok(())
        });
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let msg = load(Some(Path::new("nope.toml")))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(msg.contains("nope.toml"), "{msg}");
            Ok(())
        });
    }

    #[test]
    fn bad_log_format_is_reported() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("PLINTH_LOG__FORMAT", "xml");
            assert!(load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn s3_blobs_in_the_file_replace_the_local_default() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                DEFAULT_FILE,
                r#"
                [files.blobs]
                kind = "s3"
                endpoint = "http://127.0.0.1:9000"
                bucket = "plinth-blobs"
                region = "eu-west-1"
                allow_http = true
                "#,
            )?;
            let config = load(None)?;
            assert_eq!(
                config.files.blobs,
                BlobConfig::S3(S3Config {
                    endpoint: Some("http://127.0.0.1:9000".to_owned()),
                    bucket: "plinth-blobs".to_owned(),
                    region: Some("eu-west-1".to_owned()),
                    access_key_id: None,
                    secret_access_key: None,
                    allow_http: true,
                    prefix: None,
                })
            );
            Ok(())
        });
    }

    #[test]
    fn env_alone_selects_s3_blobs() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("PLINTH_FILES__BLOBS__KIND", "s3");
            jail.set_env("PLINTH_FILES__BLOBS__BUCKET", "plinth-blobs");
            jail.set_env("PLINTH_FILES__BLOBS__SECRET_ACCESS_KEY", "secret");
            let config = load(None)?;
            let BlobConfig::S3(s3) = config.files.blobs else {
                panic!("not S3: {:?}", config.files.blobs);
            };
            assert_eq!(s3.bucket, "plinth-blobs");
            assert_eq!(s3.secret_access_key.as_deref(), Some("secret"));
            Ok(())
        });
    }

    #[test]
    fn blobs_without_kind_stay_on_local_disk() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("PLINTH_FILES__BLOBS__ROOT", "/srv/blobs");
            assert_eq!(
                load(None)?.files.blobs,
                BlobConfig::Local {
                    root: PathBuf::from("/srv/blobs"),
                    fsync: true,
                }
            );
            Ok(())
        });
    }

    #[test]
    fn buckets_in_the_file_replace_the_default_bucket() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                DEFAULT_FILE,
                r#"
                [files.buckets.avatars]
                max_size = 1000000
                allowed_types = ["image/*"]
                "#,
            )?;
            let config = load(None)?;
            let expected = BucketConfig {
                max_size: 1_000_000,
                allowed_types: vec!["image/*".to_owned()],
            };
            assert_eq!(config.files.buckets, [("avatars".to_owned(), expected)].into());
            assert_eq!(config.files.blobs, BlobConfig::default());
            Ok(())
        });
    }

    #[test]
    fn a_partial_section_keeps_every_other_default() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(DEFAULT_FILE, "[http]\nbind = \"0.0.0.0:9000\"\n")?;
            let expected = Config {
                http: HttpConfig {
                    bind: "0.0.0.0:9000".to_owned(),
                    ..HttpConfig::default()
                },
                ..Config::default()
            };
            assert_eq!(load(None)?, expected);

            // Nested tables without defaults of their own still merge.
            jail.set_env("PLINTH_AUTH__RATE_LIMIT__LOGIN__PER_IP__BURST", "3");
            let mut expected = expected.auth.rate_limit;
            expected.login.per_ip.burst = 3;
            assert_eq!(load(None)?.auth.rate_limit, expected);
            Ok(())
        });
    }

    /// The TOML blocks of the README's configuration section.
    fn readme_examples() -> Vec<&'static str> {
        let readme = include_str!("../../../README.md");
        let section = readme.split("## Configuration").nth(1).unwrap_or_default();
        let section = section.split("\n## ").next().unwrap_or_default();
        section
            .split("```toml\n")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .collect()
    }

    #[test]
    fn readme_examples_load() {
        let examples = readme_examples();
        assert!(!examples.is_empty(), "no TOML example in the README");
        for example in examples {
            Jail::expect_with(|jail| {
                jail.clear_env();
                jail.create_file(DEFAULT_FILE, example)?;
                let config = load(None)?;
                plinth_file_store::signing::Signer::new(&config.files.signing).map_err(|e| e.to_string())?;
                Ok(())
            });
        }
    }

    #[test]
    fn dead_letters_are_kept_when_failed_retention_is_zero() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let failed = load(None)?.queue.queue().retention.failed;
            assert_eq!(failed, Some(Duration::from_secs(30 * 24 * 3600)));

            jail.create_file(DEFAULT_FILE, "[queue]\nretention_failed_secs = 0\n")?;
            let queue = load(None)?.queue.queue();
            assert_eq!(queue.retention.failed, None);
            assert_eq!(queue.retention.completed, Duration::from_secs(7 * 24 * 3600));

            jail.set_env("PLINTH_QUEUE__RETENTION_FAILED_SECS", "60");
            let failed = load(None)?.queue.queue().retention.failed;
            assert_eq!(failed, Some(Duration::from_secs(60)));
            Ok(())
        });
    }

    #[test]
    fn durations_over_100_years_are_refused_naming_the_key() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                DEFAULT_FILE,
                &format!(
                    "[queue]\nretention_failed_secs = {MAX_DURATION_SECS}\nlease_secs = {}\n",
                    MAX_DURATION_SECS + 1
                ),
            )?;
            let msg = load(None).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains("queue.lease_secs"), "{msg}");
            assert!(msg.contains(DEFAULT_FILE), "{msg}");
            assert!(!msg.contains("retention_failed_secs"), "{msg}");

            jail.create_file(DEFAULT_FILE, "")?;
            jail.set_env("PLINTH_QUEUE__POLL_INTERVAL_MS", u64::MAX);
            jail.set_env(
                "PLINTH_AUTH__SESSIONS__REFRESH_TOKEN_TTL_SECS",
                MAX_DURATION_SECS + 1,
            );
            let err = load(None).err();
            assert_eq!(err.as_ref().map(|e| e.count()), Some(2));
            let msg = err.map(|e| e.to_string().to_lowercase()).unwrap_or_default();
            assert!(msg.contains("queue.poll_interval_ms"), "{msg}");
            assert!(msg.contains("auth.sessions.refresh_token_ttl_secs"), "{msg}");
            assert!(msg.contains("plinth_"), "{msg}");

            jail.set_env("PLINTH_QUEUE__POLL_INTERVAL_MS", MAX_DURATION_SECS * 1000);
            jail.set_env("PLINTH_AUTH__SESSIONS__REFRESH_TOKEN_TTL_SECS", MAX_DURATION_SECS);
            let config = load(None)?;
            assert_eq!(config.queue.poll_interval_ms, MAX_DURATION_SECS * 1000);
            Ok(())
        });
    }

    #[test]
    fn unknown_blob_keys_are_reported() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            for section in [
                "kind = \"local\"\nrot = \"/srv\"",
                "rot = \"/srv\"",
                "kind = \"memory\"\nrot = \"/srv\"",
            ] {
                jail.create_file(DEFAULT_FILE, &format!("[files.blobs]\n{section}\n"))?;
                let msg = load(None).err().map(|e| e.to_string()).unwrap_or_default();
                assert!(msg.contains("rot"), "{section}: {msg}");
            }
            jail.set_env("PLINTH_FILES__BLOBS__KIND", "s3");
            jail.set_env("PLINTH_FILES__BLOBS__BUCKET", "b");
            jail.set_env("PLINTH_FILES__BLOBS__ROOT", "/srv");
            let msg = load(None).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains("root"), "{msg}");
            Ok(())
        });
    }
}
