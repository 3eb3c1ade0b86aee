//! A worker process killed mid-run on PostgreSQL: two processes (this test
//! binary started again as `crash_worker_process`) work 20,000 jobs whose
//! handler writes a row keyed by the job id; one is killed with SIGKILL; its
//! runs are reclaimed once their lease expires, and every job ends completed
//! exactly once.

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use plinth_db::DbConfig;
use plinth_task_queue::{Config, NewTask, Queue, WorkerOptions, WorkerRef, Workers};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};

const DB_ENV: &str = "PLINTH_CRASH_DB";
const WORKER_ENV: &str = "PLINTH_CRASH_WORKER";
const JOBS: usize = 20_000;
const LEASE: Duration = Duration::from_secs(2);
/// Every run: those a later run replaced, in the history table, and the
/// last run of each resolved task, in its row.
const RUNS: &str = "WITH runs AS (\
    SELECT task_id, run_id, state, reason_resolved, worker_id, taken_until, started FROM queue_run \
    UNION ALL SELECT id, run_id, state, reason, worker_id, taken_until, started_at FROM queue_task \
    WHERE state IN ('completed', 'failed', 'exception'))";

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index(0).expect("a number")
}

fn spawn_worker(url: &str, name: &str) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["crash_worker_process", "--exact", "--ignored", "--nocapture"])
        .env(DB_ENV, url)
        .env(WORKER_ENV, name)
        .spawn()
        .expect("start a worker process")
}

/// Runs workers named by the environment until killed; started only by `crash::postgres`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a worker process started by crash::postgres"]
async fn crash_worker_process() {
    let (Ok(url), Ok(name)) = (std::env::var(DB_ENV), std::env::var(WORKER_ENV)) else {
        return;
    };
    let db = plinth_db::connect_with(&DbConfig {
        url,
        max_connections: 24,
        ..DbConfig::default()
    })
    .await
    .expect("connect");
    let q = Queue::new(db.clone(), Config::default());
    let who = name.clone();
    let options = WorkerOptions {
        worker: WorkerRef::new("crash", name),
        lease: LEASE,
        heartbeat: Duration::from_millis(500),
        poll_interval: Some(Duration::from_millis(100)),
        maintenance: Some(Duration::from_millis(200)),
        ..WorkerOptions::default()
    };
    let _workers = Workers::new(&q)
        .handle("write", move |job: plinth_task_queue::Job| {
            let (db, who) = (db.clone(), who.clone());
            async move {
                let insert = Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "INSERT INTO crash_done (job_id, worker) VALUES ($1, $2) ON CONFLICT (job_id) DO NOTHING",
                    [job.id().into(), who.into()],
                );
                db.execute_raw(insert).await?;
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(Value::Null)
            }
        })
        .queue("crash", 16)
        .options(options)
        .start()
        .expect("start workers");
    std::future::pending::<()>().await;
}

mod crash {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let db = plinth_db::testing::TestDb::postgres().await;
        common::migrate(&db).await;
        db.execute_unprepared("CREATE TABLE crash_done (job_id uuid PRIMARY KEY, worker text NOT NULL)")
            .await
            .expect("create table");
        let q = Queue::new(db.conn().clone(), Config::default());
        for _ in 0..JOBS / 5_000 {
            let batch = (0..5_000)
                .map(|i| {
                    NewTask::new("crash", "write", json!({ "i": i }))
                        .max_attempts(10)
                        .without_events()
                })
                .collect();
            q.create_many(&common::ctx(), batch).await.expect("enqueue");
        }

        let mut victim = spawn_worker(db.url(), "victim");
        let mut survivor = spawn_worker(db.url(), "survivor");
        let start = Instant::now();
        while scalar(&db, "SELECT count(*) FROM crash_done").await < (JOBS / 4) as i64 {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "workers made no progress"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        victim.kill().expect("SIGKILL the victim");
        victim.wait().expect("reap the victim");
        let killed_at = Instant::now();
        let held = scalar(
            &db,
            "SELECT count(*) FROM queue_task WHERE state = 'running' AND worker_id = 'victim'",
        )
        .await;

        loop {
            let open = scalar(&db, "SELECT count(*) FROM queue_task WHERE state <> 'completed'").await;
            if open == 0 {
                break;
            }
            assert!(
                killed_at.elapsed() < Duration::from_secs(180),
                "{open} jobs never completed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        survivor.kill().expect("stop the survivor");
        survivor.wait().expect("reap the survivor");

        assert_eq!(
            scalar(&db, "SELECT count(*) FROM crash_done").await,
            JOBS as i64,
            "no job lost"
        );
        assert_eq!(
            scalar(&db, "SELECT count(*) FROM queue_task WHERE state = 'completed'").await,
            JOBS as i64
        );
        assert_eq!(
            scalar(
                &db,
                &format!("{RUNS} SELECT count(*) FROM runs WHERE state = 'completed'")
            )
            .await,
            JOBS as i64,
            "every job completed exactly once"
        );
        let reclaimed = scalar(
            &db,
            &format!(
                "{RUNS} SELECT count(*) FROM runs r JOIN runs n ON n.task_id = r.task_id AND n.run_id = r.run_id + 1 \
                 WHERE r.reason_resolved = 'claim-expired' AND r.worker_id = 'victim' \
                   AND n.worker_id = 'survivor' AND n.state = 'completed' AND n.started >= r.taken_until"
            ),
        )
        .await;
        let expired = scalar(
            &db,
            &format!("{RUNS} SELECT count(*) FROM runs WHERE reason_resolved = 'claim-expired'"),
        )
        .await;
        assert!(held > 0, "the victim held runs when it was killed");
        assert_eq!(
            reclaimed, held,
            "each run the victim held was reclaimed after its lease, by the survivor"
        );
        assert_eq!(expired, held, "no other lease expired");
        let by_victim = scalar(&db, "SELECT count(*) FROM crash_done WHERE worker = 'victim'").await;
        eprintln!(
            "crash test: victim wrote {by_victim} rows and held {held} runs when killed; \
             all {JOBS} jobs completed {:?} after the kill",
            killed_at.elapsed()
        );
    }
}
