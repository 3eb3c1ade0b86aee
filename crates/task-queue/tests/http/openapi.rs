//! The OpenAPI document of the queue routes.

use utoipa::OpenApi;

#[test]
fn the_document_lists_the_routes_under_v1() {
    let doc = plinth_task_queue::http::ApiDoc::openapi();
    for path in [
        "/v1/queue/tasks/{task_id}",
        "/v1/queue/tasks/{task_id}/status",
        "/v1/queue/claim-work/{queue}",
        "/v1/queue/tasks/{task_id}/runs/{run_id}/reclaim",
        "/v1/queue/tasks/{task_id}/runs/{run_id}/completed",
        "/v1/queue/tasks/{task_id}/runs/{run_id}/failed",
        "/v1/queue/tasks/{task_id}/runs/{run_id}/exception",
        "/v1/queue/tasks/{task_id}/runs/{run_id}/artifacts/{name}",
        "/v1/queue/task-groups/{group_id}/tasks",
        "/v1/queue/index/entries/{path}",
        "/v1/queue/task-queues/{queue}/workers/{worker_group}/{worker_id}/quarantine",
        "/v1/queue/dead-letters/{task_id}/redrive",
    ] {
        assert!(doc.paths.paths.contains_key(path), "{path} missing");
    }
    assert!(
        doc.paths.paths.keys().all(|p| p.starts_with("/v1/queue/")),
        "every path carries the /v1 prefix"
    );
    let json = doc.to_json().expect("render");
    assert!(json.contains("\"queue\""), "tagged");
    let schemas = doc.components.expect("components").schemas;
    for schema in [
        "Task",
        "NewTask",
        "TaskStatus",
        "Claimed",
        "Artifact",
        "Worker",
        "Problem",
    ] {
        assert!(schemas.contains_key(schema), "{schema} missing");
    }
}
