//! Task groups, the index and dead letters over HTTP.

use actix_web::http::StatusCode;
use plinth_task_queue::{Config, TaskState};
use serde_json::json;
use uuid::Uuid;

use crate::support::*;

plinth_db::db_test!(
    async fn groups_are_listed_sealed_and_canceled(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let group = Uuid::now_v7();
        let member = json!({ "task_group_id": group, "scheduler_id": "ci" });
        let a = create(&app, &admin, "q", member.clone()).await;
        let b = create(&app, &admin, "q", member.clone()).await;
        assert_eq!(claim(&app, &admin, "q", "w1", 1, 0).await.len(), 1);
        let uri = format!("/v1/queue/task-groups/{group}");

        let status = get(&app, &admin, &uri).await;
        assert_eq!(status.ok(StatusCode::OK)["group"]["scheduler_id"], "ci");
        assert_eq!((status.body["pending"].as_u64(), status.body["running"].as_u64()), (Some(1), Some(1)));

        let page = get(&app, &admin, &format!("{uri}/tasks?limit=1")).await;
        assert_eq!(page.ok(StatusCode::OK)["items"].as_array().map(Vec::len), Some(1));
        let next = page.body["continuation"].as_str().expect("a full page continues").to_owned();
        let rest = get(&app, &admin, &format!("{uri}/tasks?limit=1&continuation={next}")).await;
        let ids = [page.body["items"][0]["id"].clone(), rest.ok(StatusCode::OK)["items"][0]["id"].clone()];
        assert_eq!(ids, [json!(a.to_string()), json!(b.to_string())]);

        let outsider = token(&db, &["queue:create-task:q", "queue:scheduler-id:ci"]).await;
        get(&app, &outsider, &uri).await.problem(StatusCode::NOT_FOUND);
        let lister = token(&db, &[&format!("queue:list-task-group:ci/{group}")]).await;
        get(&app, &lister, &uri).await.ok(StatusCode::OK);
        post(&app, &lister, &format!("{uri}/seal"), json!(null))
            .await
            .forbidden(&[&format!("queue:seal-task-group:ci/{group}")]);

        let sealed = post(&app, &admin, &format!("{uri}/seal"), json!(null)).await;
        assert!(sealed.ok(StatusCode::OK)["sealed_at"].is_string());
        let late = Uuid::now_v7();
        let mut body = json!({ "queue": "q", "task_type": "noop" });
        body["task_group_id"] = json!(group);
        body["scheduler_id"] = json!("ci");
        put(&app, &admin, &format!("/v1/queue/tasks/{late}"), body)
            .await
            .problem(StatusCode::CONFLICT);
        assert!(queue.task(late).await.is_err());

        let canceled = post(&app, &admin, &format!("{uri}/cancel"), json!(null)).await;
        assert_eq!(canceled.ok(StatusCode::OK)["canceled"], 2);
        for id in [a, b] {
            assert_eq!(stored(&queue, id).await.state, TaskState::Exception);
        }
        let status = get(&app, &admin, &uri).await;
        assert_eq!(status.ok(StatusCode::OK)["exception"], 2);

        get(&app, &admin, &format!("/v1/queue/task-groups/{}", Uuid::now_v7()))
            .await
            .problem(StatusCode::NOT_FOUND);
        let foreign = token(&db, &["queue:create-task:q"]).await;
        let mut body = json!({ "queue": "q", "task_type": "noop" });
        body["scheduler_id"] = json!("ci");
        put(&app, &foreign, &format!("/v1/queue/tasks/{}", Uuid::now_v7()), body)
            .await
            .forbidden(&["queue:scheduler-id:ci"]);
        // Leaving the scheduler out does not get a task into a group without
        // the default scheduler's scope.
        let open_group = Uuid::now_v7();
        create(&app, &admin, "q", json!({ "task_group_id": open_group })).await;
        let intruder = Uuid::now_v7();
        let body = json!({ "queue": "q", "task_type": "noop", "task_group_id": open_group });
        put(&app, &foreign, &format!("/v1/queue/tasks/{intruder}"), body)
            .await
            .forbidden(&["queue:scheduler-id:-"]);
        assert!(queue.task(intruder).await.is_err());
    }
);

plinth_db::db_test!(
    async fn the_index_points_paths_at_tasks(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let old = create(&app, &admin, "q", json!({})).await;
        let new = create(&app, &admin, "q", json!({})).await;
        let expires = "2999-01-01T00:00:00Z";
        let entry = |task: Uuid, rank: i64| json!({ "task_id": task, "rank": rank, "expires": expires });

        let writer = token(&db, &["queue:index:project.app.*"]).await;
        put(&app, &writer, "/v1/queue/index/entries/project.app.main", entry(old, 1))
            .await
            .ok(StatusCode::OK);
        let lower = put(&app, &writer, "/v1/queue/index/entries/project.app.main", entry(new, 0)).await;
        assert_eq!(lower.ok(StatusCode::OK)["task_id"], old.to_string(), "a lower rank does not replace");
        put(&app, &writer, "/v1/queue/index/entries/project.app.next", entry(new, 2))
            .await
            .ok(StatusCode::OK);
        put(&app, &writer, "/v1/queue/index/entries/project.other", entry(new, 2))
            .await
            .forbidden(&["queue:index:project.other"]);
        put(&app, &writer, "/v1/queue/index/entries/project.app.x", entry(Uuid::now_v7(), 0))
            .await
            .problem(StatusCode::NOT_FOUND);

        let reader = token(&db, &["queue:read-index:project*"]).await;
        let found = get(&app, &reader, "/v1/queue/index/entries/project.app.main").await;
        assert_eq!(found.ok(StatusCode::OK)["task_id"], old.to_string());
        get(&app, &writer, "/v1/queue/index/entries/project.app.main")
            .await
            .forbidden(&["queue:read-index:project.app.main"]);
        let latest = get(&app, &reader, "/v1/queue/index/latest?namespace=project.app").await;
        assert_eq!(latest.ok(StatusCode::OK)["name"], "next");
        let listed = get(&app, &reader, "/v1/queue/index/entries?namespace=project.app").await;
        assert_eq!(listed.ok(StatusCode::OK)["items"].as_array().map(Vec::len), Some(2));
        let spaces = get(&app, &reader, "/v1/queue/index/namespaces?namespace=project").await;
        assert_eq!(spaces.ok(StatusCode::OK)["items"][0]["name"], "app");
        get(&app, &reader, "/v1/queue/index/namespaces")
            .await
            .forbidden(&["queue:read-index:"]);
    }
);

plinth_db::db_test!(
    async fn dead_letters_are_listed_and_redriven(db) {
        let queue = setup(&db, Config::default()).await;
        let app = service(&db, &queue).await;
        let admin = token(&db, ALL).await;
        let dead = create(&app, &admin, "q", json!({ "max_attempts": 1 })).await;
        let fine = create(&app, &admin, "q", json!({})).await;
        assert_eq!(claim(&app, &admin, "q", "w1", 1, 0).await.len(), 1);
        let failed = json!({ "worker": worker("w1"), "error": "boom" });
        post(&app, &admin, &format!("/v1/queue/tasks/{dead}/runs/0/failed"), failed)
            .await
            .ok(StatusCode::OK);

        let keeper = token(&db, &["queue:dead-letters:q"]).await;
        let listed = get(&app, &keeper, "/v1/queue/dead-letters?queue=q").await;
        let ids: Vec<String> = listed.ok(StatusCode::OK)["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|t| t["id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(ids, [dead.to_string()]);
        get(&app, &keeper, "/v1/queue/dead-letters")
            .await
            .forbidden(&["queue:dead-letters:*"]);
        get(&app, &admin, "/v1/queue/dead-letters").await.ok(StatusCode::OK);

        post(&app, &keeper, &format!("/v1/queue/dead-letters/{fine}/redrive"), json!(null))
            .await
            .problem(StatusCode::CONFLICT);
        let redriven = post(&app, &keeper, &format!("/v1/queue/dead-letters/{dead}/redrive"), json!(null)).await;
        assert_eq!(redriven.ok(StatusCode::OK)["state"], "pending");
        assert_eq!(redriven.body["run_id"], 1);
        assert_eq!(stored(&queue, dead).await.state, TaskState::Pending);
        let listed = get(&app, &keeper, "/v1/queue/dead-letters?queue=q").await;
        assert_eq!(listed.ok(StatusCode::OK)["items"], json!([]));
    }
);
