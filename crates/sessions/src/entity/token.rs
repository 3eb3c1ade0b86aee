//! `sessions_token`: access and refresh tokens, stored only as hashes.

use sea_orm::entity::prelude::*;

/// One token of a session. The plaintext is never stored: `token_hash` is
/// the BLAKE3 hash of the token, which is how tokens are looked up.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions_token")]
pub struct Model {
    /// Time-ordered id (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The session the token belongs to.
    pub session: Uuid,
    /// `access` or `refresh`.
    pub kind: String,
    /// Hex BLAKE3 hash of the token.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// For an access token: the refresh token issued with it.
    pub refresh_token: Option<Uuid>,
    /// For a rotated refresh token: the refresh token its first rotation issued.
    pub successor_id: Option<Uuid>,
    /// When the token was issued.
    pub created_at: TimeDateTimeWithTimeZone,
    /// When the token stops being accepted.
    pub expires_at: TimeDateTimeWithTimeZone,
    /// For a refresh token: when it was first exchanged for a new pair.
    pub rotated_at: Option<TimeDateTimeWithTimeZone>,
    /// When the token was revoked, if it was.
    pub revoked_at: Option<TimeDateTimeWithTimeZone>,
}

/// A token belongs to a session.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The session the token belongs to.
    #[sea_orm(
        belongs_to = "super::session::Entity",
        from = "Column::Session",
        to = "super::session::Column::Id",
        on_delete = "Cascade"
    )]
    Session,
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
