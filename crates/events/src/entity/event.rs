//! `events_event`: one row per recorded event.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A recorded event: what happened (`topic`), to what (`subject_*`), by whom
/// (`actor_*`), from where (`request_id`, `ip`, `user_agent`), and details.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "events_event")]
pub struct Model {
    /// Sequence number, increasing in insertion order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// PostgreSQL transaction id that wrote the row (0 on SQLite); orders consumers.
    pub tx_id: i64,
    /// Dotted topic, e.g. `repo.pushed`.
    pub topic: String,
    /// Kind of the thing acted upon, e.g. `repo`.
    pub subject_type: String,
    /// Id of the thing acted upon.
    pub subject_id: String,
    /// Kind of the actor (`user`, `client`, `system`…), if known.
    pub actor_type: Option<String>,
    /// Id of the actor, if known.
    pub actor_id: Option<String>,
    /// Id of the HTTP request that caused the event.
    pub request_id: Option<String>,
    /// Client IP address of that request.
    pub ip: Option<String>,
    /// Client user agent of that request.
    pub user_agent: Option<String>,
    /// Topic-specific details.
    pub payload: Json,
    /// When the event was recorded.
    pub created_at: TimeDateTimeWithTimeZone,
}

/// The event table has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
