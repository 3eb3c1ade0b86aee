//! Renewing the leases of running handlers, and stopping handlers whose
//! run was taken from them (canceled, deadline passed, lease expired).

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use super::Shared;

/// Every heartbeat interval, extends the leases of the handlers in flight.
pub(super) async fn run(shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    loop {
        tokio::select! {
            () = tokio::time::sleep(shared.options.heartbeat) => {}
            _ = stop.changed() => {}
        }
        let flying: Vec<(Uuid, i32)> = shared.flights().iter().map(|(id, f)| (*id, f.run_id)).collect();
        if flying.is_empty() {
            continue;
        }
        let ids: Vec<Uuid> = flying.iter().map(|(id, _)| *id).collect();
        let held = match shared
            .queue
            .extend_leases(&shared.options.worker, &ids, None, Some(shared.options.lease))
            .await
        {
            Ok(held) => held,
            Err(error) => {
                tracing::warn!(%error, "renewing leases failed; retrying at the next heartbeat");
                continue;
            }
        };
        let held: HashMap<Uuid, Option<i32>> = held.into_iter().map(|t| (t.id, t.run_id)).collect();
        let mut flights = shared.flights();
        for (id, run_id) in flying {
            if held.get(&id) != Some(&Some(run_id))
                && let Some(flight) = flights.remove(&id)
            {
                tracing::info!(task_id = %id, run_id, "run no longer held; stopping its handler");
                if let Some(abort) = flight.abort {
                    abort.abort();
                }
            }
        }
        if flights.is_empty() {
            shared.idle.notify_waiters();
        }
    }
}
