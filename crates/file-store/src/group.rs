//! File groups: an ordered tree of folders and file entries. Siblings hold
//! dense positions from 0; inserting, moving and deleting renumber them.
//! A move that would put a node under itself is refused, and deleting a
//! node deletes its subtree (foreign keys cascade).

use plinth_db::OptionExt;
use plinth_events::{Context, NewEvent, record};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::group::{self, Column, Entity};
use crate::file::check_meta;
use crate::txn::{self, find_locked, settle};
use crate::{Error, FileStore, Result, file, name, order};

/// A node of a file group.
pub type FileGroup = group::Model;

const TABLE: &str = "files_group";
/// How a node is named in errors.
const WHAT: &str = "file group";
/// Deepest tree walked when checking a move; deeper trees are refused.
pub const MAX_DEPTH: usize = 10_000;

/// A node to create.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewGroup {
    /// The parent folder; `None` for a root.
    pub parent: Option<Uuid>,
    /// The file of an entry; `None` for a folder.
    pub file: Option<Uuid>,
    /// Display name (cleaned like file names).
    pub name: Option<String>,
    /// Application metadata: a JSON object (`{}` when `null`).
    pub meta: Value,
    /// Position among the siblings; the end when absent.
    pub position: Option<u32>,
}

/// Changes to a node's name or metadata; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupUpdate {
    /// The new display name.
    pub name: Option<String>,
    /// The new metadata, replacing the old.
    pub meta: Option<Value>,
}

impl FileStore {
    /// Creates a folder or file entry under `new.parent` (a folder) at
    /// `new.position`, recording `file_group.created`.
    pub async fn create_group(&self, ctx: &Context, new: NewGroup) -> Result<FileGroup> {
        let meta = if Value::is_null(&new.meta) {
            json!({})
        } else {
            new.meta
        };
        check_meta(&meta)?;
        let txn = txn::begin(&self.db).await?;
        let result = async {
            order::lock(&txn, TABLE).await?;
            if let Some(parent) = new.parent {
                check_folder(&txn, parent).await?;
            }
            if let Some(file) = new.file {
                file::find(&txn, file).await?;
            }
            let position = open_slot(&txn, new.parent, new.position, None).await?;
            let now = OffsetDateTime::now_utc();
            let row = FileGroup {
                id: Uuid::now_v7(),
                order: position,
                file: new.file,
                parent: new.parent,
                name: new.name.as_deref().map(name::clean),
                meta,
                created_at: now,
                updated_at: now,
            };
            let node = row.into_active_model().insert(&txn).await?;
            record(&txn, ctx, event("file_group.created", &node)).await?;
            Ok::<_, Error>(node)
        }
        .await;
        settle(txn, result).await
    }

    /// The node with `id`.
    pub async fn group(&self, id: Uuid) -> Result<FileGroup> {
        find(&self.db, id).await
    }

    /// The children of `parent` (the roots when `None`), in order.
    pub async fn group_children(&self, parent: Option<Uuid>) -> Result<Vec<FileGroup>> {
        Ok(Entity::find()
            .filter(under(parent))
            .order_by_asc(Column::Order)
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Renames a node or replaces its metadata, recording `file_group.updated`.
    pub async fn update_group(&self, ctx: &Context, id: Uuid, update: GroupUpdate) -> Result<FileGroup> {
        if let Some(meta) = &update.meta {
            check_meta(meta)?;
        }
        let txn = txn::begin(&self.db).await?;
        let result = async {
            let mut row = find_locked::<Entity>(&txn, id, WHAT).await?.into_active_model();
            if let Some(new_name) = &update.name {
                row.name = Set(Some(name::clean(new_name)));
            }
            if let Some(meta) = update.meta {
                row.meta = Set(meta);
            }
            let node = row.update(&txn).await?;
            record(&txn, ctx, event("file_group.updated", &node)).await?;
            Ok::<_, Error>(node)
        }
        .await;
        settle(txn, result).await
    }

    /// Moves a node (with its subtree) under `parent` at `position`,
    /// renumbering both sibling lists, recording `file_group.moved`. A move
    /// under the node itself or one of its descendants is [`Error::Conflict`].
    pub async fn move_group(
        &self,
        ctx: &Context,
        id: Uuid,
        parent: Option<Uuid>,
        position: Option<u32>,
    ) -> Result<FileGroup> {
        let txn = txn::begin(&self.db).await?;
        let result = async {
            order::lock(&txn, TABLE).await?;
            let node = find_locked::<Entity>(&txn, id, WHAT).await?;
            if let Some(parent) = parent {
                check_folder(&txn, parent).await?;
                check_not_within(&txn, id, parent).await?;
            }
            close_slot(&txn, node.parent, node.order, id).await?;
            let position = open_slot(&txn, parent, position, Some(id)).await?;
            let mut row = node.into_active_model();
            row.parent = Set(parent);
            row.order = Set(position);
            let node = row.update(&txn).await?;
            record(&txn, ctx, event("file_group.moved", &node)).await?;
            Ok::<_, Error>(node)
        }
        .await;
        settle(txn, result).await
    }

    /// Puts the children of `parent` (the roots when `None`) in the order of
    /// `ids`, which must list each of them once; records `file_group.reordered`.
    pub async fn reorder_groups(
        &self,
        ctx: &Context,
        parent: Option<Uuid>,
        ids: &[Uuid],
    ) -> Result<Vec<FileGroup>> {
        let txn = txn::begin(&self.db).await?;
        let result = async {
            order::lock(&txn, TABLE).await?;
            let children = Entity::find()
                .filter(under(parent))
                .order_by_asc(Column::Order)
                .all(&txn)
                .await?;
            let current: Vec<_> = children.iter().map(|c| c.id).collect();
            order::check_permutation(&current, ids)?;
            let now = OffsetDateTime::now_utc();
            for (position, id) in (0..).zip(ids) {
                Entity::update_many()
                    .col_expr(Column::Order, Expr::value(position))
                    .col_expr(Column::UpdatedAt, Expr::value(now))
                    .filter(Column::Id.eq(*id))
                    .exec(&txn)
                    .await?;
            }
            let subject = parent.map_or_else(|| "root".to_owned(), |p| p.to_string());
            record(
                &txn,
                ctx,
                NewEvent::new("file_group.reordered", "file_group", subject).payload(json!({ "order": ids })),
            )
            .await?;
            Ok::<_, Error>(())
        }
        .await;
        settle(txn, result).await?;
        self.group_children(parent).await
    }

    /// Deletes a node and its whole subtree, closing the gap among its
    /// siblings; records `file_group.deleted`. Files stay.
    pub async fn delete_group(&self, ctx: &Context, id: Uuid) -> Result<FileGroup> {
        let txn = txn::begin(&self.db).await?;
        let result = async {
            order::lock(&txn, TABLE).await?;
            let node = find_locked::<Entity>(&txn, id, WHAT).await?;
            remove(&txn, &node).await?;
            record(&txn, ctx, event("file_group.deleted", &node)).await?;
            Ok::<_, Error>(node)
        }
        .await;
        settle(txn, result).await
    }
}

/// Deletes `node` and its subtree, closing the gap it leaves among its
/// siblings (the caller holds the order lock).
async fn remove(txn: &DatabaseTransaction, node: &FileGroup) -> Result<()> {
    Entity::delete_by_id(node.id).exec(txn).await?;
    close_slot(txn, node.parent, node.order, node.id).await
}

/// Removes every entry of file `file`, closing the gaps among their
/// siblings, for a file being deleted in `txn`. Takes the order lock, so call
/// it before locking the file's row.
pub(crate) async fn remove_file(txn: &DatabaseTransaction, file: Uuid) -> Result<()> {
    order::lock(txn, TABLE).await?;
    // Last first, so that closing one gap never shifts an entry still to go.
    let entries = Entity::find()
        .filter(Column::File.eq(file))
        .order_by_desc(Column::Order)
        .all(txn)
        .await?;
    for entry in &entries {
        remove(txn, entry).await?;
    }
    Ok(())
}

async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<FileGroup> {
    Ok(Entity::find_by_id(id)
        .one(conn)
        .await?
        .or_not_found(format!("{WHAT} {id}"))?)
}

/// The nodes directly under `parent` (the roots when `None`).
fn under(parent: Option<Uuid>) -> Condition {
    Condition::all().add(match parent {
        Some(p) => Column::Parent.eq(p),
        None => Column::Parent.is_null(),
    })
}

/// Refuses a parent that does not exist or is a file entry.
async fn check_folder(txn: &DatabaseTransaction, id: Uuid) -> Result<()> {
    if find(txn, id).await?.file.is_some() {
        return Err(Error::Invalid(format!(
            "file group {id} is a file entry and cannot have children"
        )));
    }
    Ok(())
}

/// Refuses to place `id` under `parent` when `parent` is `id` or below it.
async fn check_not_within(txn: &DatabaseTransaction, id: Uuid, parent: Uuid) -> Result<()> {
    let mut current = Some(parent);
    for _ in 0..MAX_DEPTH {
        match current {
            None => return Ok(()),
            Some(node) if node == id => {
                return Err(Error::Conflict(format!(
                    "cannot move file group {id} under itself or one of its descendants"
                )));
            }
            Some(node) => current = find(txn, node).await?.parent,
        }
    }
    Err(Error::Conflict(format!(
        "file group tree is deeper than {MAX_DEPTH}"
    )))
}

/// Makes room at `position` (the end when absent) among the children of
/// `parent`, ignoring `except`; returns the position to take.
async fn open_slot(
    txn: &DatabaseTransaction,
    parent: Option<Uuid>,
    position: Option<u32>,
    except: Option<Uuid>,
) -> Result<i32> {
    let mut siblings = under(parent);
    if let Some(except) = except {
        siblings = siblings.add(Column::Id.ne(except));
    }
    let count = Entity::find().filter(siblings.clone()).count(txn).await?;
    let slot = order::slot(position, count);
    Entity::update_many()
        .col_expr(Column::Order, Expr::col(Column::Order).add(1))
        .filter(siblings)
        .filter(Column::Order.gte(slot))
        .exec(txn)
        .await?;
    Ok(slot)
}

/// Closes the gap left at `position` among the children of `parent` by `id`.
async fn close_slot(txn: &DatabaseTransaction, parent: Option<Uuid>, position: i32, id: Uuid) -> Result<()> {
    Entity::update_many()
        .col_expr(Column::Order, Expr::col(Column::Order).sub(1))
        .filter(under(parent))
        .filter(Column::Id.ne(id))
        .filter(Column::Order.gt(position))
        .exec(txn)
        .await?;
    Ok(())
}

fn event(topic: &str, node: &FileGroup) -> NewEvent {
    NewEvent::new(topic, "file_group", node.id).payload(json!({
        "parent": node.parent,
        "file": node.file,
        "order": node.order,
        "name": node.name,
    }))
}
