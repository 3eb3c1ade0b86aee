//! Completed runs stored on PostgreSQL in one statement: the held runs are
//! locked and their tasks resolved without the rows travelling to the client
//! and back. The task row keeps the run it ended, so nothing else is written.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use time::OffsetDateTime;

use uuid::Uuid;

use crate::entity::task;
use crate::resolve::Resolved;
use crate::store::stmt;
use crate::{Outcome, Report, Result};

/// Resolves as completed the tasks whose runs the reporting workers hold
/// and whose deadline has not come ([`past_deadline`](crate::control::past_deadline)).
/// The update locks the rows as it goes, in the order of the reports,
/// which [`rows`] sorts by task id as every other lock on tasks is taken.
/// `$1` holds the reports, `$2` the time; the list of columns returned follows.
const SQL: &str = "\
UPDATE queue_task t
SET state = 'completed', reason = 'completed', result = r.result, error = NULL,
    resolved_at = $2, updated_at = $2
FROM jsonb_to_recordset($1)
  AS r(id uuid, run_id integer, worker_group text, worker_id text, result jsonb)
WHERE t.id = r.id AND t.state = 'running' AND t.run_id = r.run_id
  AND t.worker_group = r.worker_group AND t.worker_id = r.worker_id
  AND (t.deadline IS NULL OR t.deadline > $2)
RETURNING ";

/// The reports as the statement's rows in task id order, when every one is
/// of a completed run and no task appears twice; `None` sends them down the
/// general path.
pub(crate) fn rows(reports: &[Report]) -> Option<Vec<serde_json::Value>> {
    let mut seen = HashSet::with_capacity(reports.len());
    let mut sorted: Vec<&Report> = reports.iter().collect();
    sorted.sort_by_key(|r| r.task_id);
    sorted
        .into_iter()
        .map(|r| match &r.outcome {
            Outcome::Completed { result } if seen.insert(r.task_id) => Some(json!({
                "id": r.task_id,
                "run_id": r.run_id,
                "worker_group": r.worker.worker_group,
                "worker_id": r.worker.worker_id,
                "result": result,
            })),
            _ => None,
        })
        .collect()
}

/// Stores the completions `rows` (from [`rows`]) in one statement; returns
/// the tasks that resolved, those whose run the reporting worker held, as `T`.
pub(crate) async fn store<T: Returned>(
    conn: &impl ConnectionTrait,
    rows: Vec<serde_json::Value>,
    now: OffsetDateTime,
) -> Result<Vec<T>> {
    let sql = format!("{SQL}{}", T::COLUMNS);
    let statement = stmt(conn, sql, vec![serde_json::Value::Array(rows).into(), now.into()]);
    let rows = conn.query_all_raw(statement).await?;
    Ok(rows
        .iter()
        .map(|row| T::from_query_result(row, ""))
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

/// What reporting returns of each changed task: the whole task, or only
/// what the steps after a resolution need.
pub(crate) trait Returned: FromQueryResult + From<task::Model> + Send {
    /// The columns read, as a `RETURNING` list of the task table aliased `t`.
    const COLUMNS: &'static str;
    /// The task's id.
    fn id(&self) -> Uuid;
    /// The task as the steps after a resolution see it.
    fn resolved(&self) -> Resolved;
}

impl Returned for task::Model {
    const COLUMNS: &'static str = "t.*";
    fn id(&self) -> Uuid {
        self.id
    }
    fn resolved(&self) -> Resolved {
        Resolved::from(self)
    }
}

impl Returned for Resolved {
    const COLUMNS: &'static str = Resolved::COLUMNS;
    fn id(&self) -> Uuid {
        self.id
    }
    fn resolved(&self) -> Resolved {
        self.clone()
    }
}
