//! Requests the queue refuses: missing credentials or scopes, unknown ids,
//! oversize bodies and payloads, malformed input — each a problem+json 4xx
//! that changes nothing.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use plinth_task_queue::{Config, TaskState};
use serde_json::json;
use uuid::Uuid;

use crate::support::*;

plinth_db::db_test!(
    async fn claiming_needs_credentials_and_both_scopes(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let id = create(&app, &admin, "q", json!({})).await;
        let body = json!({ "worker": worker("w1"), "wait_ms": 0 });

        let anonymous = send(&app, TestRequest::post().uri("/v1/queue/claim-work/q").set_json(body.clone()), None).await;
        anonymous.problem(StatusCode::UNAUTHORIZED);

        let no_claim = token(&db, &["queue:worker-id:test/w1", "queue:claim-work:other"]).await;
        post(&app, &no_claim, "/v1/queue/claim-work/q", body.clone())
            .await
            .forbidden(&["queue:claim-work:q"]);
        let no_identity = token(&db, &["queue:claim-work:q", "queue:worker-id:test/w2"]).await;
        post(&app, &no_identity, "/v1/queue/claim-work/q", body)
            .await
            .forbidden(&["queue:worker-id:test/w1"]);
        let task = stored(&queue, id).await;
        assert_eq!(task.state, TaskState::Pending);
        assert_eq!(task.attempts, 0);
        assert!(queue.workers("q", None, 10).await.expect("workers").items.is_empty());
    }
);

plinth_db::db_test!(
    async fn unknown_and_hidden_tasks_are_404_and_missing_scopes_403(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let id = create(&app, &admin, "q", json!({})).await;

        let unknown = Uuid::now_v7();
        let detail = get(&app, &admin, &format!("/v1/queue/tasks/{unknown}")).await;
        let detail = detail.problem(StatusCode::NOT_FOUND).to_owned();
        assert!(detail.contains(&unknown.to_string()), "{detail}");
        post(&app, &admin, &format!("/v1/queue/tasks/{unknown}/cancel"), json!(null))
            .await
            .problem(StatusCode::NOT_FOUND);

        let stranger = token(&db, &["queue:read:other", "queue:cancel-task:other"]).await;
        let hidden = get(&app, &stranger, &format!("/v1/queue/tasks/{id}")).await;
        assert_eq!(
            hidden.problem(StatusCode::NOT_FOUND),
            format!("task {id} not found"),
            "looks like an unknown task"
        );
        post(&app, &stranger, &format!("/v1/queue/tasks/{id}/cancel"), json!(null))
            .await
            .problem(StatusCode::NOT_FOUND);

        let reader = token(&db, &["queue:read:q"]).await;
        get(&app, &reader, &format!("/v1/queue/tasks/{id}")).await.ok(StatusCode::OK);
        post(&app, &reader, &format!("/v1/queue/tasks/{id}/cancel"), json!(null))
            .await
            .forbidden(&["queue:cancel-task:q"]);
        assert_eq!(stored(&queue, id).await.state, TaskState::Pending);

        get(&app, &admin, "/v1/queue/tasks/not-a-uuid").await.problem(StatusCode::NOT_FOUND);
        post(&app, &admin, &format!("/v1/queue/tasks/{id}/runs/zero/completed"), json!({ "worker": worker("w") }))
            .await
            .problem(StatusCode::NOT_FOUND);
        post(&app, &admin, &format!("/v1/queue/tasks/{unknown}/runs/0/completed"), json!({ "worker": worker("w") }))
            .await
            .problem(StatusCode::NOT_FOUND);
    }
);

plinth_db::db_test!(
    async fn oversize_payloads_and_bodies_are_413(db) {
        let config = Config {
            max_payload_bytes: 1_024,
            ..Config::default()
        };
        let queue = setup(&db, config).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let id = Uuid::now_v7();
        let uri = format!("/v1/queue/tasks/{id}");

        let big = json!({ "queue": "q", "task_type": "t", "payload": "x".repeat(2_000) });
        let refused = put(&app, &admin, &uri, big).await;
        refused.problem(StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(refused.body["limit"], 1_024);
        assert!(queue.task(id).await.is_err(), "nothing was created");

        let huge = json!({ "queue": "q", "task_type": "t", "payload": "x".repeat(JSON_LIMIT) });
        put(&app, &admin, &uri, huge).await.problem(StatusCode::PAYLOAD_TOO_LARGE);
        assert!(queue.task(id).await.is_err(), "nothing was created");

        let small = create(&app, &admin, "q", json!({})).await;
        assert_eq!(claim(&app, &admin, "q", "w1", 1, 0).await.len(), 1);
        let result = json!({ "worker": worker("w1"), "result": "x".repeat(2_000) });
        post(&app, &admin, &format!("/v1/queue/tasks/{small}/runs/0/completed"), result)
            .await
            .problem(StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(stored(&queue, small).await.state, TaskState::Running);
    }
);

plinth_db::db_test!(
    async fn malformed_input_is_a_4xx_problem(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let id = Uuid::now_v7();
        let uri = format!("/v1/queue/tasks/{id}");

        put(&app, &admin, &uri, json!({ "queue": "Bad Queue", "task_type": "t" }))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        put(&app, &admin, &uri, json!({ "queue": "q", "task_type": "t", "colour": "red" }))
            .await
            .problem(StatusCode::BAD_REQUEST);
        put(&app, &admin, &uri, json!({ "queue": "q", "task_type": "t", "max_attempts": 0 }))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        put(&app, &admin, &uri, json!({ "queue": "q", "task_type": "t", "dependencies": [Uuid::now_v7()] }))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        // A backoff that would retry beyond any storable time, and times
        // outside the years 1970-9999 in UTC.
        let endless = json!({ "queue": "q", "task_type": "t", "backoff": { "base_ms": 1e15 as u64, "max_ms": 1e15 as u64 } });
        put(&app, &admin, &uri, endless).await.problem(StatusCode::UNPROCESSABLE_ENTITY);
        for (field, at) in [("run_at", "9999-12-31T23:30:00-01:00"), ("deadline", "1969-12-31T23:59:59Z"), ("expires", "0000-01-01T00:00:00+01:00")] {
            put(&app, &admin, &uri, json!({ "queue": "q", "task_type": "t", field: at }))
                .await
                .problem(StatusCode::UNPROCESSABLE_ENTITY);
        }
        assert!(queue.task(id).await.is_err(), "nothing was created");

        let claim_body = json!({ "worker": worker("w1"), "wait_ms": 0 });
        post(&app, &admin, "/v1/queue/claim-work/Bad%20Queue", claim_body.clone())
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        post(&app, &admin, "/v1/queue/claim-work/q", json!({ "worker": worker("w1"), "tasks": 0 }))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        post(&app, &admin, "/v1/queue/claim-work/q", json!({ "worker": worker("w 1"), "wait_ms": 0 }))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        let many_types: Vec<String> = (0..101).map(|i| format!("t{i}")).collect();
        post(&app, &admin, "/v1/queue/claim-work/q", json!({ "worker": worker("w1"), "wait_ms": 0, "task_types": many_types }))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        post(&app, &admin, "/v1/queue/claim-work/q", json!({ "worker": worker("w1"), "lease": 5 }))
            .await
            .problem(StatusCode::BAD_REQUEST);
        let stray = json!({ "worker": { "worker_group": "test", "worker_id": "w1", "extra": 1 } });
        post(&app, &admin, "/v1/queue/claim-work/q", stray)
            .await
            .problem(StatusCode::BAD_REQUEST);

        let task = create(&app, &admin, "q", json!({})).await;
        assert_eq!(claim(&app, &admin, "q", "w1", 1, 0).await.len(), 1);
        let odd = json!({
            "worker": worker("w1"),
            "artifact": { "kind": "link", "artifact": "a", "url": "https://example.com" },
        });
        put(&app, &admin, &format!("/v1/queue/tasks/{task}/runs/0/artifacts/b"), odd)
            .await
            .problem(StatusCode::BAD_REQUEST);
        let unknown_reason = json!({ "worker": worker("w1"), "reason": "bored" });
        post(&app, &admin, &format!("/v1/queue/tasks/{task}/runs/0/exception"), unknown_reason)
            .await
            .problem(StatusCode::BAD_REQUEST);
        assert_eq!(stored(&queue, task).await.state, TaskState::Running);
        assert!(queue.artifacts(task, 0, None, 10).await.expect("artifacts").items.is_empty());

        get(&app, &admin, "/v1/queue/dead-letters?queue=Nope").await.problem(StatusCode::UNPROCESSABLE_ENTITY);
        get(&app, &admin, "/v1/queue/dead-letters?continuation=zzz").await.problem(StatusCode::BAD_REQUEST);
        get(&app, &admin, "/v1/queue/index/entries/a..b").await.problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
);

plinth_db::db_test!(
    async fn nul_characters_are_refused_except_in_error_text(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let id = Uuid::now_v7();
        let uri = format!("/v1/queue/tasks/{id}");
        for extra in [json!({ "payload": { "k": "a\u{0}b" } }), json!({ "tags": { "k": "a\u{0}b" } })] {
            let mut body = json!({ "queue": "q", "task_type": "t" });
            body.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
            put(&app, &admin, &uri, body).await.problem(StatusCode::UNPROCESSABLE_ENTITY);
        }
        assert!(queue.task(id).await.is_err(), "nothing was created");

        let task = create(&app, &admin, "q", json!({})).await;
        let expires = "2999-01-01T00:00:00Z";
        let entry = json!({ "task_id": task, "rank": 0, "expires": expires, "data": { "k": "\u{0}" } });
        put(&app, &admin, "/v1/queue/index/entries/project.nul", entry).await.problem(StatusCode::UNPROCESSABLE_ENTITY);
        get(&app, &admin, "/v1/queue/index/entries/project.nul").await.problem(StatusCode::NOT_FOUND);

        assert_eq!(claim(&app, &admin, "q", "w1", 1, 0).await.len(), 1);
        let run = format!("/v1/queue/tasks/{task}/runs/0");
        let result = json!({ "worker": worker("w1"), "result": { "k": "\u{0}" } });
        post(&app, &admin, &format!("{run}/completed"), result).await.problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(stored(&queue, task).await.state, TaskState::Running, "the refused result changed nothing");
        let artifact = |message: &str| {
            json!({ "worker": worker("w1"), "artifact": { "kind": "error", "reason": "crash", "message": message } })
        };
        put(&app, &admin, &format!("{run}/artifacts/public/nul.log"), artifact("a\u{0}b"))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        put(&app, &admin, &format!("{run}/artifacts/public/trace.log"), artifact("first line\n\tsecond line"))
            .await
            .ok(StatusCode::OK);

        // A worker's error text is kept, with each NUL made visible as U+FFFD.
        let failed = json!({ "worker": worker("w1"), "error": "exit \u{0} code 1" });
        post(&app, &admin, &format!("{run}/failed"), failed).await.ok(StatusCode::OK);
        let status = get(&app, &admin, &format!("/v1/queue/tasks/{task}/status")).await;
        assert_eq!(status.ok(StatusCode::OK)["runs"][0]["error"], "exit \u{FFFD} code 1");

        // Names and continuation tokens that no stored row can have.
        get(&app, &admin, &format!("{run}/artifacts/public/a%00b")).await.problem(StatusCode::UNPROCESSABLE_ENTITY);
        get(&app, &admin, &format!("/v1/queue/tasks/{task}/artifacts/a%00b")).await.problem(StatusCode::UNPROCESSABLE_ENTITY);
        for uri in [
            format!("{run}/artifacts?continuation=%00"),
            "/v1/queue/index/entries?namespace=project&continuation=a%00".to_owned(),
            "/v1/queue/index/namespaces?continuation=%00".to_owned(),
            "/v1/queue/task-queues/q/workers?continuation=%5B%22%5Cu0000%22%2C%22x%22%5D".to_owned(),
        ] {
            get(&app, &admin, &uri).await.problem(StatusCode::BAD_REQUEST);
        }
    }
);
