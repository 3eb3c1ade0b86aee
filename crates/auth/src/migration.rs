//! Migrations of the auth crate, tracked in `auth_migrations`.

use plinth_db::migrate::{Migration, Steps};
use plinth_db::schema::{at, at_null, flag, index, json, text, text_null, uuid_pk};
use sea_orm::sea_query::{ColumnDef, ForeignKey, ForeignKeyAction, Query, Table};

/// The auth crate's migrator.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

impl plinth_db::migrate::Migrator for Migrator {
    fn crate_name(&self) -> &'static str {
        "auth"
    }

    fn migration_table_name(&self) -> &'static str {
        "auth_migrations"
    }

    fn migrations(&self) -> Vec<Box<dyn Migration>> {
        vec![
            Box::new(Identity),
            Box::new(crate::migration_orgs::Orgs),
            Box::new(UsernamesIgnoreCase),
        ]
    }
}

fn user_fk(table: &'static str) -> sea_orm::sea_query::ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, "user_id")
        .to("auth_user", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Users, credentials, email verification, API tokens, clients and roles.
struct Identity;

const TABLES: [&str; 7] = [
    "auth_client",
    "auth_api_token",
    "auth_email_token",
    "auth_credential",
    "auth_user",
    "auth_role",
    "auth_meta",
];

impl Migration for Identity {
    fn name(&self) -> &str {
        "m0001_identity"
    }

    fn up(&self, s: &mut Steps) {
        s.stmt(
            Table::create()
                .table("auth_meta")
                .col(ColumnDef::new("key").string().not_null().primary_key())
                .col(ColumnDef::new("value").big_integer().not_null()),
        );
        // The role generation: bumped by every role change, polled by caches.
        s.stmt(
            Query::insert()
                .into_table("auth_meta")
                .columns(["key", "value"])
                .values_panic(["roles".into(), 0i64.into()]),
        );
        s.stmt(
            Table::create()
                .table("auth_role")
                .col(ColumnDef::new("role_id").string().not_null().primary_key())
                .col(json("scopes"))
                .col(text("description"))
                .col(at("created_at"))
                .col(at("updated_at")),
        );
        s.stmt(
            Table::create()
                .table("auth_user")
                .col(uuid_pk())
                .col(text("username"))
                .col(text("email"))
                .col(flag("email_verified"))
                .col(text("name"))
                .col(text_null("avatar_url"))
                .col(text("status"))
                .col(text_null("status_reason"))
                .col(at_null("status_until"))
                .col(json("preferences"))
                .col(json("scopes"))
                .col(at("created_at"))
                .col(at("updated_at"))
                .col(at_null("last_active_at"))
                .col(at_null("deleted_at")),
        );
        s.stmt(&index("auth_user_username_key", "auth_user", &["username"], true));
        s.stmt(&index("auth_user_email_key", "auth_user", &["email"], true));
        s.stmt(
            Table::create()
                .table("auth_credential")
                .col(ColumnDef::new("user_id").uuid().not_null().primary_key())
                .col(text("password_hash"))
                .col(text("password_algorithm"))
                .col(flag("mfa_enabled"))
                .col(text_null("mfa_secret_encrypted"))
                .col(json("mfa_recovery_codes_hash"))
                .col(at("password_changed_at"))
                .col(flag("force_password_change"))
                .col(
                    ColumnDef::new("failed_login_attempts")
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(at_null("locked_until"))
                .col(at_null("last_failed_login_at"))
                .foreign_key(&mut user_fk("auth_credential")),
        );
        s.stmt(
            Table::create()
                .table("auth_email_token")
                .col(uuid_pk())
                .col(ColumnDef::new("user_id").uuid().not_null())
                .col(text("email"))
                .col(text("token_hash"))
                .col(at("created_at"))
                .col(at("expires_at"))
                .col(at_null("used_at"))
                .foreign_key(&mut user_fk("auth_email_token")),
        );
        s.stmt(&index(
            "auth_email_token_hash_key",
            "auth_email_token",
            &["token_hash"],
            true,
        ));
        s.stmt(
            Table::create()
                .table("auth_api_token")
                .col(uuid_pk())
                .col(ColumnDef::new("user_id").uuid().not_null())
                .col(text("name"))
                .col(text("token_hash"))
                .col(json("scopes"))
                .col(at("created_at"))
                .col(at_null("expires_at"))
                .col(at_null("last_used_at"))
                .col(text_null("last_used_ip"))
                .col(at_null("revoked_at"))
                .foreign_key(&mut user_fk("auth_api_token")),
        );
        s.stmt(&index(
            "auth_api_token_hash_key",
            "auth_api_token",
            &["token_hash"],
            true,
        ));
        s.stmt(&index(
            "auth_api_token_user_idx",
            "auth_api_token",
            &["user_id"],
            false,
        ));
        s.stmt(
            Table::create()
                .table("auth_client")
                .col(ColumnDef::new("client_id").string().not_null().primary_key())
                .col(text("description"))
                .col(text("secret_hash"))
                .col(json("scopes"))
                .col(at("expires_at"))
                .col(flag("disabled"))
                .col(flag("delete_on_expiration"))
                .col(at("created_at"))
                .col(at("updated_at"))
                .col(at_null("last_used_at"))
                .col(at("last_rotated_at")),
        );
        s.stmt(&index(
            "auth_client_secret_key",
            "auth_client",
            &["secret_hash"],
            true,
        ));
    }

    fn down(&self, s: &mut Steps) {
        for t in TABLES {
            s.stmt(Table::drop().table(t));
        }
    }
}

/// Makes usernames unique regardless of case, so `Root` cannot be created
/// beside `root`. Fails, changing nothing, on a database that already holds
/// two such accounts: rename one of them first.
struct UsernamesIgnoreCase;

impl Migration for UsernamesIgnoreCase {
    fn name(&self) -> &str {
        "m0003_usernames_ignore_case"
    }

    fn up(&self, s: &mut Steps) {
        s.sql("CREATE UNIQUE INDEX auth_user_username_lower_key ON auth_user (lower(username))");
        s.sql("DROP INDEX auth_user_username_key");
    }

    fn down(&self, s: &mut Steps) {
        s.stmt(&index("auth_user_username_key", "auth_user", &["username"], true));
        s.sql("DROP INDEX auth_user_username_lower_key");
    }
}
