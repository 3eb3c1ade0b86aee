//! File group routes (scopes `files:groups:read` and `files:groups:write`).

use actix_web::{HttpResponse, web};
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::Reply;
use crate::{FileGroup, FileStore, GroupUpdate, NewGroup};

const READ: &str = "files:groups:read";
const WRITE: &str = "files:groups:write";

/// Which children to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ChildrenQuery {
    /// The parent folder; the roots when absent.
    pub parent: Option<Uuid>,
}

/// The children of a folder (or the roots), in order.
#[utoipa::path(get, path = "/v1/files/groups", tag = "files", params(ChildrenQuery),
    responses((status = 200, description = "The nodes", body = Vec<FileGroup>), (status = 403, body = Problem)))]
pub async fn children(
    store: web::Data<FileStore>,
    who: Authenticated,
    query: web::Query<ChildrenQuery>,
) -> Reply {
    who.require(READ)?;
    Ok(HttpResponse::Ok().json(store.group_children(query.parent).await?))
}

/// A folder or file entry to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupBody {
    /// The parent folder; a root when absent.
    #[serde(default)]
    pub parent: Option<Uuid>,
    /// The file of an entry; a folder when absent.
    #[serde(default)]
    pub file: Option<Uuid>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Metadata (a JSON object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
    /// Position among the siblings; the end when absent.
    #[serde(default)]
    pub position: Option<u32>,
}

/// Create a folder or file entry.
#[utoipa::path(post, path = "/v1/files/groups", tag = "files", request_body = NewGroupBody,
    responses((status = 201, description = "The node", body = FileGroup), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create(store: web::Data<FileStore>, who: Authenticated, body: web::Json<NewGroupBody>) -> Reply {
    who.require(WRITE)?;
    let body = body.into_inner();
    let new = NewGroup {
        parent: body.parent,
        file: body.file,
        name: body.name,
        meta: body.meta.unwrap_or(Value::Null),
        position: body.position,
    };
    Ok(HttpResponse::Created().json(store.create_group(&who.context(), new).await?))
}

/// One node.
#[utoipa::path(get, path = "/v1/files/groups/{id}", tag = "files", params(("id" = Uuid, Path, description = "Node id")),
    responses((status = 200, description = "The node", body = FileGroup), (status = 404, body = Problem)))]
pub async fn get(store: web::Data<FileStore>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    who.require(READ)?;
    Ok(HttpResponse::Ok().json(store.group(*id).await?))
}

/// A change of name or metadata.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupChange {
    /// The new name.
    #[serde(default)]
    pub name: Option<String>,
    /// The new metadata (a JSON object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
}

/// Rename a node or replace its metadata.
#[utoipa::path(patch, path = "/v1/files/groups/{id}", tag = "files", params(("id" = Uuid, Path, description = "Node id")),
    request_body = GroupChange,
    responses((status = 200, description = "The node", body = FileGroup), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update(
    store: web::Data<FileStore>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<GroupChange>,
) -> Reply {
    who.require(WRITE)?;
    let GroupChange { name, meta } = body.into_inner();
    let node = store
        .update_group(&who.context(), *id, GroupUpdate { name, meta })
        .await?;
    Ok(HttpResponse::Ok().json(node))
}

/// Delete a node and everything under it (files stay).
#[utoipa::path(delete, path = "/v1/files/groups/{id}", tag = "files", params(("id" = Uuid, Path, description = "Node id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem)))]
pub async fn delete(store: web::Data<FileStore>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    who.require(WRITE)?;
    store.delete_group(&who.context(), *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Where to move a node.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// The new parent folder; the root when absent.
    #[serde(default)]
    pub parent: Option<Uuid>,
    /// Position among the new siblings; the end when absent.
    #[serde(default)]
    pub position: Option<u32>,
}

/// Move a node (with its subtree); 409 when the target is inside it.
#[utoipa::path(post, path = "/v1/files/groups/{id}/move", tag = "files", params(("id" = Uuid, Path, description = "Node id")),
    request_body = MoveBody,
    responses((status = 200, description = "The node", body = FileGroup), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn move_to(
    store: web::Data<FileStore>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<MoveBody>,
) -> Reply {
    who.require(WRITE)?;
    let node = store
        .move_group(&who.context(), *id, body.parent, body.position)
        .await?;
    Ok(HttpResponse::Ok().json(node))
}

/// A new order of a folder's children.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    /// The folder; the roots when absent.
    #[serde(default)]
    pub parent: Option<Uuid>,
    /// Every child id, once, in the new order.
    pub ids: Vec<Uuid>,
}

/// Reorder the children of a folder (or the roots).
#[utoipa::path(put, path = "/v1/files/groups/order", tag = "files", request_body = OrderBody,
    responses((status = 200, description = "The children in order", body = Vec<FileGroup>),
              (status = 422, body = Problem)))]
pub async fn reorder(store: web::Data<FileStore>, who: Authenticated, body: web::Json<OrderBody>) -> Reply {
    who.require(WRITE)?;
    let nodes = store
        .reorder_groups(&who.context(), body.parent, &body.ids)
        .await?;
    Ok(HttpResponse::Ok().json(nodes))
}
