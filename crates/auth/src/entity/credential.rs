//! `auth_credential`: a user's password hash, MFA secret and lockout state.

use sea_orm::entity::prelude::*;

/// Credentials, kept apart from the user row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auth_credential")]
pub struct Model {
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// PHC string of the argon2id hash (salt and parameters included).
    pub password_hash: String,
    /// Always `argon2id` today.
    pub password_algorithm: String,
    /// Whether TOTP is enrolled and confirmed.
    pub mfa_enabled: bool,
    /// The TOTP secret, AEAD-encrypted (base64 of nonce and ciphertext).
    pub mfa_secret_encrypted: Option<String>,
    /// BLAKE3 hashes of unused recovery codes (JSON array).
    pub mfa_recovery_codes_hash: Json,
    /// When the password last changed.
    pub password_changed_at: TimeDateTimeWithTimeZone,
    /// The user must choose a new password at next sign-in.
    pub force_password_change: bool,
    /// Consecutive failed sign-ins.
    pub failed_login_attempts: i32,
    /// Sign-in refused until then.
    pub locked_until: Option<TimeDateTimeWithTimeZone>,
    /// When the last failed sign-in happened.
    pub last_failed_login_at: Option<TimeDateTimeWithTimeZone>,
}

/// The owning user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The user these credentials belong to.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
