//! Teams: named groups of an organisation's members. Only members of the
//! organisation can join its teams, and leaving the organisation leaves its
//! teams. Changes lock the organisation like every membership change and are
//! made on an [`Authority`]: an acting member must be an owner or admin, as
//! read inside the change's transaction.

use plinth_events::{Context, NewEvent, record};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::{org, org_member, team, team_member};
use crate::orgs::{Authority, check_role, find_org, validate_slug};
use crate::{Auth, Error, Result, text};

/// Roles a member can have in a team, stored as strings.
pub mod role {
    /// Manages the team's members.
    pub const MAINTAINER: &str = "maintainer";
    /// An ordinary member.
    pub const MEMBER: &str = "member";
    /// Every role.
    pub const ALL: [&str; 2] = [MAINTAINER, MEMBER];
}

/// A team as the API shows it.
pub type Team = team::Model;

/// A team membership as the API shows it.
pub type TeamMember = team_member::Model;

/// The team `name` of `org`, if there is one.
async fn team_named(conn: &impl ConnectionTrait, org: &org::Model, name: &str) -> Result<Option<Team>> {
    Ok(team::Entity::find()
        .filter(team::Column::OrgId.eq(org.id))
        .filter(team::Column::Name.eq(name))
        .one(conn)
        .await?)
}

/// The team `name` of `org`.
async fn find_team(conn: &impl ConnectionTrait, org: &org::Model, name: &str) -> Result<Team> {
    team_named(conn, org, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("team {}/{name}", org.name)))
}

impl Auth {
    /// Creates a team in `org` on `authority`. `Conflict` when the name is
    /// taken there, `NotPermitted` when `authority` does not allow it.
    pub async fn create_team(
        &self,
        ctx: &Context,
        org: &str,
        name: &str,
        description: Option<String>,
        authority: Authority,
    ) -> Result<Team> {
        validate_slug("team", name)?;
        let description = text::optional("description", description, 2000)?;
        let (txn, org) = self.begin_org_change(org, authority, false).await?;
        if team_named(&txn, &org, name).await?.is_some() {
            return Err(Error::Conflict(format!(
                "team {}/{name} already exists",
                org.name
            )));
        }
        let team = team::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(org.id),
            name: Set(name.to_owned()),
            description: Set(description),
            created_at: Set(OffsetDateTime::now_utc()),
        }
        .insert(&txn)
        .await?;
        record(
            &txn,
            ctx,
            NewEvent::new("team.created", "team", team.id).payload(json!({ "org": org.name, "name": name })),
        )
        .await?;
        txn.commit().await?;
        Ok(team)
    }

    /// Deletes a team and its memberships on `authority`.
    pub async fn delete_team(
        &self,
        ctx: &Context,
        org: &str,
        name: &str,
        authority: Authority,
    ) -> Result<()> {
        let (txn, org) = self.begin_org_change(org, authority, false).await?;
        let team = find_team(&txn, &org, name).await?;
        let members = team_member::Entity::find()
            .filter(team_member::Column::TeamId.eq(team.id))
            .all(&txn)
            .await?;
        team::Entity::delete_by_id(team.id).exec(&txn).await?;
        record(
            &txn,
            ctx,
            NewEvent::new("team.deleted", "team", team.id).payload(json!({ "org": org.name, "name": name })),
        )
        .await?;
        txn.commit().await?;
        for member in members {
            self.user_changed(member.user_id);
        }
        Ok(())
    }

    /// The teams of `org`, by name.
    pub async fn list_teams(&self, org: &str) -> Result<Vec<Team>> {
        let org = find_org(&self.db, org).await?;
        Ok(team::Entity::find()
            .filter(team::Column::OrgId.eq(org.id))
            .order_by_asc(team::Column::Name)
            .all(&self.db)
            .await?)
    }

    /// The members of team `name` of `org`, oldest first.
    pub async fn list_team_members(&self, org: &str, name: &str) -> Result<Vec<TeamMember>> {
        let org = find_org(&self.db, org).await?;
        let team = find_team(&self.db, &org, name).await?;
        Ok(team_member::Entity::find()
            .filter(team_member::Column::TeamId.eq(team.id))
            .order_by_asc(team_member::Column::AddedAt)
            .order_by_asc(team_member::Column::UserId)
            .all(&self.db)
            .await?)
    }

    /// Adds a member of `org` to its team `name` with `role` (`maintainer` or
    /// `member`) on `authority`. `Invalid` when the user is not a member of
    /// the organisation, `Conflict` when already in the team.
    pub async fn add_team_member(
        &self,
        ctx: &Context,
        org: &str,
        name: &str,
        user_id: Uuid,
        role: &str,
        authority: Authority,
    ) -> Result<TeamMember> {
        check_role(role, &role::ALL)?;
        let (txn, org) = self.begin_org_change(org, authority, false).await?;
        let team = find_team(&txn, &org, name).await?;
        if org_member::Entity::find_by_id((org.id, user_id))
            .one(&txn)
            .await?
            .is_none()
        {
            return Err(Error::Invalid(format!(
                "user {user_id} is not a member of {}",
                org.name
            )));
        }
        if team_member::Entity::find_by_id((team.id, user_id))
            .one(&txn)
            .await?
            .is_some()
        {
            return Err(Error::Conflict(format!(
                "user {user_id} is already in team {}/{name}",
                org.name
            )));
        }
        let member = team_member::ActiveModel {
            team_id: Set(team.id),
            user_id: Set(user_id),
            role: Set(role.to_owned()),
            added_at: Set(OffsetDateTime::now_utc()),
        }
        .insert(&txn)
        .await?;
        record(
            &txn,
            ctx,
            NewEvent::new("team.member_added", "team", team.id)
                .payload(json!({ "user_id": user_id, "role": role })),
        )
        .await?;
        txn.commit().await?;
        self.user_changed(user_id);
        Ok(member)
    }

    /// Removes a user from team `name` of `org` on `authority`.
    pub async fn remove_team_member(
        &self,
        ctx: &Context,
        org: &str,
        name: &str,
        user_id: Uuid,
        authority: Authority,
    ) -> Result<()> {
        let (txn, org) = self.begin_org_change(org, authority, false).await?;
        let team = find_team(&txn, &org, name).await?;
        let deleted = team_member::Entity::delete_by_id((team.id, user_id))
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(Error::NotFound(format!(
                "member {user_id} of team {}/{name}",
                org.name
            )));
        }
        record(
            &txn,
            ctx,
            NewEvent::new("team.member_removed", "team", team.id).payload(json!({ "user_id": user_id })),
        )
        .await?;
        txn.commit().await?;
        self.user_changed(user_id);
        Ok(())
    }
}
