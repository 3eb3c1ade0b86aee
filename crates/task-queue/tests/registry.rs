//! Remote workers (registry, quarantine), artifacts and the index on both backends.

mod common;

use common::*;
use plinth_task_queue::artifact::{ArtifactBody, NewArtifact};
use plinth_task_queue::{ArtifactKind, Claim, Config, Error, TaskState};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

plinth_db::db_test!(
    async fn remote_workers_are_registered_and_quarantine_stops_their_work(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let queue_name = "proj-ci/linux";
        for _ in 0..3 {
            q.create(&ctx(), job(queue_name)).await.expect("create");
        }
        let w = worker("host-1");
        let got = q.claim_work(&Claim::new(queue_name, w.clone(), 1)).await.expect("claim");
        assert_eq!(got.len(), 1);
        let seen = q.worker(queue_name, &w).await.expect("registered");
        assert_eq!((seen.provisioner_id.as_str(), seen.worker_type.as_str()), ("proj-ci", "linux"));
        assert_eq!(q.recent_tasks(queue_name, &w).await.expect("recent"), [(got[0].id, 0)]);
        assert_eq!(q.provisioners().await.expect("provisioners")[0].provisioner_id, "proj-ci");
        assert_eq!(q.worker_types("proj-ci").await.expect("types")[0].worker_type, "linux");

        q.quarantine_worker(&ctx(), queue_name, &w, plinth_task_queue_time(&clock) + Duration::hours(1))
            .await
            .expect("quarantine");
        assert!(q.claim_work(&Claim::new(queue_name, w.clone(), 5)).await.expect("claim").is_empty());
        let odd = Claim { task_types: vec!["Not A Type".into()], ..Claim::new(queue_name, w.clone(), 5) };
        assert!(matches!(q.claim_work(&odd).await, Err(Error::Invalid(_))), "checked even in quarantine");
        let other = q.claim_work(&Claim::new(queue_name, worker("host-2"), 1)).await.expect("claim");
        assert_eq!(other.len(), 1, "other workers still get work");
        clock.advance(Duration::hours(2));
        assert_eq!(q.claim_work(&Claim::new(queue_name, w.clone(), 5)).await.expect("claim").len(), 1, "quarantine over");
        let page = q.workers(queue_name, None, 1).await.expect("page");
        assert_eq!(page.items[0].worker_id, "host-1");
        let rest = q.workers(queue_name, page.continuation.as_deref(), 10).await.expect("rest");
        assert_eq!(rest.items.iter().map(|w| w.worker_id.as_str()).collect::<Vec<_>>(), ["host-2"]);
        assert!(matches!(q.worker(queue_name, &worker("nobody")).await, Err(Error::NotFound(_))));
        // Malformed names are refused before the database sees them (NUL is an error on PostgreSQL).
        let until = plinth_task_queue_time(&clock) + Duration::hours(1);
        assert!(matches!(q.worker(queue_name, &worker("no\0body")).await, Err(Error::Invalid(_))));
        assert!(matches!(q.worker("Bad Queue", &w).await, Err(Error::Invalid(_))));
        assert!(matches!(q.recent_tasks(queue_name, &worker("no\0body")).await, Err(Error::Invalid(_))));
        assert!(matches!(q.quarantine_worker(&ctx(), queue_name, &worker("no\0body"), until).await, Err(Error::Invalid(_))));
        assert!(matches!(q.worker_types("proj\0ci").await, Err(Error::Invalid(_))));
        let built_in = q.claim_work(&Claim::new("plain", worker("x"), 1)).await.expect("claim");
        assert!(built_in.is_empty());
        let first = q.worker("plain", &worker("x")).await.expect("seen");
        assert_eq!(first.provisioner_id, "built-in");

        // Empty claims record the worker as active at most once a minute.
        clock.advance(Duration::seconds(30));
        q.claim_work(&Claim::new("plain", worker("x"), 1)).await.expect("claim");
        assert_eq!(q.worker("plain", &worker("x")).await.expect("seen").last_date_active, first.last_date_active);
        clock.advance(Duration::seconds(31));
        q.claim_work(&Claim::new("plain", worker("x"), 1)).await.expect("claim");
        let later = q.worker("plain", &worker("x")).await.expect("seen").last_date_active;
        assert_eq!(later - first.last_date_active, Duration::seconds(61));
    }
);

fn plinth_task_queue_time(clock: &plinth_task_queue::ManualClock) -> time::OffsetDateTime {
    use plinth_task_queue::Clock;
    clock.now()
}

plinth_db::db_test!(
    async fn artifacts_belong_to_runs(db) {
        let q = queue(&db, Config::default()).await;
        let id = q.create(&ctx(), job("q")).await.expect("create").id;
        let t = claim(&q, "q", "w", 1).await.pop().expect("claimed");
        let w = worker("w");
        let log = NewArtifact {
            name: "public/logs/live.log".into(),
            body: ArtifactBody::Reference { url: "https://files.example/1".into(), content_type: "text/plain".into() },
            expires: None,
        };
        let stored = q.create_artifact(id, 0, &w, log.clone()).await.expect("reference");
        assert_eq!((stored.kind, stored.content_type.as_str()), (ArtifactKind::Reference, "text/plain"));
        assert_eq!(q.create_artifact(id, 0, &w, log.clone()).await.expect("again"), stored, "idempotent");
        let changed = NewArtifact {
            body: ArtifactBody::Reference { url: "https://files.example/2".into(), content_type: "text/plain".into() },
            ..log.clone()
        };
        assert!(matches!(q.create_artifact(id, 0, &w, changed).await, Err(Error::Conflict(_))));
        let link = NewArtifact {
            name: "public/latest.log".into(),
            body: ArtifactBody::Link { artifact: "public/logs/live.log".into() },
            expires: None,
        };
        q.create_artifact(id, 0, &w, link).await.expect("link");
        let missing = NewArtifact {
            name: "public/core".into(),
            body: ArtifactBody::Error { reason: "file-missing-on-worker".into(), message: "no core dump".into() },
            expires: None,
        };
        assert_eq!(q.create_artifact(id, 0, &w, missing).await.expect("error").kind, ArtifactKind::Error);
        assert!(matches!(q.create_artifact(id, 0, &worker("thief"), log.clone()).await, Err(Error::Conflict(_))));
        let bad = NewArtifact { name: "../etc".into(), ..log.clone() };
        assert!(matches!(q.create_artifact(id, 0, &w, bad).await, Err(Error::Invalid(_))));

        assert_eq!(q.resolve_artifact(id, 0, "public/latest.log").await.expect("resolve").name, "public/logs/live.log");
        assert_eq!(q.latest_artifact(id, "public/core").await.expect("latest").run_id, 0);
        let page = q.artifacts(id, 0, None, 2).await.expect("page");
        let rest = q.artifacts(id, 0, page.continuation.as_deref(), 2).await.expect("rest");
        assert_eq!(page.items.len() + rest.items.len(), 3);
        complete(&q, &t, "w").await;
        assert!(matches!(q.create_artifact(id, 0, &w, log).await, Err(Error::Conflict(_))), "not after the run resolved");
        assert!(matches!(q.artifact(id, 0, "nope").await, Err(Error::NotFound(_))));
        assert_eq!(q.task(id).await.expect("task").state, TaskState::Completed);
    }
);

plinth_db::db_test!(
    async fn the_index_keeps_the_highest_rank_and_finds_the_latest(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let ids: Vec<Uuid> = q
            .create_many(&ctx(), (0..3).map(|_| job("q")).collect())
            .await
            .expect("create")
            .iter()
            .map(|c| c.id)
            .collect();
        let later = START + Duration::days(30);
        q.index_task(&ctx(), "proj.app.main.latest", ids[0], 10, json!({"rev": "a"}), later).await.expect("index");
        let kept = q.index_task(&ctx(), "proj.app.main.latest", ids[1], 5, json!({}), later).await.expect("lower rank");
        assert_eq!(kept.task_id, ids[0], "a lower rank does not replace");
        let events = plinth_events::Events::new(db.conn().clone());
        let recorded = events.by_subject("index", "proj.app.main.latest", None, 10).await.expect("events");
        assert_eq!(recorded.len(), 1, "the refused write records no event");
        let replaced = q.index_task(&ctx(), "proj.app.main.latest", ids[2], 11, json!({}), later).await.expect("higher");
        assert_eq!(replaced.task_id, ids[2]);
        q.index_task(&ctx(), "proj.app.main.build-7", ids[1], 7, json!({}), later).await.expect("index");
        q.index_task(&ctx(), "proj.app.main.build-9", ids[0], 9, json!({}), START + Duration::days(1))
            .await
            .expect("index");
        assert_eq!(q.find_indexed("proj.app.main.latest").await.expect("find").task_id, ids[2]);
        assert_eq!(q.latest_in("proj.app.main").await.expect("latest").name, "latest");
        let listed = q.indexed_in("proj.app.main", None, 10).await.expect("list");
        assert_eq!(listed.items.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["build-7", "build-9", "latest"]);
        let roots = q.namespaces("", None, 10).await.expect("roots");
        assert_eq!(roots.items.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["proj"]);
        assert_eq!(q.namespaces("proj.app", None, 10).await.expect("ns").items[0].name, "main");
        clock.advance(Duration::days(2));
        assert_eq!(q.indexed_in("proj.app.main", None, 10).await.expect("list").items.len(), 2, "expired entries are hidden");
        assert!(matches!(q.find_indexed("proj.app.main.build-9").await, Err(Error::NotFound(_))));
        assert!(matches!(q.find_indexed("bad..path").await, Err(Error::Invalid(_))));
        let ghost = q.index_task(&ctx(), "a.b", Uuid::now_v7(), 1, json!({}), later).await;
        assert!(matches!(ghost, Err(Error::NotFound(_))));
    }
);

/// An index path of `len` bytes: random letters, digits, `_` and `-` (which
/// PostgreSQL cannot compress), with a `.` between segments of 63.
fn incompressible_path(len: usize, seed: u64) -> String {
    const SEGMENT: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    plinth_db::testing::incompressible_in(SEGMENT, len, seed)
        .chars()
        .enumerate()
        .map(|(i, c)| if i % 64 == 63 && i + 1 < len { '.' } else { c })
        .collect()
}

plinth_db::db_test!(
    async fn index_paths_up_to_the_limit_are_written_and_longer_ones_refused(db) {
        let (q, _clock) = manual(&db, Config::default()).await;
        let id = q.create(&ctx(), job("q")).await.expect("create").id;
        let later = START + Duration::days(30);
        let max = plinth_task_queue::validate::MAX_INDEX_PATH_LEN;
        let longest = incompressible_path(max, 1);
        let written = q.index_task(&ctx(), &longest, id, 1, json!({}), later).await.expect("the longest path is written");
        assert_eq!(written.task_id, id);
        assert_eq!(q.find_indexed(&longest).await.expect("found").task_id, id);
        let (namespace, _) = longest.rsplit_once('.').expect("segments");
        assert_eq!(q.latest_in(namespace).await.expect("latest").task_id, id);
        let over = incompressible_path(max + 1, 2);
        assert!(matches!(q.index_task(&ctx(), &over, id, 1, json!({}), later).await, Err(Error::Invalid(_))));
        assert!(matches!(q.find_indexed(&over).await, Err(Error::Invalid(_))));
        assert!(matches!(q.latest_in(&over).await, Err(Error::Invalid(_))));
        assert!(matches!(q.indexed_in(&over, None, 10).await, Err(Error::Invalid(_))));
        assert!(matches!(q.namespaces(&over, None, 10).await, Err(Error::Invalid(_))));
    }
);

plinth_db::db_test!(
    async fn a_claim_may_wait_without_end(db) {
        let (q, _clock) = manual(&db, Config::default()).await;
        let id = q.create(&ctx(), job("q")).await.expect("create").id;
        let claim = Claim::new("q", worker("host-1"), 1);
        let got = q.claim_work_waiting(&claim, std::time::Duration::MAX).await.expect("claim");
        assert_eq!(got.iter().map(|t| t.id).collect::<Vec<_>>(), [id]);
    }
);

plinth_db::db_test!(
    async fn past_its_deadline_a_running_task_takes_no_artifact(db) {
        let (q, clock) = manual(&db, Config::default()).await;
        let id = q.create(&ctx(), job("q").deadline(START + Duration::minutes(10))).await.expect("create").id;
        claim(&q, "q", "w", 1).await.pop().expect("claimed");
        clock.advance(Duration::minutes(10));
        let log = NewArtifact {
            name: "public/logs/live.log".into(),
            body: ArtifactBody::Reference { url: "https://files.example/1".into(), content_type: "text/plain".into() },
            expires: None,
        };
        let late = q.create_artifact(id, 0, &worker("w"), log).await;
        assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
        assert!(q.artifacts(id, 0, None, 10).await.expect("artifacts").items.is_empty());
    }
);
