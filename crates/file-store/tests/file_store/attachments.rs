//! Attachments: ordered files per owner entity.

use plinth_file_store::{Error, NewGroup, Owner};

use crate::common::*;

plinth_db::db_test!(
    async fn attachments_are_ordered_per_owner(db) {
        let store = store(&db).await;
        let files = one_byte_files(&store, 3).await;
        let owner = Owner::new("event", 42);
        let other = Owner::new("event", 43);
        let mut attached = Vec::new();
        for file in &files {
            attached.push(store.attach(&ctx(), &owner, *file).await.expect("attach"));
        }
        store.attach(&ctx(), &other, files[0]).await.expect("same file elsewhere");
        let duplicate = store.attach(&ctx(), &owner, files[0]).await;
        assert!(matches!(duplicate, Err(Error::Db(plinth_db::Error::Conflict(_)))), "{duplicate:?}");
        let bad = store.attach(&ctx(), &Owner::new("Bad Type", 1), files[0]).await;
        assert!(matches!(bad, Err(Error::Invalid(_))), "{bad:?}");

        let list = store.attachments(&owner).await.expect("list");
        assert_eq!(list.iter().map(|a| (a.file, a.order)).collect::<Vec<_>>(), [
            (files[0], 0),
            (files[1], 1),
            (files[2], 2)
        ]);

        let order = [attached[2].id, attached[0].id, attached[1].id];
        let reordered = store.reorder_attachments(&ctx(), &owner, &order).await.expect("reorder");
        assert_eq!(reordered.iter().map(|a| a.id).collect::<Vec<_>>(), order);

        store.detach(&ctx(), attached[2].id).await.expect("detach");
        let list = store.attachments(&owner).await.expect("list");
        assert_eq!(list.iter().map(|a| (a.id, a.order)).collect::<Vec<_>>(), [
            (attached[0].id, 0),
            (attached[1].id, 1)
        ]);

        store.delete(&ctx(), files[1]).await.expect("delete file");
        assert_eq!(store.attachments(&owner).await.expect("list").len(), 1, "cascade");
        assert_eq!(store.detach_all(&ctx(), &owner).await.expect("detach all"), 1);
        assert!(store.attachments(&owner).await.expect("list").is_empty());
        assert_eq!(store.attachments(&other).await.expect("other").len(), 1);
    }
);

plinth_db::db_test!(
    async fn deleting_a_file_closes_the_gaps_it_leaves(db) {
        let store = store(&db).await;
        let files = one_byte_files(&store, 4).await;
        let owner = Owner::new("event", 42);
        for file in &files[..3] {
            store.attach(&ctx(), &owner, *file).await.expect("attach");
        }
        let folder = store.create_group(&ctx(), NewGroup::default()).await.expect("folder");
        for file in &files[..3] {
            let entry = NewGroup {
                parent: Some(folder.id),
                file: Some(*file),
                ..NewGroup::default()
            };
            store.create_group(&ctx(), entry).await.expect("entry");
        }

        store.delete(&ctx(), files[1]).await.expect("delete file");
        store.attach(&ctx(), &owner, files[3]).await.expect("attach after");
        let list = store.attachments(&owner).await.expect("list");
        assert_eq!(list.iter().map(|a| (a.file, a.order)).collect::<Vec<_>>(), [
            (files[0], 0),
            (files[2], 1),
            (files[3], 2)
        ]);
        let after = NewGroup {
            parent: Some(folder.id),
            file: Some(files[3]),
            ..NewGroup::default()
        };
        store.create_group(&ctx(), after).await.expect("entry after");
        let children = store.group_children(Some(folder.id)).await.expect("children");
        assert_eq!(children.iter().map(|c| (c.file, c.order)).collect::<Vec<_>>(), [
            (Some(files[0]), 0),
            (Some(files[2]), 1),
            (Some(files[3]), 2)
        ]);
    }
);
