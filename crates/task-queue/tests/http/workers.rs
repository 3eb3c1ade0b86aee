//! Remote workers over HTTP: the full cycle, long-polled claims, runs not
//! held, and quarantine.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use plinth_task_queue::{Config, TaskState};
use serde_json::json;
use time::OffsetDateTime;

use crate::support::*;

/// A worker's credentials for `queue`: claim, resolve and artifacts, as any worker of group `test`.
fn worker_scopes(queue: &str) -> Vec<String> {
    ["claim-work", "resolve-task", "create-artifact", "read"]
        .iter()
        .map(|s| format!("queue:{s}:{queue}"))
        .chain(["queue:worker-id:test/*".to_owned()])
        .collect()
}

plinth_db::db_test!(
    async fn a_remote_worker_claims_reclaims_adds_artifacts_and_completes(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let scopes = worker_scopes("proj/ci");
        let worker_token = token(&db, &scopes.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let id = create(&app, &admin, "proj/ci", json!({ "payload": { "n": 1 } })).await;

        let claimed = claim(&app, &worker_token, "proj/ci", "w1", 5, 0).await;
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0]["id"], id.to_string());
        assert_eq!(claimed[0]["run_id"], 0);
        assert_eq!(claimed[0]["state"], "running");
        assert_eq!(claimed[0]["payload"], json!({ "n": 1 }));
        let run = format!("/v1/queue/tasks/{id}/runs/0");

        let first_lease = stored(&queue, id).await.taken_until.expect("leased");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let reclaimed = post(&app, &worker_token, &format!("{run}/reclaim"), json!({ "worker": worker("w1") })).await;
        assert_eq!(reclaimed.ok(StatusCode::OK)["state"], "running");
        assert!(stored(&queue, id).await.taken_until.expect("leased") > first_lease);

        let log = json!({
            "worker": worker("w1"),
            "artifact": { "kind": "reference", "url": "https://example.com/log.txt", "content_type": "text/plain" },
        });
        let made = put(&app, &worker_token, &format!("{run}/artifacts/public/logs/live.log"), log.clone()).await;
        assert_eq!(made.ok(StatusCode::OK)["name"], "public/logs/live.log");
        put(&app, &worker_token, &format!("{run}/artifacts/public/logs/live.log"), log)
            .await
            .ok(StatusCode::OK);
        let link = json!({ "worker": worker("w1"), "artifact": { "kind": "link", "artifact": "public/logs/live.log" } });
        put(&app, &worker_token, &format!("{run}/artifacts/public/latest.log"), link)
            .await
            .ok(StatusCode::OK);
        let listed = get(&app, &worker_token, &format!("{run}/artifacts")).await;
        let names: Vec<&str> = listed.ok(StatusCode::OK)["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|a| a["name"].as_str())
            .collect();
        assert_eq!(names, ["public/latest.log", "public/logs/live.log"]);
        let followed = get(&app, &worker_token, &format!("{run}/artifacts/public/latest.log")).await;
        assert_eq!(followed.ok(StatusCode::OK)["name"], "public/logs/live.log");
        assert_eq!(followed.body["details"]["url"], "https://example.com/log.txt");

        let done = post(
            &app,
            &worker_token,
            &format!("{run}/completed"),
            json!({ "worker": worker("w1"), "result": { "ok": true } }),
        )
        .await;
        assert_eq!(done.ok(StatusCode::OK)["state"], "completed");

        let status = get(&app, &worker_token, &format!("/v1/queue/tasks/{id}/status")).await;
        let status = status.ok(StatusCode::OK);
        assert_eq!(status["task"]["state"], "completed");
        assert_eq!(status["task"]["result"], json!({ "ok": true }));
        assert_eq!(status["runs"].as_array().map(Vec::len), Some(1));
        assert_eq!(status["runs"][0]["state"], "completed");
        assert_eq!(status["runs"][0]["reason_resolved"], "completed");
        assert_eq!(status["runs"][0]["worker_id"], "w1");
        let latest = get(&app, &worker_token, &format!("/v1/queue/tasks/{id}/artifacts/public/logs/live.log")).await;
        assert_eq!(latest.ok(StatusCode::OK)["run_id"], 0);

        let late = json!({
            "worker": worker("w1"),
            "artifact": { "kind": "error", "reason": "too-late", "message": "the run is over" },
        });
        put(&app, &worker_token, &format!("{run}/artifacts/public/late.log"), late)
            .await
            .problem(StatusCode::CONFLICT);
    }
);

plinth_db::db_test!(
    async fn a_claim_waits_for_work_and_returns_empty_after_its_wait(db) {
        let config = Config {
            poll_interval: Duration::from_secs(30),
            ..Config::default()
        };
        let queue = setup(&db, config).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;

        let started = Instant::now();
        assert!(claim(&app, &admin, "long", "w1", 1, 200).await.is_empty());
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(200), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");

        let started = Instant::now();
        let waiting = claim(&app, &admin, "long", "w1", 1, 15_000);
        let creating = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            create(&app, &admin, "long", json!({})).await
        };
        let (claimed, id) = tokio::join!(waiting, creating);
        let waited = started.elapsed();
        assert_eq!(claimed.len(), 1, "the claim returns the task created during its wait");
        assert_eq!(claimed[0]["id"], id.to_string());
        assert!(waited < Duration::from_secs(10), "woken, not polled: {waited:?}");
        assert_eq!(stored(&queue, id).await.state, TaskState::Running);
    }
);

plinth_db::db_test!(
    async fn reports_on_runs_the_worker_does_not_hold_are_conflicts(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let id = create(&app, &admin, "q", json!({})).await;
        assert_eq!(claim(&app, &admin, "q", "w1", 1, 0).await.len(), 1);
        let run = format!("/v1/queue/tasks/{id}/runs/0");
        let completed = |who: &str| json!({ "worker": worker(who), "result": null });

        post(&app, &admin, &format!("{run}/completed"), completed("w2"))
            .await
            .problem(StatusCode::CONFLICT);
        post(&app, &admin, &format!("{run}/reclaim"), json!({ "worker": worker("w2") }))
            .await
            .problem(StatusCode::CONFLICT);
        post(&app, &admin, &format!("/v1/queue/tasks/{id}/runs/1/completed"), completed("w1"))
            .await
            .problem(StatusCode::CONFLICT);
        let task = stored(&queue, id).await;
        assert_eq!(task.state, TaskState::Running);
        assert_eq!(task.worker_id.as_deref(), Some("w1"));

        let exception = json!({ "worker": worker("w1"), "reason": "canceled" });
        post(&app, &admin, &format!("{run}/exception"), exception)
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(stored(&queue, id).await.state, TaskState::Running);

        let failed = json!({ "worker": worker("w1"), "error": "exit 1" });
        let failed = post(&app, &admin, &format!("{run}/failed"), failed).await;
        assert_eq!(failed.ok(StatusCode::OK)["state"], "failed");
        post(&app, &admin, &format!("{run}/completed"), completed("w1"))
            .await
            .problem(StatusCode::CONFLICT);
        let task = stored(&queue, id).await;
        assert_eq!(task.state, TaskState::Failed);
        assert_eq!(task.error.as_deref(), Some("exit 1"));
    }
);

plinth_db::db_test!(
    async fn a_quarantined_worker_gets_no_work(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let worker_uri = "/v1/queue/task-queues/proj/ci/workers/test/w1";
        get(&app, &admin, worker_uri).await.problem(StatusCode::NOT_FOUND);
        assert!(claim(&app, &admin, "proj/ci", "w1", 1, 0).await.is_empty());
        let seen = get(&app, &admin, worker_uri).await;
        assert_eq!(seen.ok(StatusCode::OK)["provisioner_id"], "proj");
        assert_eq!(seen.body["worker_type"], "ci");
        assert_eq!(seen.body["quarantine_until"], serde_json::Value::Null);

        let listed = get(&app, &admin, "/v1/queue/task-queues/proj/ci/workers").await;
        assert_eq!(listed.ok(StatusCode::OK)["items"][0]["worker_id"], "w1");

        let reader = token(&db, &["queue:list-workers:proj/ci"]).await;
        let until = OffsetDateTime::now_utc() + time::Duration::hours(1);
        let until_text = until
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format");
        let quarantine = format!("{worker_uri}/quarantine");
        put(&app, &reader, &quarantine, json!({ "until": until_text }))
            .await
            .forbidden(&["queue:quarantine-worker:proj/ci/test/w1"]);
        let quarantined = put(&app, &admin, &quarantine, json!({ "until": until_text })).await;
        assert!(quarantined.ok(StatusCode::OK)["quarantine_until"].is_string());

        let id = create(&app, &admin, "proj/ci", json!({})).await;
        assert!(claim(&app, &admin, "proj/ci", "w1", 1, 100).await.is_empty());
        assert_eq!(stored(&queue, id).await.state, TaskState::Pending);

        let past = "2000-01-01T00:00:00Z";
        put(&app, &admin, &quarantine, json!({ "until": past }))
            .await
            .ok(StatusCode::OK);
        let claimed = claim(&app, &admin, "proj/ci", "w1", 1, 0).await;
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0]["id"], id.to_string());
    }
);
