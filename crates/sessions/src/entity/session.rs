//! `sessions_session`: one row per signed-in session.

use sea_orm::Set;
use sea_orm::entity::prelude::*;
use time::OffsetDateTime;

/// A session of a subject (a user, a client…), with its data and activity.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions_session")]
pub struct Model {
    /// Time-ordered id (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Kind of the signed-in subject, e.g. `user` or `client`.
    pub subject_type: String,
    /// Id of the signed-in subject.
    pub subject_id: String,
    /// Arbitrary data the application keeps with the session.
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    /// BLAKE3 of the canonical JSON of `data`.
    pub checksum: String,
    /// Client IP address at sign-in.
    pub ip_address: Option<String>,
    /// Client user agent at sign-in.
    pub user_agent: Option<String>,
    /// Client-chosen device identifier.
    pub device_id: Option<String>,
    /// Whether a second factor was verified in this session.
    pub mfa_verified: bool,
    /// When the session was created.
    pub created_at: TimeDateTimeWithTimeZone,
    /// When the session's data or state last changed (not its activity).
    pub updated_at: TimeDateTimeWithTimeZone,
    /// Last authentication or refresh, written at most once per touch interval.
    pub last_active_at: TimeDateTimeWithTimeZone,
    /// End of the session's absolute lifetime.
    pub expires_at: TimeDateTimeWithTimeZone,
    /// When the session was revoked, if it was.
    pub revoked_at: Option<TimeDateTimeWithTimeZone>,
    /// Why it was revoked: `revoked`, `revoke_all` or `refresh_reused`.
    pub revoke_reason: Option<String>,
}

/// A session has many tokens.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The session's access and refresh tokens.
    #[sea_orm(has_many = "super::token::Entity")]
    Token,
}

impl Related<super::token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Token.def()
    }
}

#[async_trait::async_trait]
impl ActiveModelBehavior for ActiveModel {
    /// Keeps `updated_at` current on every save, unless the caller set it
    /// (the service sets it from its own clock).
    async fn before_save<C>(mut self, _db: &C, _insert: bool) -> Result<Self, DbErr>
    where
        C: ConnectionTrait,
    {
        if !self.updated_at.is_set() {
            self.updated_at = Set(OffsetDateTime::now_utc());
        }
        Ok(self)
    }
}
