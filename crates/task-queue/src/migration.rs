//! Migrations of the task queue, tracked in `queue_migrations`.

use plinth_db::migrate::{Migration, Steps};
use plinth_db::schema::{at, at_null, big, flag, index, int, json, text, text_null, uuid_pk};
use sea_orm::sea_query::{ColumnDef, ForeignKey, ForeignKeyAction, Index, Table, TableCreateStatement};

/// The task queue's migrator.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

impl plinth_db::migrate::Migrator for Migrator {
    fn crate_name(&self) -> &'static str {
        "queue"
    }

    fn migration_table_name(&self) -> &'static str {
        "queue_migrations"
    }

    fn migrations(&self) -> Vec<Box<dyn Migration>> {
        vec![
            Box::new(CreateTables),
            Box::new(LastRunInTask),
            Box::new(UniqueKeyPerQueue),
            Box::new(ExpiryOfResolvedTasks),
        ]
    }
}

/// Tables in creation order; dropped in reverse.
const TABLES: [&str; 10] = [
    "queue_task",
    "queue_run",
    "queue_dependency",
    "queue_group",
    "queue_artifact",
    "queue_provisioner",
    "queue_worker_type",
    "queue_worker",
    "queue_index",
    "queue_index_namespace",
];

/// Plain indexes: name, table, columns.
const INDEXES: [(&str, &str, &[&str]); 4] = [
    (
        "queue_dependency_dependent_idx",
        "queue_dependency",
        &["dependent_task_id", "satisfied"],
    ),
    ("queue_artifact_expires_idx", "queue_artifact", &["expires"]),
    ("queue_index_rank_idx", "queue_index", &["namespace", "rank"]),
    ("queue_index_expires_idx", "queue_index", &["expires"]),
];

/// Indexes that sea-query cannot express (partial, descending), in SQL both backends accept.
const PARTIAL_INDEXES: &[&str] = &[
    "CREATE INDEX queue_task_claim_idx ON queue_task (queue, priority DESC, run_at, id) \
     WHERE state = 'pending'",
    "CREATE INDEX queue_task_lease_idx ON queue_task (taken_until) WHERE state = 'running'",
    "CREATE INDEX queue_task_deadline_idx ON queue_task (deadline) \
     WHERE state IN ('unscheduled', 'pending', 'running') AND deadline IS NOT NULL",
    "CREATE UNIQUE INDEX queue_task_unique_key_idx ON queue_task (unique_key) \
     WHERE state IN ('unscheduled', 'pending', 'running') AND unique_key IS NOT NULL",
    "CREATE INDEX queue_task_group_idx ON queue_task (task_group_id, id) WHERE task_group_id IS NOT NULL",
    "CREATE INDEX queue_task_resolved_idx ON queue_task (state, resolved_at) \
     WHERE state IN ('completed', 'failed', 'exception')",
    "CREATE INDEX queue_task_expires_idx ON queue_task (expires) WHERE expires IS NOT NULL",
];

struct CreateTables;

impl Migration for CreateTables {
    fn name(&self) -> &str {
        "m0001_create_tables"
    }

    fn up(&self, s: &mut Steps) {
        for table in [
            task(),
            run(),
            dependency(),
            group(),
            artifact(),
            provisioner(),
            worker_type(),
            worker(),
            indexed(),
            namespace(),
        ] {
            s.stmt(&table);
        }
        for sql in PARTIAL_INDEXES {
            s.sql(*sql);
        }
        for (name, table, cols) in INDEXES {
            s.stmt(&index(name, table, cols, false));
        }
    }

    fn down(&self, s: &mut Steps) {
        for table in TABLES.iter().rev() {
            s.stmt(Table::drop().table(*table));
        }
    }
}

/// Moves the last run of every resolved task from the history table into
/// the task row, which now holds it: the worker and lease come back to the
/// task, and the history keeps only runs a later run replaced.
struct LastRunInTask;

impl Migration for LastRunInTask {
    fn name(&self) -> &str {
        "m0002_last_run_in_task"
    }

    fn up(&self, s: &mut Steps) {
        s.sql(
            "UPDATE queue_task SET worker_group = r.worker_group, worker_id = r.worker_id, \
             taken_until = r.taken_until \
             FROM queue_run r WHERE r.task_id = queue_task.id AND r.run_id = queue_task.run_id \
             AND queue_task.state IN ('completed', 'failed', 'exception')",
        );
        s.sql(
            "DELETE FROM queue_run WHERE EXISTS (SELECT 1 FROM queue_task t \
             WHERE t.id = queue_run.task_id AND t.run_id = queue_run.run_id \
             AND t.state IN ('completed', 'failed', 'exception'))",
        );
    }

    fn down(&self, s: &mut Steps) {
        s.sql(
            "INSERT INTO queue_run (task_id, run_id, state, reason_created, reason_resolved, \
             worker_group, worker_id, taken_until, scheduled, started, resolved, error) \
             SELECT id, run_id, state, COALESCE(run_reason, 'scheduled'), reason, worker_group, \
             worker_id, taken_until, COALESCE(scheduled_at, created_at), started_at, resolved_at, error \
             FROM queue_task WHERE state IN ('completed', 'failed', 'exception') AND run_id IS NOT NULL",
        );
        s.sql(
            "UPDATE queue_task SET worker_group = NULL, worker_id = NULL, taken_until = NULL \
             WHERE state IN ('completed', 'failed', 'exception')",
        );
    }
}

/// Scopes unique keys to their queue, so that a caller who may create tasks
/// on one queue cannot hold (or learn) the keys of another.
struct UniqueKeyPerQueue;

/// The unique-key index's predicate: keys are held while a task is live.
const LIVE_WITH_KEY: &str = "WHERE state IN ('unscheduled', 'pending', 'running') AND unique_key IS NOT NULL";

impl Migration for UniqueKeyPerQueue {
    fn name(&self) -> &str {
        "m0003_unique_key_per_queue"
    }

    fn up(&self, s: &mut Steps) {
        s.sql("DROP INDEX queue_task_unique_key_idx");
        s.sql(format!(
            "CREATE UNIQUE INDEX queue_task_unique_key_idx ON queue_task (queue, unique_key) {LIVE_WITH_KEY}"
        ));
    }

    fn down(&self, s: &mut Steps) {
        s.sql("DROP INDEX queue_task_unique_key_idx");
        s.sql(format!(
            "CREATE UNIQUE INDEX queue_task_unique_key_idx ON queue_task (unique_key) {LIVE_WITH_KEY}"
        ));
    }
}

/// Narrows the task expiry index to resolved tasks, the only ones pruning
/// deletes by expiry, so that creating and claiming a task with an expiry
/// write one index entry fewer.
struct ExpiryOfResolvedTasks;

impl Migration for ExpiryOfResolvedTasks {
    fn name(&self) -> &str {
        "m0004_expiry_of_resolved_tasks"
    }

    fn up(&self, s: &mut Steps) {
        s.sql("DROP INDEX queue_task_expires_idx");
        s.sql(
            "CREATE INDEX queue_task_expires_idx ON queue_task (expires) \
             WHERE state IN ('completed', 'failed', 'exception') AND expires IS NOT NULL",
        );
    }

    fn down(&self, s: &mut Steps) {
        s.sql("DROP INDEX queue_task_expires_idx");
        s.sql("CREATE INDEX queue_task_expires_idx ON queue_task (expires) WHERE expires IS NOT NULL");
    }
}

/// A non-null UUID column (not a primary key).
fn uuid(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().to_owned()
}

/// A foreign key from `table.task_id` to the task, deleted with it.
fn task_fk(table: &'static str) -> sea_orm::sea_query::ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, "task_id")
        .to("queue_task", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn pk(cols: &[&'static str]) -> sea_orm::sea_query::IndexCreateStatement {
    let mut index = Index::create();
    for col in cols {
        index.col(*col);
    }
    index
}

fn task() -> TableCreateStatement {
    Table::create()
        .table("queue_task")
        .col(uuid_pk())
        .col(text("queue"))
        .col(text("task_type"))
        .col(json("payload"))
        .col(int("priority"))
        .col(text("state"))
        .col(ColumnDef::new("run_id").integer().null())
        .col(text_null("run_reason"))
        .col(at_null("scheduled_at"))
        .col(at("run_at"))
        .col(int("attempts"))
        .col(int("max_attempts"))
        .col(int("retries_left"))
        .col(big("backoff_base_ms"))
        .col(big("backoff_max_ms"))
        .col(ColumnDef::new("timeout_ms").big_integer().null())
        .col(at_null("deadline"))
        .col(at_null("expires"))
        .col(text_null("worker_group"))
        .col(text_null("worker_id"))
        .col(at_null("taken_until"))
        .col(at_null("started_at"))
        .col(at_null("resolved_at"))
        .col(text_null("reason"))
        .col(text_null("error"))
        .col(ColumnDef::new("result").json_binary().null())
        .col(text_null("unique_key"))
        .col(json("tags"))
        .col(ColumnDef::new("task_group_id").uuid().null())
        .col(text("scheduler_id"))
        .col(text("requires"))
        .col(flag("record_events"))
        .col(text("definition_hash"))
        .col(at("created_at"))
        .col(at("updated_at"))
        .to_owned()
}

fn run() -> TableCreateStatement {
    Table::create()
        .table("queue_run")
        .col(uuid("task_id"))
        .col(int("run_id"))
        .col(text("state"))
        .col(text("reason_created"))
        .col(text_null("reason_resolved"))
        .col(text_null("worker_group"))
        .col(text_null("worker_id"))
        .col(at_null("taken_until"))
        .col(at("scheduled"))
        .col(at_null("started"))
        .col(at_null("resolved"))
        .col(text_null("error"))
        // No foreign key: pruning deletes a task's runs itself, and the
        // per-row key check would cost every retry and rerun.
        .primary_key(&mut pk(&["task_id", "run_id"]))
        .to_owned()
}

fn dependency() -> TableCreateStatement {
    Table::create()
        .table("queue_dependency")
        .col(uuid("required_task_id"))
        .col(uuid("dependent_task_id"))
        .col(text("requires"))
        .col(flag("satisfied"))
        .primary_key(&mut pk(&["required_task_id", "dependent_task_id"]))
        .foreign_key(
            &mut ForeignKey::create()
                .from("queue_dependency", "dependent_task_id")
                .to("queue_task", "id")
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned(),
        )
        .to_owned()
}

fn group() -> TableCreateStatement {
    Table::create()
        .table("queue_group")
        .col(uuid_pk())
        .col(text("scheduler_id"))
        .col(at_null("sealed_at"))
        .col(at_null("resolved_at"))
        .col(at("created_at"))
        .to_owned()
}

fn artifact() -> TableCreateStatement {
    Table::create()
        .table("queue_artifact")
        .col(uuid("task_id"))
        .col(int("run_id"))
        .col(text("name"))
        .col(text("kind"))
        .col(text("content_type"))
        .col(json("details"))
        .col(at("expires"))
        .col(at("created_at"))
        .primary_key(&mut pk(&["task_id", "run_id", "name"]))
        .foreign_key(&mut task_fk("queue_artifact"))
        .to_owned()
}

fn provisioner() -> TableCreateStatement {
    Table::create()
        .table("queue_provisioner")
        .col(text("provisioner_id").primary_key())
        .col(text("description"))
        .col(text("stability"))
        .col(at("last_date_active"))
        .col(at("expires"))
        .to_owned()
}

fn worker_type() -> TableCreateStatement {
    Table::create()
        .table("queue_worker_type")
        .col(text("provisioner_id"))
        .col(text("worker_type"))
        .col(text("description"))
        .col(text("stability"))
        .col(at("last_date_active"))
        .col(at("expires"))
        .primary_key(&mut pk(&["provisioner_id", "worker_type"]))
        .to_owned()
}

fn worker() -> TableCreateStatement {
    Table::create()
        .table("queue_worker")
        .col(text("provisioner_id"))
        .col(text("worker_type"))
        .col(text("worker_group"))
        .col(text("worker_id"))
        .col(json("recent_tasks"))
        .col(at_null("quarantine_until"))
        .col(at("first_claim"))
        .col(at("last_date_active"))
        .col(at("expires"))
        .primary_key(&mut pk(&[
            "provisioner_id",
            "worker_type",
            "worker_group",
            "worker_id",
        ]))
        .to_owned()
}

fn indexed() -> TableCreateStatement {
    Table::create()
        .table("queue_index")
        .col(text("namespace"))
        .col(text("name"))
        .col(big("rank"))
        .col(uuid("task_id"))
        .col(json("data"))
        .col(at("expires"))
        .primary_key(&mut pk(&["namespace", "name"]))
        .to_owned()
}

fn namespace() -> TableCreateStatement {
    Table::create()
        .table("queue_index_namespace")
        .col(text("parent"))
        .col(text("name"))
        .col(at("expires"))
        .primary_key(&mut pk(&["parent", "name"]))
        .to_owned()
}
