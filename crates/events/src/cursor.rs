//! Consumer cursors that never skip an event.
//!
//! On PostgreSQL, sequence values are taken when rows are inserted, not when
//! transactions commit: transaction A may take id 1, B id 2, B commit, a
//! consumer read id 2 and advance past it, and only then A commit id 1 — a
//! naive `id > cursor` consumer never sees it. Each row therefore carries the
//! id of the transaction that wrote it (`tx_id`), consumers order by
//! `(tx_id, id)`, and they only read rows whose transaction is older than
//! the oldest one still running (`pg_snapshot_xmin`): every such transaction
//! has finished, so nothing can appear behind the cursor later. An open
//! transaction holds consumers back until it ends; it never makes them skip.
//! Transaction ids are server-wide, so a long transaction in any database of
//! the same PostgreSQL server delays consumers too: keep transactions short.
//!
//! On SQLite there is one writer at a time, so ids are handed out in commit
//! order; `tx_id` is 0 and the cursor reduces to the id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Event};

/// A position in the event stream: everything up to and including it was consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cursor {
    /// Writing transaction of the last consumed event.
    pub tx_id: i64,
    /// Id of the last consumed event.
    pub id: i64,
}

impl Cursor {
    /// The start of the stream.
    pub const START: Self = Self { tx_id: 0, id: 0 };

    /// The cursor just past `event`.
    pub fn of(event: &Event) -> Self {
        Self {
            tx_id: event.tx_id,
            id: event.id,
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.tx_id, self.id)
    }
}

impl FromStr for Cursor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Invalid(format!("cursor `{s}` is not of the form TX-ID"));
        let (tx, id) = s.split_once('-').ok_or_else(bad)?;
        Ok(Self {
            tx_id: tx.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

/// A batch of events and the cursor to continue from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// The events, oldest first.
    pub events: Vec<Event>,
    /// Where to continue: past the last event, or the given cursor if there was none.
    pub next: Cursor,
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor { tx_id: 812, id: 7 };
        assert_eq!(c.to_string().parse::<Cursor>().ok(), Some(c));
        assert!("7".parse::<Cursor>().is_err());
        assert!("a-1".parse::<Cursor>().is_err());
    }
}
