//! Organisations and their members. Every organisation keeps at least one
//! owner: the last owner cannot leave, be removed or be demoted, nor have
//! their account deleted (a deleted account no longer counts as an owner).
//! Each change first bumps the organisation's `updated_at`, which takes a
//! write lock on its row (the database on SQLite), so concurrent changes to
//! one organisation run one after the other and owner counts cannot race.
//!
//! Changes to the members, invitations and teams are made on an
//! [`Authority`]. A member acting on their own authority must be an owner or
//! admin, and an owner to grant, change or remove the owner role; their role
//! is read inside the change's transaction, after the lock, so a concurrent
//! change of roles cannot slip between the check and the change.

use plinth_events::{Context, NewEvent, record};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::{org, org_member, team, team_member, user};
use crate::users::{find_user, lock_user, normalize_email, status};
use crate::{Auth, Error, Result, text};

/// Roles a member can have in an organisation, stored as strings.
pub mod role {
    /// Full control, including deleting the organisation and managing owners.
    pub const OWNER: &str = "owner";
    /// Manages members, teams and settings.
    pub const ADMIN: &str = "admin";
    /// An ordinary member.
    pub const MEMBER: &str = "member";
    /// Manages billing only.
    pub const BILLING: &str = "billing";
    /// Every role.
    pub const ALL: [&str; 4] = [OWNER, ADMIN, MEMBER, BILLING];
}

/// On whose authority a change to an organisation's members is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// Authority from outside the organisation's roles — the application
    /// itself, or a caller holding [`manage_scope`]: any change is allowed.
    Granted,
    /// The member with this user id: allowed when an owner or admin, and
    /// only an owner may grant, change or remove the owner role.
    Member(Uuid),
}

/// The scope that lets its holder read organisation `org` without being a member.
pub fn read_scope(org: &str) -> String {
    format!("auth:read-org:{org}")
}

/// The scope that lets its holder manage organisation `org` without being a
/// member, owners included.
pub fn manage_scope(org: &str) -> String {
    format!("auth:manage-org:{org}")
}

/// The refusal of a change to `org` that only its owners and admins (`who`)
/// or holders of `scope` may make.
pub(crate) fn refusal(org: &str, who: &str, what: &str, scope: String) -> Error {
    Error::NotPermitted {
        detail: format!("only {who} of {org} (or holders of scope {scope}) may {what}"),
        scope,
    }
}

/// The refusal of a change that needs the owner role.
fn owners_only(org: &str) -> Error {
    refusal(
        org,
        "owners",
        "grant, change or remove the owner role",
        manage_scope(org),
    )
}

/// Checks, inside the change's transaction on the locked `org`, that
/// `authority` may change its members: an acting member must be an owner or
/// admin. Returns whether it may also touch the owner role.
async fn allowed(conn: &impl ConnectionTrait, org: &org::Model, authority: Authority) -> Result<bool> {
    let Authority::Member(id) = authority else {
        return Ok(true);
    };
    let role = org_member::Entity::find_by_id((org.id, id))
        .one(conn)
        .await?
        .map(|m| m.role);
    match role.as_deref() {
        Some(role::OWNER) => Ok(true),
        Some(role::ADMIN) => Ok(false),
        _ => Err(refusal(
            &org.name,
            "owners and admins",
            "do this",
            manage_scope(&org.name),
        )),
    }
}

/// `Ok` when a change that touches the owner role (`touches_owner`) is
/// allowed to a caller with or without `owner_powers`.
fn owner_rule(org: &org::Model, owner_powers: bool, touches_owner: bool) -> Result<()> {
    if touches_owner && !owner_powers {
        Err(owners_only(&org.name))
    } else {
        Ok(())
    }
}

/// [`allowed`] and then the owner rule, for a change whose effect on the
/// owner role is known before reading anything else.
async fn require(
    conn: &impl ConnectionTrait,
    org: &org::Model,
    authority: Authority,
    touches_owner: bool,
) -> Result<()> {
    let owner_powers = allowed(conn, org, authority).await?;
    owner_rule(org, owner_powers, touches_owner)
}

/// Settings of organisations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrgConfig {
    /// Invitation lifetime in seconds (default 7 days).
    pub invitation_secs: u64,
}

impl Default for OrgConfig {
    fn default() -> Self {
        Self {
            invitation_secs: 7 * 24 * 3600,
        }
    }
}

/// An organisation as the API shows it.
pub type Org = org::Model;

/// A membership as the API shows it.
pub type OrgMember = org_member::Model;

/// One of a user's organisations and the user's role in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgMembership {
    /// The organisation.
    pub org: Org,
    /// The user's role in it.
    pub role: String,
    /// When the user joined.
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

/// What a new organisation needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    /// Unique slug: 1–39 of `a-z`, `0-9` and `-`, not starting or ending with `-`.
    pub name: String,
    /// Name shown to people (defaults to `name`).
    #[serde(default)]
    pub display_name: Option<String>,
    /// What the organisation is.
    #[serde(default)]
    pub description: Option<String>,
    /// Avatar image URL.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Public contact address.
    #[serde(default)]
    pub email: Option<String>,
    /// Web site.
    #[serde(default)]
    pub website: Option<String>,
    /// Where invoices go.
    #[serde(default)]
    pub billing_email: Option<String>,
}

/// Checks a slug (organisation or team name): 1–39 of `a-z`, `0-9` and `-`,
/// not starting or ending with `-`, so it fits in URLs and scopes unescaped.
pub fn validate_slug(what: &str, name: &str) -> Result<()> {
    let ok = (1..=39).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what} name `{name}` must be 1-39 of a-z, 0-9 and '-', not starting or ending with '-'"
        )))
    }
}

/// `Ok` when `value` is one of `allowed`.
pub(crate) fn check_role(role: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&role) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "role `{role}` must be one of {}",
            allowed.join(", ")
        )))
    }
}

/// The organisation named `name`.
pub(crate) async fn find_org(conn: &impl ConnectionTrait, name: &str) -> Result<org::Model> {
    org::Entity::find()
        .filter(org::Column::Name.eq(name))
        .one(conn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("organisation {name}")))
}

/// Bumps the organisation's `updated_at` — taking the write lock that
/// serialises changes to it — and returns the row as it is now.
pub(crate) async fn lock_org(conn: &impl ConnectionTrait, name: &str) -> Result<org::Model> {
    let bump = Query::update()
        .table(org::Entity)
        .value(org::Column::UpdatedAt, OffsetDateTime::now_utc())
        .and_where(Expr::col(org::Column::Name).eq(name))
        .to_owned();
    if conn.execute(&bump).await?.rows_affected() == 0 {
        return Err(Error::NotFound(format!("organisation {name}")));
    }
    find_org(conn, name).await
}

/// The membership of `user_id` in `org`.
async fn find_member(conn: &impl ConnectionTrait, org: &org::Model, user_id: Uuid) -> Result<OrgMember> {
    org_member::Entity::find_by_id((org.id, user_id))
        .one(conn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("member {user_id} of organisation {}", org.name)))
}

/// Adds `user_id` to the locked `org` with `role` and records `org.member_added`.
pub(crate) async fn insert_member(
    conn: &impl ConnectionTrait,
    ctx: &Context,
    org: &org::Model,
    user_id: Uuid,
    role: &str,
    invited_by: Option<Uuid>,
) -> Result<OrgMember> {
    check_role(role, &role::ALL)?;
    find_user(conn, user_id).await?;
    if org_member::Entity::find_by_id((org.id, user_id))
        .one(conn)
        .await?
        .is_some()
    {
        return Err(Error::Conflict(format!(
            "user {user_id} is already a member of {}",
            org.name
        )));
    }
    let member = org_member::ActiveModel {
        org_id: Set(org.id),
        user_id: Set(user_id),
        role: Set(role.to_owned()),
        joined_at: Set(OffsetDateTime::now_utc()),
        invited_by: Set(invited_by),
    }
    .insert(conn)
    .await?;
    record(
        conn,
        ctx,
        NewEvent::new("org.member_added", "org", org.id).payload(json!({ "user_id": user_id, "role": role })),
    )
    .await?;
    Ok(member)
}

/// Whether `member` is an owner of the locked `org` and no other owner's
/// account remains (a deleted account does not count as an owner).
async fn last_owner(conn: &impl ConnectionTrait, org: &org::Model, member: &OrgMember) -> Result<bool> {
    if member.role != role::OWNER {
        return Ok(false);
    }
    let live = Query::select()
        .column(user::Column::Id)
        .from(user::Entity)
        .and_where(Expr::col(user::Column::Status).ne(status::DELETED))
        .to_owned();
    let others = org_member::Entity::find()
        .filter(org_member::Column::OrgId.eq(org.id))
        .filter(org_member::Column::Role.eq(role::OWNER))
        .filter(org_member::Column::UserId.ne(member.user_id))
        .filter(org_member::Column::UserId.in_subquery(live))
        .count(conn)
        .await?;
    Ok(others == 0)
}

/// The refusal of a change that would leave `orgs` without an owner.
fn last_owner_of(user_id: Uuid, orgs: &[String]) -> Error {
    Error::Conflict(format!(
        "{user_id} is the last owner of {}; make someone else an owner first",
        orgs.join(", ")
    ))
}

/// Refuses a change that would leave the locked `org` without an owner:
/// `member` is an owner and the only one.
async fn keep_an_owner(conn: &impl ConnectionTrait, org: &org::Model, member: &OrgMember) -> Result<()> {
    if last_owner(conn, org, member).await? {
        return Err(last_owner_of(member.user_id, std::slice::from_ref(&org.name)));
    }
    Ok(())
}

/// Refuses deleting the account `user_id` while it is the last owner of an
/// organisation, naming every such organisation. Locks the organisations it
/// owns (in name order) and reads its roles after the locks.
pub(crate) async fn keep_owners_of(conn: &impl ConnectionTrait, user_id: Uuid) -> Result<()> {
    let owned = org_member::Entity::find()
        .filter(org_member::Column::UserId.eq(user_id))
        .filter(org_member::Column::Role.eq(role::OWNER))
        .find_also_related(org::Entity)
        .order_by_asc(org::Column::Name)
        .all(conn)
        .await?;
    let mut last = Vec::new();
    for org in owned.into_iter().filter_map(|(_, org)| org) {
        let org = lock_org(conn, &org.name).await?;
        if let Some(member) = org_member::Entity::find_by_id((org.id, user_id))
            .one(conn)
            .await?
            && last_owner(conn, &org, &member).await?
        {
            last.push(org.name);
        }
    }
    if last.is_empty() {
        Ok(())
    } else {
        Err(last_owner_of(user_id, &last))
    }
}

impl Auth {
    /// Begins a change of `org` on `authority`: a write transaction holding
    /// the organisation's lock, in which the caller's role has been checked
    /// after taking it (as an owner's when the change `touches_owner`).
    pub(crate) async fn begin_org_change(
        &self,
        org: &str,
        authority: Authority,
        touches_owner: bool,
    ) -> Result<(DatabaseTransaction, org::Model)> {
        let txn = plinth_db::begin_write(&self.db).await?;
        let org = lock_org(&txn, org).await?;
        require(&txn, &org, authority, touches_owner).await?;
        Ok((txn, org))
    }

    /// Creates an organisation with `owner_id` as its first owner.
    pub async fn create_org(&self, ctx: &Context, owner_id: Uuid, new: NewOrg) -> Result<Org> {
        validate_slug("organisation", &new.name)?;
        let display_name =
            text::optional("display_name", new.display_name, 200)?.unwrap_or_else(|| new.name.clone());
        let email = new.email.as_deref().map(normalize_email).transpose()?;
        let billing_email = new.billing_email.as_deref().map(normalize_email).transpose()?;
        let description = text::optional("description", new.description, 2000)?;
        let avatar_url = text::optional("avatar_url", new.avatar_url, 2000)?;
        let website = text::optional("website", new.website, 2000)?;
        let now = OffsetDateTime::now_utc();
        let txn = plinth_db::begin_write(&self.db).await?;
        lock_user(&txn, owner_id).await?;
        if org::Entity::find()
            .filter(org::Column::Name.eq(&new.name))
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(Error::Conflict(format!(
                "organisation name `{}` is taken",
                new.name
            )));
        }
        let org = org::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(new.name.clone()),
            display_name: Set(display_name),
            description: Set(description),
            avatar_url: Set(avatar_url),
            email: Set(email),
            website: Set(website),
            billing_email: Set(billing_email),
            plan: Set("free".to_owned()),
            plan_seats: Set(None),
            plan_storage_bytes: Set(None),
            settings: Set(json!({})),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        record(
            &txn,
            ctx,
            NewEvent::new("org.created", "org", org.id)
                .payload(json!({ "name": org.name, "owner": owner_id })),
        )
        .await?;
        insert_member(&txn, ctx, &org, owner_id, role::OWNER, None).await?;
        txn.commit().await?;
        self.user_changed(owner_id);
        Ok(org)
    }

    /// The organisation named `name`.
    pub async fn get_org(&self, name: &str) -> Result<Org> {
        find_org(&self.db, name).await
    }

    /// The organisations `user_id` belongs to, by name, with the user's role.
    pub async fn list_orgs(&self, user_id: Uuid) -> Result<Vec<OrgMembership>> {
        let rows = org_member::Entity::find()
            .filter(org_member::Column::UserId.eq(user_id))
            .find_also_related(org::Entity)
            .order_by_asc(org::Column::Name)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(m, org)| {
                org.map(|org| OrgMembership {
                    org,
                    role: m.role,
                    joined_at: m.joined_at,
                })
            })
            .collect())
    }

    /// The members of the organisation named `org`, oldest first.
    pub async fn list_members(&self, org: &str) -> Result<Vec<OrgMember>> {
        let org = find_org(&self.db, org).await?;
        Ok(org_member::Entity::find()
            .filter(org_member::Column::OrgId.eq(org.id))
            .order_by_asc(org_member::Column::JoinedAt)
            .order_by_asc(org_member::Column::UserId)
            .all(&self.db)
            .await?)
    }

    /// Adds `user_id` to `org` with `role` on `authority`; `added_by` is
    /// recorded as the inviter. `Conflict` when the user is already a member,
    /// `NotPermitted` when `authority` does not allow it.
    pub async fn add_member(
        &self,
        ctx: &Context,
        org: &str,
        user_id: Uuid,
        role: &str,
        added_by: Option<Uuid>,
        authority: Authority,
    ) -> Result<OrgMember> {
        let (txn, org) = self.begin_org_change(org, authority, role == role::OWNER).await?;
        let member = insert_member(&txn, ctx, &org, user_id, role, added_by).await?;
        txn.commit().await?;
        self.user_changed(user_id);
        Ok(member)
    }

    /// Changes a member's role on `authority`. `Conflict` when that would
    /// demote the last owner, `NotPermitted` when `authority` does not allow it.
    pub async fn change_member_role(
        &self,
        ctx: &Context,
        org: &str,
        user_id: Uuid,
        role: &str,
        authority: Authority,
    ) -> Result<OrgMember> {
        check_role(role, &role::ALL)?;
        let txn = plinth_db::begin_write(&self.db).await?;
        let org = lock_org(&txn, org).await?;
        let owner_powers = allowed(&txn, &org, authority).await?;
        let member = find_member(&txn, &org, user_id).await?;
        owner_rule(
            &org,
            owner_powers,
            role == role::OWNER || member.role == role::OWNER,
        )?;
        if member.role == role {
            return Ok(member);
        }
        if role != role::OWNER {
            keep_an_owner(&txn, &org, &member).await?;
        }
        let from = member.role.clone();
        let mut active: org_member::ActiveModel = member.into();
        active.role = Set(role.to_owned());
        let member = active.update(&txn).await?;
        record(
            &txn,
            ctx,
            NewEvent::new("org.role_changed", "org", org.id)
                .payload(json!({ "user_id": user_id, "from": from, "to": role })),
        )
        .await?;
        txn.commit().await?;
        self.user_changed(user_id);
        Ok(member)
    }

    /// Removes a member (and their team memberships in the organisation) on
    /// `authority`. `Conflict` when they are the last owner, `NotPermitted`
    /// when `authority` does not allow it.
    pub async fn remove_member(
        &self,
        ctx: &Context,
        org: &str,
        user_id: Uuid,
        authority: Authority,
    ) -> Result<()> {
        self.drop_member(ctx, org, user_id, authority, "org.member_removed")
            .await
    }

    /// The user leaves the organisation (and its teams). `Conflict` for the last owner.
    pub async fn leave_org(&self, ctx: &Context, org: &str, user_id: Uuid) -> Result<()> {
        self.drop_member(ctx, org, user_id, Authority::Granted, "org.member_left")
            .await
    }

    async fn drop_member(
        &self,
        ctx: &Context,
        org: &str,
        user_id: Uuid,
        authority: Authority,
        topic: &str,
    ) -> Result<()> {
        let txn = plinth_db::begin_write(&self.db).await?;
        let org = lock_org(&txn, org).await?;
        let owner_powers = allowed(&txn, &org, authority).await?;
        let member = find_member(&txn, &org, user_id).await?;
        owner_rule(&org, owner_powers, member.role == role::OWNER)?;
        keep_an_owner(&txn, &org, &member).await?;
        let teams = Query::select()
            .column(team::Column::Id)
            .from(team::Entity)
            .and_where(Expr::col(team::Column::OrgId).eq(org.id))
            .to_owned();
        team_member::Entity::delete_many()
            .filter(team_member::Column::UserId.eq(user_id))
            .filter(team_member::Column::TeamId.in_subquery(teams))
            .exec(&txn)
            .await?;
        org_member::Entity::delete_by_id((org.id, user_id))
            .exec(&txn)
            .await?;
        record(
            &txn,
            ctx,
            NewEvent::new(topic, "org", org.id).payload(json!({ "user_id": user_id, "role": member.role })),
        )
        .await?;
        txn.commit().await?;
        self.user_changed(user_id);
        Ok(())
    }
}
