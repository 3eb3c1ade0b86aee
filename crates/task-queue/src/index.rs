//! The index: dotted names pointing at tasks (`project.app.main.latest`),
//! each kept while no higher rank replaces it, browsable by namespace.

use plinth_events::{Context, NewEvent, record};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Value};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::{indexed, namespace};
use crate::page::{self, Page};
use crate::store::{begin, stmt};
use crate::{Error, IndexedTask, Queue, Result, validate};
use plinth_db::OptionExt;

/// Topic recorded when an index entry is written.
pub const INDEX_UPDATED: &str = "index.updated";

/// A namespace of the index: `parent.name`.
pub use crate::entity::namespace::Model as Namespace;

/// Splits `a.b.c` into namespace `a.b` and name `c`.
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('.').unwrap_or(("", path))
}

impl Queue {
    /// Points `path` at `task_id` with `rank`, unless the current entry has a
    /// higher rank and has not expired (then nothing changes and no event is
    /// recorded). Returns the entry as it stands.
    pub async fn index_task(
        &self,
        ctx: &Context,
        path: &str,
        task_id: Uuid,
        rank: i64,
        data: serde_json::Value,
        expires: OffsetDateTime,
    ) -> Result<IndexedTask> {
        validate::index_path(path, false)?;
        validate::json("index data", &data, self.config().max_payload_bytes)?;
        self.task(task_id).await?;
        let now = self.now();
        let expires = validate::time("expires", expires)?;
        if expires <= now {
            return Err(Error::Invalid("an index entry must expire in the future".into()));
        }
        let (ns, name) = split(path);
        let txn = begin(self.db()).await?;
        let upsert = "INSERT INTO queue_index (namespace, name, rank, task_id, data, expires) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (namespace, name) DO UPDATE SET rank = excluded.rank, task_id = excluded.task_id, \
               data = excluded.data, expires = excluded.expires \
             WHERE queue_index.rank <= excluded.rank OR queue_index.expires <= $7";
        let values: Vec<Value> = vec![
            ns.into(),
            name.into(),
            rank.into(),
            task_id.into(),
            data.into(),
            expires.into(),
            now.into(),
        ];
        let written = txn.execute_raw(stmt(&txn, upsert, values)).await?.rows_affected();
        if written > 0 {
            add_namespaces(&txn, ns, expires).await?;
            let event = NewEvent::new(INDEX_UPDATED, "index", path)
                .payload(json!({ "task_id": task_id, "rank": rank }));
            record(&txn, ctx, event).await?;
        }
        let entry = indexed::Entity::find_by_id((ns.to_owned(), name.to_owned()))
            .one(&txn)
            .await?
            .or_not_found(format!("index entry `{path}`"))?;
        txn.commit().await?;
        Ok(entry)
    }

    /// The unexpired entry at `path`.
    pub async fn find_indexed(&self, path: &str) -> Result<IndexedTask> {
        validate::index_path(path, false)?;
        let (ns, name) = split(path);
        Ok(indexed::Entity::find_by_id((ns.to_owned(), name.to_owned()))
            .filter(indexed::Column::Expires.gt(self.now()))
            .one(self.db())
            .await?
            .or_not_found(format!("index entry `{path}`"))?)
    }

    /// The unexpired entry of highest rank directly in `namespace` (latest
    /// name first among equal ranks).
    pub async fn latest_in(&self, namespace: &str) -> Result<IndexedTask> {
        validate::index_path(namespace, true)?;
        Ok(indexed::Entity::find()
            .filter(indexed::Column::Namespace.eq(namespace))
            .filter(indexed::Column::Expires.gt(self.now()))
            .order_by_desc(indexed::Column::Rank)
            .order_by_desc(indexed::Column::Name)
            .one(self.db())
            .await?
            .or_not_found(format!("index entries in `{namespace}`"))?)
    }

    /// The unexpired entries directly in `namespace`, by name.
    pub async fn indexed_in(
        &self,
        namespace: &str,
        continuation: Option<&str>,
        limit: u64,
    ) -> Result<Page<IndexedTask>> {
        validate::index_path(namespace, true)?;
        let limit = page::limit(limit);
        let mut query = indexed::Entity::find()
            .filter(indexed::Column::Namespace.eq(namespace))
            .filter(indexed::Column::Expires.gt(self.now()));
        if let Some(after) = page::name_token(continuation)? {
            query = query.filter(indexed::Column::Name.gt(after));
        }
        let items = query
            .order_by_asc(indexed::Column::Name)
            .limit(limit)
            .all(self.db())
            .await?;
        Ok(Page::of(items, limit, |e| e.name.clone()))
    }

    /// The unexpired namespaces directly under `parent` (`""` for the root), by name.
    pub async fn namespaces(
        &self,
        parent: &str,
        continuation: Option<&str>,
        limit: u64,
    ) -> Result<Page<Namespace>> {
        validate::index_path(parent, true)?;
        let limit = page::limit(limit);
        let mut query = namespace::Entity::find()
            .filter(namespace::Column::Parent.eq(parent))
            .filter(namespace::Column::Expires.gt(self.now()));
        if let Some(after) = page::name_token(continuation)? {
            query = query.filter(namespace::Column::Name.gt(after));
        }
        let items = query
            .order_by_asc(namespace::Column::Name)
            .limit(limit)
            .all(self.db())
            .await?;
        Ok(Page::of(items, limit, |n| n.name.clone()))
    }
}

/// Creates `ns` and every namespace above it, extending their expiry to `expires`.
async fn add_namespaces(conn: &impl ConnectionTrait, ns: &str, expires: OffsetDateTime) -> Result<()> {
    if ns.is_empty() {
        return Ok(());
    }
    let mut values: Vec<Value> = vec![expires.into()];
    let mut tuples = Vec::new();
    let mut parent = String::new();
    for segment in ns.split('.') {
        let n = values.len();
        tuples.push(format!("(${}, ${}, $1)", n + 1, n + 2));
        values.push(parent.clone().into());
        values.push(segment.to_owned().into());
        if !parent.is_empty() {
            parent.push('.');
        }
        parent.push_str(segment);
    }
    let sql = format!(
        "INSERT INTO queue_index_namespace (parent, name, expires) VALUES {} \
         ON CONFLICT (parent, name) DO UPDATE SET expires = excluded.expires \
         WHERE queue_index_namespace.expires < excluded.expires",
        tuples.join(", ")
    );
    conn.execute_raw(stmt(conn, sql, values)).await?;
    Ok(())
}
