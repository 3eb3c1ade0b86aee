//! File groups: ordered children, reordering, moves without cycles, cascades.

use plinth_file_store::{Error, FileGroup, GroupUpdate, NewFile, NewGroup};
use serde_json::json;
use uuid::Uuid;

use crate::common::*;

fn folder(parent: Option<Uuid>, name: &str) -> NewGroup {
    NewGroup {
        parent,
        name: Some(name.to_owned()),
        ..NewGroup::default()
    }
}

fn names(nodes: &[FileGroup]) -> Vec<(String, i32)> {
    nodes
        .iter()
        .map(|n| (n.name.clone().unwrap_or_default(), n.order))
        .collect()
}

fn expect(list: &[(&str, i32)]) -> Vec<(String, i32)> {
    list.iter().map(|(n, o)| ((*n).to_owned(), *o)).collect()
}

plinth_db::db_test!(
    async fn children_keep_dense_positions_through_inserts_and_reorders(db) {
        let store = store(&db).await;
        let root = store.create_group(&ctx(), folder(None, "root")).await.expect("root");
        for name in ["a", "b", "c"] {
            store.create_group(&ctx(), folder(Some(root.id), name)).await.expect("child");
        }
        let first = NewGroup {
            position: Some(0),
            meta: json!({"pinned": true}),
            ..folder(Some(root.id), "first")
        };
        store.create_group(&ctx(), first).await.expect("insert at 0");
        let children = store.group_children(Some(root.id)).await.expect("children");
        assert_eq!(names(&children), expect(&[("first", 0), ("a", 1), ("b", 2), ("c", 3)]));
        assert_eq!(children[0].meta, json!({"pinned": true}));

        let reversed: Vec<_> = children.iter().rev().map(|c| c.id).collect();
        let reordered = store.reorder_groups(&ctx(), Some(root.id), &reversed).await.expect("reorder");
        assert_eq!(names(&reordered), expect(&[("c", 0), ("b", 1), ("a", 2), ("first", 3)]));
        let partial = store.reorder_groups(&ctx(), Some(root.id), &reversed[..2]).await;
        assert!(matches!(partial, Err(Error::Invalid(_))), "{partial:?}");

        let renamed = store
            .update_group(&ctx(), root.id, GroupUpdate { name: Some("top".into()), meta: None })
            .await
            .expect("rename");
        assert_eq!(renamed.name.as_deref(), Some("top"));
        assert_eq!(names(&store.group_children(None).await.expect("roots")), expect(&[("top", 0)]));
    }
);

plinth_db::db_test!(
    async fn moves_renumber_both_sides_and_refuse_cycles(db) {
        let store = store(&db).await;
        let a = store.create_group(&ctx(), folder(None, "a")).await.expect("a");
        let b = store.create_group(&ctx(), folder(None, "b")).await.expect("b");
        let a1 = store.create_group(&ctx(), folder(Some(a.id), "a1")).await.expect("a1");
        let a2 = store.create_group(&ctx(), folder(Some(a.id), "a2")).await.expect("a2");
        let a1x = store.create_group(&ctx(), folder(Some(a1.id), "a1x")).await.expect("a1x");

        for target in [a.id, a1.id, a1x.id] {
            let cycle = store.move_group(&ctx(), a.id, Some(target), None).await;
            assert!(matches!(cycle, Err(Error::Conflict(_))), "{cycle:?}");
        }
        let missing = store.move_group(&ctx(), a.id, Some(Uuid::now_v7()), None).await;
        assert!(missing.is_err());

        let moved = store.move_group(&ctx(), a1.id, Some(b.id), None).await.expect("move");
        assert_eq!((moved.parent, moved.order), (Some(b.id), 0));
        assert_eq!(names(&store.group_children(Some(a.id)).await.expect("a")), expect(&[("a2", 0)]));
        assert_eq!(store.group(a1x.id).await.expect("a1x").parent, Some(a1.id), "the subtree moves along");

        // Back under `a`, first; then `a` itself under `b`'s old child is now fine.
        store.move_group(&ctx(), a1.id, Some(a.id), Some(0)).await.expect("move back");
        assert_eq!(
            names(&store.group_children(Some(a.id)).await.expect("a")),
            expect(&[("a1", 0), ("a2", 1)])
        );
        store.move_group(&ctx(), b.id, Some(a2.id), None).await.expect("b under a2");
        store.move_group(&ctx(), a2.id, None, Some(0)).await.expect("a2 to the root");
        assert_eq!(names(&store.group_children(None).await.expect("roots")), expect(&[("a2", 0), ("a", 1)]));
        let cycle = store.move_group(&ctx(), a2.id, Some(b.id), None).await;
        assert!(matches!(cycle, Err(Error::Conflict(_))), "{cycle:?}");
    }
);

plinth_db::db_test!(
    async fn deletes_cascade_through_subtrees_and_files(db) {
        let store = store(&db).await;
        let file = store
            .create(&ctx(), NewFile::new(DOCS, "doc.txt"), stream_of(b"doc", 3))
            .await
            .expect("file");
        let top = store.create_group(&ctx(), folder(None, "top")).await.expect("top");
        let mid = store.create_group(&ctx(), folder(Some(top.id), "mid")).await.expect("mid");
        let entry = NewGroup {
            file: Some(file.id),
            ..folder(Some(mid.id), "entry")
        };
        let entry = store.create_group(&ctx(), entry).await.expect("entry");
        let sibling = store.create_group(&ctx(), folder(Some(top.id), "sibling")).await.expect("sibling");

        let under_file = store.create_group(&ctx(), folder(Some(entry.id), "nope")).await;
        assert!(matches!(under_file, Err(Error::Invalid(_))), "{under_file:?}");
        let no_file = NewGroup {
            file: Some(Uuid::now_v7()),
            ..folder(None, "ghost")
        };
        assert!(store.create_group(&ctx(), no_file).await.is_err());

        // Deleting the file removes its entry only.
        store.delete(&ctx(), file.id).await.expect("delete file");
        assert!(store.group(entry.id).await.is_err());
        assert!(store.group(mid.id).await.is_ok());

        store.delete_group(&ctx(), mid.id).await.expect("delete mid");
        assert_eq!(names(&store.group_children(Some(top.id)).await.expect("top")), expect(&[("sibling", 0)]));
        store.delete_group(&ctx(), top.id).await.expect("delete top");
        assert!(store.group(sibling.id).await.is_err(), "children go with their parent");
        assert!(store.group_children(None).await.expect("roots").is_empty());
    }
);

plinth_db::db_test!(
    async fn changes_racing_a_cascade_find_the_entry_gone(db) {
        let store = store(&db).await;
        let file = store
            .create(&ctx(), NewFile::new(DOCS, "doc.txt"), stream_of(b"doc", 3))
            .await
            .expect("file");
        let top = store.create_group(&ctx(), folder(None, "top")).await.expect("top");
        let entry = NewGroup {
            file: Some(file.id),
            ..folder(None, "entry")
        };
        let entry = store.create_group(&ctx(), entry).await.expect("entry");
        // Another process deletes the file, and with it the entry; a rename and a move start meanwhile.
        let holder = hold(&db, "DELETE FROM files_file WHERE id = $1", [file.id]).await;
        let rename = {
            let store = store.clone();
            let change = GroupUpdate {
                name: Some("renamed".into()),
                ..GroupUpdate::default()
            };
            tokio::spawn(async move { store.update_group(&ctx(), entry.id, change).await })
        };
        let moved = {
            let store = store.clone();
            tokio::spawn(async move { store.move_group(&ctx(), entry.id, Some(top.id), None).await })
        };
        wait_for_waiters(&db, 2).await;
        holder.commit().await.expect("delete elsewhere");
        let renamed = rename.await.expect("join");
        assert!(matches!(renamed, Err(Error::Db(plinth_db::Error::NotFound(_)))), "{renamed:?}");
        let moved = moved.await.expect("join");
        assert!(matches!(moved, Err(Error::Db(plinth_db::Error::NotFound(_)))), "{moved:?}");
        assert_eq!(names(&store.group_children(None).await.expect("roots")), expect(&[("top", 0)]));
        assert!(store.group_children(Some(top.id)).await.expect("children").is_empty());
    }
);
