//! Invitations to join an organisation. The token (`plin_…`) is returned once
//! to be delivered by email; only its hash is stored. An invitation is
//! accepted by a signed-in user whose email address is the invited one, and
//! is used at most once: accepting or declining claims it with a conditional
//! update, so two concurrent attempts cannot both succeed.

use plinth_events::{Context, NewEvent, record};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::entity::{org, org_invitation, org_member, user};
use crate::orgs::{Authority, OrgMember, check_role, find_org, insert_member, lock_org, role};
use crate::users::{find_user, normalize_email};
use crate::{Auth, Error, Result};

/// Prefix of invitation tokens.
pub const PREFIX: &str = "plin_";

/// An invitation as the API shows it (never with its token).
pub type Invitation = org_invitation::Model;

const UNUSABLE: &str = "invitation is unknown, already used, declined, revoked or expired";

/// Marks the pending, unexpired invitation with token hash `hash` as answered
/// by setting `answered` to `now`, and returns it; `Invalid` when there is none.
async fn claim(
    conn: &impl ConnectionTrait,
    hash: &str,
    answered: org_invitation::Column,
    now: OffsetDateTime,
) -> Result<Invitation> {
    let update = Query::update()
        .table(org_invitation::Entity)
        .value(answered, now)
        .and_where(Expr::col(org_invitation::Column::TokenHash).eq(hash))
        .and_where(Expr::col(org_invitation::Column::AcceptedAt).is_null())
        .and_where(Expr::col(org_invitation::Column::DeclinedAt).is_null())
        .and_where(Expr::col(org_invitation::Column::ExpiresAt).gt(now))
        .to_owned();
    if conn.execute(&update).await?.rows_affected() == 0 {
        return Err(Error::Invalid(UNUSABLE.into()));
    }
    org_invitation::Entity::find()
        .filter(org_invitation::Column::TokenHash.eq(hash))
        .one(conn)
        .await?
        .filter(|i| plinth_db::secret::ct_eq(&i.token_hash, hash))
        .ok_or_else(|| Error::Invalid(UNUSABLE.into()))
}

/// The stored hash of a well-formed invitation token.
fn token_hash(token: &str) -> Result<String> {
    plinth_db::secret::parse(token.trim(), PREFIX).ok_or_else(|| Error::Invalid(UNUSABLE.into()))
}

impl Auth {
    /// Invites `email` to join `org` with `role` on `authority`. Returns the
    /// invitation and its token, shown this once. `Conflict` when the address
    /// already belongs to a member or has a pending invitation (an answered or
    /// expired invitation to the same address is replaced), `NotPermitted`
    /// when `authority` does not allow it.
    pub async fn invite(
        &self,
        ctx: &Context,
        org: &str,
        email: &str,
        role: &str,
        invited_by: Uuid,
        authority: Authority,
    ) -> Result<(Invitation, String)> {
        let email = normalize_email(email)?;
        check_role(role, &role::ALL)?;
        let token = plinth_db::secret::generate(PREFIX).map_err(|e| Error::Internal(e.to_string()))?;
        let now = OffsetDateTime::now_utc();
        let ttl = i64::try_from(self.config.orgs.invitation_secs).unwrap_or(i64::MAX);
        let (txn, org) = self.begin_org_change(org, authority, role == role::OWNER).await?;
        find_user(&txn, invited_by).await?;
        if let Some(existing) = user::Entity::find()
            .filter(user::Column::Email.eq(&email))
            .one(&txn)
            .await?
            && org_member::Entity::find_by_id((org.id, existing.id))
                .one(&txn)
                .await?
                .is_some()
        {
            return Err(Error::Conflict(format!(
                "{email} is already a member of {}",
                org.name
            )));
        }
        let previous = org_invitation::Entity::find()
            .filter(org_invitation::Column::OrgId.eq(org.id))
            .filter(org_invitation::Column::Email.eq(&email))
            .one(&txn)
            .await?;
        if let Some(previous) = previous {
            if previous.accepted_at.is_none() && previous.declined_at.is_none() && previous.expires_at > now {
                return Err(Error::Conflict(format!(
                    "{email} already has a pending invitation to {}",
                    org.name
                )));
            }
            org_invitation::Entity::delete_by_id(previous.id)
                .exec(&txn)
                .await?;
        }
        let invitation = org_invitation::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(org.id),
            email: Set(email.clone()),
            role: Set(role.to_owned()),
            token_hash: Set(token.hash),
            invited_by: Set(invited_by),
            created_at: Set(now),
            expires_at: Set(now.saturating_add(Duration::seconds(ttl))),
            accepted_at: Set(None),
            declined_at: Set(None),
        }
        .insert(&txn)
        .await?;
        record(
            &txn,
            ctx,
            NewEvent::new("org.invitation_created", "org", org.id)
                .payload(json!({ "invitation_id": invitation.id, "email": email, "role": role })),
        )
        .await?;
        txn.commit().await?;
        Ok((invitation, token.plaintext))
    }

    /// Accepts an invitation for the signed-in `user_id`, whose email must be
    /// the invited address (compared case-insensitively), and makes them a
    /// member with the invited role. `Invalid` for an unknown, used or expired
    /// token or another user's invitation; `Conflict` if already a member.
    pub async fn accept_invitation(&self, ctx: &Context, token: &str, user_id: Uuid) -> Result<OrgMember> {
        let hash = token_hash(token)?;
        let txn = plinth_db::begin_write(&self.db).await?;
        // The organisation is locked before the invitation is claimed, in the
        // order revoking takes them, so the two cannot deadlock.
        let org_id = org_invitation::Entity::find()
            .filter(org_invitation::Column::TokenHash.eq(&hash))
            .one(&txn)
            .await?
            .ok_or_else(|| Error::Invalid(UNUSABLE.into()))?
            .org_id;
        let org = org::Entity::find_by_id(org_id)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::Invalid(UNUSABLE.into()))?;
        let org = lock_org(&txn, &org.name).await?;
        let invitation = claim(
            &txn,
            &hash,
            org_invitation::Column::AcceptedAt,
            OffsetDateTime::now_utc(),
        )
        .await?;
        let user = find_user(&txn, user_id).await?;
        if user.email != invitation.email {
            return Err(Error::Invalid(
                "this invitation was sent to another email address".into(),
            ));
        }
        record(
            &txn,
            ctx,
            NewEvent::new("org.invitation_accepted", "org", org.id)
                .payload(json!({ "invitation_id": invitation.id, "user_id": user_id })),
        )
        .await?;
        let member = insert_member(
            &txn,
            ctx,
            &org,
            user_id,
            &invitation.role,
            Some(invitation.invited_by),
        )
        .await?;
        txn.commit().await?;
        self.user_changed(user_id);
        Ok(member)
    }

    /// Declines an invitation; whoever holds the token may.
    pub async fn decline_invitation(&self, ctx: &Context, token: &str) -> Result<Invitation> {
        let hash = token_hash(token)?;
        let txn = plinth_db::begin_write(&self.db).await?;
        let invitation = claim(
            &txn,
            &hash,
            org_invitation::Column::DeclinedAt,
            OffsetDateTime::now_utc(),
        )
        .await?;
        record(
            &txn,
            ctx,
            NewEvent::new("org.invitation_declined", "org", invitation.org_id)
                .payload(json!({ "invitation_id": invitation.id })),
        )
        .await?;
        txn.commit().await?;
        Ok(invitation)
    }

    /// Withdraws a pending invitation of `org` on `authority`.
    pub async fn revoke_invitation(
        &self,
        ctx: &Context,
        org: &str,
        id: Uuid,
        authority: Authority,
    ) -> Result<()> {
        let (txn, org) = self.begin_org_change(org, authority, false).await?;
        let deleted = org_invitation::Entity::delete_many()
            .filter(org_invitation::Column::Id.eq(id))
            .filter(org_invitation::Column::OrgId.eq(org.id))
            .filter(org_invitation::Column::AcceptedAt.is_null())
            .filter(org_invitation::Column::DeclinedAt.is_null())
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(Error::NotFound(format!("pending invitation {id}")));
        }
        record(
            &txn,
            ctx,
            NewEvent::new("org.invitation_revoked", "org", org.id).payload(json!({ "invitation_id": id })),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The pending, unexpired invitations of `org`, oldest first.
    pub async fn list_invitations(&self, org: &str) -> Result<Vec<Invitation>> {
        let org = find_org(&self.db, org).await?;
        Ok(org_invitation::Entity::find()
            .filter(org_invitation::Column::OrgId.eq(org.id))
            .filter(org_invitation::Column::AcceptedAt.is_null())
            .filter(org_invitation::Column::DeclinedAt.is_null())
            .filter(org_invitation::Column::ExpiresAt.gt(OffsetDateTime::now_utc()))
            .order_by_asc(org_invitation::Column::CreatedAt)
            .all(&self.db)
            .await?)
    }
}
