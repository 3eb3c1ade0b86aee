//! Artifacts of a run: references to content, links to other artifacts of
//! the run, and errors explaining missing content.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::clock::db_time;
use crate::control::check_deadline;
use crate::entity::artifact;
use crate::page::{self, Page};
use crate::state::ArtifactKind;
use crate::store::{begin, lock_task};
use crate::{Artifact, Error, Queue, Result, WorkerRef, validate};
use plinth_db::OptionExt;

/// Links followed at most when resolving an artifact.
pub const MAX_LINK_DEPTH: usize = 10;
/// Expiry of artifacts of tasks without one.
const DEFAULT_TTL: Duration = Duration::days(365);

/// What an artifact holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ArtifactBody {
    /// Content stored elsewhere, at `url`.
    Reference {
        /// Where the content is.
        url: String,
        /// Its media type.
        content_type: String,
    },
    /// Another artifact of the same run.
    Link {
        /// Name of the target artifact.
        artifact: String,
    },
    /// Content that could not be produced.
    Error {
        /// Short machine-readable reason, e.g. `file-missing-on-worker`.
        reason: String,
        /// Explanation for a human.
        message: String,
    },
}

/// An artifact to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewArtifact {
    /// `/`-separated name, e.g. `public/logs/live.log`.
    pub name: String,
    /// What it holds.
    #[serde(flatten)]
    pub body: ArtifactBody,
    /// When it may be deleted; the task's expiry (or a year) when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
}

impl Queue {
    /// Creates an artifact on run `run_id` of a task, which `worker` must
    /// hold. Creating the same artifact again returns it; a different one
    /// under the same name is a conflict, as is a task past its deadline.
    pub async fn create_artifact(
        &self,
        task_id: Uuid,
        run_id: i32,
        worker: &WorkerRef,
        new: NewArtifact,
    ) -> Result<Artifact> {
        validate::artifact_name(&new.name)?;
        let txn = begin(self.db()).await?;
        let task = lock_task(&txn, task_id).await?;
        if !worker.holds(&task, run_id) {
            return Err(Error::not_held(task_id, run_id));
        }
        let now = self.now();
        check_deadline(&task, now)?;
        let (kind, content_type, details) = match &new.body {
            ArtifactBody::Reference { url, content_type } => {
                validate::text("artifact url", url, validate::MAX_NAME_LEN * 4)?;
                validate::text("content type", content_type, 255)?;
                (
                    ArtifactKind::Reference,
                    content_type.clone(),
                    json!({ "url": url }),
                )
            }
            ArtifactBody::Link { artifact: target } => {
                validate::artifact_name(target)?;
                let target_row = find(&txn, task_id, run_id, target).await?;
                (
                    ArtifactKind::Link,
                    target_row.content_type,
                    json!({ "artifact": target }),
                )
            }
            ArtifactBody::Error { reason, message } => {
                validate::ident("error reason", reason)?;
                validate::message("error message", message, crate::report::MAX_ERROR_LEN)?;
                (
                    ArtifactKind::Error,
                    "application/json".to_owned(),
                    json!({ "reason": reason, "message": message }),
                )
            }
        };
        let expires = match new.expires {
            Some(t) => validate::time("expires", t)?,
            None => db_time(task.expires.unwrap_or(now + DEFAULT_TTL)),
        };
        let row = artifact::ActiveModel {
            task_id: Set(task_id),
            run_id: Set(run_id),
            name: Set(new.name.clone()),
            kind: Set(kind),
            content_type: Set(content_type.clone()),
            details: Set(details.clone()),
            expires: Set(expires),
            created_at: Set(now),
        };
        artifact::Entity::insert(row)
            .on_conflict_do_nothing()
            .exec_without_returning(&txn)
            .await?;
        let stored = find(&txn, task_id, run_id, &new.name).await?;
        if (stored.kind, &stored.content_type, &stored.details) != (kind, &content_type, &details) {
            return Err(Error::Conflict(format!(
                "artifact `{}` of run {run_id} of task {task_id} exists with different content",
                new.name
            )));
        }
        txn.commit().await?;
        Ok(stored)
    }

    /// The artifact `name` of run `run_id` of a task.
    pub async fn artifact(&self, task_id: Uuid, run_id: i32, name: &str) -> Result<Artifact> {
        validate::artifact_name(name)?;
        find(self.db(), task_id, run_id, name).await
    }

    /// The artifact `name` of run `run_id`, following links to the
    /// reference or error they end at.
    pub async fn resolve_artifact(&self, task_id: Uuid, run_id: i32, name: &str) -> Result<Artifact> {
        let mut current = self.artifact(task_id, run_id, name).await?;
        for _ in 0..MAX_LINK_DEPTH {
            if current.kind != ArtifactKind::Link {
                return Ok(current);
            }
            let target = current.details["artifact"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            current = self.artifact(task_id, run_id, &target).await?;
        }
        Err(Error::Conflict(format!(
            "artifact `{name}` links more than {MAX_LINK_DEPTH} deep"
        )))
    }

    /// The artifact `name` of the latest run of a task that has one.
    pub async fn latest_artifact(&self, task_id: Uuid, name: &str) -> Result<Artifact> {
        validate::artifact_name(name)?;
        Ok(artifact::Entity::find()
            .filter(artifact::Column::TaskId.eq(task_id))
            .filter(artifact::Column::Name.eq(name))
            .order_by_desc(artifact::Column::RunId)
            .one(self.db())
            .await?
            .or_not_found(format!("artifact `{name}` of task {task_id}"))?)
    }

    /// The artifacts of run `run_id` of a task, by name.
    pub async fn artifacts(
        &self,
        task_id: Uuid,
        run_id: i32,
        continuation: Option<&str>,
        limit: u64,
    ) -> Result<Page<Artifact>> {
        let limit = page::limit(limit);
        let mut query = artifact::Entity::find()
            .filter(artifact::Column::TaskId.eq(task_id))
            .filter(artifact::Column::RunId.eq(run_id));
        if let Some(after) = page::name_token(continuation)? {
            query = query.filter(artifact::Column::Name.gt(after));
        }
        let items = query
            .order_by_asc(artifact::Column::Name)
            .limit(limit)
            .all(self.db())
            .await?;
        Ok(Page::of(items, limit, |a| a.name.clone()))
    }
}

/// The artifact `name` of run `run_id` of a task, read on `conn`.
async fn find(conn: &impl ConnectionTrait, task_id: Uuid, run_id: i32, name: &str) -> Result<Artifact> {
    Ok(artifact::Entity::find_by_id((task_id, run_id, name.to_owned()))
        .one(conn)
        .await?
        .or_not_found(format!("artifact `{name}` of run {run_id} of task {task_id}"))?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn artifacts_read_from_json_refuse_unknown_fields() {
        let parsed: NewArtifact = serde_json::from_value(json!({
            "name": "public/log.txt",
            "kind": "reference",
            "url": "https://example.com/log.txt",
            "content_type": "text/plain",
            "expires": "2030-01-01T00:00:00Z",
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.name, "public/log.txt");
        assert!(parsed.expires.is_some());
        let stray = serde_json::from_value::<NewArtifact>(json!({
            "name": "a",
            "kind": "link",
            "artifact": "b",
            "url": "https://example.com",
        }));
        assert!(stray.is_err());
    }
}
