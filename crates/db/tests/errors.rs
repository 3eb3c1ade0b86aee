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
