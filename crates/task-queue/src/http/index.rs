//! Index routes: point a dotted path at a task, find it, and browse
//! namespaces.

use actix_web::{HttpResponse, web};
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PageQuery, Reply, scopes};
use crate::index::Namespace;
use crate::{IndexedTask, Page, Queue, validate};

/// Where an index path points.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexRequest {
    /// The indexed task.
    pub task_id: Uuid,
    /// Higher ranks replace lower ones (default 0).
    #[serde(default)]
    pub rank: i64,
    /// Free-form data stored with the entry (default `{}`).
    #[serde(default = "empty")]
    pub data: Value,
    /// When the entry stops counting; must be in the future.
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
}

fn empty() -> Value {
    json!({})
}

/// A namespace of the index.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct NamespaceQuery {
    /// Dotted namespace, e.g. `project.app`; the root when absent.
    #[serde(default)]
    pub namespace: String,
}

/// Requires `scope_of(path)` after checking `path` is an index path (the
/// root namespace allowed when `allow_root`).
fn require_path(
    who: &Authenticated,
    path: &str,
    allow_root: bool,
    scope_of: fn(&str) -> String,
) -> Result<(), Problem> {
    validate::index_path(path, allow_root)?;
    scopes::require_all(who, &[scope_of(path)])
}

/// Point `path` at a task, unless the current entry has a higher rank and
/// has not expired (scope `queue:index:<path>`).
#[utoipa::path(put, path = "/v1/queue/index/entries/{path}", tag = "queue",
    params(("path" = String, Path, description = "Dotted index path, e.g. `project.app.main.latest`")),
    request_body = IndexRequest,
    responses((status = 200, description = "The entry as it stands", body = IndexedTask),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn insert(
    queue: web::Data<Queue>,
    who: Authenticated,
    path: web::Path<String>,
    body: web::Json<IndexRequest>,
) -> Reply {
    require_path(&who, &path, false, scopes::index)?;
    let IndexRequest {
        task_id,
        rank,
        data,
        expires,
    } = body.into_inner();
    let entry = queue
        .index_task(&who.context(), &path, task_id, rank, data, expires)
        .await?;
    Ok(HttpResponse::Ok().json(entry))
}

/// The unexpired entry at `path` (scope `queue:read-index:<path>`).
#[utoipa::path(get, path = "/v1/queue/index/entries/{path}", tag = "queue",
    params(("path" = String, Path, description = "Dotted index path")),
    responses((status = 200, description = "The entry", body = IndexedTask),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn find(queue: web::Data<Queue>, who: Authenticated, path: web::Path<String>) -> Reply {
    require_path(&who, &path, false, scopes::read_index)?;
    Ok(HttpResponse::Ok().json(queue.find_indexed(&path).await?))
}

/// The unexpired entries directly in a namespace, by name (scope
/// `queue:read-index:<namespace>`).
#[utoipa::path(get, path = "/v1/queue/index/entries", tag = "queue",
    params(NamespaceQuery, PageQuery),
    responses((status = 200, description = "A page of entries", body = Page<IndexedTask>),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    queue: web::Data<Queue>,
    who: Authenticated,
    ns: web::Query<NamespaceQuery>,
    page: web::Query<PageQuery>,
) -> Reply {
    require_path(&who, &ns.namespace, true, scopes::read_index)?;
    let entries = queue
        .indexed_in(&ns.namespace, page.continuation(), page.limit())
        .await?;
    Ok(HttpResponse::Ok().json(entries))
}

/// The unexpired entry of highest rank directly in a namespace (scope
/// `queue:read-index:<namespace>`).
#[utoipa::path(get, path = "/v1/queue/index/latest", tag = "queue",
    params(NamespaceQuery),
    responses((status = 200, description = "The entry", body = IndexedTask),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn latest(queue: web::Data<Queue>, who: Authenticated, ns: web::Query<NamespaceQuery>) -> Reply {
    require_path(&who, &ns.namespace, true, scopes::read_index)?;
    Ok(HttpResponse::Ok().json(queue.latest_in(&ns.namespace).await?))
}

/// The unexpired namespaces directly under a namespace, by name (scope
/// `queue:read-index:<namespace>`).
#[utoipa::path(get, path = "/v1/queue/index/namespaces", tag = "queue",
    params(NamespaceQuery, PageQuery),
    responses((status = 200, description = "A page of namespaces", body = Page<Namespace>),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn namespaces(
    queue: web::Data<Queue>,
    who: Authenticated,
    ns: web::Query<NamespaceQuery>,
    page: web::Query<PageQuery>,
) -> Reply {
    require_path(&who, &ns.namespace, true, scopes::read_index)?;
    let namespaces = queue
        .namespaces(&ns.namespace, page.continuation(), page.limit())
        .await?;
    Ok(HttpResponse::Ok().json(namespaces))
}
