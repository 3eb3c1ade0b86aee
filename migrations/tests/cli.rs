//! The `plinth-migrate` binary against real databases: `up` twice, `status`,
//! and two concurrent runners on one fresh PostgreSQL database.

use std::process::{Command, Output};

use plinth_db::testing::TestDb;
use sea_orm::ConnectionTrait;

fn migrate(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plinth-migrate"))
        .args(args)
        .env("DATABASE_URL", url)
        .output()
        .expect("run plinth-migrate")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "plinth-migrate failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every (crate, migration) the build knows.
fn known() -> Vec<(String, String)> {
    plinth_migrations::all()
        .iter()
        .flat_map(|m| {
            m.migrations()
                .into_iter()
                .map(|x| (m.crate_name().to_owned(), x.name().to_owned()))
        })
        .collect()
}

plinth_db::db_test!(
    async fn up_twice_then_status(db) {
        let first = stdout(&migrate(db.url(), &["up"]));
        for (krate, name) in known() {
            assert!(first.contains(&format!("applied {krate}/{name}")), "{first}");
        }
        let second = stdout(&migrate(db.url(), &["up"]));
        assert_eq!(second.trim(), "nothing to do");
        let status = stdout(&migrate(db.url(), &["status"]));
        for (krate, name) in known() {
            let line = status
                .lines()
                .find(|l| l.split_whitespace().take(2).eq([krate.as_str(), name.as_str()]))
                .unwrap_or_else(|| panic!("status lacks {krate}/{name}:\n{status}"));
            assert!(line.contains("applied 20"), "{line}");
        }
    }
);

plinth_db::db_test!(
    async fn reset_demands_the_flag(db) {
        stdout(&migrate(db.url(), &["up"]));
        let refused = migrate(db.url(), &["reset"]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes-destroy-all-data"));
        let status = stdout(&migrate(db.url(), &["status"]));
        assert!(!status.contains("pending"), "refused reset changed nothing:\n{status}");
        stdout(&migrate(db.url(), &["reset", "--yes-destroy-all-data"]));
        let status = stdout(&migrate(db.url(), &["status"]));
        assert!(status.lines().skip(1).all(|l| l.ends_with("pending")), "{status}");
    }
);

/// Two runners start at once on a fresh database: both succeed, the schema
/// is applied exactly once (one of them applies, the other finds it current).
mod concurrent_up {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let db = TestDb::postgres().await;
        for round in 0..3 {
            if round > 0 {
                stdout(&migrate(db.url(), &["reset", "--yes-destroy-all-data"]));
            }
            let spawn = || {
                Command::new(env!("CARGO_BIN_EXE_plinth-migrate"))
                    .arg("up")
                    .env("DATABASE_URL", db.url())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn")
            };
            let (a, b) = (spawn(), spawn());
            let outs = [
                stdout(&a.wait_with_output().expect("wait a")),
                stdout(&b.wait_with_output().expect("wait b")),
            ];
            let appliers = outs.iter().filter(|o| o.contains("applied ")).count();
            let idle = outs.iter().filter(|o| o.trim() == "nothing to do").count();
            assert_eq!((appliers, idle), (1, 1), "round {round}: {outs:?}");
            for m in plinth_migrations::all() {
                let row = db
                    .query_one_raw(sea_orm::Statement::from_string(
                        db.get_database_backend(),
                        format!("SELECT COUNT(*) AS n FROM {}", m.migration_table_name()),
                    ))
                    .await
                    .expect("count")
                    .expect("row");
                let n: i64 = row.try_get("", "n").expect("n");
                assert_eq!(n as usize, m.migrations().len(), "each migration recorded once");
            }
        }
    }
}
