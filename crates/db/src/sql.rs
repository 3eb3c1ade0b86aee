//! Small portable SQL pieces every crate needs: timestamp comparison that is
//! correct on SQLite, and deletion in bounded batches.

use sea_orm::sea_query::{Expr, ExprTrait, IntoColumnRef, IntoTableRef, Query};
use sea_orm::{Condition, ConnectionTrait};
use time::OffsetDateTime;

use crate::{Backend, Result};

impl Backend {
    /// `column < at` for a timestamp column. SQLite keeps timestamps as
    /// RFC 3339 text whose fractional seconds vary in length, so text order is
    /// not time order there: it compares Julian days instead. NULL compares
    /// false on both backends.
    pub fn before(self, column: impl IntoColumnRef, at: OffsetDateTime) -> Expr {
        match self {
            Self::Postgres => Expr::col(column).lt(at),
            Self::Sqlite => {
                Expr::cust_with_exprs("julianday(?) < julianday(?)", [Expr::col(column), Expr::val(at)])
            }
        }
    }

    /// `column <= at` for a timestamp column (see [`Backend::before`]).
    pub fn not_after(self, column: impl IntoColumnRef, at: OffsetDateTime) -> Expr {
        match self {
            Self::Postgres => Expr::col(column).lte(at),
            Self::Sqlite => {
                Expr::cust_with_exprs("julianday(?) <= julianday(?)", [Expr::col(column), Expr::val(at)])
            }
        }
    }
}

/// A configured batch size as a statement's `LIMIT` can take it: at least 1
/// and at most `i64::MAX`, the databases' largest integer, since larger
/// values cannot be bound.
pub fn batch_limit(batch: u64) -> u64 {
    batch.clamp(1, i64::MAX.unsigned_abs())
}

/// Deletes the rows of `table` matching `cond`, at most `batch` per
/// statement (selected by their `id` column; see [`batch_limit`]) until none
/// are left, so no single statement locks or logs much. Returns how many rows were deleted.
pub async fn delete_in_batches(
    conn: &impl ConnectionTrait,
    table: impl IntoTableRef + Clone,
    id: impl IntoColumnRef + Clone,
    cond: Condition,
    batch: u64,
) -> Result<u64> {
    let batch = batch_limit(batch);
    let mut total = 0;
    loop {
        let ids = Query::select()
            .column(id.clone())
            .from(table.clone())
            .cond_where(cond.clone())
            .limit(batch)
            .to_owned();
        let delete = Query::delete()
            .from_table(table.clone())
            .and_where(Expr::col(id.clone()).in_subquery(ids))
            .to_owned();
        let deleted = conn.execute(&delete).await?.rows_affected();
        total += deleted;
        if deleted < batch {
            return Ok(total);
        }
    }
}
