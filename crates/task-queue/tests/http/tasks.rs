//! Creating and steering tasks over HTTP.

use actix_web::http::StatusCode;
use plinth_task_queue::{Config, TaskState};
use serde_json::json;
use uuid::Uuid;

use crate::support::*;

plinth_db::db_test!(
    async fn creating_is_idempotent_and_a_different_definition_conflicts(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let creator = token(&db, &["queue:create-task:q", "queue:read:q"]).await;
        let id = Uuid::now_v7();
        let uri = format!("/v1/queue/tasks/{id}");
        let body = json!({ "queue": "q", "task_type": "build", "payload": { "a": 1, "b": 2 } });

        let first = put(&app, &creator, &uri, body.clone()).await;
        assert_eq!(first.ok(StatusCode::CREATED)["created"], "new");
        assert_eq!(first.body["id"], id.to_string());
        let reordered = json!({ "task_type": "build", "payload": { "b": 2, "a": 1 }, "queue": "q", "id": id });
        let again = put(&app, &creator, &uri, reordered).await;
        assert_eq!(again.ok(StatusCode::OK)["created"], "existing");

        let different = json!({ "queue": "q", "task_type": "build", "payload": { "a": 2 } });
        put(&app, &creator, &uri, different).await.problem(StatusCode::CONFLICT);
        assert_eq!(stored(&queue, id).await.payload, json!({ "a": 1, "b": 2 }));

        let other = json!({ "queue": "q", "task_type": "build", "id": Uuid::now_v7() });
        put(&app, &creator, &uri, other).await.problem(StatusCode::UNPROCESSABLE_ENTITY);

        let read = get(&app, &creator, &uri).await;
        assert_eq!(read.ok(StatusCode::OK)["task_type"], "build");
        assert_eq!(read.body["state"], "pending");

        let keyed = |n: u32| json!({ "queue": "q", "task_type": "build", "unique_key": "nightly", "payload": n });
        let holder = Uuid::now_v7();
        put(&app, &creator, &format!("/v1/queue/tasks/{holder}"), keyed(1))
            .await
            .ok(StatusCode::CREATED);
        let deduped = put(&app, &creator, &format!("/v1/queue/tasks/{}", Uuid::now_v7()), keyed(2)).await;
        assert_eq!(deduped.ok(StatusCode::OK)["created"], "deduplicated");
        assert_eq!(deduped.body["id"], holder.to_string());
    }
);

plinth_db::db_test!(
    async fn tasks_are_canceled_rerun_and_force_scheduled(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let first = create(&app, &admin, "q", json!({})).await;
        let waiting = create(&app, &admin, "q", json!({ "dependencies": [first] })).await;
        assert_eq!(stored(&queue, waiting).await.state, TaskState::Unscheduled);

        let scheduled = post(&app, &admin, &format!("/v1/queue/tasks/{waiting}/schedule"), json!(null)).await;
        assert_eq!(scheduled.ok(StatusCode::OK)["state"], "pending");

        let canceled = post(&app, &admin, &format!("/v1/queue/tasks/{first}/cancel"), json!(null)).await;
        assert_eq!(canceled.ok(StatusCode::OK)["state"], "exception");
        assert_eq!(canceled.body["reason"], "canceled");

        let rerun = post(&app, &admin, &format!("/v1/queue/tasks/{first}/rerun"), json!(null)).await;
        assert_eq!(rerun.ok(StatusCode::OK)["state"], "pending");
        assert_eq!(rerun.body["run_id"], 1);
        post(&app, &admin, &format!("/v1/queue/tasks/{first}/rerun"), json!(null))
            .await
            .problem(StatusCode::CONFLICT);

        let status = get(&app, &admin, &format!("/v1/queue/tasks/{waiting}/status")).await;
        assert_eq!(status.ok(StatusCode::OK)["dependencies"][0]["required_task_id"], first.to_string());
    }
);
