//! Constraint violations become typed errors on both backends.

use plinth_db::Error;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

async fn exec(db: &sea_orm::DatabaseConnection, sql: &str) -> Result<(), Error> {
    let backend: DbBackend = db.get_database_backend();
    db.execute_raw(Statement::from_string(backend, sql)).await?;
    Ok(())
}

plinth_db::db_test!(
    async fn unique_and_foreign_key_violations_are_typed(db) {
        exec(&db, "CREATE TABLE parent (id INTEGER PRIMARY KEY, email VARCHAR UNIQUE)").await.expect("parent");
        exec(&db, "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id))")
            .await
            .expect("child");
        exec(&db, "INSERT INTO parent (id, email) VALUES (1, 'a@x')").await.expect("insert");
        let dup = exec(&db, "INSERT INTO parent (id, email) VALUES (2, 'a@x')").await;
        assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
        let dup_pk = exec(&db, "INSERT INTO parent (id, email) VALUES (1, 'b@x')").await;
        assert!(matches!(dup_pk, Err(Error::Conflict(_))), "{dup_pk:?}");
        let orphan = exec(&db, "INSERT INTO child (id, parent_id) VALUES (1, 99)").await;
        assert!(matches!(orphan, Err(Error::ForeignKey(_))), "foreign keys must be enforced: {orphan:?}");
        let syntax = exec(&db, "SELEC nonsense").await;
        assert!(matches!(syntax, Err(Error::Db(_))), "{syntax:?}");
    }
);

plinth_db::db_test!(
    async fn backend_is_reported(db) {
        assert_eq!(plinth_db::Backend::of(&*db).expect("supported"), db.backend());
    }
);

plinth_db::db_test!(
    async fn timestamps_compare_in_time_order_and_batches_delete_all(db) {
        use sea_orm::sea_query::{ColumnDef, Query, Table};
        use time::macros::datetime;
        let backend = db.backend();
        db.execute(&Table::create().table("stamps").col(ColumnDef::new("id").integer().not_null().primary_key()).col(ColumnDef::new("at").timestamp_with_time_zone().not_null()).to_owned())
            .await
            .expect("table");
        // Fractions of different lengths: as RFC 3339 text "…41Z" sorts after "…41.5Z".
        let times = [datetime!(2026-01-01 00:00:41 UTC), datetime!(2026-01-01 00:00:41.5 UTC), datetime!(2026-01-01 00:00:41.123456789 UTC)];
        for (i, t) in times.iter().enumerate() {
            let insert = Query::insert().into_table("stamps").columns(["id", "at"]).values_panic([(i as i32).into(), (*t).into()]).to_owned();
            db.execute(&insert).await.expect("insert");
        }
        let count_before = |at| {
            let q = Query::select().expr(sea_orm::sea_query::Expr::cust("COUNT(*)")).from("stamps").and_where(backend.before("at", at)).to_owned();
            let db = db.conn().clone();
            async move {
                let row = db.query_one(&q).await.expect("query").expect("row");
                row.try_get_by_index::<i64>(0).expect("count")
            }
        };
        assert_eq!(count_before(datetime!(2026-01-01 00:00:41.2 UTC)).await, 2, "41 and 41.123… are before 41.2");
        assert_eq!(count_before(datetime!(2026-01-01 00:00:41 UTC)).await, 0);
        assert_eq!(count_before(datetime!(2026-01-01 00:00:42 UTC)).await, 3);
        let deleted = plinth_db::sql::delete_in_batches(&*db, "stamps", "id", sea_orm::Condition::all(), 2).await.expect("delete");
        assert_eq!(deleted, 3);
    }
);

plinth_db::db_test!(
    async fn a_database_too_busy_to_answer_is_503_with_retry_after(db) {
        use plinth_db::problem::Problem;
        let busy = |err: sea_orm::DbErr| {
            let problem = Problem::from(Error::from(err));
            assert_eq!(problem.status, 503, "{problem:?}");
            assert!(problem.headers.iter().any(|(name, _)| *name == "retry-after"), "{problem:?}");
        };

        // Every pooled connection is taken for longer than the wait allows.
        let cfg = plinth_db::DbConfig {
            url: db.url().to_owned(),
            max_connections: 1,
            connect_timeout_secs: 1,
            ..plinth_db::DbConfig::default()
        };
        let pool = plinth_db::connect_with(&cfg).await.expect("a pool of one");
        let held = sea_orm::TransactionTrait::begin(&pool).await.expect("take the connection");
        busy(pool.execute_unprepared("SELECT 1").await.expect_err("no connection is free"));
        held.rollback().await.expect("give it back");

        // SQLite: another writer holds the lock for longer than the busy timeout.
        if db.backend() == plinth_db::Backend::Sqlite {
            exec(&db, "CREATE TABLE busy (id INTEGER PRIMARY KEY)").await.expect("table");
            let writer = plinth_db::begin_write(&pool).await.expect("take the write lock");
            let other = plinth_db::connect_with(&plinth_db::DbConfig { busy_timeout_ms: 50, ..cfg })
                .await
                .expect("a second pool");
            busy(other.execute_unprepared("INSERT INTO busy (id) VALUES (1)").await.expect_err("locked"));
            writer.rollback().await.expect("release the lock");
        }
    }
);
