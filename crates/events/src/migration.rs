//! Migrations of the events crate, tracked in `events_migrations`.

use plinth_db::Backend;
use plinth_db::migrate::{Migration, Steps};
use sea_orm::sea_query::{ColumnDef, Expr, Index, Table};

/// The events crate's migrator.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

impl plinth_db::migrate::Migrator for Migrator {
    fn crate_name(&self) -> &'static str {
        "events"
    }

    fn migration_table_name(&self) -> &'static str {
        "events_migrations"
    }

    fn migrations(&self) -> Vec<Box<dyn Migration>> {
        vec![Box::new(CreateEvent)]
    }
}

const TABLE: &str = "events_event";

struct CreateEvent;

impl Migration for CreateEvent {
    fn name(&self) -> &str {
        "m0001_create_event"
    }

    fn up(&self, s: &mut Steps) {
        // PostgreSQL stamps each row with its writing transaction id, which
        // consumers use to wait for transactions still in flight (see `cursor`).
        let tx_default = match s.backend() {
            Backend::Postgres => Expr::cust("(pg_current_xact_id()::text::bigint)"),
            Backend::Sqlite => Expr::val(0),
        };
        s.stmt(
            Table::create()
                .table(TABLE)
                .col(
                    ColumnDef::new("id")
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new("tx_id")
                        .big_integer()
                        .not_null()
                        .default(tx_default),
                )
                .col(ColumnDef::new("topic").string().not_null())
                .col(ColumnDef::new("subject_type").string().not_null())
                .col(ColumnDef::new("subject_id").string().not_null())
                .col(ColumnDef::new("actor_type").string().null())
                .col(ColumnDef::new("actor_id").string().null())
                .col(ColumnDef::new("request_id").string().null())
                .col(ColumnDef::new("ip").string().null())
                .col(ColumnDef::new("user_agent").string().null())
                .col(ColumnDef::new("payload").json_binary().not_null())
                .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null()),
        );
        for (name, cols) in [
            ("events_event_cursor_idx", &["tx_id", "id"][..]),
            ("events_event_actor_idx", &["actor_type", "actor_id", "id"][..]),
            (
                "events_event_subject_idx",
                &["subject_type", "subject_id", "id"][..],
            ),
            ("events_event_created_idx", &["created_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table(TABLE);
            for col in cols {
                index.col(*col);
            }
            s.stmt(&index);
        }
    }

    fn down(&self, s: &mut Steps) {
        s.stmt(Table::drop().table(TABLE));
    }
}
