//! Deleting dead sessions and tokens once their retention period is over.

use plinth_db::Backend;
use plinth_db::sql::delete_in_batches;
use sea_orm::Condition;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::entity::{session, token};
use crate::{Result, Sessions};

/// The earliest cutoff cleanup compares with: both databases store it, and
/// nothing the service writes is older.
const EARLIEST: OffsetDateTime = datetime!(0001-01-01 0:00 UTC);

/// `at` minus `by`, no earlier than [`EARLIEST`] however large `by` is.
fn back(at: OffsetDateTime, by: Duration) -> OffsetDateTime {
    at.saturating_sub(by).max(EARLIEST)
}

/// What a cleanup deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// Sessions deleted (their tokens go with them and are not counted below).
    pub sessions: u64,
    /// Tokens deleted from sessions that are kept.
    pub tokens: u64,
}

impl Sessions {
    /// Deletes what has been dead for longer than the retention period as of
    /// `now`: sessions revoked, past their absolute lifetime or idle-timed-out,
    /// with all their tokens; then expired or revoked tokens of the remaining
    /// sessions. Live sessions, live tokens and rotated refresh tokens that
    /// have not yet expired (still needed to detect reuse) are kept.
    ///
    /// Deletes `cleanup_batch_size` rows per statement, so no transaction
    /// grows large and concurrent requests are not blocked for long. The rows
    /// deleted were already unusable, and their revocations already recorded,
    /// so no event is recorded.
    pub async fn cleanup(&self, now: OffsetDateTime) -> Result<CleanupReport> {
        let backend = Backend::of(&self.db)?;
        let cutoff = back(now, self.config.retention());
        let mut dead_sessions = Condition::any()
            .add(backend.before(session::Column::RevokedAt, cutoff))
            .add(backend.before(session::Column::ExpiresAt, cutoff));
        if let Some(idle) = self.config.idle_timeout() {
            dead_sessions =
                dead_sessions.add(backend.before(session::Column::LastActiveAt, back(cutoff, idle)));
        }
        let dead_tokens = Condition::any()
            .add(backend.before(token::Column::RevokedAt, cutoff))
            .add(backend.before(token::Column::ExpiresAt, cutoff));
        let batch = self.config.cleanup_batch_size;
        Ok(CleanupReport {
            sessions: delete_in_batches(
                &self.db,
                session::Entity,
                session::Column::Id,
                dead_sessions,
                batch,
            )
            .await?,
            tokens: delete_in_batches(&self.db, token::Entity, token::Column::Id, dead_tokens, batch).await?,
        })
    }
}
