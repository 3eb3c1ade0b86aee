//! The sweep: deleting blobs no row references any more.
//!
//! Deleting a file removes only its row; the blob goes here, later. A blob
//! is deleted only when it is older than the grace period *and*, checked
//! after listing it, no row references it. A blob is written before its row
//! is inserted, so the grace period is what protects an upload in flight:
//! keep it well above the longest time between a blob's last write and its
//! row's commit (minutes, not seconds).

use std::collections::HashSet;

use futures_util::StreamExt;
use plinth_db::Backend;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::blob::BlobMeta;
use crate::entity::{file, upload};
use crate::{FileStore, Result, key};

/// Blob keys checked against the database at once.
const BATCH: usize = 500;

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Expired resumable uploads whose rows were deleted.
    pub expired_uploads: u64,
    /// Unreferenced blobs deleted.
    pub deleted_blobs: u64,
    /// Unreferenced blobs kept because they are younger than the grace period.
    pub kept_recent: u64,
}

/// The two families of blobs the file store writes.
#[derive(Debug, Clone, Copy)]
enum Family {
    /// File content, referenced by `files_file`.
    Files,
    /// Parts of resumable uploads, referenced by unfinished `files_upload` rows.
    Parts,
}

impl Family {
    fn prefix(self) -> &'static str {
        match self {
            Self::Files => key::FILES,
            Self::Parts => key::UPLOADS,
        }
    }

    fn owner(self, blob: &str) -> Option<Uuid> {
        match self {
            Self::Files => key::file_id(blob),
            Self::Parts => key::part_upload(blob),
        }
    }
}

impl FileStore {
    /// Deletes expired resumable uploads, then every file blob without a
    /// file row and every upload part without an unfinished upload, unless
    /// written within `grace` (a grace reaching before the earliest time there
    /// is keeps them all). Blobs under other prefixes are never touched.
    pub async fn sweep(&self, grace: std::time::Duration) -> Result<SweepReport> {
        let now = OffsetDateTime::now_utc();
        let cutoff = now.saturating_sub(time::Duration::try_from(grace).unwrap_or(time::Duration::MAX));
        let mut report = SweepReport {
            expired_uploads: upload::Entity::delete_many()
                .filter(Backend::of(&self.db)?.not_after(upload::Column::ExpiresAt, now))
                .exec(&self.db)
                .await?
                .rows_affected,
            ..SweepReport::default()
        };
        for family in [Family::Files, Family::Parts] {
            let mut listing = self.blobs.list(family.prefix());
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(meta) = listing.next().await {
                batch.push(meta?);
                if batch.len() == BATCH {
                    self.sweep_batch(family, cutoff, std::mem::take(&mut batch), &mut report)
                        .await?;
                }
            }
            self.sweep_batch(family, cutoff, batch, &mut report).await?;
        }
        Ok(report)
    }

    async fn sweep_batch(
        &self,
        family: Family,
        cutoff: OffsetDateTime,
        batch: Vec<BlobMeta>,
        report: &mut SweepReport,
    ) -> Result<()> {
        let owned: Vec<(BlobMeta, Uuid)> = batch
            .into_iter()
            .filter_map(|meta| family.owner(&meta.key).map(|owner| (meta, owner)))
            .collect();
        if owned.is_empty() {
            return Ok(());
        }
        let live = self.live(family, owned.iter().map(|(_, id)| *id)).await?;
        for (meta, owner) in owned {
            if live.contains(&owner) {
                continue;
            }
            if meta.last_modified >= cutoff {
                report.kept_recent += 1;
                continue;
            }
            self.blobs.delete(&meta.key).await?;
            report.deleted_blobs += 1;
        }
        Ok(())
    }

    /// Which of `ids` still reference their blobs.
    async fn live(&self, family: Family, ids: impl Iterator<Item = Uuid>) -> Result<HashSet<Uuid>> {
        let ids: Vec<Uuid> = ids.collect::<HashSet<_>>().into_iter().collect();
        let found: Vec<Uuid> = match family {
            Family::Files => {
                file::Entity::find()
                    .select_only()
                    .column(file::Column::Id)
                    .filter(file::Column::Id.is_in(ids))
                    .into_tuple()
                    .all(&self.db)
                    .await?
            }
            Family::Parts => {
                upload::Entity::find()
                    .select_only()
                    .column(upload::Column::Id)
                    .filter(upload::Column::Id.is_in(ids))
                    .filter(upload::Column::File.is_null())
                    .into_tuple()
                    .all(&self.db)
                    .await?
            }
        };
        Ok(found.into_iter().collect())
    }
}
