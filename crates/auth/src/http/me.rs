//! Users: creation, the caller's account, password changes, email
//! verification and API tokens.

use actix_web::{HttpResponse, web};
use plinth_db::problem::Problem;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::orgs::session_user;
use super::{Authenticated, RequestInfo, rate_limit, require_all, user_id};
use crate::Auth;
use crate::api_tokens::NewApiToken;
use crate::rate_limit::Endpoint;
use crate::users::{NewUser, ProfileUpdate};

type Reply = Result<HttpResponse, Problem>;

/// Create a user (scope `auth:create-user`; the caller must hold every scope it grants).
#[utoipa::path(post, path = "/v1/users", tag = "auth", request_body = NewUser,
    responses((status = 201, description = "The user and an email verification token", body = Object),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(auth: web::Data<Auth>, who: Authenticated, body: web::Json<NewUser>) -> Reply {
    who.require("auth:create-user")?;
    require_all(&who, &body.scopes)?;
    let (user, token) = auth.create_user(&who.context(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(json!({ "user": user, "email_verification_token": token })))
}

/// The caller's account.
#[utoipa::path(get, path = "/v1/users/me", tag = "auth",
    responses((status = 200, description = "The user", body = Object), (status = 401, body = Problem)))]
pub async fn me(auth: web::Data<Auth>, who: Authenticated) -> Reply {
    Ok(HttpResponse::Ok().json(auth.get_user(user_id(&who)?).await?))
}

/// Change the caller's name, avatar or preferences.
#[utoipa::path(patch, path = "/v1/users/me", tag = "auth", request_body = ProfileUpdate,
    responses((status = 200, description = "The user", body = Object), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn update_me(auth: web::Data<Auth>, who: Authenticated, body: web::Json<ProfileUpdate>) -> Reply {
    let id = session_user(&who)?;
    Ok(HttpResponse::Ok().json(auth.update_profile(&who.context(), id, body.into_inner()).await?))
}

/// A user's account (yourself, or scope `auth:read-user:<id>`).
#[utoipa::path(get, path = "/v1/users/{id}", tag = "auth", params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, description = "The user", body = Object), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_user(auth: web::Data<Auth>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    if who.principal.user_id != Some(*id) {
        who.require(&format!("auth:read-user:{id}"))?;
    }
    Ok(HttpResponse::Ok().json(auth.get_user(*id).await?))
}

/// A status change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `active`, `suspended`, `pending_verification` or `deleted`.
    pub status: String,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
    /// End of a suspension (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

/// Suspend, reactivate or delete a user (scope `auth:manage-user:<id>`). The
/// last owner of an organisation cannot be deleted.
#[utoipa::path(put, path = "/v1/users/{id}/status", tag = "auth", params(("id" = Uuid, Path, description = "User id")),
    request_body = StatusChange,
    responses((status = 200, description = "The user", body = Object), (status = 403, body = Problem),
              (status = 409, description = "Last owner of the organisations named", body = Problem),
              (status = 422, body = Problem)))]
pub async fn set_status(
    auth: web::Data<Auth>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<StatusChange>,
) -> Reply {
    who.require(&format!("auth:manage-user:{id}"))?;
    let body = body.into_inner();
    let user = auth
        .set_status(&who.context(), *id, &body.status, body.reason, body.until)
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// A password change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password.
    pub new_password: String,
}

/// Change the caller's password; every other session of the caller ends.
/// Rate limited per IP and per account.
#[utoipa::path(post, path = "/v1/users/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204, description = "Changed"), (status = 401, body = Problem),
              (status = 403, description = "Wrong current password, or not a session", body = Problem),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn change_password(
    auth: web::Data<Auth>,
    who: Authenticated,
    body: web::Json<PasswordChange>,
) -> Reply {
    let id = session_user(&who)?;
    rate_limit(&auth, Endpoint::Password, &who.request, Some(&id.to_string()))?;
    auth.change_password(
        &who.context(),
        id,
        &body.current_password,
        &body.new_password,
        who.principal.session_id,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An email verification token.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailToken {
    /// The token (`plev_…`).
    pub token: String,
}

/// Confirm an email address with the token sent to it.
#[utoipa::path(post, path = "/v1/users/verify-email", tag = "auth", request_body = EmailToken,
    responses((status = 200, description = "The verified user", body = Object), (status = 422, body = Problem)))]
pub async fn verify_email(auth: web::Data<Auth>, info: RequestInfo, body: web::Json<EmailToken>) -> Reply {
    Ok(HttpResponse::Ok().json(auth.verify_email(&info.context(), &body.token).await?))
}

/// Create an API token carrying some of the caller's scopes; its secret is shown once.
#[utoipa::path(post, path = "/v1/users/me/api-tokens", tag = "auth", request_body = NewApiToken,
    responses((status = 201, description = "The token and its secret", body = Object),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_token(auth: web::Data<Auth>, who: Authenticated, body: web::Json<NewApiToken>) -> Reply {
    let id = session_user(&who)?;
    rate_limit(&auth, Endpoint::Token, &who.request, Some(&id.to_string()))?;
    let (token, secret) = auth
        .create_api_token(&who.context(), id, &who.principal.scopes, body.into_inner())
        .await?;
    Ok(HttpResponse::Created().json(json!({ "token": token, "secret": secret })))
}

/// The caller's API tokens (without secrets).
#[utoipa::path(get, path = "/v1/users/me/api-tokens", tag = "auth",
    responses((status = 200, description = "Tokens", body = Object), (status = 401, body = Problem)))]
pub async fn list_tokens(auth: web::Data<Auth>, who: Authenticated) -> Reply {
    let tokens = auth.list_api_tokens(session_user(&who)?).await?;
    Ok(HttpResponse::Ok().json(json!({ "tokens": tokens })))
}

/// Revoke one of the caller's API tokens.
#[utoipa::path(delete, path = "/v1/users/me/api-tokens/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = Problem)))]
pub async fn revoke_token(auth: web::Data<Auth>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    auth.revoke_api_token(&who.context(), session_user(&who)?, *id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
