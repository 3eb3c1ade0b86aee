//! User accounts: creation, lookup, status, soft delete and email verification.

use plinth_events::{Context, NewEvent, record};
use sea_orm::sea_query::LockType;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::entity::{credential, email_token, user};
use crate::password::ALGORITHM;
use crate::{Auth, Error, Result, scope, text};

/// Account states, stored as strings.
pub mod status {
    /// May sign in.
    pub const ACTIVE: &str = "active";
    /// Temporarily barred (see `status_until`).
    pub const SUSPENDED: &str = "suspended";
    /// Created, email not yet verified; may sign in.
    pub const PENDING: &str = "pending_verification";
    /// Soft-deleted.
    pub const DELETED: &str = "deleted";
    /// Every state.
    pub const ALL: [&str; 4] = [ACTIVE, SUSPENDED, PENDING, DELETED];
}

/// What a new account needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 1–39 characters of letters, digits, `-`, `_` and `.`; unique
    /// regardless of case, and sign-in ignores case too.
    pub username: String,
    /// A valid email address; compared case-insensitively.
    pub email: String,
    /// Display name (defaults to the username).
    #[serde(default)]
    pub name: Option<String>,
    /// The initial password.
    pub password: String,
    /// Scopes granted directly (checked against the creator by the HTTP layer).
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// Profile fields to change; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// Display name, 1–200 bytes.
    #[serde(default)]
    pub name: Option<String>,
    /// Avatar image URL; empty clears it.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Preferences, a JSON object replacing the current one.
    #[serde(default)]
    #[cfg_attr(feature = "http", schema(value_type = Object))]
    pub preferences: Option<serde_json::Value>,
}

/// A user as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Id.
    pub id: Uuid,
    /// Unique handle.
    pub username: String,
    /// Email address (lower-cased).
    pub email: String,
    /// Whether the email was verified.
    pub email_verified: bool,
    /// Display name.
    pub name: String,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// Account state.
    pub status: String,
    /// Why the state was set.
    pub status_reason: Option<String>,
    /// Until when a suspension lasts.
    #[serde(with = "time::serde::rfc3339::option")]
    pub status_until: Option<OffsetDateTime>,
    /// Preferences.
    pub preferences: serde_json::Value,
    /// Directly granted scopes.
    pub scopes: Vec<String>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last time seen.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_active_at: Option<OffsetDateTime>,
}

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        Self {
            id: m.id,
            username: m.username,
            email: m.email,
            email_verified: m.email_verified,
            name: m.name,
            avatar_url: m.avatar_url,
            status: m.status,
            status_reason: m.status_reason,
            status_until: m.status_until,
            preferences: m.preferences,
            scopes: serde_json::from_value(m.scopes).unwrap_or_default(),
            created_at: m.created_at,
            last_active_at: m.last_active_at,
        }
    }
}

/// Checks a username: 1–39 of `[A-Za-z0-9_.-]`, not starting with `-` or `.`.
pub fn validate_username(username: &str) -> Result<()> {
    let ok = (1..=39).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !username.starts_with(['-', '.']);
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "username `{username}` must be 1-39 letters, digits, '-', '_' or '.', not starting with '-' or '.'"
        )))
    }
}

/// Matches the account whose username is `username`, ignoring case: two
/// usernames that differ only in case name one account (the unique index
/// `auth_user_username_lower_key` holds them to that).
pub(crate) fn username_is(username: &str) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    Expr::expr(Func::lower(Expr::col(user::Column::Username))).eq(username.to_ascii_lowercase())
}

/// The lower-cased email if it is a plausible address (one `@`, a dotted
/// domain, no spaces or control characters, at most 254 bytes).
pub fn normalize_email(email: &str) -> Result<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split('@').count() == 2
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email.to_lowercase())
    } else {
        Err(Error::Invalid(format!("`{email}` is not a valid email address")))
    }
}

/// Whether `user` is suspended at `now` (and so may neither sign in nor act).
pub(crate) fn suspended(user: &user::Model, now: OffsetDateTime) -> bool {
    user.status == status::SUSPENDED && user.status_until.is_none_or(|t| t > now)
}

/// The account `id` unless deleted; `NotFound` otherwise.
pub(crate) async fn find_user(conn: &impl ConnectionTrait, id: Uuid) -> Result<user::Model> {
    live(user::Entity::find_by_id(id).one(conn).await?, id)
}

/// [`find_user`], locking the row for the rest of the transaction, so that
/// changes that depend on the account being live take turns with its deletion.
/// The lock (`FOR NO KEY UPDATE`) leaves the row's key free: rows referring
/// to the account (a membership it grants, an invitation it sends) are still
/// written meanwhile, so a change holding an organisation while it writes
/// one cannot deadlock with the account's deletion locking that organisation.
pub(crate) async fn lock_user(conn: &impl ConnectionTrait, id: Uuid) -> Result<user::Model> {
    live(
        user::Entity::find_by_id(id)
            .lock(LockType::NoKeyUpdate)
            .one(conn)
            .await?,
        id,
    )
}

/// A new account's checked fields and password hash.
struct Account {
    username: String,
    email: String,
    name: String,
    hash: String,
    scopes: Vec<String>,
}

/// Inserts the account and its credential unless the username or email is
/// taken, and records `user.created`; a verified account starts active.
async fn insert_account(
    txn: &impl ConnectionTrait,
    ctx: &Context,
    account: Account,
    verified: bool,
) -> Result<user::Model> {
    let now = OffsetDateTime::now_utc();
    let id = Uuid::now_v7();
    let taken = user::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(username_is(&account.username))
                .add(user::Column::Email.eq(&account.email)),
        )
        .one(txn)
        .await?;
    if taken.is_some() {
        return Err(Error::Conflict("username or email already in use".into()));
    }
    let status = if verified { status::ACTIVE } else { status::PENDING };
    let row = user::ActiveModel {
        id: Set(id),
        username: Set(account.username.clone()),
        email: Set(account.email),
        email_verified: Set(verified),
        name: Set(account.name),
        avatar_url: Set(None),
        status: Set(status.to_owned()),
        status_reason: Set(None),
        status_until: Set(None),
        preferences: Set(json!({})),
        scopes: Set(json!(scope::normalize(account.scopes))),
        created_at: Set(now),
        updated_at: Set(now),
        last_active_at: Set(None),
        deleted_at: Set(None),
    }
    .insert(txn)
    .await?;
    credential::ActiveModel {
        user_id: Set(id),
        password_hash: Set(account.hash),
        password_algorithm: Set(ALGORITHM.to_owned()),
        mfa_enabled: Set(false),
        mfa_secret_encrypted: Set(None),
        mfa_recovery_codes_hash: Set(json!([])),
        password_changed_at: Set(now),
        force_password_change: Set(false),
        failed_login_attempts: Set(0),
        locked_until: Set(None),
        last_failed_login_at: Set(None),
    }
    .insert(txn)
    .await?;
    record(
        txn,
        ctx,
        NewEvent::new("user.created", "user", id)
            .payload(json!({ "username": account.username, "email_verified": verified })),
    )
    .await?;
    Ok(row)
}

fn live(found: Option<user::Model>, id: Uuid) -> Result<user::Model> {
    found
        .filter(|u| u.status != status::DELETED)
        .ok_or_else(|| Error::NotFound(format!("user {id}")))
}

impl Auth {
    /// Creates an account with a password; the email starts unverified.
    /// Returns the user and an email-verification token to deliver.
    pub async fn create_user(&self, ctx: &Context, new: NewUser) -> Result<(User, String)> {
        let account = self.prepare_account(new).await?;
        let txn = plinth_db::begin_write(&self.db).await?;
        let user = insert_account(&txn, ctx, account, false).await?;
        let token = self
            .issue_email_token(&txn, user.id, &user.email, user.created_at)
            .await?;
        txn.commit().await?;
        Ok((user.into(), token))
    }

    /// Creates an active account whose email is taken as verified, in one
    /// transaction and without a verification token: for administrators
    /// and bootstrap, who vouch for the address themselves.
    pub async fn create_verified_user(&self, ctx: &Context, new: NewUser) -> Result<User> {
        let account = self.prepare_account(new).await?;
        let txn = plinth_db::begin_write(&self.db).await?;
        let user = insert_account(&txn, ctx, account, true).await?;
        txn.commit().await?;
        Ok(user.into())
    }

    /// Checks a new account's fields and hashes its password, before any
    /// transaction begins.
    async fn prepare_account(&self, new: NewUser) -> Result<Account> {
        validate_username(&new.username)?;
        let email = normalize_email(&new.email)?;
        scope::validate_all(&new.scopes)?;
        let name = text::optional("name", new.name, 200)?.unwrap_or_else(|| new.username.clone());
        let hash = self.hasher.hash(&new.password).await?;
        Ok(Account {
            username: new.username,
            email,
            name,
            hash,
            scopes: new.scopes,
        })
    }

    async fn issue_email_token(
        &self,
        txn: &impl ConnectionTrait,
        user_id: Uuid,
        email: &str,
        now: OffsetDateTime,
    ) -> Result<String> {
        let token = plinth_db::secret::generate("plev_").map_err(|e| Error::Internal(e.to_string()))?;
        let ttl = i64::try_from(self.config.tokens.email_verification_secs).unwrap_or(i64::MAX);
        email_token::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            email: Set(email.to_owned()),
            token_hash: Set(token.hash),
            created_at: Set(now),
            expires_at: Set(now.saturating_add(Duration::seconds(ttl))),
            used_at: Set(None),
        }
        .insert(txn)
        .await?;
        record(
            txn,
            &Context::default(),
            NewEvent::new("user.email_verification_requested", "user", user_id),
        )
        .await?;
        Ok(token.plaintext)
    }

    /// Issues a new email-verification token for the user's current address.
    pub async fn request_email_verification(&self, user_id: Uuid) -> Result<String> {
        let txn = plinth_db::begin_write(&self.db).await?;
        let user = find_user(&txn, user_id).await?;
        let token = self
            .issue_email_token(&txn, user_id, &user.email, OffsetDateTime::now_utc())
            .await?;
        txn.commit().await?;
        Ok(token)
    }

    /// Marks the email verified (and a pending account active) if the token
    /// is known, unused, unexpired and for the user's current address.
    pub async fn verify_email(&self, ctx: &Context, token: &str) -> Result<User> {
        let hash = plinth_db::secret::parse(token, "plev_")
            .ok_or_else(|| Error::Invalid("malformed verification token".into()))?;
        let now = OffsetDateTime::now_utc();
        let txn = plinth_db::begin_write(&self.db).await?;
        let row = email_token::Entity::find()
            .filter(email_token::Column::TokenHash.eq(hash))
            .one(&txn)
            .await?
            .filter(|t| t.used_at.is_none() && t.expires_at > now)
            .ok_or_else(|| Error::Invalid("verification token is unknown, used or expired".into()))?;
        let user = find_user(&txn, row.user_id).await?;
        if user.email != row.email {
            return Err(Error::Invalid(
                "verification token is for a previous address".into(),
            ));
        }
        let mut token_row: email_token::ActiveModel = row.into();
        token_row.used_at = Set(Some(now));
        token_row.update(&txn).await?;
        let was_pending = user.status == status::PENDING;
        let mut active: user::ActiveModel = user.into();
        active.email_verified = Set(true);
        if was_pending {
            active.status = Set(status::ACTIVE.to_owned());
        }
        active.updated_at = Set(now);
        let user = active.update(&txn).await?;
        record(&txn, ctx, NewEvent::new("user.email_verified", "user", user.id)).await?;
        txn.commit().await?;
        self.user_changed(user.id);
        Ok(user.into())
    }

    /// The user with `id` (deleted accounts are not found).
    pub async fn get_user(&self, id: Uuid) -> Result<User> {
        Ok(find_user(&self.db, id).await?.into())
    }

    /// Changes the profile fields that are given: display name, avatar URL
    /// (empty clears it) and preferences (a JSON object).
    pub async fn update_profile(&self, ctx: &Context, id: Uuid, change: ProfileUpdate) -> Result<User> {
        let name = change.name.map(|n| text::required("name", &n, 200)).transpose()?;
        let avatar_url = change
            .avatar_url
            .map(|u| text::optional("avatar_url", Some(u), 2048))
            .transpose()?;
        if let Some(preferences) = &change.preferences {
            if !preferences.is_object() {
                return Err(Error::Invalid("preferences must be a JSON object".into()));
            }
            text::storable_json("preferences", preferences)?;
        }
        let txn = plinth_db::begin_write(&self.db).await?;
        let mut active: user::ActiveModel = find_user(&txn, id).await?.into();
        if let Some(name) = name {
            active.name = Set(name);
        }
        if let Some(url) = avatar_url {
            active.avatar_url = Set(url);
        }
        if let Some(preferences) = change.preferences {
            active.preferences = Set(preferences);
        }
        active.updated_at = Set(OffsetDateTime::now_utc());
        let user = active.update(&txn).await?;
        record(&txn, ctx, NewEvent::new("user.profile_updated", "user", id)).await?;
        txn.commit().await?;
        Ok(user.into())
    }

    /// Sets an account's status, with a reason and an end for suspensions.
    /// Suspending or deleting revokes every session of the user. Deleting is
    /// a `Conflict` while the user is the last owner of an organisation.
    pub async fn set_status(
        &self,
        ctx: &Context,
        id: Uuid,
        new_status: &str,
        reason: Option<String>,
        until: Option<OffsetDateTime>,
    ) -> Result<User> {
        if !status::ALL.contains(&new_status) {
            return Err(Error::Invalid(format!(
                "status must be one of {}",
                status::ALL.join(", ")
            )));
        }
        if let Some(reason) = &reason {
            text::storable("reason", reason)?;
        }
        let until = until.map(|t| text::time("until", t)).transpose()?;
        let now = OffsetDateTime::now_utc();
        let txn = plinth_db::begin_write(&self.db).await?;
        let mut active: user::ActiveModel = lock_user(&txn, id).await?.into();
        if new_status == status::DELETED {
            crate::orgs::keep_owners_of(&txn, id).await?;
        }
        active.status = Set(new_status.to_owned());
        active.status_reason = Set(reason);
        active.status_until = Set(until);
        active.updated_at = Set(now);
        if new_status == status::DELETED {
            active.deleted_at = Set(Some(now));
        }
        let user = active.update(&txn).await?;
        record(
            &txn,
            ctx,
            NewEvent::new("user.status_changed", "user", id).payload(json!({ "status": new_status })),
        )
        .await?;
        txn.commit().await?;
        self.user_changed(id);
        if matches!(new_status, status::SUSPENDED | status::DELETED) {
            self.sessions
                .revoke_all(ctx, &plinth_sessions::Subject::new("user", id), None)
                .await?;
        }
        Ok(user.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_checked() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("a.b-c_d9").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("-x").is_err());
        assert!(validate_username("has space").is_err());
        assert!(validate_username(&"a".repeat(40)).is_err());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email(" Alice@Example.COM ").ok().as_deref(),
            Some("alice@example.com")
        );
        for bad in [
            "", "a", "a@b", "@b.c", "a@@b.c", "a b@c.d", "a@.b.c", "a@b..c", "a@b.c.",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
