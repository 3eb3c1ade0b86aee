//! The audit log / outbox on both backends: transactional recording, audit
//! queries, gap-free consumer cursors and retention.

use plinth_db::testing::{TestDb, incompressible};
use plinth_events::{Context, Cursor, Events, NewEvent, record};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait};
use serde_json::json;
use time::{Duration, OffsetDateTime};

async fn migrated(db: &DatabaseConnection) {
    plinth_db::migrate::up(db, &[&plinth_events::Migrator])
        .await
        .expect("migrate");
}

fn ctx(user: &str) -> Context {
    Context {
        request_id: Some("req-1".into()),
        ip: Some("203.0.113.7".into()),
        user_agent: Some("test-agent".into()),
        ..Context::actor("user", user)
    }
}

/// Reads events after `cursor` page by page until `want` have arrived,
/// returning their ids and the final cursor. On PostgreSQL a consumer waits
/// for every older transaction on the server (any database) to finish, so
/// events can take a moment to appear under concurrent load; the wait is
/// bounded, and no more than `want` events may ever arrive.
async fn drain(events: &Events, mut cursor: Cursor, want: usize) -> (Vec<i64>, Cursor) {
    let mut ids = Vec::new();
    for _ in 0..400 {
        let page = events.after(cursor, 2).await.expect("after");
        ids.extend(page.events.iter().map(|e| e.id));
        cursor = page.next;
        if ids.len() >= want && page.events.is_empty() {
            return (ids, cursor);
        }
        if page.events.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
    (ids, cursor)
}

plinth_db::db_test!(
    async fn committed_events_are_kept_and_rolled_back_ones_are_not(db) {
        migrated(&db).await;
        let txn = db.begin().await.expect("begin");
        record(&txn, &ctx("alice"), NewEvent::new("repo.pushed", "repo", "r1").payload(json!({"ref": "main"})))
            .await
            .expect("record");
        txn.commit().await.expect("commit");

        let txn = db.begin().await.expect("begin");
        record(&txn, &ctx("alice"), NewEvent::new("repo.deleted", "repo", "r1")).await.expect("record");
        txn.rollback().await.expect("rollback");

        let events = Events::new(db.conn().clone());
        let by_actor = events.by_actor("user", "alice", None, 10).await.expect("by actor");
        assert_eq!(by_actor.len(), 1, "the rolled-back event must not exist");
        let e = &by_actor[0];
        assert_eq!((e.topic.as_str(), e.subject_type.as_str(), e.subject_id.as_str()), ("repo.pushed", "repo", "r1"));
        assert_eq!(e.payload, json!({"ref": "main"}));
        assert_eq!(e.request_id.as_deref(), Some("req-1"));
        assert_eq!(e.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(e.user_agent.as_deref(), Some("test-agent"));
        let (ids, _) = drain(&events, Cursor::START, 1).await;
        assert_eq!(ids, [e.id]);
    }
);

plinth_db::db_test!(
    async fn audit_queries_filter_and_page_newest_first(db) {
        migrated(&db).await;
        for i in 0..5 {
            let who = if i % 2 == 0 { "alice" } else { "bob" };
            record(db.conn(), &ctx(who), NewEvent::new("file.created", "file", format!("f{}", i % 2)))
                .await
                .expect("record");
        }
        let events = Events::new(db.conn().clone());
        let alice = events.by_actor("user", "alice", None, 10).await.expect("alice");
        assert_eq!(alice.len(), 3);
        assert!(alice.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        let older = events.by_actor("user", "alice", Some(alice[0].id), 10).await.expect("page 2");
        assert_eq!(older.len(), 2);
        let f1 = events.by_subject("file", "f1", None, 10).await.expect("subject");
        assert_eq!(f1.len(), 2);
        assert!(f1.iter().all(|e| e.actor_id.as_deref() == Some("bob")));
        assert!(events.by_actor("user", "carol", None, 10).await.expect("none").is_empty());
    }
);

plinth_db::db_test!(
    async fn consumers_page_through_everything_once(db) {
        migrated(&db).await;
        let mut written = Vec::new();
        for i in 0..7 {
            written.push(record(db.conn(), &Context::default(), NewEvent::new("task.created", "task", i)).await.expect("record"));
        }
        let events = Events::new(db.conn().clone());
        let (ids, cursor) = drain(&events, Cursor::START, written.len()).await;
        assert_eq!(ids, written);
        let later = record(db.conn(), &Context::default(), NewEvent::new("task.created", "task", 99)).await.expect("record");
        let (more, _) = drain(&events, cursor, 1).await;
        assert_eq!(more, [later], "resuming from the cursor yields only the new event");
    }
);

plinth_db::db_test!(
    async fn bad_topics_are_refused(db) {
        migrated(&db).await;
        let err = record(db.conn(), &Context::default(), NewEvent::new("Bad Topic", "x", 1)).await;
        assert!(matches!(err, Err(plinth_events::Error::Invalid(_))), "{err:?}");
        assert_eq!(stored(&db).await, 0, "nothing was stored");
    }
);

/// How many events the table holds, read directly: a consumer's cursor may
/// hold back the newest while other transactions on the server are open.
async fn stored(db: &TestDb) -> u64 {
    plinth_events::entity::event::Entity::find()
        .count(db.conn())
        .await
        .expect("count")
}

plinth_db::db_test!(
    async fn prune_deletes_old_events_in_batches(db) {
        migrated(&db).await;
        for i in 0..5 {
            record(db.conn(), &Context::default(), NewEvent::new("job.done", "job", i)).await.expect("record");
        }
        let events = Events::new(db.conn().clone());
        // Nothing is older than an hour ago.
        assert_eq!(events.prune(OffsetDateTime::now_utc() - Duration::hours(1), 2).await.expect("prune"), 0);
        // Everything is older than a moment from now: 5 rows in batches of 2.
        assert_eq!(events.prune(OffsetDateTime::now_utc() + Duration::seconds(1), 2).await.expect("prune"), 5);
        assert_eq!(stored(&db).await, 0, "nothing was stored");
        // A batch size too large for the database's integers is capped.
        record(db.conn(), &Context::default(), NewEvent::new("job.done", "job", 5)).await.expect("record");
        assert_eq!(events.prune(OffsetDateTime::now_utc() + Duration::seconds(1), u64::MAX).await.expect("prune"), 1);
    }
);

/// Two interleaved transactions on PostgreSQL: the one that started first (and
/// took the smaller id) commits last. A naive `id > cursor` consumer would
/// advance past its event and never see it; ours holds back instead.
mod interleaved_transactions_never_skip {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let db = TestDb::postgres().await;
        migrated(&db).await;
        let events = Events::new(db.conn().clone());

        let early = db.begin().await.expect("begin early");
        let early_id = record(&early, &Context::default(), NewEvent::new("a.first", "x", 1))
            .await
            .expect("early");
        let late = db.begin().await.expect("begin late");
        let late_id = record(&late, &Context::default(), NewEvent::new("a.second", "x", 2))
            .await
            .expect("late");
        assert!(early_id < late_id);
        late.commit().await.expect("commit late");

        // The later transaction has committed, the earlier one is still open:
        // the consumer must not move past the earlier one's position.
        let page = events.after(Cursor::START, 10).await.expect("after");
        assert!(
            page.events.is_empty(),
            "consumer read {:?} while an older transaction was open",
            page.events
        );
        let cursor = page.next;

        early.commit().await.expect("commit early");
        let (ids, _) = drain(&events, cursor, 2).await;
        let mut seen = ids.clone();
        seen.sort_unstable();
        assert_eq!(seen, [early_id, late_id], "both events are seen exactly once");
    }
}

/// Rolled back work in an interleaving leaves nothing behind and does not block consumers.
mod interleaved_rollback_leaves_no_event {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let db = TestDb::postgres().await;
        migrated(&db).await;
        let events = Events::new(db.conn().clone());
        let doomed = db.begin().await.expect("begin");
        record(&doomed, &Context::default(), NewEvent::new("a.doomed", "x", 1))
            .await
            .expect("doomed");
        let kept = record(db.conn(), &Context::default(), NewEvent::new("a.kept", "x", 2))
            .await
            .expect("kept");
        doomed.rollback().await.expect("rollback");
        let (ids, _) = drain(&events, Cursor::START, 1).await;
        assert_eq!(ids, [kept]);
    }
}

plinth_db::db_test!(
    async fn text_with_nul_characters_is_refused(db) {
        migrated(&db).await;
        let nul_ctx = [
            Context::actor("us\0er", "alice"),
            Context::actor("user", "al\0ice"),
            Context { request_id: Some("req\0".into()), ..Context::default() },
            Context { ip: Some("\0".into()), ..Context::default() },
            Context { user_agent: Some("agent\0".into()), ..Context::default() },
        ];
        for ctx in &nul_ctx {
            let err = record(db.conn(), ctx, NewEvent::new("repo.pushed", "repo", "r1")).await;
            assert!(matches!(err, Err(plinth_events::Error::Invalid(_))), "{ctx:?}: {err:?}");
        }
        for event in [
            NewEvent::new("repo.pushed", "re\0po", "r1"),
            NewEvent::new("repo.pushed", "repo", "r\u{0}1"),
            NewEvent::new("repo.pushed", "repo", "r1").payload(json!({"ref": "ma\u{0}in"})),
            NewEvent::new("repo.pushed", "repo", "r1").payload(json!({"r\u{0}ef": "main"})),
        ] {
            let err = record(db.conn(), &Context::default(), event.clone()).await;
            assert!(matches!(err, Err(plinth_events::Error::Invalid(_))), "{event:?}: {err:?}");
        }
        let events = Events::new(db.conn().clone());
        let err = events.by_actor("user", "al\0ice", None, 10).await;
        assert!(matches!(err, Err(plinth_events::Error::Invalid(_))), "{err:?}");
        let err = events.by_subject("re\0po", "r1", None, 10).await;
        assert!(matches!(err, Err(plinth_events::Error::Invalid(_))), "{err:?}");
        assert_eq!(stored(&db).await, 0, "nothing was stored");
    }
);

plinth_db::db_test!(
    async fn overlong_subjects_and_actors_are_refused(db) {
        migrated(&db).await;
        let max = plinth_events::record::MAX_ID_LEN;
        let (longest, other) = (incompressible(max, 1), incompressible(max, 2));
        record(db.conn(), &Context::actor(longest.clone(), other.clone()), NewEvent::new("a.b", other.clone(), &longest))
            .await
            .expect("the longest accepted values are stored");
        let over = incompressible(max + 1, 3);
        let too_long = [
            (Context::actor(over.clone(), "alice"), NewEvent::new("a.b", "x", 1)),
            (Context::actor("user", over.clone()), NewEvent::new("a.b", "x", 1)),
            (Context::default(), NewEvent::new("a.b", over.clone(), 1)),
            (Context::default(), NewEvent::new("a.b", "x", &over)),
        ];
        for (ctx, event) in too_long {
            let err = record(db.conn(), &ctx, event).await;
            assert!(matches!(err, Err(plinth_events::Error::Invalid(_))), "{err:?}");
        }
        assert_eq!(stored(&db).await, 1, "only the longest accepted values were stored");
    }
);
