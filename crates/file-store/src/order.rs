//! Dense sibling positions (0, 1, 2…) shared by file groups and attachments:
//! serialising the writers of one table, and checking a requested order.

use std::collections::HashSet;

use plinth_db::Backend;
use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement};
use uuid::Uuid;

use crate::{Error, Result};

/// Serialises transactions that renumber positions in `table`, so that two
/// of them never compute positions (or walk ancestors) from the same stale
/// state. PostgreSQL takes a transaction-scoped advisory lock named after the
/// table; SQLite takes its single write lock with a statement that changes nothing.
pub(crate) async fn lock(txn: &DatabaseTransaction, table: &'static str) -> Result<()> {
    let backend = Backend::of(txn)?;
    let stmt = match backend {
        Backend::Postgres => Statement::from_sql_and_values(
            backend.db_backend(),
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [table.into()],
        ),
        Backend::Sqlite => Statement::from_string(
            backend.db_backend(),
            format!("UPDATE \"{table}\" SET \"id\" = \"id\" WHERE \"id\" IS NULL"),
        ),
    };
    txn.execute_raw(stmt).await?;
    Ok(())
}

/// Checks that `wanted` lists exactly the ids of `current`, each once.
pub(crate) fn check_permutation(current: &[Uuid], wanted: &[Uuid]) -> Result<()> {
    let have: HashSet<_> = current.iter().collect();
    let mut seen = HashSet::new();
    let valid = wanted.len() == current.len() && wanted.iter().all(|id| have.contains(id) && seen.insert(id));
    if valid {
        Ok(())
    } else {
        Err(Error::Invalid(
            "the new order must list every current item exactly once".into(),
        ))
    }
}

/// The position for an item inserted at `position` among `count` siblings:
/// the end when absent or past it.
pub(crate) fn slot(position: Option<u32>, count: u64) -> i32 {
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    position
        .and_then(|p| i32::try_from(p).ok())
        .map_or(count, |p| p.min(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_checked() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(check_permutation(&[a, b], &[b, a]).is_ok());
        assert!(check_permutation(&[a, b], &[a, a]).is_err());
        assert!(check_permutation(&[a, b], &[a]).is_err());
        assert!(check_permutation(&[a], &[b]).is_err());
        assert_eq!(slot(None, 3), 3);
        assert_eq!(slot(Some(1), 3), 1);
        assert_eq!(slot(Some(9), 3), 3);
    }
}
