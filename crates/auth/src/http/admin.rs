//! Clients and roles: administration routes guarded by `auth:*` scopes.

use actix_web::{HttpResponse, web};
use plinth_db::problem::Problem;
use serde::Deserialize;
use serde_json::json;

use super::{Authenticated, rate_limit, require_all};
use crate::clients::NewClient;
use crate::rate_limit::Endpoint;
use crate::{Auth, Role};

type Reply = Result<HttpResponse, Problem>;

/// Create a client (scope `auth:create-client:<id>`; the caller must hold every scope it grants).
#[utoipa::path(post, path = "/v1/clients", tag = "auth", request_body = NewClient,
    responses((status = 201, description = "The client and its secret, shown once", body = Object),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_client(auth: web::Data<Auth>, who: Authenticated, body: web::Json<NewClient>) -> Reply {
    who.require(&format!("auth:create-client:{}", body.client_id))?;
    require_all(&who, &body.scopes)?;
    let (client, secret) = auth.create_client(&who.context(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(json!({ "client": client, "secret": secret })))
}

/// Every client (scope `auth:list-clients`).
#[utoipa::path(get, path = "/v1/clients", tag = "auth",
    responses((status = 200, description = "Clients", body = Object), (status = 403, body = Problem)))]
pub async fn list_clients(auth: web::Data<Auth>, who: Authenticated) -> Reply {
    who.require("auth:list-clients")?;
    Ok(HttpResponse::Ok().json(json!({ "clients": auth.list_clients().await? })))
}

/// Replace a client's secret (scope `auth:reset-client:<id>`); the old one stops working.
#[utoipa::path(post, path = "/v1/clients/{id}/rotate", tag = "auth", params(("id" = String, Path, description = "Client id")),
    responses((status = 200, description = "The new secret", body = Object), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn rotate_client(auth: web::Data<Auth>, who: Authenticated, id: web::Path<String>) -> Reply {
    who.require(&format!("auth:reset-client:{id}"))?;
    rate_limit(&auth, Endpoint::Token, &who.request, Some(&id))?;
    let secret = auth.rotate_client_secret(&who.context(), &id).await?;
    Ok(HttpResponse::Ok().json(json!({ "secret": secret })))
}

/// Whether a client is disabled.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisabledBody {
    /// `true` to disable, `false` to enable.
    pub disabled: bool,
}

/// Disable or enable a client (scope `auth:disable-client:<id>`).
#[utoipa::path(put, path = "/v1/clients/{id}/disabled", tag = "auth", params(("id" = String, Path, description = "Client id")),
    request_body = DisabledBody,
    responses((status = 200, description = "The client", body = Object), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn set_client_disabled(
    auth: web::Data<Auth>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<DisabledBody>,
) -> Reply {
    who.require(&format!("auth:disable-client:{id}"))?;
    Ok(HttpResponse::Ok().json(
        auth.set_client_disabled(&who.context(), &id, body.disabled)
            .await?,
    ))
}

/// Delete a client (scope `auth:delete-client:<id>`).
#[utoipa::path(delete, path = "/v1/clients/{id}", tag = "auth", params(("id" = String, Path, description = "Client id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_client(auth: web::Data<Auth>, who: Authenticated, id: web::Path<String>) -> Reply {
    who.require(&format!("auth:delete-client:{id}"))?;
    auth.delete_client(&who.context(), &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every role (scope `auth:list-roles`).
#[utoipa::path(get, path = "/v1/roles", tag = "auth",
    responses((status = 200, description = "Roles", body = Object), (status = 403, body = Problem)))]
pub async fn list_roles(auth: web::Data<Auth>, who: Authenticated) -> Reply {
    who.require("auth:list-roles")?;
    Ok(HttpResponse::Ok().json(json!({ "roles": auth.list_roles().await? })))
}

/// A role's content.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// Scopes the role grants; `<..>` stands for what a trailing `*` in the id matched.
    pub scopes: Vec<String>,
    /// What the role is for.
    #[serde(default)]
    pub description: String,
}

/// Create or replace a role (scope `auth:update-role:<id>`; the caller must hold
/// every scope it grants). Cycles are refused.
#[utoipa::path(put, path = "/v1/roles/{id}", tag = "auth", params(("id" = String, Path, description = "Role id")),
    request_body = RoleBody,
    responses((status = 200, description = "The stored role", body = Object), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_role(
    auth: web::Data<Auth>,
    who: Authenticated,
    id: web::Path<String>,
    body: web::Json<RoleBody>,
) -> Reply {
    who.require(&format!("auth:update-role:{id}"))?;
    require_all(&who, &body.scopes)?;
    let body = body.into_inner();
    let role = Role {
        id: id.into_inner(),
        scopes: body.scopes,
    };
    Ok(HttpResponse::Ok().json(auth.put_role(&who.context(), role, &body.description).await?))
}

/// Delete a role (scope `auth:delete-role:<id>`).
#[utoipa::path(delete, path = "/v1/roles/{id}", tag = "auth", params(("id" = String, Path, description = "Role id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_role(auth: web::Data<Auth>, who: Authenticated, id: web::Path<String>) -> Reply {
    who.require(&format!("auth:delete-role:{id}"))?;
    if !auth.delete_role(&who.context(), &id).await? {
        return Err(Problem::not_found(format!("role {id} not found")));
    }
    Ok(HttpResponse::NoContent().finish())
}
