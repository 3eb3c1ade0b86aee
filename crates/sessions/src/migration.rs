//! Migrations of the sessions crate, tracked in `sessions_migrations`.

use plinth_db::migrate::{Migration, Steps};
use sea_orm::sea_query::{ColumnDef, Expr, ForeignKey, ForeignKeyAction, Index, Table};

/// The sessions crate's migrator. Run it after `plinth_events::Migrator`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

impl plinth_db::migrate::Migrator for Migrator {
    fn crate_name(&self) -> &'static str {
        "sessions"
    }

    fn migration_table_name(&self) -> &'static str {
        "sessions_migrations"
    }

    fn migrations(&self) -> Vec<Box<dyn Migration>> {
        vec![Box::new(CreateSessionAndToken)]
    }
}

const SESSION: &str = "sessions_session";
const TOKEN: &str = "sessions_token";

struct CreateSessionAndToken;

impl Migration for CreateSessionAndToken {
    fn name(&self) -> &str {
        "m0001_create_session_and_token"
    }

    fn up(&self, s: &mut Steps) {
        s.stmt(
            Table::create()
                .table(SESSION)
                .col(ColumnDef::new("id").uuid().not_null().primary_key())
                .col(ColumnDef::new("subject_type").string().not_null())
                .col(ColumnDef::new("subject_id").string().not_null())
                .col(ColumnDef::new("data").json_binary().not_null())
                .col(ColumnDef::new("checksum").string().not_null())
                .col(ColumnDef::new("ip_address").string().null())
                .col(ColumnDef::new("user_agent").string().null())
                .col(ColumnDef::new("device_id").string().null())
                .col(
                    ColumnDef::new("mfa_verified")
                        .boolean()
                        .not_null()
                        .default(Expr::val(false)),
                )
                .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
                .col(ColumnDef::new("updated_at").timestamp_with_time_zone().not_null())
                .col(
                    ColumnDef::new("last_active_at")
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(ColumnDef::new("expires_at").timestamp_with_time_zone().not_null())
                .col(ColumnDef::new("revoked_at").timestamp_with_time_zone().null())
                .col(ColumnDef::new("revoke_reason").string().null()),
        );
        s.stmt(
            Table::create()
                .table(TOKEN)
                .col(ColumnDef::new("id").uuid().not_null().primary_key())
                .col(ColumnDef::new("session").uuid().not_null())
                .col(ColumnDef::new("kind").string().not_null())
                .col(ColumnDef::new("token_hash").string().not_null().unique_key())
                .col(ColumnDef::new("refresh_token").uuid().null())
                .col(ColumnDef::new("successor_id").uuid().null())
                .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
                .col(ColumnDef::new("expires_at").timestamp_with_time_zone().not_null())
                .col(ColumnDef::new("rotated_at").timestamp_with_time_zone().null())
                .col(ColumnDef::new("revoked_at").timestamp_with_time_zone().null())
                .foreign_key(
                    ForeignKey::create()
                        .name("sessions_token_session_fk")
                        .from(TOKEN, "session")
                        .to(SESSION, "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("sessions_token_refresh_token_fk")
                        .from(TOKEN, "refresh_token")
                        .to(TOKEN, "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("sessions_token_successor_fk")
                        .from(TOKEN, "successor_id")
                        .to(TOKEN, "id")
                        .on_delete(ForeignKeyAction::SetNull),
                ),
        );
        for (name, table, cols) in [
            (
                "sessions_session_subject_idx",
                SESSION,
                &["subject_type", "subject_id"][..],
            ),
            ("sessions_session_expires_idx", SESSION, &["expires_at"][..]),
            ("sessions_session_revoked_idx", SESSION, &["revoked_at"][..]),
            ("sessions_session_active_idx", SESSION, &["last_active_at"][..]),
            ("sessions_token_session_idx", TOKEN, &["session"][..]),
            ("sessions_token_refresh_token_idx", TOKEN, &["refresh_token"][..]),
            ("sessions_token_successor_idx", TOKEN, &["successor_id"][..]),
            ("sessions_token_expires_idx", TOKEN, &["expires_at"][..]),
            ("sessions_token_revoked_idx", TOKEN, &["revoked_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table(table);
            for col in cols {
                index.col(*col);
            }
            s.stmt(&index);
        }
    }

    fn down(&self, s: &mut Steps) {
        s.stmt(Table::drop().table(TOKEN));
        s.stmt(Table::drop().table(SESSION));
    }
}
