//! Beginning and ending write transactions.
//!
//! Every transaction here begins with [`begin`]: on SQLite it takes the
//! write lock at once, so one that reads before it writes waits for other
//! writers instead of failing with `SQLITE_BUSY` when one commits in between.
//! Rows a transaction changes after reading them are read with
//! [`find_locked`], so that concurrent changes of one row queue behind each
//! other on PostgreSQL and the later one sees the row as it was left.
//!
//! A transaction dropped on an error path is rolled back only later, in the
//! background; on SQLite it holds the write lock until then and the next
//! writer fails with "database is locked". So every transaction here ends
//! with [`settle`]: commit on success, roll back at once on failure.

use plinth_db::OptionExt;
use sea_orm::{DatabaseConnection, DatabaseTransaction, EntityTrait, PrimaryKeyTrait, QuerySelect};
use uuid::Uuid;

use crate::Result;

/// Begins a transaction that will write ([`plinth_db::begin_write`]).
pub(crate) async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    Ok(plinth_db::begin_write(db).await?)
}

/// The row of `E` with `id` (not found as `what {id}`), locked until `txn`
/// ends on PostgreSQL; SQLite's write transactions already exclude each other.
pub(crate) async fn find_locked<E>(txn: &DatabaseTransaction, id: Uuid, what: &str) -> Result<E::Model>
where
    E: EntityTrait,
    E::PrimaryKey: PrimaryKeyTrait<ValueType = Uuid>,
{
    Ok(E::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .or_not_found(format!("{what} {id}"))?)
}

/// Commits `txn` if `result` is `Ok`, otherwise rolls it back, and returns `result`.
pub(crate) async fn settle<T>(txn: DatabaseTransaction, result: Result<T>) -> Result<T> {
    match result {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = txn.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}
