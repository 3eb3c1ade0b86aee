//! Attachment routes (scopes `files:attachments:read` and `files:attachments:write`).

use actix_web::{HttpResponse, web};
use plinth_auth::http::Authenticated;
use plinth_db::problem::Problem;
use serde::Deserialize;
use uuid::Uuid;

use super::Reply;
use crate::{Attachment, FileStore, Owner};

const READ: &str = "files:attachments:read";
const WRITE: &str = "files:attachments:write";

/// The owning entity.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OwnerQuery {
    /// Kind of entity, e.g. `event`.
    pub owner_type: String,
    /// The entity's id.
    pub owner_id: String,
}

/// The attachments of an entity, in order.
#[utoipa::path(get, path = "/v1/files/attachments", tag = "files", params(OwnerQuery),
    responses((status = 200, description = "The attachments", body = Vec<Attachment>),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list(store: web::Data<FileStore>, who: Authenticated, query: web::Query<OwnerQuery>) -> Reply {
    who.require(READ)?;
    let owner = Owner::new(&query.owner_type, &query.owner_id);
    Ok(HttpResponse::Ok().json(store.attachments(&owner).await?))
}

/// A file to attach.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachBody {
    /// Kind of the owning entity.
    pub owner_type: String,
    /// Id of the owning entity.
    pub owner_id: String,
    /// The file.
    pub file: Uuid,
}

/// Attach a file to an entity, after its other attachments.
#[utoipa::path(post, path = "/v1/files/attachments", tag = "files", request_body = AttachBody,
    responses((status = 201, description = "The attachment", body = Attachment), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn attach(store: web::Data<FileStore>, who: Authenticated, body: web::Json<AttachBody>) -> Reply {
    who.require(WRITE)?;
    let owner = Owner::new(&body.owner_type, &body.owner_id);
    Ok(HttpResponse::Created().json(store.attach(&who.context(), &owner, body.file).await?))
}

/// Remove an attachment (the file stays).
#[utoipa::path(delete, path = "/v1/files/attachments/{id}", tag = "files",
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses((status = 204, description = "Detached"), (status = 404, body = Problem)))]
pub async fn detach(store: web::Data<FileStore>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    who.require(WRITE)?;
    store.detach(&who.context(), *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new order of an entity's attachments.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    /// Kind of the owning entity.
    pub owner_type: String,
    /// Id of the owning entity.
    pub owner_id: String,
    /// Every attachment id, once, in the new order.
    pub ids: Vec<Uuid>,
}

/// Reorder an entity's attachments.
#[utoipa::path(put, path = "/v1/files/attachments/order", tag = "files", request_body = OrderBody,
    responses((status = 200, description = "The attachments in order", body = Vec<Attachment>),
              (status = 422, body = Problem)))]
pub async fn reorder(store: web::Data<FileStore>, who: Authenticated, body: web::Json<OrderBody>) -> Reply {
    who.require(WRITE)?;
    let owner = Owner::new(&body.owner_type, &body.owner_id);
    Ok(HttpResponse::Ok().json(
        store
            .reorder_attachments(&who.context(), &owner, &body.ids)
            .await?,
    ))
}
