//! actix-web routes of the auth crate and the extractor every other crate's
//! routes use. Mount with [`configure`] inside the server's `/v1` scope, with
//! `web::Data<Auth>` in the app data; merge [`ApiDoc`] into the OpenAPI document.

mod admin;
mod errors;
mod extract;
mod me;
mod mfa;
mod orgs;
mod sign_in;

use actix_web::web;
use utoipa::OpenApi;

pub use extract::{Authenticated, RequestInfo, bearer};

/// The auth routes' OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    paths(
        sign_in::login,
        sign_in::refresh,
        sign_in::logout,
        sign_in::logout_all,
        sign_in::whoami,
        sign_in::list_sessions,
        sign_in::revoke_session,
        me::create_user,
        me::me,
        me::update_me,
        me::get_user,
        me::set_status,
        me::change_password,
        me::verify_email,
        me::create_token,
        me::list_tokens,
        me::revoke_token,
        admin::create_client,
        admin::list_clients,
        admin::rotate_client,
        admin::set_client_disabled,
        admin::delete_client,
        admin::list_roles,
        admin::put_role,
        admin::delete_role,
        mfa::status,
        mfa::begin,
        mfa::confirm,
        mfa::disable,
        mfa::regenerate_recovery_codes,
        orgs::create_org,
        orgs::list_orgs,
        orgs::get_org,
        orgs::list_members,
        orgs::add_member,
        orgs::change_member_role,
        orgs::remove_member,
        orgs::leave_org,
        orgs::invite,
        orgs::list_invitations,
        orgs::revoke_invitation,
        orgs::accept_invitation,
        orgs::decline_invitation,
        orgs::create_team,
        orgs::list_teams,
        orgs::delete_team,
        orgs::list_team_members,
        orgs::put_team_member,
        orgs::remove_team_member,
    ),
    components(schemas(
        crate::login::LoginRequest,
        crate::users::NewUser,
        crate::users::ProfileUpdate,
        crate::api_tokens::NewApiToken,
        crate::clients::NewClient,
        sign_in::RefreshRequest,
        me::PasswordChange,
        me::StatusChange,
        me::EmailToken,
        admin::RoleBody,
        admin::DisabledBody,
        crate::orgs::NewOrg,
        orgs::NewMember,
        orgs::RoleChange,
        orgs::NewInvitation,
        orgs::InvitationToken,
        orgs::NewTeam,
        orgs::TeamRole,
        mfa::MfaCode,
    )),
    tags((name = "auth", description = "Sign-in, users, API tokens, clients, roles, organisations, teams and MFA"))
)]
pub struct ApiDoc;

/// Registers the auth routes: `/auth/*`, `/users/*`, `/clients/*`, `/roles/*`,
/// `/orgs/*`, `/invitations/*`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/auth")
            .route("/login", web::post().to(sign_in::login))
            .route("/refresh", web::post().to(sign_in::refresh))
            .route("/logout", web::post().to(sign_in::logout))
            .route("/logout-all", web::post().to(sign_in::logout_all))
            .route("/whoami", web::get().to(sign_in::whoami))
            .route("/sessions", web::get().to(sign_in::list_sessions))
            .route("/sessions/{id}", web::delete().to(sign_in::revoke_session)),
    )
    .service(
        web::scope("/users")
            .route("", web::post().to(me::create_user))
            .route("/verify-email", web::post().to(me::verify_email))
            .route("/me", web::get().to(me::me))
            .route("/me", web::patch().to(me::update_me))
            .route("/me/password", web::post().to(me::change_password))
            .route("/me/api-tokens", web::post().to(me::create_token))
            .route("/me/api-tokens", web::get().to(me::list_tokens))
            .route("/me/api-tokens/{id}", web::delete().to(me::revoke_token))
            .route("/me/mfa", web::get().to(mfa::status))
            .route("/me/mfa", web::post().to(mfa::begin))
            .route("/me/mfa", web::delete().to(mfa::disable))
            .route("/me/mfa/confirm", web::post().to(mfa::confirm))
            .route(
                "/me/mfa/recovery-codes",
                web::post().to(mfa::regenerate_recovery_codes),
            )
            .route("/{id}", web::get().to(me::get_user))
            .route("/{id}/status", web::put().to(me::set_status)),
    )
    .service(
        web::scope("/clients")
            .route("", web::post().to(admin::create_client))
            .route("", web::get().to(admin::list_clients))
            .route("/{id}/rotate", web::post().to(admin::rotate_client))
            .route("/{id}/disabled", web::put().to(admin::set_client_disabled))
            .route("/{id}", web::delete().to(admin::delete_client)),
    )
    .service(
        web::scope("/roles")
            .route("", web::get().to(admin::list_roles))
            .route("/{id}", web::put().to(admin::put_role))
            .route("/{id}", web::delete().to(admin::delete_role)),
    )
    .service(
        web::scope("/orgs")
            .route("", web::post().to(orgs::create_org))
            .route("", web::get().to(orgs::list_orgs))
            .route("/{org}", web::get().to(orgs::get_org))
            .route("/{org}/leave", web::post().to(orgs::leave_org))
            .route("/{org}/members", web::get().to(orgs::list_members))
            .route("/{org}/members", web::post().to(orgs::add_member))
            .route(
                "/{org}/members/{user_id}",
                web::put().to(orgs::change_member_role),
            )
            .route("/{org}/members/{user_id}", web::delete().to(orgs::remove_member))
            .route("/{org}/invitations", web::post().to(orgs::invite))
            .route("/{org}/invitations", web::get().to(orgs::list_invitations))
            .route(
                "/{org}/invitations/{id}",
                web::delete().to(orgs::revoke_invitation),
            )
            .route("/{org}/teams", web::post().to(orgs::create_team))
            .route("/{org}/teams", web::get().to(orgs::list_teams))
            .route("/{org}/teams/{team}", web::delete().to(orgs::delete_team))
            .route(
                "/{org}/teams/{team}/members",
                web::get().to(orgs::list_team_members),
            )
            .route(
                "/{org}/teams/{team}/members/{user_id}",
                web::put().to(orgs::put_team_member),
            )
            .route(
                "/{org}/teams/{team}/members/{user_id}",
                web::delete().to(orgs::remove_team_member),
            ),
    )
    .service(
        web::scope("/invitations")
            .route("/accept", web::post().to(orgs::accept_invitation))
            .route("/decline", web::post().to(orgs::decline_invitation)),
    );
}

/// Refuses granting scopes the caller does not hold (no privilege escalation).
fn require_all(who: &Authenticated, scopes: &[String]) -> Result<(), plinth_db::problem::Problem> {
    let missing: Vec<String> = scopes
        .iter()
        .filter(|s| !crate::scope::satisfied(&who.principal.scopes, s))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(crate::Error::Forbidden(missing).into())
    }
}

/// The caller's user id, or 403 when the caller is a client.
fn user_id(who: &Authenticated) -> Result<uuid::Uuid, plinth_db::problem::Problem> {
    who.principal.user_id.ok_or_else(|| {
        plinth_db::problem::Problem::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "not-a-user",
            "this endpoint is for users; clients have no account",
        )
    })
}

/// Applies the endpoint's per-IP and per-account rate limits: 429 with
/// `Retry-After` (whole seconds, rounded up) when exhausted.
fn rate_limit(
    auth: &crate::Auth,
    endpoint: crate::rate_limit::Endpoint,
    request: &RequestInfo,
    account: Option<&str>,
) -> Result<(), plinth_db::problem::Problem> {
    auth.rate_limits()
        .check(endpoint, request.ip.as_deref(), account)
        .map_err(|wait| {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            plinth_db::problem::Problem::new(
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!("too many requests; retry in {secs} seconds"),
            )
            .with_header("retry-after", secs.max(1).to_string())
        })
}
