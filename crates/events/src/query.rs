//! Reading events: audit queries, consumer pages and retention.

use plinth_db::Backend;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use time::OffsetDateTime;

use crate::entity::event::{Column, Entity};
use crate::record::storable;
use crate::{Cursor, Event, Page, Result};

/// Largest page any query returns.
pub const MAX_PAGE: u64 = 1_000;

/// Reads the event table.
#[derive(Debug, Clone)]
pub struct Events {
    db: DatabaseConnection,
}

impl Events {
    /// A reader over `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Up to `limit` committed events after `cursor`, oldest first, never
    /// skipping one that commits later (see [`crate::cursor`]).
    pub async fn after(&self, cursor: Cursor, limit: u64) -> Result<Page> {
        let mut cond = Condition::any().add(Column::TxId.gt(cursor.tx_id)).add(
            Condition::all()
                .add(Column::TxId.eq(cursor.tx_id))
                .add(Column::Id.gt(cursor.id)),
        );
        if Backend::of(&self.db)? == Backend::Postgres {
            cond = Condition::all().add(cond).add(Expr::cust(
                "tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
            ));
        }
        let events = Entity::find()
            .filter(cond)
            .order_by_asc(Column::TxId)
            .order_by_asc(Column::Id)
            .limit(limit.clamp(1, MAX_PAGE))
            .all(&self.db)
            .await?;
        let next = events.last().map_or(cursor, Cursor::of);
        Ok(Page { events, next })
    }

    /// Events by one actor, newest first, before event id `before` if given.
    pub async fn by_actor(
        &self,
        actor_type: &str,
        actor_id: &str,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Event>> {
        storable("actor kind", actor_type)?;
        storable("actor id", actor_id)?;
        self.newest(
            Condition::all()
                .add(Column::ActorType.eq(actor_type))
                .add(Column::ActorId.eq(actor_id)),
            before,
            limit,
        )
        .await
    }

    /// Events about one subject, newest first, before event id `before` if given.
    pub async fn by_subject(
        &self,
        subject_type: &str,
        subject_id: &str,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Event>> {
        storable("subject type", subject_type)?;
        storable("subject id", subject_id)?;
        self.newest(
            Condition::all()
                .add(Column::SubjectType.eq(subject_type))
                .add(Column::SubjectId.eq(subject_id)),
            before,
            limit,
        )
        .await
    }

    async fn newest(&self, mut cond: Condition, before: Option<i64>, limit: u64) -> Result<Vec<Event>> {
        if let Some(before) = before {
            cond = cond.add(Column::Id.lt(before));
        }
        Ok(Entity::find()
            .filter(cond)
            .order_by_desc(Column::Id)
            .limit(limit.clamp(1, MAX_PAGE))
            .all(&self.db)
            .await?)
    }

    /// Deletes events created before `older_than`, `batch` rows per statement
    /// (at least 1, at most `i64::MAX`) so no single transaction grows large. Returns how many were deleted.
    /// Cursors are kept by their consumers, not here, so pruning goes by age
    /// alone: a consumer still behind `older_than` never sees what it deletes.
    pub async fn prune(&self, older_than: OffsetDateTime, batch: u64) -> Result<u64> {
        let backend = Backend::of(&self.db)?;
        let old = Condition::all().add(backend.before(Column::CreatedAt, older_than));
        Ok(plinth_db::sql::delete_in_batches(&self.db, Entity, Column::Id, old, batch).await?)
    }
}
