//! Dependencies, task groups and concurrent claimers on both backends.

mod common;

use std::collections::HashSet;

use common::*;
use plinth_events::Events;
use plinth_task_queue::{Config, Error, NewTask, Outcome, Requires, TaskState};
use uuid::Uuid;

plinth_db::db_test!(
    async fn concurrent_claimers_never_get_the_same_task(db) {
        let q = queue(&db, Config::default()).await;
        let tasks: Vec<NewTask> = (0..600).map(|_| job("hot").without_events()).collect();
        q.create_many(&ctx(), tasks).await.expect("create");
        let mut claimers = Vec::new();
        for c in 0..8 {
            let q = q.clone();
            claimers.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = claim(&q, "hot", &format!("w{c}"), 7).await;
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|t| t.id));
                }
            }));
        }
        let mut seen = HashSet::new();
        let mut total = 0;
        for claimer in claimers {
            let mine = claimer.await.expect("claimer");
            total += mine.len();
            seen.extend(mine);
        }
        assert_eq!(total, 600, "every task claimed once");
        assert_eq!(seen.len(), 600, "no task claimed twice");
    }
);

plinth_db::db_test!(
    async fn requires_all_completed_or_all_resolved(db) {
        let q = queue(&db, Config::default()).await;
        let a = q.create(&ctx(), job("q")).await.expect("a").id;
        let strict = q.create(&ctx(), job("q").depends_on([a])).await.expect("strict").id;
        let lenient = q
            .create(&ctx(), job("q").depends_on([a]).requires(Requires::AllResolved))
            .await
            .expect("lenient")
            .id;
        let t = claim(&q, "q", "w", 1).await.pop().expect("a claimed");
        assert_eq!(t.id, a);
        q.report(&ctx(), report(&t, "w", Outcome::Failed { error: "no".into(), retry: false }))
            .await
            .expect("fail a");
        assert_eq!(q.task(strict).await.expect("strict").state, TaskState::Unscheduled, "a failed dependency blocks");
        assert_eq!(q.task(lenient).await.expect("lenient").state, TaskState::Pending, "resolved is enough");
        let status = q.status(strict).await.expect("status");
        assert_eq!(status.dependencies.len(), 1);
        assert!(!status.dependencies[0].satisfied);

        let done = q.create(&ctx(), job("q")).await.expect("done").id;
        let t = claim(&q, "q", "w", 5).await;
        for t in &t {
            complete(&q, t, "w").await;
        }
        let late = q.create(&ctx(), job("q").depends_on([done])).await.expect("late").id;
        assert_eq!(q.task(late).await.expect("late").state, TaskState::Pending, "already satisfied at creation");
    }
);

plinth_db::db_test!(
    async fn a_task_may_wait_for_ten_thousand_dependencies(db) {
        let q = queue(&db, Config::default()).await;
        let tasks: Vec<NewTask> = (0..10_000).map(|_| job("fan").without_events()).collect();
        let required: Vec<Uuid> = q.create_many(&ctx(), tasks).await.expect("create").iter().map(|c| c.id).collect();
        let join = q.create(&ctx(), job("join").depends_on(required.clone())).await.expect("join").id;
        let too_many: Vec<Uuid> = (0..10_001).map(|_| Uuid::now_v7()).collect();
        assert!(matches!(q.create(&ctx(), job("join").depends_on(too_many)).await, Err(Error::Invalid(_))));
        let mut done = 0;
        loop {
            let batch = claim(&q, "fan", "w", 1_000).await;
            if batch.is_empty() {
                break;
            }
            done += batch.len();
            let reports = batch.iter().map(|t| report(t, "w", completed())).collect();
            q.report_many(&ctx(), reports).await.expect("complete");
            let expected = if done == 10_000 { TaskState::Pending } else { TaskState::Unscheduled };
            assert_eq!(q.task(join).await.expect("join").state, expected, "after {done}");
        }
        assert_eq!(done, 10_000);
    }
);

plinth_db::db_test!(
    async fn groups_seal_cancel_and_resolve_once(db) {
        let q = queue(&db, Config::default()).await;
        let group = Uuid::now_v7();
        let tasks: Vec<NewTask> = (0..5).map(|_| job("g").group(group).scheduler("ci")).collect();
        let ids: Vec<Uuid> = q.create_many(&ctx(), tasks).await.expect("create").iter().map(|c| c.id).collect();
        let other = q.create(&ctx(), job("g").group(group).scheduler("someone-else")).await;
        assert!(matches!(other, Err(Error::Conflict(_))), "{other:?}");
        let status = q.group(group).await.expect("group");
        assert_eq!((status.pending, status.group.scheduler_id.as_str()), (5, "ci"));

        let claimed = claim(&q, "g", "w", 10).await;
        for t in &claimed[..4] {
            complete(&q, t, "w").await;
        }
        let events = Events::new(db.conn().clone());
        let group_events = || async {
            events.by_subject("task_group", &group.to_string(), None, 10).await.expect("events")
        };
        assert!(group_events().await.iter().all(|e| e.topic != "group.resolved"), "one task still runs");
        complete(&q, &claimed[4], "w").await;
        let resolved: Vec<_> = group_events().await.into_iter().filter(|e| e.topic == "group.resolved").collect();
        assert_eq!(resolved.len(), 1);
        assert!(q.group(group).await.expect("group").group.resolved_at.is_some());

        q.seal_group(&ctx(), group).await.expect("seal");
        let late = q.create(&ctx(), job("g").group(group).scheduler("ci")).await;
        assert!(matches!(late, Err(Error::Conflict(_))), "{late:?}");
        let page = q.group_tasks(group, None, 3).await.expect("page 1");
        assert_eq!(page.items.len(), 3);
        let rest = q.group_tasks(group, page.continuation.as_deref(), 3).await.expect("page 2");
        assert_eq!(rest.items.len(), 2);
        let listed: Vec<Uuid> = page.items.iter().chain(&rest.items).map(|t| t.id).collect();
        assert_eq!(listed, ids);

        let doomed = Uuid::now_v7();
        let tasks: Vec<NewTask> = (0..4).map(|_| job("d").group(doomed)).collect();
        q.create_many(&ctx(), tasks).await.expect("create");
        claim(&q, "d", "w", 1).await;
        assert_eq!(q.cancel_group(&ctx(), doomed).await.expect("cancel group"), 4);
        let status = q.group(doomed).await.expect("group");
        assert_eq!((status.exception, status.pending, status.running), (4, 0, 0));
        assert!(status.group.sealed_at.is_some());
        let resolved = events.by_subject("task_group", &doomed.to_string(), None, 10).await.expect("events");
        assert_eq!(resolved.iter().filter(|e| e.topic == "group.resolved").count(), 1);
        assert!(matches!(q.group(Uuid::now_v7()).await, Err(Error::NotFound(_))));
    }
);
