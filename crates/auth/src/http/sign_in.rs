//! Signing in and out, refreshing tokens, and the caller's sessions.

use actix_web::{HttpResponse, web};
use plinth_db::problem::Problem;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::orgs::session_user;
use super::{Authenticated, RequestInfo, rate_limit};
use crate::login::LoginRequest;
use crate::rate_limit::Endpoint;
use crate::{Auth, Error};

type Reply = Result<HttpResponse, Problem>;

/// Sign in with a username or email and a password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in: user, session and tokens", body = Object),
              (status = 401, description = "Wrong credentials", body = Problem),
              (status = 429, description = "Locked or rate limited", body = Problem)))]
pub async fn login(auth: web::Data<Auth>, info: RequestInfo, body: web::Json<LoginRequest>) -> Reply {
    rate_limit(&auth, Endpoint::Login, &info, Some(body.login.trim()))?;
    let login = auth.login(&info.context(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(login))
}

/// A refresh token to exchange.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The current refresh token (`plsr_…`).
    pub refresh_token: String,
}

/// Exchange a refresh token for a new token pair (the refresh token rotates).
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, description = "New token pair", body = Object),
              (status = 401, description = "Invalid, expired or reused refresh token", body = Problem)))]
pub async fn refresh(auth: web::Data<Auth>, info: RequestInfo, body: web::Json<RefreshRequest>) -> Reply {
    let sessions = auth.sessions();
    let owner = sessions
        .refresh_subject(&body.refresh_token)
        .await
        .map_err(Error::from)?
        .map(|subject| format!("{}:{}", subject.kind, subject.id));
    rate_limit(&auth, Endpoint::Refresh, &info, owner.as_deref())?;
    let pair = sessions
        .refresh(&info.context(), &body.refresh_token)
        .await
        .map_err(Error::from)?;
    Ok(HttpResponse::Ok().json(pair))
}

/// End the current session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out"), (status = 401, body = Problem)))]
pub async fn logout(auth: web::Data<Auth>, who: Authenticated) -> Reply {
    let session = who.principal.session_id.ok_or_else(|| {
        Problem::from(Error::Invalid(
            "only a session token can be signed out; revoke API tokens instead".into(),
        ))
    })?;
    auth.sessions()
        .revoke(&who.context(), session)
        .await
        .map_err(Error::from)?;
    Ok(HttpResponse::NoContent().finish())
}

/// End every session of the caller ("log out everywhere").
#[utoipa::path(post, path = "/v1/auth/logout-all", tag = "auth",
    responses((status = 200, description = "How many sessions ended", body = Object), (status = 401, body = Problem)))]
pub async fn logout_all(auth: web::Data<Auth>, who: Authenticated) -> Reply {
    let id = session_user(&who)?;
    let subject = plinth_sessions::Subject::new("user", id);
    let n = auth
        .sessions()
        .revoke_all(&who.context(), &subject, None)
        .await
        .map_err(Error::from)?;
    Ok(HttpResponse::Ok().json(json!({ "revoked": n })))
}

/// Who the caller is and which scopes it holds.
#[utoipa::path(get, path = "/v1/auth/whoami", tag = "auth",
    responses((status = 200, description = "The principal", body = Object), (status = 401, body = Problem)))]
pub async fn whoami(who: Authenticated) -> Reply {
    Ok(HttpResponse::Ok().json(&who.principal))
}

/// The caller's sessions.
#[utoipa::path(get, path = "/v1/auth/sessions", tag = "auth",
    responses((status = 200, description = "Sessions", body = Object), (status = 401, body = Problem)))]
pub async fn list_sessions(auth: web::Data<Auth>, who: Authenticated) -> Reply {
    let subject = plinth_sessions::Subject::new("user", session_user(&who)?);
    let sessions = auth.sessions().list(&subject).await.map_err(Error::from)?;
    Ok(HttpResponse::Ok().json(json!({ "sessions": sessions })))
}

/// End one of the caller's sessions.
#[utoipa::path(delete, path = "/v1/auth/sessions/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "Session id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = Problem)))]
pub async fn revoke_session(auth: web::Data<Auth>, who: Authenticated, id: web::Path<Uuid>) -> Reply {
    let mine = plinth_sessions::Subject::new("user", session_user(&who)?);
    let session = auth.sessions().get(*id).await.map_err(Error::from)?;
    if session.subject != mine {
        return Err(Problem::not_found(format!("session {id} not found")));
    }
    auth.sessions()
        .revoke(&who.context(), *id)
        .await
        .map_err(Error::from)?;
    Ok(HttpResponse::NoContent().finish())
}
