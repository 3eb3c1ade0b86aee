//! Test harness: a fresh, isolated database per test on SQLite and, when
//! `PLINTH_TEST_POSTGRES_URL` is set, on PostgreSQL (a new database on that
//! server, dropped afterwards). [`db_test!`](crate::db_test) runs one test
//! body on both.

use std::ops::Deref;
use std::path::PathBuf;

use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::{Backend, connect};

/// The environment variable naming the PostgreSQL server tests create databases on.
pub const POSTGRES_ENV: &str = "PLINTH_TEST_POSTGRES_URL";

/// A throwaway database, removed when dropped.
pub struct TestDb {
    conn: DatabaseConnection,
    backend: Backend,
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh database on `backend`.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A fresh SQLite file in the temp directory.
    pub async fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("plinth-test-{}.db", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}", path.display());
        let conn = connect(&url).await.expect("open test SQLite database");
        Self {
            conn,
            backend: Backend::Sqlite,
            url,
            cleanup: Cleanup::File(path),
        }
    }

    /// A fresh database on the server named by `PLINTH_TEST_POSTGRES_URL`.
    ///
    /// # Panics
    /// When the variable is unset or the server unreachable: a PostgreSQL test
    /// fails rather than silently skipping.
    pub async fn postgres() -> Self {
        let admin_url = postgres_url();
        let name = format!("plinth_test_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&admin_url)
            .await
            .expect("connect to the PostgreSQL test server");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        let conn = connect(&url).await.expect("connect to the new test database");
        Self {
            conn,
            backend: Backend::Postgres,
            url,
            cleanup: Cleanup::Database { admin_url, name },
        }
    }

    /// The database's backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL of this database, for opening more connections or child processes.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The pooled connection.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }
}

impl Deref for TestDb {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        &self.conn
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    std::fs::remove_file(p).ok();
                }
            }
            Cleanup::Database { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Dropping runs inside the test's runtime: use a thread with its own.
                let dropped = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async {
                        let admin = connect(&admin_url).await.map_err(std::io::Error::other)?;
                        admin
                            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await
                            .map_err(std::io::Error::other)?;
                        admin.close().await.map_err(std::io::Error::other)
                    })
                })
                .join();
                if !matches!(dropped, Ok(Ok(()))) {
                    eprintln!("warning: could not drop test database {}", self.url);
                }
            }
        }
    }
}

/// The PostgreSQL server URL from the environment.
///
/// # Panics
/// When `PLINTH_TEST_POSTGRES_URL` is unset.
pub fn postgres_url() -> String {
    std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!("{POSTGRES_ENV} is not set: PostgreSQL tests need a server (e.g. postgres://postgres@127.0.0.1:5432/postgres)")
    })
}

/// `len` pseudo-random printable ASCII characters (`!` to `z`), the same for
/// the same `seed`: a value chosen by a client as PostgreSQL would store it,
/// without the compression that hides the size of repetitive text.
pub fn incompressible(len: usize, seed: u64) -> String {
    const PRINTABLE: [u8; 90] = {
        let mut all = [0u8; 90];
        let mut i = 0;
        while i < all.len() {
            all[i] = b'!' + i as u8;
            i += 1;
        }
        all
    };
    incompressible_in(&PRINTABLE, len, seed)
}

/// Like [`incompressible`], drawing from the ASCII characters of `alphabet`.
pub fn incompressible_in(alphabet: &[u8], len: usize, mut seed: u64) -> String {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = usize::try_from(seed % alphabet.len() as u64).unwrap_or(0);
            char::from(alphabet[at])
        })
        .collect()
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = &base[scheme_end..];
    let authority = host_part.split('/').next().unwrap_or(host_part);
    let mut out = format!("{}{authority}/{name}", &base[..scheme_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Defines a test that runs the same body on SQLite and on PostgreSQL, as
/// `NAME::sqlite` and `NAME::postgres`. The body sees `$db: TestDb`.
///
/// ```ignore
/// plinth_db::db_test!(async fn inserts(db) {
///     db.execute_unprepared("SELECT 1").await.unwrap();
/// });
/// ```
#[macro_export]
macro_rules! db_test {
    ($(#[$meta:meta])* async fn $name:ident($db:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($db: $crate::testing::TestDb) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                body($crate::testing::TestDb::sqlite().await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                body($crate::testing::TestDb::postgres().await).await
            }
        }
    };
}

/// A transaction of another writer that has run `sql` (with `$1`, `$2`…
/// bound to `values`) and not yet committed. It holds the rows `sql` wrote
/// (on SQLite, the write lock), so that callers started meanwhile read the
/// rows before the change lands and then wait for it.
pub async fn hold(
    db: &TestDb,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> sea_orm::DatabaseTransaction {
    let holder = crate::begin_write(db.conn()).await.expect("begin");
    holder
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            db.backend().db_backend(),
            sql,
            values,
        ))
        .await
        .expect("hold the rows");
    holder
}

/// Waits until `n` statements on this test's database are blocked on a lock
/// (PostgreSQL); on SQLite the callers wait for the write lock instead, so
/// this only gives them a moment to start.
pub async fn wait_for_waiters(db: &TestDb, n: i64) {
    if db.backend() == Backend::Sqlite {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        return;
    }
    for _ in 0..500 {
        let row = db
            .conn()
            .query_one_raw(sea_orm::Statement::from_string(
                db.backend().db_backend(),
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ))
            .await
            .expect("pg_stat_activity")
            .expect("a row");
        if row.try_get::<i64>("", "n").expect("count") >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the callers never blocked");
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}
