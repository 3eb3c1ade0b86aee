//! Creating, claiming, reporting, retrying, expiring and canceling tasks on
//! both backends.

mod common;

use common::*;
use plinth_events::Events;
use plinth_task_queue::{
    Config, Created, Error, NewTask, Outcome, Reason, ReasonCreated, Retention, RunState, TaskState,
};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

plinth_db::db_test!(
    async fn a_task_runs_and_completes_with_history_and_events(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let created = q
            .create(&ctx(), job("default").priority(3).tag("team", "infra"))
            .await
            .expect("create");
        assert_eq!(created.created, Created::New);
        let task = q.task(created.id).await.expect("task");
        assert_eq!((task.state, task.run_id, task.retries_left), (TaskState::Pending, Some(0), 2));
        assert_eq!(task.tags, json!({"team": "infra"}));

        clock.advance(Duration::seconds(1));
        let claimed = claim(&q, "default", "w1", 10).await;
        assert_eq!(claimed.len(), 1);
        let running = &claimed[0];
        assert_eq!((running.state, running.attempts), (TaskState::Running, 1));
        assert_eq!(running.worker_id.as_deref(), Some("w1"));
        assert!(claim(&q, "default", "w2", 10).await.is_empty(), "a claimed task is not claimed again");

        clock.advance(Duration::seconds(2));
        let done = q
            .report(&ctx(), report(running, "w1", Outcome::Completed { result: Some(json!({"ok": 1})) }))
            .await
            .expect("report");
        assert_eq!(done.state, TaskState::Completed);
        assert_eq!(done.result, Some(json!({"ok": 1})));
        let status = q.status(created.id).await.expect("status");
        assert_eq!(status.runs.len(), 1);
        let run = &status.runs[0];
        assert_eq!((run.state, run.reason_created, run.reason_resolved), (RunState::Completed, ReasonCreated::Scheduled, Some(Reason::Completed)));
        assert_eq!(run.worker_id.as_deref(), Some("w1"));
        assert_eq!(run.worker_group, running.worker_group);
        assert_eq!((Some(run.scheduled), run.taken_until), (task.scheduled_at, running.taken_until));
        assert_eq!(run.resolved.map(|r| r - run.started.unwrap_or(r)), Some(Duration::seconds(2)));
        assert_eq!(
            (done.worker_id.as_deref(), done.taken_until, done.resolved_at),
            (Some("w1"), running.taken_until, run.resolved),
            "the task row keeps its last run"
        );

        let events = Events::new(db.conn().clone());
        let topics: Vec<String> = events
            .by_subject("task", &created.id.to_string(), None, 10)
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.topic)
            .collect();
        assert_eq!(topics, ["task.resolved", "task.created"]);
    }
);

plinth_db::db_test!(
    async fn bad_input_gives_typed_errors(db) {
        let q = queue(&db, Config { max_payload_bytes: 64, ..Config::default() }).await;
        let bad_name = q.create(&ctx(), job("Not A Queue")).await;
        assert!(matches!(bad_name, Err(Error::Invalid(_))), "{bad_name:?}");
        let big = q.create(&ctx(), NewTask::new("q", "t", json!("x".repeat(100)))).await;
        assert!(matches!(big, Err(Error::PayloadTooLarge { limit: 64, .. })), "{big:?}");
        assert_eq!(big.map(|_| ()).expect_err("too large").http_status(), 413);
        let unknown = Uuid::now_v7();
        assert!(matches!(q.task(unknown).await, Err(Error::NotFound(_))));
        assert!(matches!(q.cancel(&ctx(), unknown).await, Err(Error::NotFound(_))));
        let ghost = q
            .report(&ctx(), plinth_task_queue::Report { task_id: unknown, run_id: 0, worker: worker("w"), outcome: completed() })
            .await;
        assert!(matches!(ghost, Err(Error::NotFound(_))), "{ghost:?}");
        let missing_dep = q.create(&ctx(), job("q").depends_on([unknown])).await;
        assert!(matches!(missing_dep, Err(Error::Invalid(_))), "{missing_dep:?}");

        let id = q.create(&ctx(), job("q")).await.expect("create").id;
        let t = claim(&q, "q", "w1", 1).await.pop().expect("claimed");
        let stolen = q.report(&ctx(), report(&t, "w2", completed())).await;
        assert!(matches!(stolen, Err(Error::Conflict(_))), "{stolen:?}");
        let mut stale = report(&t, "w1", completed());
        stale.run_id = 7;
        assert!(matches!(q.report(&ctx(), stale).await, Err(Error::Conflict(_))));
        let forbidden = q
            .report(&ctx(), report(&t, "w1", Outcome::Exception { reason: Reason::DeadlineExceeded, error: None }))
            .await;
        assert!(matches!(forbidden, Err(Error::Invalid(_))), "{forbidden:?}");
        let big_result = q
            .report(&ctx(), report(&t, "w1", Outcome::Completed { result: Some(json!("y".repeat(100))) }))
            .await;
        assert!(matches!(big_result, Err(Error::PayloadTooLarge { .. })));
        complete(&q, &t, "w1").await;
        let again = q.report(&ctx(), report(&t, "w1", completed())).await;
        assert!(matches!(again, Err(Error::Conflict(_))), "a resolved run cannot be reported twice");
        assert!(matches!(q.dead_letters(None, Some("nope"), 10).await, Err(Error::BadRequest(_))));
        assert!(matches!(q.workers("q", Some("[1]"), 10).await, Err(Error::BadRequest(_))));
        assert_eq!(q.task(id).await.expect("task").state, TaskState::Completed);
    }
);

plinth_db::db_test!(
    async fn creating_an_existing_id_is_idempotent_or_a_conflict(db) {
        let q = queue(&db, Config::default()).await;
        let id = Uuid::now_v7();
        let def = NewTask::new("q", "t", json!({"a": 1, "b": 2})).id(id);
        assert_eq!(q.create(&ctx(), def.clone()).await.expect("first").created, Created::New);
        let same = NewTask::new("q", "t", json!({"b": 2, "a": 1})).id(id);
        let again = q.create(&ctx(), same).await.expect("same definition");
        assert_eq!((again.id, again.created), (id, Created::Existing));
        let different = q.create(&ctx(), def.priority(9)).await;
        assert!(matches!(different, Err(Error::Conflict(_))), "{different:?}");
        assert_eq!(q.task(id).await.expect("task").priority, 0);
    }
);

plinth_db::db_test!(
    async fn unique_keys_dedupe_while_pending_or_running(db) {
        let q = queue(&db, Config::default()).await;
        let first = q.create(&ctx(), job("q").unique_key("report:42")).await.expect("first");
        let batch = q
            .create_many(&ctx(), vec![job("q").unique_key("report:42"), job("q").unique_key("report:43"), job("q").unique_key("report:43")])
            .await
            .expect("batch");
        assert_eq!((batch[0].id, batch[0].created), (first.id, Created::Deduplicated));
        assert_eq!(batch[1].created, Created::New);
        assert_eq!((batch[2].id, batch[2].created), (batch[1].id, Created::Deduplicated));
        let running = claim(&q, "q", "w", 10).await;
        assert_eq!(running.len(), 2);
        let dup = q.create(&ctx(), job("q").unique_key("report:42")).await.expect("while running");
        assert_eq!((dup.id, dup.created), (first.id, Created::Deduplicated));
        for t in &running {
            complete(&q, t, "w").await;
        }
        let fresh = q.create(&ctx(), job("q").unique_key("report:42")).await.expect("after completion");
        assert_eq!(fresh.created, Created::New);
        assert_ne!(fresh.id, first.id);
        // Keys belong to their queue: another queue's live task does not hold them.
        let elsewhere = q.create(&ctx(), job("other").unique_key("report:42")).await.expect("other queue");
        assert_eq!(elsewhere.created, Created::New);
        assert_ne!(elsewhere.id, fresh.id);
    }
);

plinth_db::db_test!(
    async fn a_batch_of_ten_thousand_is_created_and_claimed_in_order(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let tasks: Vec<NewTask> = (0..10_000)
            .map(|i| NewTask::new("bulk", "t", json!({"i": i})).priority(i % 3).without_events())
            .collect();
        let t0 = std::time::Instant::now();
        let created = q.create_many(&ctx(), tasks).await.expect("batch");
        eprintln!("create 10k: {:?}", t0.elapsed());
        assert_eq!(created.len(), 10_000);
        assert!(created.iter().all(|c| c.created == Created::New));
        let later = q
            .create(&ctx(), job("bulk").priority(2).run_at(START + Duration::seconds(30)))
            .await
            .expect("delayed");
        let t0 = std::time::Instant::now();
        let first = claim(&q, "bulk", "w", 1_000).await;
        eprintln!("claim 1000: {:?}", t0.elapsed());
        assert_eq!(first.len(), 1_000);
        assert!(first.iter().all(|t| t.priority == 2), "highest priority first");
        assert!(first.windows(2).all(|w| w[0].id < w[1].id), "then by id");
        clock.advance(Duration::seconds(31));
        let mut order = first;
        loop {
            let next = claim(&q, "bulk", "w", 1_000).await;
            if next.is_empty() {
                break;
            }
            order.extend(next);
        }
        assert_eq!(order.len(), 10_001);
        let at = order.iter().position(|t| t.id == later.id).expect("claimed once ready");
        assert_eq!(at, 3_333, "{at}: after the priority-2 tasks that were ready earlier, before priority 1");
    }
);

plinth_db::db_test!(
    async fn creation_joins_the_callers_transaction(db) {
        let q = queue(&db, Config::default()).await;
        let txn = db.begin().await.expect("begin");
        let rolled = q.create_in(&txn, &ctx(), vec![job("q")]).await.expect("create");
        txn.rollback().await.expect("rollback");
        assert!(matches!(q.task(rolled[0].id).await, Err(Error::NotFound(_))));
        let txn = db.begin().await.expect("begin");
        let kept = q.create_in(&txn, &ctx(), vec![job("q")]).await.expect("create");
        txn.commit().await.expect("commit");
        assert_eq!(q.task(kept[0].id).await.expect("kept").state, TaskState::Pending);
    }
);

plinth_db::db_test!(
    async fn failures_retry_with_backoff_then_become_dead_letters(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let backoff = plinth_task_queue::Backoff { base_ms: 10_000, max_ms: 60_000 };
        let id = q.create(&ctx(), job("q").max_attempts(3).backoff(backoff)).await.expect("create").id;
        let mut waits = Vec::new();
        for attempt in 1..=3 {
            let t = claim(&q, "q", "w", 1).await.pop().unwrap_or_else(|| panic!("attempt {attempt} claimable"));
            let after = q
                .report(&ctx(), report(&t, "w", Outcome::Failed { error: format!("boom {attempt}"), retry: true }))
                .await
                .expect("report");
            if attempt < 3 {
                assert_eq!(after.state, TaskState::Pending);
                assert_eq!(after.run_reason, Some(ReasonCreated::TaskRetry));
                let wait = after.run_at - clock_now(&clock);
                waits.push(wait);
                assert!(claim(&q, "q", "w", 1).await.is_empty(), "not before the backoff");
                clock.advance(wait + Duration::milliseconds(1));
            } else {
                assert_eq!(after.state, TaskState::Failed);
                assert_eq!(after.error.as_deref(), Some("boom 3"));
            }
        }
        assert!(waits[0] >= Duration::seconds(5) && waits[0] <= Duration::seconds(10), "{waits:?}");
        assert!(waits[1] >= Duration::seconds(10) && waits[1] <= Duration::seconds(20), "{waits:?}");
        let status = q.status(id).await.expect("status");
        assert_eq!(status.runs.iter().map(|r| r.state).collect::<Vec<_>>(), [RunState::Failed; 3]);
        let dead = q.dead_letters(Some("q"), None, 10).await.expect("dead letters");
        assert_eq!(dead.items.iter().map(|t| t.id).collect::<Vec<_>>(), [id]);

        let redriven = q.rerun(&ctx(), id).await.expect("rerun");
        assert_eq!((redriven.state, redriven.run_id, redriven.retries_left), (TaskState::Pending, Some(3), 2));
        let runs = q.status(id).await.expect("status").runs;
        assert_eq!(
            runs.iter().map(|r| (r.run_id, r.state)).collect::<Vec<_>>(),
            [(0, RunState::Failed), (1, RunState::Failed), (2, RunState::Failed), (3, RunState::Pending)],
            "the rerun keeps every earlier run"
        );
        assert!(q.dead_letters(None, None, 10).await.expect("dead").items.is_empty());
        let t = claim(&q, "q", "w", 1).await.pop().expect("claimable again");
        assert!(matches!(q.rerun(&ctx(), id).await, Err(Error::Conflict(_))), "not while running");
        let permanent = q
            .report(&ctx(), report(&t, "w", Outcome::Failed { error: "bad".into(), retry: false }))
            .await
            .expect("report");
        assert_eq!(permanent.state, TaskState::Failed, "a non-retryable failure does not retry");
    }
);

fn clock_now(clock: &plinth_task_queue::ManualClock) -> time::OffsetDateTime {
    use plinth_task_queue::Clock;
    clock.now()
}

plinth_db::db_test!(
    async fn an_expired_lease_is_retried_then_resolves(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let id = q.create(&ctx(), job("q").max_attempts(2)).await.expect("create").id;
        let t = claim_for(&q, "q", "w1", 1, Duration::seconds(30)).await.pop().expect("claimed");
        clock.advance(Duration::seconds(20));
        assert_eq!(q.expire_claims().await.expect("sweep"), 0, "the lease still runs");
        let renewed = q
            .reclaim(t.id, 0, &worker("w1"), Some(std::time::Duration::from_secs(30)))
            .await
            .expect("reclaim");
        assert_eq!(renewed.taken_until, Some(clock_now(&clock) + Duration::seconds(30)).map(|t| renewed.taken_until.map_or(t, |r| r)));
        clock.advance(Duration::seconds(31));
        assert_eq!(q.expire_claims().await.expect("sweep"), 1);
        let task = q.task(id).await.expect("task");
        assert_eq!((task.state, task.run_id, task.run_reason), (TaskState::Pending, Some(1), Some(ReasonCreated::Retry)));
        let late = q.report(&ctx(), report(&t, "w1", completed())).await;
        assert!(matches!(late, Err(Error::Conflict(_))), "the old worker no longer holds the run");
        assert!(matches!(q.reclaim(t.id, 0, &worker("w1"), None).await, Err(Error::Conflict(_))));

        clock.advance(Duration::hours(1));
        let t2 = claim_for(&q, "q", "w2", 1, Duration::seconds(30)).await.pop().expect("retry claimable");
        assert_eq!(t2.run_id, Some(1));
        let lease = q.task(id).await.expect("task").taken_until;
        clock.advance(Duration::seconds(1));
        let stale = q.reclaim(t.id, 0, &worker("w2"), None).await;
        assert!(matches!(stale, Err(Error::Conflict(_))), "run 0 is over even for the worker holding run 1");
        assert_eq!(q.task(id).await.expect("task").taken_until, lease, "a refused reclaim extends nothing");
        clock.advance(Duration::seconds(30));
        assert_eq!(q.expire_claims().await.expect("sweep"), 1);
        let task = q.task(id).await.expect("task");
        assert_eq!((task.state, task.reason), (TaskState::Exception, Some(Reason::ClaimExpired)));
        let runs = q.status(id).await.expect("status").runs;
        assert_eq!(runs.iter().map(|r| r.reason_resolved).collect::<Vec<_>>(), [Some(Reason::ClaimExpired); 2]);
    }
);

plinth_db::db_test!(
    async fn past_its_deadline_a_task_resolves_and_changes_no_more(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let deadline = START + Duration::minutes(10);
        let pending = q.create(&ctx(), job("q").deadline(deadline)).await.expect("pending").id;
        let running = q.create(&ctx(), job("r").deadline(deadline)).await.expect("running").id;
        let waiting = q.create(&ctx(), job("q").deadline(deadline).depends_on([running])).await.expect("waiting").id;
        let t = claim(&q, "r", "w", 1).await.pop().expect("claimed");
        clock.advance(Duration::minutes(10));
        assert!(claim(&q, "q", "w", 10).await.is_empty(), "no claim at or past the deadline");
        assert_eq!(q.expire_deadlines().await.expect("sweep"), 3);
        for id in [pending, running, waiting] {
            let task = q.task(id).await.expect("task");
            assert_eq!((task.state, task.reason), (TaskState::Exception, Some(Reason::DeadlineExceeded)), "{id}");
        }
        assert_eq!(q.status(waiting).await.expect("status").runs[0].reason_created, ReasonCreated::Exception);
        assert!(matches!(q.report(&ctx(), report(&t, "w", completed())).await, Err(Error::Conflict(_))));
        assert!(matches!(q.rerun(&ctx(), pending).await, Err(Error::Conflict(_))));
        assert_eq!(q.cancel(&ctx(), pending).await.expect("cancel").reason, Some(Reason::DeadlineExceeded));
        assert_eq!(q.expire_deadlines().await.expect("sweep"), 0);
    }
);

plinth_db::db_test!(
    async fn past_its_deadline_a_running_task_takes_no_report_even_before_the_sweep(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let id = q.create(&ctx(), job("q").deadline(START + Duration::minutes(10))).await.expect("create").id;
        let t = claim(&q, "q", "w", 1).await.pop().expect("claimed");
        clock.advance(Duration::minutes(10));
        let late = q.report(&ctx(), report(&t, "w", completed())).await;
        assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
        let failed = q.report(&ctx(), report(&t, "w", Outcome::Failed { error: "late".into(), retry: false })).await;
        assert!(matches!(failed, Err(Error::Conflict(_))), "{failed:?}");
        assert_eq!(q.expire_deadlines().await.expect("sweep"), 1);
        let task = q.task(id).await.expect("task");
        assert_eq!((task.state, task.reason), (TaskState::Exception, Some(Reason::DeadlineExceeded)));
    }
);

plinth_db::db_test!(
    async fn canceling_a_task_past_its_deadline_before_the_sweep_resolves_it_deadline_exceeded(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let id = q.create(&ctx(), job("q").deadline(START + Duration::minutes(10))).await.expect("create").id;
        clock.advance(Duration::minutes(10));
        let canceled = q.cancel(&ctx(), id).await.expect("cancel");
        assert_eq!((canceled.state, canceled.reason), (TaskState::Exception, Some(Reason::DeadlineExceeded)));
        assert_eq!(q.expire_deadlines().await.expect("sweep"), 0);
    }
);

plinth_db::db_test!(
    async fn past_its_deadline_a_running_task_keeps_its_lease_unextended(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let deadline = START + Duration::minutes(10);
        let id = q.create(&ctx(), job("q").deadline(deadline)).await.expect("create").id;
        let t = claim(&q, "q", "w", 1).await.pop().expect("claimed");
        clock.advance(Duration::minutes(10));
        let late = q.reclaim(id, 0, &worker("w"), None).await;
        assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
        assert_eq!(q.task(id).await.expect("task").taken_until, t.taken_until, "a refused reclaim extends nothing");
    }
);

plinth_db::db_test!(
    async fn cancel_and_force_schedule(db) {
        let q = queue(&db, Config::default()).await;
        let a = q.create(&ctx(), job("q")).await.expect("a").id;
        let b = q.create(&ctx(), job("q").depends_on([a])).await.expect("b").id;
        let c = q.create(&ctx(), job("q").depends_on([a])).await.expect("c").id;
        assert_eq!(q.task(b).await.expect("b").state, TaskState::Unscheduled);
        let forced = q.schedule(&ctx(), b).await.expect("schedule");
        assert_eq!((forced.state, forced.run_id), (TaskState::Pending, Some(0)));
        let canceled = q.cancel(&ctx(), c).await.expect("cancel unscheduled");
        assert_eq!((canceled.state, canceled.reason), (TaskState::Exception, Some(Reason::Canceled)));
        let running = claim(&q, "q", "w", 10).await;
        assert_eq!(running.len(), 2);
        let canceled = q.cancel(&ctx(), a).await.expect("cancel running");
        assert_eq!(canceled.state, TaskState::Exception);
        let ta = running.iter().find(|t| t.id == a).expect("a ran");
        assert!(matches!(q.report(&ctx(), report(ta, "w", completed())).await, Err(Error::Conflict(_))));
        let stored = q.task(a).await.expect("a");
        let again = q.cancel(&ctx(), a).await.expect("cancel resolved");
        assert_eq!(again, stored, "a resolved task is left alone");
        assert!(q.dead_letters(None, None, 10).await.expect("dead").items.is_empty(), "canceled tasks are not dead letters");
    }
);

plinth_db::db_test!(
    async fn retention_prunes_resolved_tasks_in_batches(db) {
        let config = Config {
            retention: Retention { completed: std::time::Duration::from_secs(3600), failed: None },
            maintenance_batch: 7,
            ..Config::default()
        };
        let (q, clock) = manual(&db, config).await;
        let tasks: Vec<NewTask> = (0..20).map(|_| job("q")).collect();
        q.create_many(&ctx(), tasks).await.expect("create");
        let claimed = claim(&q, "q", "w", 20).await;
        for (i, t) in claimed.iter().enumerate() {
            let outcome = if i < 15 { completed() } else { Outcome::Failed { error: "x".into(), retry: false } };
            q.report(&ctx(), report(t, "w", outcome)).await.expect("report");
        }
        assert_eq!(q.prune().await.expect("prune"), 0, "nothing is old enough");
        clock.advance(Duration::hours(2));
        assert_eq!(q.prune().await.expect("prune"), 15);
        assert_eq!(q.dead_letters(None, None, 100).await.expect("dead").items.len(), 5, "dead letters are kept");

        // Retention beyond any representable time keeps everything.
        let forever = std::time::Duration::MAX;
        let config = Config { retention: Retention { completed: forever, failed: Some(forever) }, ..Config::default() };
        let (q, _) = manual(&db, config).await;
        assert_eq!(q.prune().await.expect("prune"), 0);
        assert_eq!(q.maintain().await.expect("maintain").pruned, 0);
        assert_eq!(q.dead_letters(None, None, 100).await.expect("dead").items.len(), 5);
    }
);

plinth_db::db_test!(
    async fn expiry_prunes_resolved_tasks_and_keeps_live_ones(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let expires = plinth_task_queue::Clock::now(&*clock) + Duration::hours(1);
        let ids: Vec<Uuid> = q
            .create_many(&ctx(), (0..3).map(|_| job("q").expires(expires)).collect())
            .await
            .expect("create")
            .iter()
            .map(|c| c.id)
            .collect();
        let claimed = claim(&q, "q", "w", 1).await;
        complete(&q, &claimed[0], "w").await;
        clock.advance(Duration::hours(2));
        assert_eq!(q.prune().await.expect("prune"), 1, "only the resolved task is pruned");
        let done = claimed[0].id;
        assert!(matches!(q.task(done).await, Err(Error::NotFound(_))));
        for id in ids.iter().filter(|id| **id != done) {
            assert!(!q.task(*id).await.expect("kept").state.is_resolved());
        }

        // The narrower expiry index goes down and up again, keeping the rows.
        let migrators: [&dyn plinth_db::migrate::Migrator; 1] = [&plinth_task_queue::Migrator];
        plinth_db::migrate::down(db.conn(), &migrators, "queue", 1).await.expect("down");
        assert_eq!(q.prune().await.expect("prune"), 0);
        plinth_db::migrate::up(db.conn(), &migrators).await.expect("up");
        let late = claim(&q, "q", "w", 1).await;
        complete(&q, &late[0], "w").await;
        assert_eq!(q.prune().await.expect("prune"), 1, "a task resolved after its expiry goes too");
    }
);

plinth_db::db_test!(
    async fn batches_larger_than_a_database_integer_still_sweep_prune_and_cancel(db) {
        let config = Config {
            retention: Retention { completed: std::time::Duration::from_secs(60), failed: None },
            maintenance_batch: u64::MAX,
            ..Config::default()
        };
        let (q, clock) = manual(&db, config).await;
        let group = Uuid::now_v7();
        let tasks: Vec<NewTask> = (0..3).map(|_| job("q").group(group)).collect();
        q.create_many(&ctx(), tasks).await.expect("create");
        let t = claim(&q, "q", "w", 1).await.pop().expect("claimed");
        complete(&q, &t, "w").await;
        assert_eq!(q.cancel_group(&ctx(), group).await.expect("cancel group"), 2);
        clock.advance(Duration::hours(1));
        let swept = q.maintain().await.expect("maintain");
        assert_eq!(swept.pruned, 1, "the completed task is past its retention");
    }
);

plinth_db::db_test!(
    async fn status_lists_a_run_moved_to_the_history_meanwhile_once(db) {
        let (q, _clock) = manual(&db, Config::default()).await;
        let id = q.create(&ctx(), job("q")).await.expect("create").id;
        let t = claim(&q, "q", "w1", 1).await.pop().expect("claimed");
        // What a retry committed between status's two reads leaves: the run
        // the task row still shows as current, already in the history too.
        let conn = db.conn();
        conn.execute_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "INSERT INTO queue_run (task_id, run_id, state, reason_created, worker_group, worker_id, \
             taken_until, scheduled, started, resolved, error, reason_resolved) \
             SELECT id, run_id, 'failed', 'scheduled', worker_group, worker_id, taken_until, \
             COALESCE(scheduled_at, created_at), started_at, NULL, NULL, NULL FROM queue_task WHERE id = $1",
            [id.into()],
        ))
        .await
        .expect("history row");
        let runs = q.status(id).await.expect("status").runs;
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!((runs[0].run_id, runs[0].worker_id.as_deref()), (0, Some("w1")));
        assert_eq!(t.run_id, Some(0));
    }
);

plinth_db::db_test!(
    async fn runs_stored_in_the_earlier_layout_keep_their_history(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let id = q.create(&ctx(), job("q")).await.expect("create").id;
        let t = claim(&q, "q", "w1", 1).await.pop().expect("claimed");
        clock.advance(Duration::seconds(1));
        complete(&q, &t, "w1").await;
        let runs = q.status(id).await.expect("status").runs;
        assert_eq!(history_rows(&db).await, 0, "the task row holds its last run");
        let migrators: [&dyn plinth_db::migrate::Migrator; 1] = [&plinth_task_queue::Migrator];

        // Back to before m0002_last_run_in_task (and the migrations after it).
        plinth_db::migrate::down(db.conn(), &migrators, "queue", 3).await.expect("down");
        assert_eq!(history_rows(&db).await, 1, "reverted, the last run is back in the history");
        assert_eq!(q.task(id).await.expect("task").worker_id, None);

        plinth_db::migrate::up(db.conn(), &migrators).await.expect("up");
        assert_eq!(history_rows(&db).await, 0);
        assert_eq!(q.status(id).await.expect("status").runs, runs, "nothing of the run is lost");
    }
);

async fn history_rows(db: &plinth_db::testing::TestDb) -> i64 {
    let conn = db.conn();
    let sql = "SELECT count(*) FROM queue_run";
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect("count")
        .expect("row");
    row.try_get_by_index(0).expect("count")
}

plinth_db::db_test!(
    async fn a_task_has_at_most_fifty_runs(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        assert!(matches!(q.create(&ctx(), job("q").max_attempts(51)).await, Err(Error::Invalid(_))));
        let id = q.create(&ctx(), job("q").max_attempts(3)).await.expect("create").id;
        for run in 0..50 {
            if q.task(id).await.expect("task").state.is_resolved() {
                q.rerun(&ctx(), id).await.expect("rerun");
            }
            clock.advance(Duration::hours(2));
            let t = claim(&q, "q", "w", 1).await.pop().expect("claimable");
            assert_eq!(t.run_id, Some(run));
            let retry = Outcome::Failed { error: "again".into(), retry: true };
            q.report(&ctx(), report(&t, "w", retry)).await.expect("report");
        }
        let task = q.task(id).await.expect("task");
        assert_eq!((task.state, task.run_id), (TaskState::Failed, Some(49)), "no retry after the fiftieth run");
        assert!(task.retries_left > 0, "retries were left");
        assert!(matches!(q.rerun(&ctx(), id).await, Err(Error::Conflict(_))));
        assert!(matches!(q.redrive(&ctx(), id).await, Err(Error::Conflict(_))));
        assert_eq!(q.status(id).await.expect("status").runs.len(), 50);
    }
);
