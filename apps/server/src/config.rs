//! Server configuration: defaults, then `plinth.toml`, then `PLINTH_*`
//! environment variables, then `DATABASE_URL`.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use plinth_db::DbConfig;
use serde::{Deserialize, Serialize};

/// The configuration file read from the working directory unless `--config` names another.
pub const DEFAULT_FILE: &str = "plinth.toml";

/// Prefix of the environment variables that override the file; `__` separates nested keys.
pub const ENV_PREFIX: &str = "PLINTH_";

/// `PLINTH_*` variables that are not configuration keys and are therefore not reported as unknown.
const NOT_CONFIG_KEYS: &[&str] = &["CONFIG", "TEST_POSTGRES_URL", "ADMIN_PASSWORD"];

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
    /// Seconds between housekeeping passes (expired sessions and tokens).
    pub housekeeping_interval_secs: u64,
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
            housekeeping_interval_secs: 3600,
        }
    }
}

impl Config {
    /// The layered sources: defaults, the file (`path`, or `plinth.toml` in the
    /// working directory when it exists), `PLINTH_*` and `DATABASE_URL`.
    pub fn figment(path: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let file = path.map_or_else(|| PathBuf::from(DEFAULT_FILE), Path::to_path_buf);
        if path.is_some() || file.is_file() {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::prefixed(ENV_PREFIX).ignore(NOT_CONFIG_KEYS).split("__"))
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database.url".into()))
    }

    /// Loads the configuration. A file named explicitly must exist; unknown
    /// keys and ill-typed values fail with the key and where it came from.
    pub fn load(path: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        if let Some(p) = path.filter(|p| !p.is_file()) {
            return Err(Box::new(figment::Error::from(format!(
                "configuration file {} does not exist",
                p.display()
            ))));
        }
        Self::figment(path).extract().map_err(Box::new)
    }
}

#[cfg(test)]
// `Jail` closures must return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

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
}
