//! The signed-in user's second factor: enrolment, confirmation, recovery
//! codes and disabling. Changes need a session (not an API token), and the
//! routes that take a code are rate limited against guessing.

use actix_web::{HttpResponse, web};
use plinth_db::problem::Problem;
use serde::Deserialize;
use serde_json::json;

use super::orgs::session_user;
use super::{Authenticated, rate_limit, user_id};
use crate::Auth;
use crate::rate_limit::Endpoint;

type Reply = Result<HttpResponse, Problem>;

/// A TOTP code from the authenticator app, or a recovery code.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaCode {
    /// Six digits, or a recovery code (`xxxxx-xxxxx`).
    pub code: String,
}

/// Where the caller's second factor stands.
#[utoipa::path(get, path = "/v1/users/me/mfa", tag = "auth",
    responses((status = 200, description = "enabled, enrollment_pending, recovery_codes_left", body = Object),
              (status = 401, body = Problem)))]
pub async fn status(auth: web::Data<Auth>, who: Authenticated) -> Reply {
    Ok(HttpResponse::Ok().json(auth.mfa_status(user_id(&who)?).await?))
}

/// Begin TOTP enrolment: a new secret and its `otpauth://` URI, shown once.
/// Replaces an unfinished enrolment; MFA is not required until confirmed.
#[utoipa::path(post, path = "/v1/users/me/mfa", tag = "auth",
    responses((status = 200, description = "secret and otpauth_uri", body = Object),
              (status = 403, description = "Not a session", body = Problem),
              (status = 409, description = "Already enabled, or no MFA key configured", body = Problem)))]
pub async fn begin(auth: web::Data<Auth>, who: Authenticated) -> Reply {
    let id = session_user(&who)?;
    let enrollment = auth.begin_mfa_enrollment(&who.context(), id).await?;
    Ok(HttpResponse::Ok().json(enrollment))
}

/// Confirm enrolment with a current code: MFA is enabled and the recovery
/// codes are returned, shown this once.
#[utoipa::path(post, path = "/v1/users/me/mfa/confirm", tag = "auth", request_body = MfaCode,
    responses((status = 200, description = "recovery_codes", body = Object),
              (status = 403, body = Problem), (status = 409, description = "No enrolment pending", body = Problem),
              (status = 422, description = "Wrong code", body = Problem), (status = 429, body = Problem)))]
pub async fn confirm(auth: web::Data<Auth>, who: Authenticated, body: web::Json<MfaCode>) -> Reply {
    let id = session_user(&who)?;
    rate_limit(&auth, Endpoint::Token, &who.request, Some(&id.to_string()))?;
    let codes = auth
        .confirm_mfa_enrollment(&who.context(), id, &body.code)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "recovery_codes": codes })))
}

/// Turn MFA off, after a current TOTP code or a recovery code.
#[utoipa::path(delete, path = "/v1/users/me/mfa", tag = "auth", request_body = MfaCode,
    responses((status = 204, description = "Disabled"), (status = 403, body = Problem),
              (status = 409, description = "Not enabled", body = Problem),
              (status = 422, description = "Wrong code", body = Problem), (status = 429, body = Problem)))]
pub async fn disable(auth: web::Data<Auth>, who: Authenticated, body: web::Json<MfaCode>) -> Reply {
    let id = session_user(&who)?;
    rate_limit(&auth, Endpoint::Token, &who.request, Some(&id.to_string()))?;
    auth.disable_mfa(&who.context(), id, &body.code).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the recovery codes, after a current TOTP code or a recovery code;
/// the new ones are shown this once.
#[utoipa::path(post, path = "/v1/users/me/mfa/recovery-codes", tag = "auth", request_body = MfaCode,
    responses((status = 200, description = "recovery_codes", body = Object), (status = 403, body = Problem),
              (status = 409, description = "Not enabled", body = Problem),
              (status = 422, description = "Wrong code", body = Problem), (status = 429, body = Problem)))]
pub async fn regenerate_recovery_codes(
    auth: web::Data<Auth>,
    who: Authenticated,
    body: web::Json<MfaCode>,
) -> Reply {
    let id = session_user(&who)?;
    rate_limit(&auth, Endpoint::Token, &who.request, Some(&id.to_string()))?;
    let codes = auth
        .regenerate_recovery_codes(&who.context(), id, &body.code)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "recovery_codes": codes })))
}
