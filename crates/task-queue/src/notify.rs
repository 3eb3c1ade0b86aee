//! Wake-ups for idle workers: `NOTIFY` sent in the transaction that makes work
//! ready on PostgreSQL, received through one `LISTEN` connection per queue
//! service; an in-process signal on SQLite. Polling stays the fallback.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plinth_db::Backend;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::sync::watch;

use crate::Result;
use crate::store::stmt;

/// The PostgreSQL channel; the payload is the queue name.
pub const CHANNEL: &str = "plinth_queue";

/// One wake-up signal per queue. A signal is a counter, so a burst of
/// notifications wakes each waiting worker once (debounced) and a worker
/// busy at the time still sees that something happened.
#[derive(Debug, Default)]
pub(crate) struct Wakers {
    queues: Mutex<HashMap<String, watch::Sender<u64>>>,
}

impl Wakers {
    /// A receiver that changes whenever `queue` is woken.
    pub(crate) fn subscribe(&self, queue: &str) -> watch::Receiver<u64> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues
            .entry(queue.to_owned())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Waits on `queue`'s signal until the returned guard drops; then the
    /// signal is forgotten unless someone else still waits on it, so callers
    /// waiting once (long-polling remote workers) leave nothing behind.
    pub(crate) fn waiting(&self, queue: &str) -> Waiting<'_> {
        Waiting {
            wakers: self,
            queue: queue.to_owned(),
            signal: Some(self.subscribe(queue)),
        }
    }

    /// Wakes the workers of `queue`, if any.
    pub(crate) fn wake(&self, queue: &str) {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = queues.get(queue) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Wakes every queue, after notifications may have been missed.
    pub(crate) fn wake_all(&self) {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        for tx in queues.values() {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// A wait on one queue's signal; see [`Wakers::waiting`].
pub(crate) struct Waiting<'a> {
    wakers: &'a Wakers,
    queue: String,
    signal: Option<watch::Receiver<u64>>,
}

impl Waiting<'_> {
    /// Marks the signal seen, so [`woken`](Self::woken) waits for the next wake-up.
    pub(crate) fn mark_seen(&mut self) {
        if let Some(signal) = &mut self.signal {
            signal.borrow_and_update();
        }
    }

    /// Returns once the queue is woken after the last [`mark_seen`](Self::mark_seen).
    pub(crate) async fn woken(&mut self) {
        if let Some(signal) = &mut self.signal
            && signal.changed().await.is_err()
        {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.signal = None;
        let mut queues = self.wakers.queues.lock().unwrap_or_else(|e| e.into_inner());
        if queues.get(&self.queue).is_some_and(|tx| tx.receiver_count() == 0) {
            queues.remove(&self.queue);
        }
    }
}

/// Announces that `queues` have ready work. On PostgreSQL one `pg_notify`
/// per distinct queue, delivered when `conn`'s transaction commits; on SQLite
/// the local workers are woken at once, and their claim waits for the
/// writer's lock, so it sees the work once committed.
pub(crate) async fn ready<'a>(
    conn: &impl ConnectionTrait,
    wakers: &Wakers,
    queues: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let queues: BTreeSet<&str> = queues.into_iter().collect();
    if queues.is_empty() {
        return Ok(());
    }
    match Backend::of(conn)? {
        Backend::Postgres => {
            let list = serde_json::to_value(&queues).unwrap_or_default();
            let sql = format!("SELECT pg_notify('{CHANNEL}', q) FROM jsonb_array_elements_text($1) AS q");
            conn.query_all_raw(stmt(conn, sql, vec![list.into()])).await?;
        }
        Backend::Sqlite => {
            for queue in queues {
                wakers.wake(queue);
            }
        }
    }
    Ok(())
}

/// Listens on [`CHANNEL`] until aborted, waking the named queue for each
/// notification and every queue after a reconnect. Does nothing on SQLite.
pub(crate) async fn listen(db: DatabaseConnection, wakers: Arc<Wakers>) {
    if !matches!(Backend::of(&db), Ok(Backend::Postgres)) {
        return;
    }
    loop {
        let mut listener = match PgListener::connect_with(db.get_postgres_connection_pool()).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "queue listener could not connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "queue listener could not LISTEN; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        wakers.wake_all();
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) => wakers.wake(note.payload()),
                Ok(None) => wakers.wake_all(),
                Err(error) => {
                    tracing::warn!(%error, "queue listener lost its connection; reconnecting");
                    wakers.wake_all();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_off_wait_leaves_nothing_behind_unless_others_still_wait() {
        let wakers = Wakers::default();
        let worker = wakers.subscribe("busy");
        drop(wakers.waiting("busy"));
        drop(wakers.waiting("once"));
        let queues = wakers.queues.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            queues.contains_key("busy"),
            "a subscribed worker keeps its signal"
        );
        assert!(!queues.contains_key("once"));
        drop(queues);
        drop(worker);
    }

    #[tokio::test]
    async fn a_wait_returns_once_woken_after_it_marked_the_signal_seen() {
        let wakers = Wakers::default();
        let mut waiting = wakers.waiting("q");
        wakers.wake("q");
        waiting.mark_seen();
        let early = tokio::time::timeout(Duration::from_millis(20), waiting.woken()).await;
        assert!(early.is_err(), "a wake-up seen before is not waited for again");
        wakers.wake("q");
        let woken = tokio::time::timeout(Duration::from_secs(5), waiting.woken()).await;
        assert!(woken.is_ok());
    }
}
