//! Throughput and latency of the queue on PostgreSQL; a bench binary, not a test.
//!
//! ```text
//! PLINTH_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p plinth-task-queue --bench queue
//! ```
//!
//! Creates a fresh database on that server and drops it afterwards, then
//! measures (a) batch enqueue (jobs/s), (b) end-to-end throughput of no-op
//! jobs run by in-process workers with their history kept, and (c) the time
//! from enqueue to handler start on an idle queue. Results are printed as
//! `key=value` lines for `bench/run.sh`. `PLINTH_BENCH_JOBS` sets the job
//! count of (a) and (b) (100,000 by default).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plinth_db::DbConfig;
use plinth_events::Context;
use plinth_task_queue::{Config, Job, NewTask, Queue, WorkerOptions, Workers};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};
use tokio::sync::Notify;

const BATCH: usize = 10_000;
const CONCURRENCY: usize = 24;
const POOL: u32 = 25;
const LATENCY_SAMPLES: usize = 1_000;
/// Tasks claimed ahead of free slots, as graphile-worker's `localQueue.size` in its throughput configuration.
const PREFETCH: usize = 500;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run())
}

async fn run() -> Result<(), Error> {
    let admin_url = std::env::var("PLINTH_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let jobs: usize = std::env::var("PLINTH_BENCH_JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let name = format!("plinth_bench_{}", uuid::Uuid::now_v7().simple());
    let admin = plinth_db::connect(&admin_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let url = plinth_db::testing::with_database(&admin_url, &name);
    let result = measure(&url, jobs).await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    result
}

async fn measure(url: &str, jobs: usize) -> Result<(), Error> {
    let db = plinth_db::connect_with(&DbConfig {
        url: url.to_owned(),
        max_connections: POOL,
        ..DbConfig::default()
    })
    .await?;
    plinth_db::migrate::up(&db, &[&plinth_events::Migrator, &plinth_task_queue::Migrator]).await?;
    let queue = Queue::new(db.clone(), Config::default());
    let ctx = Context::actor("system", "bench");

    // (a) batch enqueue. This and the graphile-worker run each start right
    // after a checkpoint, so neither writes back the other's pages.
    checkpoint(&db).await;
    let start = Instant::now();
    for chunk in (0..jobs).collect::<Vec<_>>().chunks(BATCH) {
        let batch = chunk
            .iter()
            .map(|i| NewTask::new("bench", "noop", json!({ "i": i })).without_events())
            .collect();
        queue.create_many(&ctx, batch).await?;
    }
    let enqueue = jobs as f64 / start.elapsed().as_secs_f64();
    println!("enqueue_jobs_per_sec={enqueue:.0}");
    let start = Instant::now();
    let batch = (0..BATCH)
        .map(|i| NewTask::new("evented", "noop", json!({ "i": i })))
        .collect();
    queue.create_many(&ctx, batch).await?;
    let evented = BATCH as f64 / start.elapsed().as_secs_f64();
    println!("enqueue_with_events_jobs_per_sec={evented:.0}");

    // (b) end-to-end: run every queued no-op job, history kept. Statistics
    // first, as a live database has them (graphile-worker's run does the same).
    db.execute_unprepared("ANALYZE").await?;
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ran);
    let start = Instant::now();
    let workers = Workers::new(&queue)
        .handle("noop", move |_job: Job| {
            counter.fetch_add(1, Ordering::Relaxed);
            async { Ok(Value::Null) }
        })
        .queue("bench", CONCURRENCY)
        .options(options())
        .start()?;
    while ran.load(Ordering::Relaxed) < jobs {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    while count(
        &db,
        "SELECT count(*) FROM queue_task WHERE queue = 'bench' AND state IN ('pending', 'running')",
    )
    .await?
        > 0
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e2e = jobs as f64 / start.elapsed().as_secs_f64();
    workers.shutdown(Duration::from_secs(5)).await?;
    let runs = count(
        &db,
        "SELECT count(*) FROM queue_task WHERE queue = 'bench' AND state = 'completed' AND started_at IS NOT NULL",
    )
    .await?;
    println!("e2e_jobs_per_sec={e2e:.0}");
    println!("e2e_runs_kept={runs}");

    // (c) latency from enqueue to handler start on an idle queue.
    let started: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let arrived = Arc::new(Notify::new());
    let (seen, ping) = (Arc::clone(&started), Arc::clone(&arrived));
    let workers = Workers::new(&queue)
        .handle("ping", move |job: Job| {
            let at = Instant::now();
            if let Some(i) = job.payload()["i"].as_u64()
                && let Ok(mut seen) = seen.lock()
            {
                seen.insert(i, at);
            }
            ping.notify_one();
            async { Ok(Value::Null) }
        })
        .queue("latency", CONCURRENCY)
        .options(options())
        .start()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES as u64 {
        let sent = Instant::now();
        queue
            .create(
                &ctx,
                NewTask::new("latency", "ping", json!({ "i": i })).without_events(),
            )
            .await?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let at = started.lock().ok().and_then(|s| s.get(&i).copied());
            if let Some(at) = at {
                samples.push(at.duration_since(sent));
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("job {i} did not start within 5 s").into());
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), arrived.notified()).await;
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    workers.shutdown(Duration::from_secs(5)).await?;
    samples.sort();
    let pct =
        |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)].as_secs_f64() * 1e3;
    println!("latency_p50_ms={:.2}", pct(0.50));
    println!("latency_p99_ms={:.2}", pct(0.99));
    db.close().await?;
    Ok(())
}

/// In-process workers tuned for throughput; maintenance is not measured.
fn options() -> WorkerOptions {
    WorkerOptions {
        prefetch: PREFETCH,
        maintenance: None,
        ..WorkerOptions::default()
    }
}

/// Asks for a checkpoint; says so when the role may not.
async fn checkpoint(db: &DatabaseConnection) {
    if let Err(error) = db.execute_unprepared("CHECKPOINT").await {
        println!("checkpoint_skipped={error}");
    }
}

async fn count(db: &DatabaseConnection, sql: &str) -> Result<i64, Error> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .ok_or("no row")?;
    Ok(row.try_get_by_index(0)?)
}
