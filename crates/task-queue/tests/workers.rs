//! In-process workers on both backends: handlers, retries, panics,
//! timeouts, heartbeats, concurrency limits, dependency order and shutdown.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use plinth_task_queue::{
    Backoff, Config, Job, JobError, NewTask, Queue, Reason, ReasonCreated, TaskState, WorkerOptions, Workers,
};
use serde_json::{Value, json};
use uuid::Uuid;

fn fast() -> WorkerOptions {
    WorkerOptions {
        poll_interval: Some(Duration::from_millis(50)),
        maintenance: Some(Duration::from_millis(50)),
        ..WorkerOptions::default()
    }
}

fn config() -> Config {
    Config {
        poll_interval: Duration::from_millis(50),
        backoff: Backoff {
            base_ms: 10,
            max_ms: 40,
        },
        ..Config::default()
    }
}

/// Waits until every task has resolved, or panics after `limit`.
async fn settle(q: &Queue, ids: &[Uuid], limit: Duration) {
    let start = std::time::Instant::now();
    loop {
        let mut open = 0;
        for id in ids {
            if !q.task(*id).await.expect("task").state.is_resolved() {
                open += 1;
            }
        }
        if open == 0 {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{open} tasks still unresolved after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(serde::Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

plinth_db::db_test!(
    async fn handlers_complete_fail_and_reject_malformed_payloads(db) {
        let q = queue(&db, config()).await;
        let workers = Workers::new(&q)
            .handle("add", |job: Job| async move {
                let Add { a, b } = job.parse()?;
                Ok(json!(a + b))
            })
            .handle("refuse", |_job: Job| async move { Err(JobError::permanent("not today")) })
            .queue("math", 4)
            .options(fast())
            .start()
            .expect("start");
        let sum = q.create(&ctx(), NewTask::new("math", "add", json!({"a": 2, "b": 3}))).await.expect("sum").id;
        let bad = q.create(&ctx(), NewTask::new("math", "add", json!({"a": "x"}))).await.expect("bad").id;
        let no = q.create(&ctx(), NewTask::new("math", "refuse", Value::Null)).await.expect("no").id;
        settle(&q, &[sum, bad, no], Duration::from_secs(10)).await;
        workers.shutdown(Duration::from_secs(1)).await.expect("shutdown");
        let sum = q.task(sum).await.expect("sum");
        assert_eq!((sum.state, sum.result), (TaskState::Completed, Some(json!(5))));
        let bad = q.task(bad).await.expect("bad");
        assert_eq!((bad.state, bad.reason), (TaskState::Exception, Some(Reason::MalformedPayload)));
        let no = q.task(no).await.expect("no");
        assert_eq!((no.state, no.attempts, no.error.as_deref()), (TaskState::Failed, 1, Some("not today")));
    }
);

plinth_db::db_test!(
    async fn an_unstorable_result_fails_only_its_own_task(db) {
        let q = queue(&db, Config { max_payload_bytes: 1_000, ..config() }).await;
        let workers = Workers::new(&q)
            .handle("answer", |job: Job| async move {
                Ok(match job.payload().as_str() {
                    Some("big") => json!("x".repeat(2_000)),
                    Some("nul") => json!({ "text": "a\u{0}b" }),
                    _ => job.payload().clone(),
                })
            })
            .queue("q", 8)
            .options(WorkerOptions { completion_batch: 100, ..fast() })
            .start()
            .expect("start");
        let mut fine = Vec::new();
        for i in 0..20 {
            fine.push(q.create(&ctx(), NewTask::new("q", "answer", json!({ "i": i }))).await.expect("fine").id);
        }
        let big = q.create(&ctx(), NewTask::new("q", "answer", json!("big"))).await.expect("big").id;
        let nul = q.create(&ctx(), NewTask::new("q", "answer", json!("nul"))).await.expect("nul").id;
        let mut all = fine.clone();
        all.extend([big, nul]);
        settle(&q, &all, Duration::from_secs(10)).await;
        workers.shutdown(Duration::from_secs(1)).await.expect("shutdown");
        for id in fine {
            let task = q.task(id).await.expect("task");
            assert_eq!((task.state, task.attempts), (TaskState::Completed, 1), "stored with the bad ones, once");
        }
        for id in [big, nul] {
            let task = q.task(id).await.expect("task");
            assert_eq!((task.state, task.reason, task.attempts), (TaskState::Exception, Some(Reason::InternalError), 1));
            assert!(task.error.as_deref().is_some_and(|e| e.contains("cannot be stored")), "{:?}", task.error);
        }
    }
);

plinth_db::db_test!(
    async fn retryable_errors_retry_with_backoff_until_success(db) {
        let q = queue(&db, config()).await;
        let workers = Workers::new(&q)
            .handle("flaky", |job: Job| async move {
                if job.attempt() < 3 {
                    return Err(std::io::Error::other(format!("attempt {}", job.attempt())).into());
                }
                Ok(Value::Null)
            })
            .queue("q", 2)
            .options(fast())
            .start()
            .expect("start");
        let id = q.create(&ctx(), NewTask::new("q", "flaky", Value::Null).max_attempts(5)).await.expect("create").id;
        settle(&q, &[id], Duration::from_secs(10)).await;
        workers.shutdown(Duration::from_secs(1)).await.expect("shutdown");
        let status = q.status(id).await.expect("status");
        assert_eq!(status.task.state, TaskState::Completed);
        assert_eq!(status.task.attempts, 3);
        let reasons: Vec<_> = status.runs.iter().map(|r| (r.reason_created, r.reason_resolved)).collect();
        assert_eq!(
            reasons,
            [
                (ReasonCreated::Scheduled, Some(Reason::Failed)),
                (ReasonCreated::TaskRetry, Some(Reason::Failed)),
                (ReasonCreated::TaskRetry, Some(Reason::Completed)),
            ]
        );
        let second = &status.runs[1];
        let waited = second.started.zip(status.runs[0].resolved).map(|(s, r)| s - r);
        assert!(waited.is_some_and(|w| w >= time::Duration::milliseconds(5)), "backoff before the retry: {waited:?}");
    }
);

plinth_db::db_test!(
    async fn panics_and_timeouts_are_recorded(db) {
        let q = queue(&db, config()).await;
        let workers = Workers::new(&q)
            .handle("panic", |job: Job| async move {
                if job.payload().is_null() {
                    panic!("boom");
                }
                Ok(Value::Null)
            })
            .handle("slow", |_job: Job| async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(Value::Null)
            })
            .queue("q", 4)
            .options(fast())
            .start()
            .expect("start");
        let p = q.create(&ctx(), NewTask::new("q", "panic", Value::Null)).await.expect("panic").id;
        let s = q
            .create(&ctx(), NewTask::new("q", "slow", Value::Null).timeout(Duration::from_millis(100)).max_attempts(2))
            .await
            .expect("slow")
            .id;
        settle(&q, &[p, s], Duration::from_secs(10)).await;
        workers.shutdown(Duration::from_secs(1)).await.expect("shutdown");
        let p = q.task(p).await.expect("panic");
        assert_eq!((p.state, p.reason), (TaskState::Exception, Some(Reason::InternalError)));
        assert_eq!(p.error.as_deref(), Some("panic: boom"));
        let s = q.task(s).await.expect("slow");
        assert_eq!((s.state, s.attempts), (TaskState::Failed, 2), "a timeout is retried while retries remain");
        assert!(s.error.as_deref().is_some_and(|e| e.contains("timed out")), "{:?}", s.error);
    }
);

plinth_db::db_test!(
    async fn heartbeats_keep_a_long_job_leased(db) {
        let q = queue(&db, config()).await;
        let options = WorkerOptions {
            lease: Duration::from_millis(400),
            heartbeat: Duration::from_millis(100),
            ..fast()
        };
        let workers = Workers::new(&q)
            .handle("long", |_job: Job| async move {
                tokio::time::sleep(Duration::from_millis(1_500)).await;
                Ok(json!("done"))
            })
            .queue("q", 1)
            .options(options)
            .start()
            .expect("start");
        let id = q.create(&ctx(), NewTask::new("q", "long", Value::Null)).await.expect("create").id;
        settle(&q, &[id], Duration::from_secs(10)).await;
        workers.shutdown(Duration::from_secs(1)).await.expect("shutdown");
        let status = q.status(id).await.expect("status");
        assert_eq!(status.task.state, TaskState::Completed);
        assert_eq!(status.runs.len(), 1, "never reclaimed while alive: {:?}", status.runs);
        assert_eq!(status.task.attempts, 1);
    }
);

plinth_db::db_test!(
    async fn graceful_shutdown_finishes_quick_work_and_releases_the_rest(db) {
        let q = queue(&db, config()).await;
        let started = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&started);
        let seen = Arc::clone(&started);
        let workers = Workers::new(&q)
            // Quick work still runs when the stuck job starts, however late
            // that is, and finishes well within the grace period.
            .handle("quick", move |_job: Job| {
                let seen = Arc::clone(&seen);
                async move {
                    while seen.load(Ordering::SeqCst) == 0 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok(Value::Null)
                }
            })
            .handle("stuck", move |_job: Job| {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(Value::Null)
                }
            })
            .queue("q", 4)
            .options(fast())
            .start()
            .expect("start");
        let quick = q.create(&ctx(), NewTask::new("q", "quick", Value::Null)).await.expect("quick").id;
        let stuck = q.create(&ctx(), NewTask::new("q", "stuck", Value::Null)).await.expect("stuck").id;
        let both = std::time::Instant::now();
        while started.load(Ordering::SeqCst) == 0 || workers.in_flight() < 2 {
            assert!(both.elapsed() < Duration::from_secs(10), "both jobs start");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let report = workers.shutdown(Duration::from_millis(500)).await.expect("shutdown");
        assert_eq!(report.released, 1);
        assert_eq!(q.task(quick).await.expect("quick").state, TaskState::Completed, "finished within the grace period");
        let released = q.task(stuck).await.expect("stuck");
        assert_eq!((released.state, released.run_reason), (TaskState::Pending, Some(ReasonCreated::Retry)));
        assert!(released.worker_id.is_none());

        let taken_at = std::time::Instant::now();
        let next = Workers::new(&q)
            .handle("stuck", |_job: Job| async move { Ok(Value::Null) })
            .queue("q", 1)
            .options(fast())
            .start()
            .expect("restart");
        settle(&q, &[stuck], Duration::from_secs(10)).await;
        assert!(taken_at.elapsed() < Duration::from_secs(5), "taken at once, not after a lease");
        next.shutdown(Duration::from_secs(1)).await.expect("shutdown");
        let runs = q.status(stuck).await.expect("status").runs;
        assert_eq!(runs[0].reason_resolved, Some(Reason::WorkerShutdown));
        assert_eq!(runs[1].reason_resolved, Some(Reason::Completed));
    }
);

plinth_db::db_test!(
    async fn concurrency_is_limited_per_queue(db) {
        let q = queue(&db, config()).await;
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (n, p) = (Arc::clone(&now), Arc::clone(&peak));
        let workers = Workers::new(&q)
            .handle("t", move |_job: Job| {
                let (now, peak) = (Arc::clone(&n), Arc::clone(&p));
                async move {
                    let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(running, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    Ok(Value::Null)
                }
            })
            .queue("narrow", 2)
            .queue("wide", 6)
            .options(fast())
            .start()
            .expect("start");
        let mut tasks: Vec<NewTask> = (0..12).map(|_| NewTask::new("narrow", "t", Value::Null)).collect();
        let narrow = q.create_many(&ctx(), std::mem::take(&mut tasks)).await.expect("narrow");
        let ids: Vec<Uuid> = narrow.iter().map(|c| c.id).collect();
        settle(&q, &ids, Duration::from_secs(10)).await;
        assert_eq!(peak.load(Ordering::SeqCst), 2, "the narrow queue never ran more than 2 at once");
        peak.store(0, Ordering::SeqCst);
        let wide: Vec<NewTask> = (0..30).map(|_| NewTask::new("wide", "t", Value::Null)).collect();
        let ids: Vec<Uuid> = q.create_many(&ctx(), wide).await.expect("wide").iter().map(|c| c.id).collect();
        settle(&q, &ids, Duration::from_secs(10)).await;
        workers.shutdown(Duration::from_secs(1)).await.expect("shutdown");
        let peak = peak.load(Ordering::SeqCst);
        assert!((3..=6).contains(&peak), "the wide queue ran up to 6 at once: {peak}");
    }
);

plinth_db::db_test!(
    async fn a_canceled_job_stops_its_handler(db) {
        let q = queue(&db, config()).await;
        let options = WorkerOptions { heartbeat: Duration::from_millis(50), ..fast() };
        let finished = Arc::new(AtomicUsize::new(0));
        let f = Arc::clone(&finished);
        let workers = Workers::new(&q)
            .handle("long", move |_job: Job| {
                let f = Arc::clone(&f);
                async move {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    f.fetch_add(1, Ordering::SeqCst);
                    Ok(Value::Null)
                }
            })
            .queue("q", 1)
            .options(options)
            .start()
            .expect("start");
        let id = q.create(&ctx(), NewTask::new("q", "long", Value::Null)).await.expect("create").id;
        while workers.in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        q.cancel(&ctx(), id).await.expect("cancel");
        let start = std::time::Instant::now();
        while workers.in_flight() > 0 {
            assert!(start.elapsed() < Duration::from_secs(2), "the handler was not stopped");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        workers.shutdown(Duration::from_secs(1)).await.expect("shutdown");
        assert_eq!(finished.load(Ordering::SeqCst), 0);
        assert_eq!(q.task(id).await.expect("task").reason, Some(Reason::Canceled));
    }
);

plinth_db::db_test!(
    async fn a_graph_of_a_thousand_tasks_runs_in_dependency_order(db) {
        let q = queue(&db, config()).await;
        let mut rng = fastrand::Rng::with_seed(7);
        let ids: Vec<Uuid> = (0..1_000).map(|_| Uuid::now_v7()).collect();
        let mut deps: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        let tasks: Vec<NewTask> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut d: Vec<Uuid> = (0..3.min(i)).map(|_| ids[rng.usize(0..i)]).collect();
                d.sort();
                d.dedup();
                deps.insert(*id, d.clone());
                NewTask::new("dag", "node", Value::Null).id(*id).depends_on(d).without_events()
            })
            .collect();
        let done: Arc<Mutex<HashSet<Uuid>>> = Arc::default();
        let violations: Arc<Mutex<Vec<Uuid>>> = Arc::default();
        let deps = Arc::new(deps);
        let (d, v, g) = (Arc::clone(&done), Arc::clone(&violations), Arc::clone(&deps));
        let workers = Workers::new(&q)
            .handle("node", move |job: Job| {
                let (done, violations, deps) = (Arc::clone(&d), Arc::clone(&v), Arc::clone(&g));
                async move {
                    let ready = deps[&job.id()].iter().all(|r| done.lock().map(|s| s.contains(r)).unwrap_or(false));
                    if !ready {
                        violations.lock().map(|mut v| v.push(job.id())).ok();
                    }
                    done.lock().map(|mut s| s.insert(job.id())).ok();
                    Ok(Value::Null)
                }
            })
            .queue("dag", 8)
            .options(fast())
            .start()
            .expect("start");
        q.create_many(&ctx(), tasks).await.expect("create graph");
        let start = std::time::Instant::now();
        loop {
            let n = done.lock().map(|s| s.len()).unwrap_or(0);
            if n == 1_000 {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "only {n} of 1000 ran");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        workers.shutdown(Duration::from_secs(5)).await.expect("shutdown");
        assert!(violations.lock().map(|v| v.is_empty()).unwrap_or(false), "ran before a dependency: {violations:?}");
        settle(&q, &ids, Duration::from_secs(10)).await;
        let last = q.task(ids[999]).await.expect("last");
        assert_eq!(last.state, TaskState::Completed);
    }
);

plinth_db::db_test!(
    async fn an_endless_poll_interval_waits_for_wake_ups(db) {
        let q = queue(&db, config()).await;
        let workers = Workers::new(&q)
            .handle("noop", |_job: Job| async move { Ok(Value::Null) })
            .queue("idle", 1)
            .options(WorkerOptions { poll_interval: Some(Duration::MAX), ..fast() })
            .start()
            .expect("start");
        // The first claim finds nothing, so the worker goes quiet until woken.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let id = q.create(&ctx(), job("idle")).await.expect("create").id;
        settle(&q, &[id], Duration::from_secs(10)).await;
        workers.shutdown(Duration::from_secs(1)).await.expect("shutdown");
        assert_eq!(q.task(id).await.expect("task").state, TaskState::Completed);
    }
);
