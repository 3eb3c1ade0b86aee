//! Metrics through the `metrics` facade; the server installs the exporter.
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | `plinth_queue_created_total` | counter | queue |
//! | `plinth_queue_claimed_total` | counter | queue |
//! | `plinth_queue_resolved_total` | counter | queue, state |
//! | `plinth_queue_retried_total` | counter | queue |
//! | `plinth_queue_claim_latency_seconds` | histogram | queue — from ready (run-at or scheduling, whichever is later) to claim |
//! | `plinth_queue_depth` | gauge | queue, state — unscheduled, pending and running tasks |

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use crate::entity::task;
use crate::state::TaskState;

pub(crate) fn created(tasks: &[task::Model]) {
    for (queue, n) in per_queue(tasks.iter()) {
        metrics::counter!("plinth_queue_created_total", "queue" => queue).increment(n);
    }
}

pub(crate) fn claimed(tasks: &[task::Model]) {
    for (queue, n) in per_queue(tasks.iter()) {
        metrics::counter!("plinth_queue_claimed_total", "queue" => queue).increment(n);
    }
    for t in tasks {
        let ready = t.scheduled_at.map_or(t.run_at, |s| s.max(t.run_at));
        if let Some(started) = t.started_at {
            let latency = (started - ready).as_seconds_f64().max(0.0);
            metrics::histogram!("plinth_queue_claim_latency_seconds", "queue" => t.queue.clone())
                .record(latency);
        }
    }
}

/// Counts tasks that resolved and tasks that went back to pending for a
/// retry, from their queues and new states.
pub(crate) fn ended<'a>(tasks: impl IntoIterator<Item = (&'a str, TaskState)>) {
    let mut counts: HashMap<(&str, TaskState), u64> = HashMap::new();
    for key in tasks {
        *counts.entry(key).or_default() += 1;
    }
    for ((queue, state), n) in counts {
        if state.is_resolved() {
            let state = sea_orm::ActiveEnum::to_value(&state);
            metrics::counter!("plinth_queue_resolved_total", "queue" => queue.to_owned(), "state" => state)
                .increment(n);
        } else {
            metrics::counter!("plinth_queue_retried_total", "queue" => queue.to_owned()).increment(n);
        }
    }
}

/// The depth gauges, remembering which were set so a queue that empties drops to zero.
#[derive(Debug, Default)]
pub(crate) struct DepthGauges {
    reported: Mutex<BTreeSet<(String, String)>>,
}

impl DepthGauges {
    /// Sets the gauge of every `(queue, state, count)` and zeroes those not listed.
    pub(crate) fn publish(&self, depths: impl IntoIterator<Item = (String, String, u64)>) {
        let mut reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        let mut now = BTreeSet::new();
        for (queue, state, n) in depths {
            metrics::gauge!("plinth_queue_depth", "queue" => queue.clone(), "state" => state.clone())
                .set(n as f64);
            now.insert((queue, state));
        }
        for (queue, state) in reported.difference(&now) {
            metrics::gauge!("plinth_queue_depth", "queue" => queue.clone(), "state" => state.clone())
                .set(0.0);
        }
        *reported = now;
    }
}

fn per_queue<'a>(tasks: impl Iterator<Item = &'a task::Model>) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for t in tasks {
        *counts.entry(t.queue.clone()).or_default() += 1;
    }
    counts
}
