//! `m0002_orgs`: organisations, their members, invitations and teams, and the
//! last accepted TOTP step on credentials (so a code is accepted only once).

use plinth_db::migrate::{Migration, Steps};
use sea_orm::sea_query::{ColumnDef, ForeignKey, ForeignKeyAction, ForeignKeyCreateStatement, Index, Table};

/// Organisations, memberships, invitations, teams and the TOTP replay guard.
pub(crate) struct Orgs;

/// Tables created here, dropped in this order.
const TABLES: [&str; 5] = [
    "auth_team_member",
    "auth_team",
    "auth_org_invitation",
    "auth_org_member",
    "auth_org",
];

/// Column of `auth_credential` holding the last accepted TOTP time step.
pub(crate) const MFA_LAST_STEP: &str = "mfa_last_step";

fn cascade(
    table: &'static str,
    col: &'static str,
    to: &'static str,
    to_col: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(to, to_col)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

impl Migration for Orgs {
    fn name(&self) -> &str {
        "m0002_orgs"
    }

    fn up(&self, s: &mut Steps) {
        s.stmt(
            Table::create()
                .table("auth_org")
                .col(ColumnDef::new("id").uuid().not_null().primary_key())
                .col(ColumnDef::new("name").string().not_null())
                .col(ColumnDef::new("display_name").string().not_null())
                .col(ColumnDef::new("description").string().null())
                .col(ColumnDef::new("avatar_url").string().null())
                .col(ColumnDef::new("email").string().null())
                .col(ColumnDef::new("website").string().null())
                .col(ColumnDef::new("billing_email").string().null())
                .col(ColumnDef::new("plan").string().not_null().default("free"))
                .col(ColumnDef::new("plan_seats").integer().null())
                .col(ColumnDef::new("plan_storage_bytes").big_integer().null())
                .col(ColumnDef::new("settings").json_binary().not_null())
                .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
                .col(ColumnDef::new("updated_at").timestamp_with_time_zone().not_null()),
        );
        s.stmt(
            Index::create()
                .name("auth_org_name_key")
                .table("auth_org")
                .col("name")
                .unique(),
        );
        s.stmt(
            Table::create()
                .table("auth_org_member")
                .col(ColumnDef::new("org_id").uuid().not_null())
                .col(ColumnDef::new("user_id").uuid().not_null())
                .col(ColumnDef::new("role").string().not_null())
                .col(ColumnDef::new("joined_at").timestamp_with_time_zone().not_null())
                .col(ColumnDef::new("invited_by").uuid().null())
                .primary_key(Index::create().col("org_id").col("user_id"))
                .foreign_key(&mut cascade("auth_org_member", "org_id", "auth_org", "id"))
                .foreign_key(&mut cascade("auth_org_member", "user_id", "auth_user", "id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("auth_org_member", "invited_by")
                        .to("auth_user", "id")
                        .on_delete(ForeignKeyAction::SetNull),
                ),
        );
        s.stmt(
            Index::create()
                .name("auth_org_member_user_idx")
                .table("auth_org_member")
                .col("user_id"),
        );
        s.stmt(
            Table::create()
                .table("auth_org_invitation")
                .col(ColumnDef::new("id").uuid().not_null().primary_key())
                .col(ColumnDef::new("org_id").uuid().not_null())
                .col(ColumnDef::new("email").string().not_null())
                .col(ColumnDef::new("role").string().not_null())
                .col(ColumnDef::new("token_hash").string().not_null())
                .col(ColumnDef::new("invited_by").uuid().not_null())
                .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
                .col(ColumnDef::new("expires_at").timestamp_with_time_zone().not_null())
                .col(ColumnDef::new("accepted_at").timestamp_with_time_zone().null())
                .col(ColumnDef::new("declined_at").timestamp_with_time_zone().null())
                .foreign_key(&mut cascade("auth_org_invitation", "org_id", "auth_org", "id"))
                .foreign_key(&mut cascade(
                    "auth_org_invitation",
                    "invited_by",
                    "auth_user",
                    "id",
                )),
        );
        s.stmt(
            Index::create()
                .name("auth_org_invitation_hash_key")
                .table("auth_org_invitation")
                .col("token_hash")
                .unique(),
        );
        s.stmt(
            Index::create()
                .name("auth_org_invitation_email_key")
                .table("auth_org_invitation")
                .col("org_id")
                .col("email")
                .unique(),
        );
        s.stmt(
            Table::create()
                .table("auth_team")
                .col(ColumnDef::new("id").uuid().not_null().primary_key())
                .col(ColumnDef::new("org_id").uuid().not_null())
                .col(ColumnDef::new("name").string().not_null())
                .col(ColumnDef::new("description").string().null())
                .col(ColumnDef::new("created_at").timestamp_with_time_zone().not_null())
                .foreign_key(&mut cascade("auth_team", "org_id", "auth_org", "id")),
        );
        s.stmt(
            Index::create()
                .name("auth_team_name_key")
                .table("auth_team")
                .col("org_id")
                .col("name")
                .unique(),
        );
        s.stmt(
            Table::create()
                .table("auth_team_member")
                .col(ColumnDef::new("team_id").uuid().not_null())
                .col(ColumnDef::new("user_id").uuid().not_null())
                .col(ColumnDef::new("role").string().not_null().default("member"))
                .col(ColumnDef::new("added_at").timestamp_with_time_zone().not_null())
                .primary_key(Index::create().col("team_id").col("user_id"))
                .foreign_key(&mut cascade("auth_team_member", "team_id", "auth_team", "id"))
                .foreign_key(&mut cascade("auth_team_member", "user_id", "auth_user", "id")),
        );
        s.stmt(
            Index::create()
                .name("auth_team_member_user_idx")
                .table("auth_team_member")
                .col("user_id"),
        );
        // One change per ALTER TABLE: SQLite accepts nothing more.
        s.stmt(
            Table::alter()
                .table("auth_credential")
                .add_column(ColumnDef::new(MFA_LAST_STEP).big_integer().null()),
        );
    }

    fn down(&self, s: &mut Steps) {
        s.stmt(Table::alter().table("auth_credential").drop_column(MFA_LAST_STEP));
        for t in TABLES {
            s.stmt(Table::drop().table(t));
        }
    }
}
