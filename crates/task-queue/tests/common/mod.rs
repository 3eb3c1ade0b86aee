//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use plinth_events::Context;
use plinth_task_queue::{Claim, Config, ManualClock, NewTask, Outcome, Queue, Report, Task, WorkerRef};
use sea_orm::DatabaseConnection;
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// Start of every manual clock: a round second, the case SQLite text times get wrong without care.
pub const START: OffsetDateTime = datetime!(2030-01-01 12:00:00 UTC);

pub async fn migrate(db: &DatabaseConnection) {
    plinth_db::migrate::up(db, &[&plinth_events::Migrator, &plinth_task_queue::Migrator])
        .await
        .expect("migrate");
}

/// A migrated queue with a manual clock.
pub async fn manual(db: &DatabaseConnection, config: Config) -> (Queue, Arc<ManualClock>) {
    migrate(db).await;
    let clock = Arc::new(ManualClock::new(START));
    (Queue::with_clock(db.clone(), config, clock.clone()), clock)
}

/// A migrated queue on the system clock.
pub async fn queue(db: &DatabaseConnection, config: Config) -> Queue {
    migrate(db).await;
    Queue::new(db.clone(), config)
}

pub fn ctx() -> Context {
    Context::actor("user", "tester")
}

pub fn worker(id: &str) -> WorkerRef {
    WorkerRef::new("test", id)
}

pub fn job(queue: &str) -> NewTask {
    NewTask::new(queue, "noop", json!({}))
}

pub async fn claim(queue: &Queue, name: &str, who: &str, n: usize) -> Vec<Task> {
    queue
        .claim(&Claim::new(name, worker(who), n))
        .await
        .expect("claim")
}

pub async fn claim_for(queue: &Queue, name: &str, who: &str, n: usize, lease: Duration) -> Vec<Task> {
    let mut c = Claim::new(name, worker(who), n);
    c.lease = Some(std::time::Duration::from_secs_f64(lease.as_seconds_f64()));
    queue.claim(&c).await.expect("claim")
}

pub fn report(task: &Task, who: &str, outcome: Outcome) -> Report {
    Report {
        task_id: task.id,
        run_id: task.run_id.expect("a claimed task has a run"),
        worker: worker(who),
        outcome,
    }
}

pub fn completed() -> Outcome {
    Outcome::Completed { result: None }
}

pub async fn complete(queue: &Queue, task: &Task, who: &str) -> Task {
    queue
        .report(&ctx(), report(task, who, completed()))
        .await
        .expect("complete")
}
