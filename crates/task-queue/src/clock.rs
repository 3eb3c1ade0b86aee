//! Where the queue gets the time: the system clock, or a manual clock that
//! tests move by hand; and the one normalisation every stored time goes through.

use std::fmt;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime, UtcOffset};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to, for tests of leases, deadlines and backoff.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Normalises a time before it is stored or compared in SQL: UTC, microsecond
/// precision (PostgreSQL's), plus one nanosecond.
///
/// SQLite keeps times as RFC 3339 text, whose fraction drops trailing zeros
/// (`12:00:00Z`, `12:00:00.5Z`), so text order and time order disagree within
/// a second. A fraction that always ends in a non-zero ninth digit gives every
/// stored time the same width, and text order becomes time order. PostgreSQL
/// rounds the extra nanosecond away.
pub(crate) fn db_time(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    let micros = t.nanosecond() / 1_000;
    t.replace_nanosecond(micros * 1_000 + 1).unwrap_or(t)
}

/// The time `age` before `now`, when it is a storable time (1970 or later);
/// `None` when nothing stored can be that old.
pub(crate) fn before(now: OffsetDateTime, age: std::time::Duration) -> Option<OffsetDateTime> {
    now.checked_sub(duration(age)).filter(|t| t.year() >= 1970)
}

/// Longest wait an instant is set ahead by: about 30 years, forever for any
/// process, while an instant much further ahead may not be representable.
const FAR_FUTURE: std::time::Duration = std::time::Duration::from_secs(30 * 365 * 24 * 3_600);

/// The instant `wait` after `now`, with a wait beyond [`FAR_FUTURE`] cut to it.
pub(crate) fn instant_after<I>(now: I, wait: std::time::Duration) -> I
where
    I: std::ops::Add<std::time::Duration, Output = I>,
{
    now + wait.min(FAR_FUTURE)
}

/// Converts a standard duration to a `time` duration, saturating.
pub(crate) fn duration(d: std::time::Duration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::MAX)
}

/// Serializes times as RFC 3339 at microsecond precision, hiding [`db_time`]'s nanosecond.
pub(crate) mod rfc3339 {
    use serde::Serializer;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    fn micros(t: OffsetDateTime) -> OffsetDateTime {
        t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap_or(t)
    }

    /// Serializes a time.
    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = micros(*t).format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    /// Serializes an optional time.
    pub mod option {
        use serde::Serializer;
        use time::OffsetDateTime;

        /// Serializes an optional time as a string or `null`.
        pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn stored_times_sort_as_text() {
        let times = [
            datetime!(2030-01-01 12:00:00 UTC),
            datetime!(2030-01-01 12:00:00.5 UTC),
            datetime!(2030-01-01 12:00:00.56 UTC),
            datetime!(2030-01-01 14:00:00.1 +02:00),
            datetime!(2030-01-01 12:00:01 UTC),
        ];
        let texts: Vec<String> = times
            .iter()
            .map(|t| {
                db_time(*t)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            })
            .collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert!(texts.iter().all(|t| t.len() == texts[0].len()), "{texts:?}");
        let mut by_time: Vec<_> = times.iter().map(|t| db_time(*t)).collect();
        by_time.sort();
        let by_time: Vec<String> = by_time
            .iter()
            .map(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(sorted, by_time);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(datetime!(2030-01-01 0:00 UTC));
        assert_eq!(clock.now(), datetime!(2030-01-01 0:00 UTC));
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now(), datetime!(2030-01-01 0:01:30 UTC));
    }
}
