//! Per-crate migrations with edit detection.
//!
//! Every crate that owns tables has a [`Migrator`] with its own tracking table
//! (`<crate>_migrations`). A [`Migration`] renders its SQL for the backend into
//! [`Steps`]; the runner records a BLAKE3 checksum of that SQL when it applies
//! the migration and recomputes it on every run, so an applied migration that
//! was later edited is refused by name instead of silently drifting.
//!
//! A run holds one transaction for all its work. On PostgreSQL that
//! transaction runs at READ COMMITTED and first takes
//! `pg_advisory_xact_lock`; on SQLite it begins with `BEGIN IMMEDIATE`, taking
//! the write lock (waiting up to the busy timeout). Either way concurrent
//! runners (several replicas or processes starting at once) queue up and the
//! later ones find nothing pending.

use std::collections::HashMap;

use sea_orm::sea_query::{ColumnDef, Expr, ExprTrait, Query, Table};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, IsolationLevel, Statement, StatementBuilder,
    TransactionTrait,
};
use time::OffsetDateTime;

use crate::{Backend, Error, Result};

/// Key of the PostgreSQL advisory lock held while migrating (`"plinthmg"` as bytes).
pub const LOCK_KEY: i64 = 0x706c_696e_7468_6d67;

/// The SQL of one direction of a migration, rendered for one backend.
#[derive(Debug)]
pub struct Steps {
    backend: Backend,
    sql: Vec<String>,
}

impl Steps {
    /// Empty steps for `backend`.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            sql: Vec::new(),
        }
    }

    /// The backend the SQL is rendered for, to branch on where SQL differs.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Adds a sea-query statement (table, index, insert…) rendered for the backend.
    pub fn stmt(&mut self, stmt: &impl StatementBuilder) -> &mut Self {
        let rendered = stmt.build(&self.backend.db_backend()).to_string();
        self.sql.push(rendered);
        self
    }

    /// Adds literal SQL, for what the builders cannot express.
    pub fn sql(&mut self, sql: impl Into<String>) -> &mut Self {
        self.sql.push(sql.into());
        self
    }

    /// The rendered statements, in order.
    pub fn statements(&self) -> &[String] {
        &self.sql
    }
}

/// One schema change, with its way back.
pub trait Migration: Send + Sync {
    /// Unique, sortable name within its crate, e.g. `m0001_create_event`.
    fn name(&self) -> &str;
    /// Adds the statements that apply the change.
    fn up(&self, steps: &mut Steps);
    /// Adds the statements that undo the change.
    fn down(&self, steps: &mut Steps);
}

/// A crate's ordered list of migrations and its tracking table.
pub trait Migrator: Send + Sync {
    /// The crate's short name, used by `down --crate NAME`.
    fn crate_name(&self) -> &'static str;
    /// The crate's own tracking table, e.g. `events_migrations`.
    fn migration_table_name(&self) -> &'static str;
    /// Every migration, oldest first. Applied ones are never edited or removed.
    fn migrations(&self) -> Vec<Box<dyn Migration>>;
}

/// The BLAKE3 checksum (hex) of the SQL `migration` applies on `backend`.
pub fn checksum(migration: &dyn Migration, backend: Backend) -> String {
    let mut steps = Steps::new(backend);
    migration.up(&mut steps);
    let mut hasher = blake3::Hasher::new();
    for sql in steps.statements() {
        hasher.update(sql.as_bytes());
        hasher.update(b"\n;\n");
    }
    hasher.finalize().to_hex().to_string()
}

/// Where one migration stands in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Applied at the given time, checksum matching.
    Applied(OffsetDateTime),
    /// Not applied yet.
    Pending,
    /// Applied, but its SQL has changed since.
    Edited(OffsetDateTime),
    /// Recorded as applied, but this build does not know it.
    Unknown(OffsetDateTime),
}

/// One row of [`status`]: a crate's migration and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The crate that owns the migration.
    pub crate_name: String,
    /// The migration's name.
    pub name: String,
    /// Applied, pending, edited or unknown.
    pub state: State,
}

/// A migration that a run applied or reverted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The crate that owns the migration.
    pub crate_name: String,
    /// The migration's name.
    pub name: String,
}

/// Applies every pending migration of every migrator, in the order given.
/// Running it again is a no-op; an edited, unknown or out-of-order migration
/// fails the whole run and nothing is applied.
pub async fn up(db: &DatabaseConnection, migrators: &[&dyn Migrator]) -> Result<Vec<Change>> {
    let txn = begin_locked(db).await?;
    let backend = Backend::of(&txn)?;
    let mut changes = Vec::new();
    for migrator in migrators {
        let table = migrator.migration_table_name();
        ensure_tracking_table(&txn, table).await?;
        let states = inspect(*migrator, backend, read_applied(&txn, table).await?);
        verify(migrator.crate_name(), &states)?;
        for (migration, state) in migrator.migrations().iter().zip(&states) {
            if state.state != State::Pending {
                continue;
            }
            let mut steps = Steps::new(backend);
            migration.up(&mut steps);
            run_steps(&txn, migrator.crate_name(), migration.name(), &steps).await?;
            let insert = Query::insert()
                .into_table(table)
                .columns(["version", "checksum", "applied_at"])
                .values([
                    migration.name().into(),
                    checksum(migration.as_ref(), backend).into(),
                    OffsetDateTime::now_utc().into(),
                ])
                .map_err(|e| Error::Migration(e.to_string()))?
                .to_owned();
            txn.execute(&insert).await?;
            changes.push(change(*migrator, migration.as_ref()));
        }
    }
    txn.commit().await?;
    Ok(changes)
}

/// Reverts the last `n` applied migrations of the crate named `crate_name`.
pub async fn down(
    db: &DatabaseConnection,
    migrators: &[&dyn Migrator],
    crate_name: &str,
    n: usize,
) -> Result<Vec<Change>> {
    let migrator = migrators
        .iter()
        .find(|m| m.crate_name() == crate_name)
        .ok_or_else(|| {
            let known: Vec<_> = migrators.iter().map(|m| m.crate_name()).collect();
            Error::Migration(format!(
                "no crate named `{crate_name}` (known: {})",
                known.join(", ")
            ))
        })?;
    let txn = begin_locked(db).await?;
    let backend = Backend::of(&txn)?;
    let table = migrator.migration_table_name();
    ensure_tracking_table(&txn, table).await?;
    let states = inspect(*migrator, backend, read_applied(&txn, table).await?);
    verify(crate_name, &states)?;
    let changes = revert(&txn, *migrator, backend, &states, n).await?;
    txn.commit().await?;
    Ok(changes)
}

/// Every crate's migrations and whether each is applied, pending, edited or
/// unknown. Reads only: creates no tracking table.
pub async fn status(db: &DatabaseConnection, migrators: &[&dyn Migrator]) -> Result<Vec<MigrationStatus>> {
    let backend = Backend::of(db)?;
    let mut rows = Vec::new();
    for migrator in migrators {
        let table = migrator.migration_table_name();
        let applied = if table_exists(db, backend, table).await? {
            read_applied(db, table).await?
        } else {
            HashMap::new()
        };
        rows.extend(inspect(*migrator, backend, applied));
    }
    Ok(rows)
}

/// Development only: reverts every applied migration of every migrator, last
/// crate first, and drops the tracking tables. Tables of other software in the
/// same database are not touched. A database that records a migration this
/// build does not know is refused: it could not be reverted, and dropping the
/// tracking table would forget it.
pub async fn reset(db: &DatabaseConnection, migrators: &[&dyn Migrator]) -> Result<Vec<Change>> {
    let txn = begin_locked(db).await?;
    let backend = Backend::of(&txn)?;
    let mut changes = Vec::new();
    for migrator in migrators.iter().rev() {
        let table = migrator.migration_table_name();
        if !table_exists(&txn, backend, table).await? {
            continue;
        }
        let states = inspect(*migrator, backend, read_applied(&txn, table).await?);
        if let Some(row) = states.iter().find(|r| matches!(r.state, State::Unknown(_))) {
            return Err(unknown(migrator.crate_name(), &row.name));
        }
        changes.extend(revert(&txn, *migrator, backend, &states, usize::MAX).await?);
        txn.execute(&Table::drop().table(table).to_owned()).await?;
    }
    txn.commit().await?;
    Ok(changes)
}

/// Opens the run's transaction holding the backend's lock for migrating:
/// the advisory lock on PostgreSQL, the write lock on SQLite.
async fn begin_locked(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    match Backend::of(db)? {
        Backend::Postgres => {
            // READ COMMITTED whatever the server's default: a REPEATABLE READ
            // snapshot would be taken by the lock statement before it waits,
            // hiding what the runner ahead of this one committed meanwhile.
            let txn = db
                .begin_with_config(Some(IsolationLevel::ReadCommitted), None)
                .await?;
            txn.execute_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [LOCK_KEY.into()],
            ))
            .await?;
            Ok(txn)
        }
        // SQLite has a single writer: take its lock before reading what is
        // applied. A deferred transaction would read first and then, when the
        // runner ahead of it committed meanwhile, fail its first write with
        // `SQLITE_BUSY` instead of waiting and finding nothing pending.
        Backend::Sqlite => Ok(crate::begin_write(db).await?),
    }
}

async fn ensure_tracking_table(conn: &impl ConnectionTrait, table: &'static str) -> Result<()> {
    let create = Table::create()
        .table(table)
        .if_not_exists()
        .col(ColumnDef::new("version").string().not_null().primary_key())
        .col(ColumnDef::new("checksum").string().not_null())
        .col(ColumnDef::new("applied_at").timestamp_with_time_zone().not_null())
        .to_owned();
    conn.execute(&create).await?;
    Ok(())
}

/// Whether a table exists in the current schema.
pub async fn table_exists(conn: &impl ConnectionTrait, backend: Backend, table: &str) -> Result<bool> {
    let stmt = match backend {
        Backend::Postgres => Statement::from_sql_and_values(
            backend.db_backend(),
            "SELECT 1 FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1",
            [table.into()],
        ),
        Backend::Sqlite => Statement::from_sql_and_values(
            backend.db_backend(),
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            [table.into()],
        ),
    };
    Ok(conn.query_one_raw(stmt).await?.is_some())
}

type AppliedRows = HashMap<String, (String, OffsetDateTime)>;

async fn read_applied(conn: &impl ConnectionTrait, table: &'static str) -> Result<AppliedRows> {
    let select = Query::select()
        .columns(["version", "checksum", "applied_at"])
        .from(table)
        .to_owned();
    let mut applied = HashMap::new();
    for row in conn.query_all(&select).await? {
        let version: String = row.try_get("", "version")?;
        let sum: String = row.try_get("", "checksum")?;
        let at: OffsetDateTime = row.try_get("", "applied_at")?;
        applied.insert(version, (sum, at));
    }
    Ok(applied)
}

/// The state of each of the migrator's migrations in code order, followed by
/// recorded migrations this build does not know.
fn inspect(migrator: &dyn Migrator, backend: Backend, mut applied: AppliedRows) -> Vec<MigrationStatus> {
    let crate_name = migrator.crate_name().to_owned();
    let mut rows: Vec<_> = migrator
        .migrations()
        .iter()
        .map(|m| {
            let state = match applied.remove(m.name()) {
                None => State::Pending,
                Some((sum, at)) if sum == checksum(m.as_ref(), backend) => State::Applied(at),
                Some((_, at)) => State::Edited(at),
            };
            MigrationStatus {
                crate_name: crate_name.clone(),
                name: m.name().to_owned(),
                state,
            }
        })
        .collect();
    let mut unknown: Vec<_> = applied.into_iter().collect();
    unknown.sort_by(|a, b| a.0.cmp(&b.0));
    rows.extend(unknown.into_iter().map(|(name, (_, at))| MigrationStatus {
        crate_name: crate_name.clone(),
        name,
        state: State::Unknown(at),
    }));
    rows
}

/// Refuses edited and unknown migrations, and pending ones placed before applied ones.
fn verify(crate_name: &str, states: &[MigrationStatus]) -> Result<()> {
    let mut first_pending: Option<&str> = None;
    for row in states {
        match &row.state {
            State::Edited(_) => {
                return Err(Error::Migration(format!(
                    "{crate_name}: migration `{}` was edited after it was applied \
                     (its SQL no longer matches the recorded checksum); \
                     restore it and add a new migration instead",
                    row.name
                )));
            }
            State::Unknown(_) => return Err(unknown(crate_name, &row.name)),
            State::Pending => {
                first_pending.get_or_insert(&row.name);
            }
            State::Applied(_) => {
                if let Some(pending) = first_pending {
                    return Err(Error::Migration(format!(
                        "{crate_name}: migration `{pending}` is pending but the later `{}` is applied; \
                         new migrations must come after applied ones",
                        row.name
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The error for a migration recorded as applied that this build does not know.
fn unknown(crate_name: &str, name: &str) -> Error {
    Error::Migration(format!(
        "{crate_name}: migration `{name}` is recorded as applied but unknown to this build \
         (was the database migrated by a newer version?)"
    ))
}

/// Runs the down steps of the last `n` applied migrations, newest first.
async fn revert(
    txn: &DatabaseTransaction,
    migrator: &dyn Migrator,
    backend: Backend,
    states: &[MigrationStatus],
    n: usize,
) -> Result<Vec<Change>> {
    let migrations = migrator.migrations();
    let table = migrator.migration_table_name();
    let mut changes = Vec::new();
    let applied = migrations
        .iter()
        .zip(states)
        .filter(|(_, s)| !matches!(s.state, State::Pending))
        .map(|(m, _)| m);
    for migration in applied.rev().take(n) {
        let mut steps = Steps::new(backend);
        migration.down(&mut steps);
        run_steps(txn, migrator.crate_name(), migration.name(), &steps).await?;
        let delete = Query::delete()
            .from_table(table)
            .and_where(Expr::col("version").eq(migration.name()))
            .to_owned();
        txn.execute(&delete).await?;
        changes.push(change(migrator, migration.as_ref()));
    }
    Ok(changes)
}

async fn run_steps(txn: &DatabaseTransaction, crate_name: &str, name: &str, steps: &Steps) -> Result<()> {
    for sql in steps.statements() {
        txn.execute_unprepared(sql)
            .await
            .map_err(|e| Error::Migration(format!("{crate_name}: migration `{name}` failed: {e}")))?;
    }
    tracing::info!(crate_name, migration = name, "migration step done");
    Ok(())
}

fn change(migrator: &dyn Migrator, migration: &dyn Migration) -> Change {
    Change {
        crate_name: migrator.crate_name().to_owned(),
        name: migration.name().to_owned(),
    }
}
