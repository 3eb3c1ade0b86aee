//! The migration runner on both backends: idempotent `up`, edit detection,
//! `down`, `status` and `reset`.

use plinth_db::migrate::{self, Migration, Migrator, State, Steps};
use plinth_db::{Backend, Error};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{ColumnDef, Table};

/// A migration whose table layout is chosen at construction, so a test can "edit" it.
struct CreateTable {
    name: &'static str,
    table: &'static str,
    columns: &'static [&'static str],
}

impl Migration for CreateTable {
    fn name(&self) -> &str {
        self.name
    }

    fn up(&self, s: &mut Steps) {
        let mut t = Table::create();
        t.table(self.table)
            .col(ColumnDef::new("id").integer().not_null().primary_key());
        for c in self.columns {
            t.col(ColumnDef::new(*c).string().null());
        }
        s.stmt(&t);
    }

    fn down(&self, s: &mut Steps) {
        s.stmt(Table::drop().table(self.table));
    }
}

/// A test crate's migrator with the given migrations.
struct Demo(Vec<(&'static str, &'static str, &'static [&'static str])>);

impl Migrator for Demo {
    fn crate_name(&self) -> &'static str {
        "demo"
    }

    fn migration_table_name(&self) -> &'static str {
        "demo_migrations"
    }

    fn migrations(&self) -> Vec<Box<dyn Migration>> {
        self.0
            .iter()
            .map(|&(name, table, columns)| {
                Box::new(CreateTable { name, table, columns }) as Box<dyn Migration>
            })
            .collect()
    }
}

/// A second crate sharing the database, to prove tracking tables are separate.
struct Other;

impl Migrator for Other {
    fn crate_name(&self) -> &'static str {
        "other"
    }

    fn migration_table_name(&self) -> &'static str {
        "other_migrations"
    }

    fn migrations(&self) -> Vec<Box<dyn Migration>> {
        vec![Box::new(CreateTable {
            name: "m0001_widgets",
            table: "other_widget",
            columns: &[],
        })]
    }
}

async fn tables(db: &sea_orm::DatabaseConnection, names: &[&str]) -> Vec<bool> {
    let backend = Backend::of(db).expect("backend");
    let mut out = Vec::new();
    for n in names {
        out.push(migrate::table_exists(db, backend, n).await.expect("table_exists"));
    }
    out
}

plinth_db::db_test!(
    async fn up_twice_is_a_no_op(db) {
        let demo = Demo(vec![("m0001_a", "demo_a", &["x"]), ("m0002_b", "demo_b", &[])]);
        let first = migrate::up(&db, &[&demo, &Other]).await.expect("first up");
        let names: Vec<_> = first.iter().map(|c| format!("{}/{}", c.crate_name, c.name)).collect();
        assert_eq!(names, ["demo/m0001_a", "demo/m0002_b", "other/m0001_widgets"]);
        let second = migrate::up(&db, &[&demo, &Other]).await.expect("second up");
        assert!(second.is_empty(), "second run applied {second:?}");
        assert_eq!(tables(&db, &["demo_a", "demo_b", "other_widget", "demo_migrations", "other_migrations"]).await, [true; 5]);
        let status = migrate::status(&db, &[&demo, &Other]).await.expect("status");
        assert_eq!(status.len(), 3);
        assert!(status.iter().all(|r| matches!(r.state, State::Applied(_))), "{status:?}");
    }
);

plinth_db::db_test!(
    async fn status_reads_without_creating_tables(db) {
        let demo = Demo(vec![("m0001_a", "demo_a", &[])]);
        let status = migrate::status(&db, &[&demo]).await.expect("status");
        assert_eq!(status.len(), 1);
        assert_eq!(status[0].state, State::Pending);
        assert_eq!(tables(&db, &["demo_migrations"]).await, [false]);
    }
);

plinth_db::db_test!(
    async fn edited_migration_is_refused_by_name(db) {
        migrate::up(&db, &[&Demo(vec![("m0001_a", "demo_a", &["x"])])]).await.expect("up v1");
        // The same migration, edited to add a column, plus a new pending one.
        let edited = Demo(vec![("m0001_a", "demo_a", &["x", "y"]), ("m0002_b", "demo_b", &[])]);
        let err = migrate::up(&db, &[&edited]).await.expect_err("edited migration must be refused");
        let msg = err.to_string();
        assert!(matches!(err, Error::Migration(_)), "{err:?}");
        assert!(msg.contains("`m0001_a`") && msg.contains("edited"), "{msg}");
        // Nothing of the refused run was applied.
        assert_eq!(tables(&db, &["demo_b"]).await, [false]);
        let status = migrate::status(&db, &[&edited]).await.expect("status");
        assert!(matches!(status[0].state, State::Edited(_)), "{status:?}");
        assert_eq!(status[1].state, State::Pending);
    }
);

plinth_db::db_test!(
    async fn unknown_and_out_of_order_migrations_are_refused(db) {
        migrate::up(&db, &[&Demo(vec![("m0001_a", "demo_a", &[]), ("m0002_b", "demo_b", &[])])])
            .await
            .expect("up");
        // An older build that lacks m0002_b.
        let older = Demo(vec![("m0001_a", "demo_a", &[])]);
        let msg = migrate::up(&db, &[&older]).await.expect_err("unknown").to_string();
        assert!(msg.contains("`m0002_b`") && msg.contains("unknown"), "{msg}");
        // A build that inserted a migration before an applied one.
        let inserted = Demo(vec![("m0001_a", "demo_a", &[]), ("m0001b_c", "demo_c", &[]), ("m0002_b", "demo_b", &[])]);
        let msg = migrate::up(&db, &[&inserted]).await.expect_err("out of order").to_string();
        assert!(msg.contains("`m0001b_c`") && msg.contains("pending"), "{msg}");
    }
);

plinth_db::db_test!(
    async fn failing_migration_applies_nothing(db) {
        let demo = Demo(vec![("m0001_a", "demo_a", &[]), ("m0002_dup", "demo_a", &[])]);
        let msg = migrate::up(&db, &[&demo]).await.expect_err("second creates an existing table").to_string();
        assert!(msg.contains("`m0002_dup` failed"), "{msg}");
        assert_eq!(tables(&db, &["demo_a"]).await, [false]);
        let status = migrate::status(&db, &[&demo]).await.expect("status");
        assert!(status.iter().all(|r| r.state == State::Pending), "{status:?}");
    }
);

plinth_db::db_test!(
    async fn down_reverts_the_last_n_of_one_crate(db) {
        let demo = Demo(vec![("m0001_a", "demo_a", &[]), ("m0002_b", "demo_b", &[])]);
        migrate::up(&db, &[&demo, &Other]).await.expect("up");
        let reverted = migrate::down(&db, &[&demo, &Other], "demo", 1).await.expect("down");
        assert_eq!(reverted.len(), 1);
        assert_eq!(reverted[0].name, "m0002_b");
        assert_eq!(tables(&db, &["demo_a", "demo_b", "other_widget"]).await, [true, false, true]);
        let err = migrate::down(&db, &[&demo, &Other], "nope", 1).await.expect_err("unknown crate");
        assert!(err.to_string().contains("`nope`"), "{err}");
        // Up again re-applies only what was reverted.
        let again = migrate::up(&db, &[&demo, &Other]).await.expect("up again");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].name, "m0002_b");
    }
);

plinth_db::db_test!(
    async fn reset_removes_only_what_migrators_own(db) {
        db.execute_unprepared("CREATE TABLE app_own (id INTEGER PRIMARY KEY)").await.expect("app table");
        let demo = Demo(vec![("m0001_a", "demo_a", &[])]);
        migrate::up(&db, &[&demo, &Other]).await.expect("up");
        let reverted = migrate::reset(&db, &[&demo, &Other]).await.expect("reset");
        assert_eq!(reverted.len(), 2);
        assert_eq!(
            tables(&db, &["demo_a", "other_widget", "demo_migrations", "other_migrations", "app_own"]).await,
            [false, false, false, false, true]
        );
    }
);

plinth_db::db_test!(
    async fn checksums_differ_per_backend_only_where_sql_does(db) {
        let m = CreateTable { name: "m", table: "t", columns: &["x"] };
        let here = migrate::checksum(&m, db.backend());
        assert_eq!(here, migrate::checksum(&m, db.backend()), "checksum is deterministic");
        assert_eq!(here.len(), 64);
        let edited = CreateTable { name: "m", table: "t", columns: &["x", "y"] };
        assert_ne!(here, migrate::checksum(&edited, db.backend()));
    }
);

/// A crate whose one migration takes a second on PostgreSQL, so that a
/// runner started meanwhile queues on the lock.
struct Slow;

impl Migrator for Slow {
    fn crate_name(&self) -> &'static str {
        "slow"
    }

    fn migration_table_name(&self) -> &'static str {
        "slow_migrations"
    }

    fn migrations(&self) -> Vec<Box<dyn Migration>> {
        vec![Box::new(SlowTable)]
    }
}

struct SlowTable;

impl Migration for SlowTable {
    fn name(&self) -> &str {
        "m0001_slow"
    }

    fn up(&self, s: &mut Steps) {
        if s.backend() == Backend::Postgres {
            s.sql("SELECT pg_sleep(1)");
        }
        s.stmt(
            Table::create()
                .table("slow_t")
                .col(ColumnDef::new("id").integer().not_null().primary_key()),
        );
    }

    fn down(&self, s: &mut Steps) {
        s.stmt(Table::drop().table("slow_t"));
    }
}

plinth_db::db_test!(
    async fn a_queued_runner_sees_what_the_first_applied_whatever_the_default_isolation(db) {
        if db.backend() == Backend::Postgres {
            // Some servers run every transaction at REPEATABLE READ by default.
            db.execute_unprepared(
                "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_isolation = %L', \
                 current_database(), 'repeatable read'); END $$",
            )
            .await
            .expect("set the default isolation");
        }
        let (a, b) = (
            plinth_db::connect(db.url()).await.expect("first runner's connection"),
            plinth_db::connect(db.url()).await.expect("second runner's connection"),
        );
        let migrators: [&dyn Migrator; 1] = [&Slow];
        let (first, second) = tokio::join!(migrate::up(&a, &migrators), async {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            migrate::up(&b, &migrators).await
        });
        let first = first.expect("first runner");
        let second = second.expect("the queued runner finds the schema current");
        assert_eq!((first.len(), second.len()), (1, 0), "{first:?} {second:?}");
        a.close().await.expect("close a");
        b.close().await.expect("close b");
    }
);

plinth_db::db_test!(
    async fn reset_refuses_migrations_it_cannot_revert(db) {
        let newer = Demo(vec![("m0001_a", "demo_a", &[]), ("m0002_b", "demo_b", &[])]);
        migrate::up(&db, &[&newer, &Other]).await.expect("up");
        // An older build, which cannot revert m0002_b, is asked to reset.
        let older = Demo(vec![("m0001_a", "demo_a", &[])]);
        let err = migrate::reset(&db, &[&older, &Other]).await.expect_err("reset must refuse");
        let msg = err.to_string();
        assert!(msg.contains("demo") && msg.contains("`m0002_b`") && msg.contains("unknown"), "{msg}");
        // Nothing was reverted, and no record was dropped.
        assert_eq!(
            tables(&db, &["demo_a", "demo_b", "other_widget", "demo_migrations", "other_migrations"]).await,
            [true; 5]
        );
        let status = migrate::status(&db, &[&newer, &Other]).await.expect("status");
        assert!(status.iter().all(|r| matches!(r.state, State::Applied(_))), "{status:?}");
    }
);

/// A crate whose second migration creates many tables, so that it takes a
/// while on either backend and a runner started at the same time (another
/// process) must wait for it.
struct Big;

impl Migrator for Big {
    fn crate_name(&self) -> &'static str {
        "big"
    }

    fn migration_table_name(&self) -> &'static str {
        "big_migrations"
    }

    fn migrations(&self) -> Vec<Box<dyn Migration>> {
        vec![
            Box::new(CreateTable {
                name: "m0001_first",
                table: "big_first",
                columns: &[],
            }),
            Box::new(ManyTables),
        ]
    }
}

struct ManyTables;

impl ManyTables {
    const COUNT: usize = 100;
}

impl Migration for ManyTables {
    fn name(&self) -> &str {
        "m0002_many"
    }

    fn up(&self, s: &mut Steps) {
        for i in 0..Self::COUNT {
            s.sql(format!(
                "CREATE TABLE big_t{i} (id INTEGER PRIMARY KEY, a TEXT, b TEXT)"
            ));
            s.sql(format!("CREATE INDEX big_t{i}_a ON big_t{i} (a)"));
        }
    }

    fn down(&self, s: &mut Steps) {
        for i in 0..Self::COUNT {
            s.sql(format!("DROP TABLE big_t{i}"));
        }
    }
}

plinth_db::db_test!(
    async fn runners_started_together_apply_once_and_both_succeed(db) {
        let big: [&dyn Migrator; 1] = [&Big];
        migrate::up(&db, &big).await.expect("up");
        for round in 0..3 {
            // The tracking table exists, as it does when a new release starts.
            migrate::down(&db, &big, "big", 1).await.expect("down");
            let (a, b) = (
                plinth_db::connect(db.url()).await.expect("first process's connection"),
                plinth_db::connect(db.url()).await.expect("second process's connection"),
            );
            // Open each pool's connection first, so that both runs start together.
            migrate::status(&a, &big).await.expect("warm a");
            migrate::status(&b, &big).await.expect("warm b");
            let (first, second) = tokio::join!(migrate::up(&a, &big), migrate::up(&b, &big));
            let first = first.expect("first runner");
            let second = second.expect("second runner");
            assert_eq!(first.len() + second.len(), 1, "round {round}: {first:?} {second:?}");
            a.close().await.expect("close a");
            b.close().await.expect("close b");
        }
    }
);
