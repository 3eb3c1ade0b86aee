//! Signing in with a password, lockout after failures, and password changes.

use plinth_events::{Context, NewEvent, record};
use plinth_sessions::{NewSession, Session, Subject, TokenPair};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::entity::{credential, user};
use crate::users::{User, find_user, status, suspended, username_is};
use crate::{Auth, Error, Result, text};

/// A sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or email address.
    pub login: String,
    /// The password.
    pub password: String,
    /// A TOTP code or recovery code, required when MFA is enabled.
    #[serde(default)]
    pub mfa_code: Option<String>,
    /// Client-chosen device identifier.
    #[serde(default)]
    pub device_id: Option<String>,
}

/// A successful sign-in.
#[derive(Debug, Clone, Serialize)]
pub struct Login {
    /// Who signed in.
    pub user: User,
    /// The new session.
    pub session: Session,
    /// Its tokens (shown once).
    pub tokens: TokenPair,
    /// The user must change the password before doing anything else.
    pub password_change_required: bool,
}

const WRONG: &str = "invalid username or password";

impl Auth {
    /// Signs in: checks the password (hashing a dummy for unknown accounts so
    /// both paths take as long), applies the lockout, rehashes when the
    /// parameters changed, checks the second factor, and opens a session.
    pub async fn login(&self, ctx: &Context, req: LoginRequest) -> Result<Login> {
        text::storable("login", &req.login)?;
        if let Some(device_id) = &req.device_id {
            text::storable("device_id", device_id)?;
        }
        let now = OffsetDateTime::now_utc();
        let login = req.login.trim();
        let by = if login.contains('@') {
            user::Column::Email.eq(login.to_lowercase())
        } else {
            username_is(login)
        };
        let found = user::Entity::find()
            .filter(by)
            .find_also_related(credential::Entity)
            .one(&self.db)
            .await?
            .filter(|(u, _)| u.status != status::DELETED);
        let Some((user, Some(cred))) = found else {
            self.hasher.verify_dummy().await?;
            return Err(Error::Unauthenticated(WRONG.into()));
        };
        if let Some(until) = cred.locked_until.filter(|t| *t > now) {
            return Err(Error::Locked(
                u64::try_from((until - now).whole_seconds().max(1)).unwrap_or(1),
            ));
        }
        let verified = self.hasher.verify(&req.password, &cred.password_hash).await?;
        if !verified.ok {
            self.record_failure(ctx, cred.user_id, now).await?;
            return Err(Error::Unauthenticated(WRONG.into()));
        }
        if suspended(&user, now) {
            return Err(Error::Unauthenticated("account suspended".into()));
        }
        let mfa_verified = self
            .check_second_factor(ctx, &cred, req.mfa_code.as_deref(), now)
            .await?;
        let new_hash = if verified.needs_rehash {
            Some(self.hasher.hash(&req.password).await?)
        } else {
            None
        };
        let txn = plinth_db::begin_write(&self.db).await?;
        let force = cred.force_password_change;
        // Most sign-ins have nothing to reset: they skip the write.
        if cred.failed_login_attempts != 0 || cred.locked_until.is_some() || new_hash.is_some() {
            let mut c: credential::ActiveModel = cred.into();
            c.failed_login_attempts = Set(0);
            c.locked_until = Set(None);
            if let Some(hash) = new_hash {
                c.password_hash = Set(hash);
            }
            c.update(&txn).await?;
        }
        let mut u: user::ActiveModel = user.into();
        u.last_active_at = Set(Some(now));
        let user = u.update(&txn).await?;
        record(
            &txn,
            ctx,
            NewEvent::new("user.logged_in", "user", user.id).payload(json!({ "mfa": mfa_verified })),
        )
        .await?;
        let mut new = NewSession::new(Subject::new("user", user.id));
        new.ip = ctx.ip.clone();
        new.user_agent = ctx.user_agent.clone();
        new.device_id = req.device_id;
        new.mfa_verified = mfa_verified;
        let (session, tokens) = self.sessions.create_in(&txn, ctx, new).await?;
        txn.commit().await?;
        Ok(Login {
            user: user.into(),
            session,
            tokens,
            password_change_required: force,
        })
    }

    /// Counts a failed sign-in (wrong password or second factor) and locks
    /// the account once the failures reach the threshold. The counter is
    /// incremented by the database, so concurrent failures are all counted,
    /// and the lock follows from the incremented value.
    pub(crate) async fn record_failure(
        &self,
        ctx: &Context,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<()> {
        let txn = plinth_db::begin_write(&self.db).await?;
        let attempts = credential::Entity::update_many()
            .col_expr(
                credential::Column::FailedLoginAttempts,
                sea_orm::sea_query::ExprTrait::add(Expr::col(credential::Column::FailedLoginAttempts), 1),
            )
            .col_expr(credential::Column::LastFailedLoginAt, Expr::value(now))
            .filter(credential::Column::UserId.eq(user_id))
            .exec_with_returning(&txn)
            .await?
            .first()
            .map(|c| c.failed_login_attempts)
            .ok_or_else(|| Error::NotFound(format!("user {user_id}")))?;
        let lockout = &self.config.lockout;
        let over = u32::try_from(attempts)
            .unwrap_or(0)
            .checked_sub(lockout.threshold);
        let locked_until = over.map(|n| {
            let secs = lockout
                .base_secs
                .saturating_mul(1u64 << n.min(30))
                .min(lockout.max_secs);
            now.saturating_add(Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX)))
        });
        credential::Entity::update_many()
            .col_expr(credential::Column::LockedUntil, Expr::value(locked_until))
            .filter(credential::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
        let topic = if locked_until.is_some() {
            "user.locked"
        } else {
            "user.login_failed"
        };
        record(
            &txn,
            ctx,
            NewEvent::new(topic, "user", user_id).payload(json!({ "attempts": attempts })),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Changes a password after checking the current one (`WrongProof` when
    /// it is wrong), and revokes every other session of the user (`keep`
    /// stays signed in).
    pub async fn change_password(
        &self,
        ctx: &Context,
        user_id: Uuid,
        current: &str,
        new: &str,
        keep: Option<Uuid>,
    ) -> Result<()> {
        let cred = credential::Entity::find_by_id(user_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {user_id}")))?;
        if !self.hasher.verify(current, &cred.password_hash).await?.ok {
            return Err(Error::WrongProof("current password is wrong".into()));
        }
        self.set_password(ctx, user_id, new, false).await?;
        self.sessions
            .revoke_all(ctx, &Subject::new("user", user_id), keep)
            .await?;
        Ok(())
    }

    /// Sets a password without checking the old one (administrators,
    /// bootstrap); `force_change` makes the user pick a new one at sign-in.
    pub async fn set_password(
        &self,
        ctx: &Context,
        user_id: Uuid,
        password: &str,
        force_change: bool,
    ) -> Result<()> {
        let hash = self.hasher.hash(password).await?;
        let txn = plinth_db::begin_write(&self.db).await?;
        find_user(&txn, user_id).await?;
        let mut c: credential::ActiveModel = credential::Entity::find_by_id(user_id)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {user_id}")))?
            .into();
        c.password_hash = Set(hash);
        c.password_changed_at = Set(OffsetDateTime::now_utc());
        c.force_password_change = Set(force_change);
        c.failed_login_attempts = Set(0);
        c.locked_until = Set(None);
        c.update(&txn).await?;
        record(&txn, ctx, NewEvent::new("user.password_changed", "user", user_id)).await?;
        txn.commit().await?;
        Ok(())
    }
}
