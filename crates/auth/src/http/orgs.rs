//! Organisations, their members, invitations and teams.
//!
//! The library checks no permissions; these routes do. Reading an
//! organisation (its members and teams) is for its members and holders of
//! `auth:read-org:<org>`; managing it (members, invitations, teams) is for
//! its owners and admins and holders of `auth:manage-org:<org>`. Only owners
//! (and holders of `auth:manage-org:<org>`) may grant, change or remove the
//! owner role. Membership confers these rights only to a user signed in with
//! a session: API tokens and clients act through their scopes alone, so a
//! narrowly scoped API token cannot wield its owner's organisation roles.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use plinth_db::problem::Problem;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{Authenticated, RequestInfo, user_id};
use crate::orgs::{Authority, NewOrg, OrgMember, manage_scope, read_scope, role, validate_slug};
use crate::{Auth, Error, PrincipalKind};

type Reply = Result<HttpResponse, Problem>;

/// The caller's user id when it is a user signed in with a session, else 403.
pub(super) fn session_user(who: &Authenticated) -> Result<Uuid, Problem> {
    match (who.principal.kind, who.principal.user_id) {
        (PrincipalKind::User, Some(id)) => Ok(id),
        _ => Err(Problem::new(
            StatusCode::FORBIDDEN,
            "session-required",
            "this endpoint needs a user signed in with a session; API tokens and clients cannot use it",
        )),
    }
}

/// 404 for a path segment that cannot name an organisation or team.
fn slug(what: &str, name: &str) -> Result<(), Problem> {
    validate_slug(what, name).map_err(|e| match e {
        Error::Invalid(msg) => Problem::not_found(format!("{what} not found: {msg}")),
        other => other.into(),
    })
}

/// What a route needs of the caller in an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Membership, or scope `auth:read-org:<org>` (or `auth:manage-org:<org>`).
    Read,
    /// The owner or admin role, or scope `auth:manage-org:<org>`.
    Manage,
}

/// A caller allowed into an organisation, and what it found there.
#[derive(Debug)]
struct Access {
    /// Its members, oldest first.
    members: Vec<OrgMember>,
    /// On whose authority the caller changes members, invitations and teams:
    /// granted by scope, or their own role, which the library checks again
    /// inside the change.
    authority: Authority,
}

fn refused(org: &str, need: Need) -> Problem {
    let (scope, who) = match need {
        Need::Read => (read_scope(org), "members"),
        Need::Manage => (manage_scope(org), "owners and admins"),
    };
    Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("only {who} of {org} (or holders of scope {scope}) may do this"),
    )
    .with("missing_scopes", vec![scope])
}

/// Checks that the caller may do what `need` says in `org`: 404 for a
/// malformed or unknown organisation, 403 when not allowed.
async fn access(auth: &Auth, who: &Authenticated, org: &str, need: Need) -> Result<Access, Problem> {
    slug("organisation", org)?;
    let held = &who.principal.scopes;
    let manager = crate::scope::satisfied(held, &manage_scope(org));
    let by_scope = match need {
        Need::Read => manager || crate::scope::satisfied(held, &read_scope(org)),
        Need::Manage => manager,
    };
    let member = match who.principal.kind {
        PrincipalKind::User => who.principal.user_id,
        PrincipalKind::ApiToken | PrincipalKind::Client => None,
    };
    if !by_scope && member.is_none() {
        return Err(refused(org, need));
    }
    let members = auth.list_members(org).await?;
    let role = member.and_then(|id| members.iter().find(|m| m.user_id == id).map(|m| m.role.as_str()));
    let by_role = match need {
        Need::Read => role.is_some(),
        Need::Manage => matches!(role, Some(role::OWNER | role::ADMIN)),
    };
    if !by_scope && !by_role {
        return Err(refused(org, need));
    }
    let authority = match member {
        Some(id) if !manager => Authority::Member(id),
        _ => Authority::Granted,
    };
    Ok(Access { members, authority })
}

// ---------------------------------------------------------------- organisations

/// Create an organisation; the caller (a signed-in user) becomes its owner.
#[utoipa::path(post, path = "/v1/orgs", tag = "auth", request_body = NewOrg,
    responses((status = 201, description = "The organisation", body = Object),
              (status = 403, body = Problem), (status = 409, description = "Name taken", body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_org(auth: web::Data<Auth>, who: Authenticated, body: web::Json<NewOrg>) -> Reply {
    let id = session_user(&who)?;
    let org = auth.create_org(&who.context(), id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(org))
}

/// The caller's organisations, by name, with the caller's role in each.
#[utoipa::path(get, path = "/v1/orgs", tag = "auth",
    responses((status = 200, description = "Memberships", body = Object), (status = 401, body = Problem)))]
pub async fn list_orgs(auth: web::Data<Auth>, who: Authenticated) -> Reply {
    let orgs = auth.list_orgs(user_id(&who)?).await?;
    Ok(HttpResponse::Ok().json(json!({ "orgs": orgs })))
}

/// An organisation (members, or scope `auth:read-org:<org>`).
#[utoipa::path(get, path = "/v1/orgs/{org}", tag = "auth",
    params(("org" = String, Path, description = "Organisation name")),
    responses((status = 200, description = "The organisation", body = Object),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_org(auth: web::Data<Auth>, who: Authenticated, org: web::Path<String>) -> Reply {
    access(&auth, &who, &org, Need::Read).await?;
    Ok(HttpResponse::Ok().json(auth.get_org(&org).await?))
}

/// The members of an organisation, oldest first (members, or scope `auth:read-org:<org>`).
#[utoipa::path(get, path = "/v1/orgs/{org}/members", tag = "auth",
    params(("org" = String, Path, description = "Organisation name")),
    responses((status = 200, description = "Members", body = Object),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_members(auth: web::Data<Auth>, who: Authenticated, org: web::Path<String>) -> Reply {
    let access = access(&auth, &who, &org, Need::Read).await?;
    Ok(HttpResponse::Ok().json(json!({ "members": access.members })))
}

/// A user to add to an organisation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The user.
    pub user_id: Uuid,
    /// `owner`, `admin`, `member` (the default) or `billing`.
    #[serde(default = "default_member")]
    pub role: String,
}

fn default_member() -> String {
    role::MEMBER.to_owned()
}

/// Add a user to an organisation (owners and admins, or scope
/// `auth:manage-org:<org>`; only owners may add an owner).
#[utoipa::path(post, path = "/v1/orgs/{org}/members", tag = "auth",
    params(("org" = String, Path, description = "Organisation name")), request_body = NewMember,
    responses((status = 201, description = "The membership", body = Object),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Already a member", body = Problem), (status = 422, body = Problem)))]
pub async fn add_member(
    auth: web::Data<Auth>,
    who: Authenticated,
    org: web::Path<String>,
    body: web::Json<NewMember>,
) -> Reply {
    let access = access(&auth, &who, &org, Need::Manage).await?;
    let member = auth
        .add_member(
            &who.context(),
            &org,
            body.user_id,
            &body.role,
            who.principal.user_id,
            access.authority,
        )
        .await?;
    Ok(HttpResponse::Created().json(member))
}

/// A member's new role.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// `owner`, `admin`, `member` or `billing`.
    pub role: String,
}

/// Change a member's role (owners and admins, or scope `auth:manage-org:<org>`;
/// only owners may grant or take away the owner role). The last owner cannot be demoted.
#[utoipa::path(put, path = "/v1/orgs/{org}/members/{user_id}", tag = "auth",
    params(("org" = String, Path, description = "Organisation name"), ("user_id" = Uuid, Path, description = "User id")),
    request_body = RoleChange,
    responses((status = 200, description = "The membership", body = Object),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Last owner", body = Problem), (status = 422, body = Problem)))]
pub async fn change_member_role(
    auth: web::Data<Auth>,
    who: Authenticated,
    path: web::Path<(String, Uuid)>,
    body: web::Json<RoleChange>,
) -> Reply {
    let (org, user) = path.into_inner();
    let access = access(&auth, &who, &org, Need::Manage).await?;
    let member = auth
        .change_member_role(&who.context(), &org, user, &body.role, access.authority)
        .await?;
    Ok(HttpResponse::Ok().json(member))
}

/// Remove a member and their team memberships (owners and admins, or scope
/// `auth:manage-org:<org>`; only owners may remove an owner). The last owner cannot be removed.
#[utoipa::path(delete, path = "/v1/orgs/{org}/members/{user_id}", tag = "auth",
    params(("org" = String, Path, description = "Organisation name"), ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Removed"), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Last owner", body = Problem)))]
pub async fn remove_member(
    auth: web::Data<Auth>,
    who: Authenticated,
    path: web::Path<(String, Uuid)>,
) -> Reply {
    let (org, user) = path.into_inner();
    let access = access(&auth, &who, &org, Need::Manage).await?;
    auth.remove_member(&who.context(), &org, user, access.authority)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Leave an organisation and its teams (a signed-in member). The last owner cannot leave.
#[utoipa::path(post, path = "/v1/orgs/{org}/leave", tag = "auth",
    params(("org" = String, Path, description = "Organisation name")),
    responses((status = 204, description = "Left"), (status = 403, body = Problem),
              (status = 404, description = "Not a member", body = Problem),
              (status = 409, description = "Last owner", body = Problem)))]
pub async fn leave_org(auth: web::Data<Auth>, who: Authenticated, org: web::Path<String>) -> Reply {
    let id = session_user(&who)?;
    slug("organisation", &org)?;
    auth.leave_org(&who.context(), &org, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---------------------------------------------------------------- invitations

/// Whom to invite.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// The address to invite.
    pub email: String,
    /// The role the invitee gets: `owner`, `admin`, `member` (the default) or `billing`.
    #[serde(default = "default_member")]
    pub role: String,
}

/// Invite an email address to join an organisation (owners and admins, or
/// scope `auth:manage-org:<org>`; only owners may invite an owner). The token
/// is returned this once, to be delivered to the invitee.
#[utoipa::path(post, path = "/v1/orgs/{org}/invitations", tag = "auth",
    params(("org" = String, Path, description = "Organisation name")), request_body = NewInvitation,
    responses((status = 201, description = "The invitation and its token", body = Object),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "Already a member or invited", body = Problem),
              (status = 422, body = Problem)))]
pub async fn invite(
    auth: web::Data<Auth>,
    who: Authenticated,
    org: web::Path<String>,
    body: web::Json<NewInvitation>,
) -> Reply {
    let access = access(&auth, &who, &org, Need::Manage).await?;
    let inviter = user_id(&who)?;
    let (invitation, token) = auth
        .invite(
            &who.context(),
            &org,
            &body.email,
            &body.role,
            inviter,
            access.authority,
        )
        .await?;
    Ok(HttpResponse::Created().json(json!({ "invitation": invitation, "token": token })))
}

/// The pending invitations of an organisation (owners and admins, or scope `auth:manage-org:<org>`).
#[utoipa::path(get, path = "/v1/orgs/{org}/invitations", tag = "auth",
    params(("org" = String, Path, description = "Organisation name")),
    responses((status = 200, description = "Pending invitations", body = Object),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_invitations(auth: web::Data<Auth>, who: Authenticated, org: web::Path<String>) -> Reply {
    access(&auth, &who, &org, Need::Manage).await?;
    let invitations = auth.list_invitations(&org).await?;
    Ok(HttpResponse::Ok().json(json!({ "invitations": invitations })))
}

/// Withdraw a pending invitation (owners and admins, or scope `auth:manage-org:<org>`).
#[utoipa::path(delete, path = "/v1/orgs/{org}/invitations/{id}", tag = "auth",
    params(("org" = String, Path, description = "Organisation name"), ("id" = Uuid, Path, description = "Invitation id")),
    responses((status = 204, description = "Withdrawn"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_invitation(
    auth: web::Data<Auth>,
    who: Authenticated,
    path: web::Path<(String, Uuid)>,
) -> Reply {
    let (org, id) = path.into_inner();
    let access = access(&auth, &who, &org, Need::Manage).await?;
    auth.revoke_invitation(&who.context(), &org, id, access.authority)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An invitation token.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationToken {
    /// The token (`plin_…`).
    pub token: String,
}

/// Accept an invitation: the signed-in user, whose email address must be the
/// invited one, becomes a member with the invited role.
#[utoipa::path(post, path = "/v1/invitations/accept", tag = "auth", request_body = InvitationToken,
    responses((status = 200, description = "The membership", body = Object),
              (status = 403, body = Problem), (status = 409, description = "Already a member", body = Problem),
              (status = 422, description = "Unknown, used or expired token, or another address's", body = Problem)))]
pub async fn accept_invitation(
    auth: web::Data<Auth>,
    who: Authenticated,
    body: web::Json<InvitationToken>,
) -> Reply {
    let id = session_user(&who)?;
    let member = auth.accept_invitation(&who.context(), &body.token, id).await?;
    Ok(HttpResponse::Ok().json(member))
}

/// Decline an invitation. The token is the credential: whoever holds it may
/// decline, signed in or not.
#[utoipa::path(post, path = "/v1/invitations/decline", tag = "auth", request_body = InvitationToken,
    responses((status = 200, description = "The declined invitation", body = Object),
              (status = 422, description = "Unknown, used or expired token", body = Problem)))]
pub async fn decline_invitation(
    auth: web::Data<Auth>,
    info: RequestInfo,
    body: web::Json<InvitationToken>,
) -> Reply {
    let invitation = auth.decline_invitation(&info.context(), &body.token).await?;
    Ok(HttpResponse::Ok().json(invitation))
}

// ---------------------------------------------------------------- teams

/// A new team.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// Slug, unique in the organisation: 1–39 of `a-z`, `0-9` and `-`.
    pub name: String,
    /// What the team is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// Create a team (owners and admins, or scope `auth:manage-org:<org>`).
#[utoipa::path(post, path = "/v1/orgs/{org}/teams", tag = "auth",
    params(("org" = String, Path, description = "Organisation name")), request_body = NewTeam,
    responses((status = 201, description = "The team", body = Object), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, description = "Name taken", body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_team(
    auth: web::Data<Auth>,
    who: Authenticated,
    org: web::Path<String>,
    body: web::Json<NewTeam>,
) -> Reply {
    let access = access(&auth, &who, &org, Need::Manage).await?;
    let body = body.into_inner();
    let team = auth
        .create_team(
            &who.context(),
            &org,
            &body.name,
            body.description,
            access.authority,
        )
        .await?;
    Ok(HttpResponse::Created().json(team))
}

/// The teams of an organisation, by name (members, or scope `auth:read-org:<org>`).
#[utoipa::path(get, path = "/v1/orgs/{org}/teams", tag = "auth",
    params(("org" = String, Path, description = "Organisation name")),
    responses((status = 200, description = "Teams", body = Object),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_teams(auth: web::Data<Auth>, who: Authenticated, org: web::Path<String>) -> Reply {
    access(&auth, &who, &org, Need::Read).await?;
    Ok(HttpResponse::Ok().json(json!({ "teams": auth.list_teams(&org).await? })))
}

/// Delete a team and its memberships (owners and admins, or scope `auth:manage-org:<org>`).
#[utoipa::path(delete, path = "/v1/orgs/{org}/teams/{team}", tag = "auth",
    params(("org" = String, Path, description = "Organisation name"), ("team" = String, Path, description = "Team name")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_team(
    auth: web::Data<Auth>,
    who: Authenticated,
    path: web::Path<(String, String)>,
) -> Reply {
    let (org, team) = path.into_inner();
    let access = access(&auth, &who, &org, Need::Manage).await?;
    slug("team", &team)?;
    auth.delete_team(&who.context(), &org, &team, access.authority)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The members of a team, oldest first (members of the organisation, or scope `auth:read-org:<org>`).
#[utoipa::path(get, path = "/v1/orgs/{org}/teams/{team}/members", tag = "auth",
    params(("org" = String, Path, description = "Organisation name"), ("team" = String, Path, description = "Team name")),
    responses((status = 200, description = "Team members", body = Object),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_team_members(
    auth: web::Data<Auth>,
    who: Authenticated,
    path: web::Path<(String, String)>,
) -> Reply {
    let (org, team) = path.into_inner();
    access(&auth, &who, &org, Need::Read).await?;
    slug("team", &team)?;
    let members = auth.list_team_members(&org, &team).await?;
    Ok(HttpResponse::Ok().json(json!({ "members": members })))
}

/// A team member's role.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRole {
    /// `maintainer` or `member` (the default).
    #[serde(default = "default_member")]
    pub role: String,
}

/// Add a member of the organisation to a team (owners and admins, or scope
/// `auth:manage-org:<org>`). Repeating it with the same role changes nothing;
/// a different role is a conflict (remove the member first).
#[utoipa::path(put, path = "/v1/orgs/{org}/teams/{team}/members/{user_id}", tag = "auth",
    params(("org" = String, Path, description = "Organisation name"), ("team" = String, Path, description = "Team name"),
           ("user_id" = Uuid, Path, description = "User id")),
    request_body = TeamRole,
    responses((status = 200, description = "The team membership", body = Object),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "In the team with another role", body = Problem),
              (status = 422, description = "Not a member of the organisation", body = Problem)))]
pub async fn put_team_member(
    auth: web::Data<Auth>,
    who: Authenticated,
    path: web::Path<(String, String, Uuid)>,
    body: web::Json<TeamRole>,
) -> Reply {
    let (org, team, user) = path.into_inner();
    let access = access(&auth, &who, &org, Need::Manage).await?;
    slug("team", &team)?;
    match auth
        .add_team_member(&who.context(), &org, &team, user, &body.role, access.authority)
        .await
    {
        Ok(member) => Ok(HttpResponse::Ok().json(member)),
        Err(Error::Conflict(msg)) => {
            let existing = auth
                .list_team_members(&org, &team)
                .await?
                .into_iter()
                .find(|m| m.user_id == user && m.role == body.role);
            match existing {
                Some(member) => Ok(HttpResponse::Ok().json(member)),
                None => Err(Error::Conflict(format!("{msg} with another role; remove them first")).into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Remove a user from a team (owners and admins, or scope `auth:manage-org:<org>`).
#[utoipa::path(delete, path = "/v1/orgs/{org}/teams/{team}/members/{user_id}", tag = "auth",
    params(("org" = String, Path, description = "Organisation name"), ("team" = String, Path, description = "Team name"),
           ("user_id" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Removed"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn remove_team_member(
    auth: web::Data<Auth>,
    who: Authenticated,
    path: web::Path<(String, String, Uuid)>,
) -> Reply {
    let (org, team, user) = path.into_inner();
    let access = access(&auth, &who, &org, Need::Manage).await?;
    slug("team", &team)?;
    auth.remove_team_member(&who.context(), &org, &team, user, access.authority)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
