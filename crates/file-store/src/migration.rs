//! Migrations of the file store, tracked in `files_migrations`.

use plinth_db::migrate::{Migration, Steps};
use sea_orm::sea_query::{ColumnDef, ForeignKey, ForeignKeyAction, Index, Table, TableCreateStatement};

/// The file store's migrator.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

impl plinth_db::migrate::Migrator for Migrator {
    fn crate_name(&self) -> &'static str {
        "files"
    }

    fn migration_table_name(&self) -> &'static str {
        "files_migrations"
    }

    fn migrations(&self) -> Vec<Box<dyn Migration>> {
        vec![Box::new(CreateTables)]
    }
}

const FILE: &str = "files_file";
const GROUP: &str = "files_group";
const ATTACHMENT: &str = "files_attachment";
const UPLOAD: &str = "files_upload";

struct CreateTables;

fn id() -> ColumnDef {
    ColumnDef::new("id").uuid().not_null().primary_key().to_owned()
}

fn timestamp(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn references(
    table: &mut TableCreateStatement,
    name: &'static str,
    column: &'static str,
    to: &'static str,
    on_delete: ForeignKeyAction,
) {
    table.foreign_key(
        ForeignKey::create()
            .name(name)
            .from_col(column)
            .to(to, "id")
            .on_delete(on_delete),
    );
}

impl Migration for CreateTables {
    fn name(&self) -> &str {
        "m0001_create_tables"
    }

    fn up(&self, s: &mut Steps) {
        s.stmt(
            Table::create()
                .table(FILE)
                .col(id())
                .col(ColumnDef::new("bucket_name").string().not_null())
                .col(ColumnDef::new("name").string().not_null())
                .col(ColumnDef::new("content_type").string().not_null())
                .col(ColumnDef::new("content_length").big_integer().not_null())
                .col(ColumnDef::new("checksum").string().not_null())
                .col(ColumnDef::new("meta").json_binary().not_null())
                .col(timestamp("created_at"))
                .col(timestamp("updated_at")),
        );

        let mut group = Table::create();
        group
            .table(GROUP)
            .col(id())
            .col(ColumnDef::new("order").integer().not_null())
            .col(ColumnDef::new("file").uuid().null())
            .col(ColumnDef::new("parent").uuid().null())
            .col(ColumnDef::new("name").string().null())
            .col(ColumnDef::new("meta").json_binary().not_null())
            .col(timestamp("created_at"))
            .col(timestamp("updated_at"));
        references(
            &mut group,
            "files_group_file_fk",
            "file",
            FILE,
            ForeignKeyAction::Cascade,
        );
        references(
            &mut group,
            "files_group_parent_fk",
            "parent",
            GROUP,
            ForeignKeyAction::Cascade,
        );
        s.stmt(&group);

        let mut attachment = Table::create();
        attachment
            .table(ATTACHMENT)
            .col(id())
            .col(ColumnDef::new("file").uuid().not_null())
            .col(ColumnDef::new("owner_type").string().not_null())
            .col(ColumnDef::new("owner_id").string().not_null())
            .col(ColumnDef::new("order").integer().not_null())
            .col(timestamp("created_at"));
        references(
            &mut attachment,
            "files_attachment_file_fk",
            "file",
            FILE,
            ForeignKeyAction::Cascade,
        );
        s.stmt(&attachment);

        let mut upload = Table::create();
        upload
            .table(UPLOAD)
            .col(id())
            .col(ColumnDef::new("bucket_name").string().not_null())
            .col(ColumnDef::new("name").string().not_null())
            .col(ColumnDef::new("meta").json_binary().not_null())
            .col(ColumnDef::new("upload_length").big_integer().not_null())
            .col(ColumnDef::new("upload_offset").big_integer().not_null())
            .col(ColumnDef::new("parts").json_binary().not_null())
            .col(ColumnDef::new("file").uuid().null())
            .col(timestamp("expires_at"))
            .col(timestamp("created_at"))
            .col(timestamp("updated_at"));
        references(
            &mut upload,
            "files_upload_file_fk",
            "file",
            FILE,
            ForeignKeyAction::SetNull,
        );
        s.stmt(&upload);

        for (name, table, cols, unique) in [
            ("files_file_bucket_idx", FILE, &["bucket_name", "id"][..], false),
            ("files_group_parent_idx", GROUP, &["parent", "order"][..], false),
            ("files_group_file_idx", GROUP, &["file"][..], false),
            (
                "files_attachment_owner_idx",
                ATTACHMENT,
                &["owner_type", "owner_id", "file"][..],
                true,
            ),
            ("files_attachment_file_idx", ATTACHMENT, &["file"][..], false),
            ("files_upload_expires_idx", UPLOAD, &["expires_at"][..], false),
            ("files_upload_file_idx", UPLOAD, &["file"][..], false),
        ] {
            let mut index = Index::create();
            index.name(name).table(table);
            if unique {
                index.unique();
            }
            for col in cols {
                index.col(*col);
            }
            s.stmt(&index);
        }
    }

    fn down(&self, s: &mut Steps) {
        for table in [UPLOAD, ATTACHMENT, GROUP, FILE] {
            s.stmt(Table::drop().table(table));
        }
    }
}
