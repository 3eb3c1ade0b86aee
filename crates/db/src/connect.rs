//! Opening a pooled connection to SQLite or PostgreSQL with sane settings.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The default database: a SQLite file under `./data`.
pub const DEFAULT_URL: &str = "sqlite://./data/plinth.db?mode=rwc";

/// The longest busy timeout SQLite takes, in milliseconds (a C `int`); the
/// driver panics on a longer one.
const MAX_BUSY_TIMEOUT_MS: u64 = 2_147_483_647;

/// How to connect: the URL and pool settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbConfig {
    /// `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`.
    pub url: String,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// Connections kept open while idle.
    pub min_connections: u32,
    /// Seconds to wait for a connection before failing; 0 is taken as 1,
    /// since no connection opens without waiting.
    pub connect_timeout_secs: u64,
    /// SQLite only: milliseconds a writer waits for the lock before
    /// `SQLITE_BUSY`; values above SQLite's largest, 2^31 - 1 (about 24 days),
    /// are taken as that.
    pub busy_timeout_ms: u64,
    /// Log every statement at debug level.
    pub log_statements: bool,
}

impl Default for DbConfig {
    fn default() -> Self {
        Self {
            url: DEFAULT_URL.to_owned(),
            max_connections: 10,
            min_connections: 0,
            connect_timeout_secs: 10,
            busy_timeout_ms: 5_000,
            log_statements: false,
        }
    }
}

/// Connects to `url` with the default pool settings.
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    connect_with(&DbConfig {
        url: url.to_owned(),
        ..DbConfig::default()
    })
    .await
}

/// Connects with explicit settings. SQLite gets WAL, foreign keys, a busy
/// timeout and its parent directory created; PostgreSQL gets the pool size.
pub async fn connect_with(cfg: &DbConfig) -> Result<DatabaseConnection> {
    let timeout = Duration::from_secs(cfg.connect_timeout_secs.max(1));
    let mut opts = ConnectOptions::new(cfg.url.clone());
    opts.max_connections(cfg.max_connections.max(1))
        .min_connections(cfg.min_connections)
        .connect_timeout(timeout)
        .acquire_timeout(timeout)
        .sqlx_logging(cfg.log_statements);
    if let Some(path) = sqlite_path(&cfg.url)? {
        if path == ":memory:" || path.is_empty() {
            // Every pooled connection would otherwise see its own empty
            // database; and the database lives only as long as its
            // connection, which the pool would close when idle or old.
            opts.max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::InvalidUrl(format!("cannot create {}: {e}", dir.display())))?;
        }
        let busy = Duration::from_millis(cfg.busy_timeout_ms.min(MAX_BUSY_TIMEOUT_MS));
        opts.map_sqlx_sqlite_opts(move |o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(busy)
        });
    } else if cfg.url.starts_with("postgres://") || cfg.url.starts_with("postgresql://") {
        // Checked here because the driver's own message would quote the whole
        // URL, password included.
        PgConnectOptions::from_str(&cfg.url).map_err(|e| {
            Error::InvalidUrl(format!(
                "{} cannot be parsed ({e}); percent-encode special characters in the user name and password",
                redact(&hide_userinfo(&cfg.url))
            ))
        })?;
    } else {
        return Err(Error::InvalidUrl(format!(
            "expected sqlite:// or postgres://, got {}",
            redact(&cfg.url)
        )));
    }
    Ok(Database::connect(opts).await?)
}

/// The file path of a `sqlite:` URL, `None` for any other scheme.
fn sqlite_path(url: &str) -> Result<Option<&str>> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(None);
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.contains('\0') {
        return Err(Error::InvalidUrl("NUL in sqlite path".into()));
    }
    Ok(Some(path))
}

/// A URL that could not be parsed, for messages: everything before its last
/// `@` after the scheme is hidden, since a password holding `#`, `/` or `?`
/// is what usually breaks the parse and [`redact`] would then miss its end.
fn hide_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The URL with any password replaced, for messages and logs: the one in the
/// user info and a `password` query parameter.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The user info ends at the authority's last `@`, as URL parsers read it;
    // the authority ends where the path, query or fragment starts.
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => format!(
            "{path}?{}",
            crate::secret::hide_query_values(query, &["password"])
        ),
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_parsed() {
        assert_eq!(sqlite_path(DEFAULT_URL).ok().flatten(), Some("./data/plinth.db"));
        assert_eq!(sqlite_path("sqlite::memory:").ok().flatten(), Some(":memory:"));
        assert_eq!(sqlite_path("postgres://x@h/db").ok().flatten(), None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn passwords_with_at_signs_or_in_the_query_are_redacted() {
        assert_eq!(redact("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            redact("postgres://u:pw@h/db?application_name=a@b"),
            "postgres://u:***@h/db?application_name=a@b"
        );
        assert_eq!(redact("postgres://h/db?user=a:b@c"), "postgres://h/db?user=a:b@c");
        assert_eq!(
            redact("postgres://u@h/db?sslmode=require&password=secret"),
            "postgres://u@h/db?sslmode=require&password=***"
        );
    }

    #[tokio::test]
    async fn unparsable_urls_are_refused_without_their_password() {
        for url in [
            "postgres://app:hunter2@db.internal:54x2/app",
            "postgres://app:hun#ter2@db.internal/app",
            "postgresql://app:hun/ter2@db.internal/app?sslmode=require",
        ] {
            let err = connect(url).await.err();
            let msg = err.as_ref().map(ToString::to_string).unwrap_or_default();
            assert!(matches!(err, Some(Error::InvalidUrl(_))), "{url}: {err:?}");
            assert!(!msg.contains("hun"), "{msg}");
            assert!(
                msg.contains("***@db.internal") && msg.contains("cannot be parsed"),
                "{msg}"
            );
        }
    }

    #[tokio::test]
    async fn other_schemes_are_refused() {
        let err = connect("mysql://root@localhost/test").await.err();
        assert!(matches!(err, Some(Error::InvalidUrl(_))), "{err:?}");
    }
}
