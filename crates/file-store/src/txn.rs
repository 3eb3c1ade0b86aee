//! Ending transactions explicitly. A transaction dropped on an error path is
//! rolled back only later, in the background; on SQLite it holds the write
//! lock until then and the next writer fails with "database is locked". So
//! every transaction here ends with [`settle`]: commit on success, roll back
//! at once on failure.

use sea_orm::DatabaseTransaction;

use crate::Result;

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
