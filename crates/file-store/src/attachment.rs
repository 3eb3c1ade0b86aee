//! Attachments: files linked, in order, to an entity owned by another crate
//! (`owner_type`, `owner_id`). Deleting the file deletes its attachments;
//! the owner's crate calls [`FileStore::detach_all`] when it deletes the owner.

use plinth_db::OptionExt;
use plinth_events::{Context, NewEvent, record};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::entity::attachment::{self, Column, Entity};
use crate::txn::{self, find_locked, settle};
use crate::{Error, FileStore, Result, file, order};

/// A file attached to an owner.
pub type Attachment = attachment::Model;

const TABLE: &str = "files_attachment";
/// How an attachment is named in errors.
const WHAT: &str = "attachment";
/// Longest owner type.
pub const MAX_OWNER_TYPE_LEN: usize = 64;
/// Longest owner id.
pub const MAX_OWNER_ID_LEN: usize = 255;

/// The entity a file is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    /// Kind of entity: 1-64 characters of `a-z`, `0-9`, `_`, `.`, `-`.
    pub kind: String,
    /// The entity's id: 1-255 characters, no control characters.
    pub id: String,
}

impl Owner {
    /// The entity `id` of kind `kind`.
    pub fn new(kind: impl Into<String>, id: impl ToString) -> Self {
        Self {
            kind: kind.into(),
            id: id.to_string(),
        }
    }

    fn check(&self) -> Result<()> {
        let kind_ok = !self.kind.is_empty()
            && self.kind.len() <= MAX_OWNER_TYPE_LEN
            && self
                .kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
        let id_ok = !self.id.is_empty()
            && self.id.len() <= MAX_OWNER_ID_LEN
            && !self.id.chars().any(char::is_control);
        if kind_ok && id_ok {
            Ok(())
        } else {
            Err(Error::Invalid(format!(
                "owner type must be 1-{MAX_OWNER_TYPE_LEN} characters of a-z, 0-9, '_', '.' or '-', \
                 and owner id 1-{MAX_OWNER_ID_LEN} characters without control characters"
            )))
        }
    }

    fn condition(&self) -> Condition {
        Condition::all()
            .add(Column::OwnerType.eq(self.kind.as_str()))
            .add(Column::OwnerId.eq(self.id.as_str()))
    }
}

impl FileStore {
    /// Attaches file `file` to `owner` after its current attachments,
    /// recording `file.attached`. Attaching the same file twice is a conflict.
    pub async fn attach(&self, ctx: &Context, owner: &Owner, file: Uuid) -> Result<Attachment> {
        owner.check()?;
        let txn = txn::begin(&self.db).await?;
        let result = async {
            order::lock(&txn, TABLE).await?;
            file::find(&txn, file).await?;
            let count = Entity::find().filter(owner.condition()).count(&txn).await?;
            let row = Attachment {
                id: Uuid::now_v7(),
                file,
                owner_type: owner.kind.clone(),
                owner_id: owner.id.clone(),
                order: order::slot(None, count),
                created_at: OffsetDateTime::now_utc(),
            };
            let attachment = row.into_active_model().insert(&txn).await?;
            record(&txn, ctx, event("file.attached", &attachment)).await?;
            Ok::<_, Error>(attachment)
        }
        .await;
        settle(txn, result).await
    }

    /// The attachment with `id`.
    pub async fn attachment(&self, id: Uuid) -> Result<Attachment> {
        find(&self.db, id).await
    }

    /// The attachments of `owner`, in order.
    pub async fn attachments(&self, owner: &Owner) -> Result<Vec<Attachment>> {
        owner.check()?;
        Ok(Entity::find()
            .filter(owner.condition())
            .order_by_asc(Column::Order)
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Removes one attachment (the file stays), closing the gap in its
    /// owner's order; records `file.detached`.
    pub async fn detach(&self, ctx: &Context, id: Uuid) -> Result<Attachment> {
        let txn = txn::begin(&self.db).await?;
        let result = async {
            order::lock(&txn, TABLE).await?;
            let attachment = find_locked::<Entity>(&txn, id, WHAT).await?;
            remove(&txn, &attachment).await?;
            record(&txn, ctx, event("file.detached", &attachment)).await?;
            Ok::<_, Error>(attachment)
        }
        .await;
        settle(txn, result).await
    }

    /// Removes every attachment of `owner` (the files stay), for when the
    /// owner is deleted; records `file.detached` for each and returns how many.
    pub async fn detach_all(&self, ctx: &Context, owner: &Owner) -> Result<u64> {
        owner.check()?;
        let txn = txn::begin(&self.db).await?;
        let result = async {
            order::lock(&txn, TABLE).await?;
            let attachments = Entity::find().filter(owner.condition()).all(&txn).await?;
            Entity::delete_many().filter(owner.condition()).exec(&txn).await?;
            for attachment in &attachments {
                record(&txn, ctx, event("file.detached", attachment)).await?;
            }
            Ok::<_, Error>(attachments.len() as u64)
        }
        .await;
        settle(txn, result).await
    }

    /// Puts `owner`'s attachments in the order of `ids`, which must list each
    /// of them once; records `file.attachments_reordered`.
    pub async fn reorder_attachments(
        &self,
        ctx: &Context,
        owner: &Owner,
        ids: &[Uuid],
    ) -> Result<Vec<Attachment>> {
        owner.check()?;
        let txn = txn::begin(&self.db).await?;
        let result = async {
            order::lock(&txn, TABLE).await?;
            let current: Vec<_> = Entity::find()
                .filter(owner.condition())
                .all(&txn)
                .await?
                .into_iter()
                .map(|a| a.id)
                .collect();
            order::check_permutation(&current, ids)?;
            for (position, id) in (0..).zip(ids) {
                Entity::update_many()
                    .col_expr(Column::Order, Expr::value(position))
                    .filter(Column::Id.eq(*id))
                    .exec(&txn)
                    .await?;
            }
            record(
                &txn,
                ctx,
                NewEvent::new("file.attachments_reordered", owner.kind.as_str(), &owner.id)
                    .payload(json!({ "order": ids })),
            )
            .await?;
            Ok::<_, Error>(())
        }
        .await;
        settle(txn, result).await?;
        self.attachments(owner).await
    }
}

/// Removes `attachment`, closing the gap it leaves in its owner's order
/// (the caller holds the order lock).
async fn remove(txn: &DatabaseTransaction, attachment: &Attachment) -> Result<()> {
    Entity::delete_by_id(attachment.id).exec(txn).await?;
    Entity::update_many()
        .col_expr(Column::Order, Expr::col(Column::Order).sub(1))
        .filter(Owner::new(&attachment.owner_type, &attachment.owner_id).condition())
        .filter(Column::Order.gt(attachment.order))
        .exec(txn)
        .await?;
    Ok(())
}

/// Removes every attachment of file `file`, closing the gaps in their
/// owners' orders, for a file being deleted in `txn`. Takes the order lock,
/// so call it before locking the file's row.
pub(crate) async fn remove_file(txn: &DatabaseTransaction, file: Uuid) -> Result<()> {
    order::lock(txn, TABLE).await?;
    for attachment in Entity::find().filter(Column::File.eq(file)).all(txn).await? {
        remove(txn, &attachment).await?;
    }
    Ok(())
}

async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Attachment> {
    Ok(Entity::find_by_id(id)
        .one(conn)
        .await?
        .or_not_found(format!("{WHAT} {id}"))?)
}

fn event(topic: &str, attachment: &Attachment) -> NewEvent {
    NewEvent::new(topic, "file", attachment.file).payload(json!({
        "attachment": attachment.id,
        "owner_type": attachment.owner_type,
        "owner_id": attachment.owner_id,
        "order": attachment.order,
    }))
}
