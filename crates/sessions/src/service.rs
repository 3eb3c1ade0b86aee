//! The [`Sessions`] service: creating sessions and reading or changing them.

use std::sync::Arc;

use plinth_events::{Context, NewEvent, record};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect, Set,
};
use serde_json::{Value, json};
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::authenticate::Resolved;
use crate::cache::CredentialCache;
use crate::checksum::checksum;
use crate::clock::{Clock, SystemClock};
use crate::entity::session;
use crate::pair::{TokenPair, issue};
use crate::session::{storable, storable_json};
use crate::validity::check_session;
use crate::{Error, NewSession, Result, Session, SessionConfig, Subject};

/// Server-side sessions with rotating access/refresh token pairs, over one
/// database. Cheap to clone: clones share the connection pool, clock and
/// token cache. Build one per process and share it, so that what one clone
/// changes the others see at once.
#[derive(Debug, Clone)]
pub struct Sessions {
    pub(crate) db: DatabaseConnection,
    pub(crate) config: SessionConfig,
    clock: Arc<dyn Clock>,
    /// Access token hash → what it resolved to, tagged with the session id.
    pub(crate) cache: CredentialCache<String, Uuid, Resolved>,
}

impl Sessions {
    /// A service over `db` (migrated with [`crate::Migrator`]) reading the
    /// system clock.
    pub fn new(db: DatabaseConnection, config: SessionConfig) -> Self {
        let cache = CredentialCache::new(config.cache_ttl(), config.cache_capacity);
        Self {
            db,
            config,
            clock: Arc::new(SystemClock),
            cache,
        }
    }

    /// The same service reading `clock` instead, e.g. a
    /// [`ManualClock`](crate::ManualClock) in tests.
    pub fn with_clock(self, clock: impl Clock + 'static) -> Self {
        Self {
            clock: Arc::new(clock),
            ..self
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The clock's time in UTC, at the microsecond precision both databases keep.
    pub(crate) fn now(&self) -> OffsetDateTime {
        let now = self.clock.now().to_offset(UtcOffset::UTC);
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }

    /// Starts a session for `new.subject` and issues its first token pair.
    /// Records `session.created`. A subject without a kind or an id or with
    /// one longer than [`MAX_SUBJECT_LEN`](crate::session::MAX_SUBJECT_LEN),
    /// or text or data holding a NUL character, is [`Error::Invalid`].
    pub async fn create(&self, ctx: &Context, new: NewSession) -> Result<(Session, TokenPair)> {
        let txn = self.begin().await?;
        let created = self.create_in(&txn, ctx, new).await?;
        txn.commit().await?;
        Ok(created)
    }

    /// [`create`](Self::create) inside the caller's transaction, so that a
    /// sign-in and its session commit together or not at all. On SQLite the
    /// transaction should hold the write lock from its start
    /// (`SqliteTransactionMode::Immediate`) or begin with a write.
    pub async fn create_in(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Context,
        new: NewSession,
    ) -> Result<(Session, TokenPair)> {
        let NewSession {
            subject,
            data,
            ip,
            user_agent,
            device_id,
            mfa_verified,
        } = new;
        if subject.kind.is_empty() || subject.id.is_empty() {
            return Err(Error::Invalid(
                "a session's subject needs a kind and an id".into(),
            ));
        }
        subject.storable()?;
        for (field, value) in [
            ("ip", &ip),
            ("user agent", &user_agent),
            ("device id", &device_id),
        ] {
            if let Some(value) = value {
                storable(field, value)?;
            }
        }
        storable_json("data", &data)?;
        let now = self.now();
        let row = session::ActiveModel {
            id: Set(Uuid::now_v7()),
            subject_type: Set(subject.kind),
            subject_id: Set(subject.id),
            checksum: Set(checksum(&data)),
            data: Set(data),
            ip_address: Set(ip),
            user_agent: Set(user_agent),
            device_id: Set(device_id),
            mfa_verified: Set(mfa_verified),
            created_at: Set(now),
            updated_at: Set(now),
            last_active_at: Set(now),
            expires_at: Set(now.saturating_add(self.config.max_lifetime())),
            revoked_at: Set(None),
            revoke_reason: Set(None),
        };
        let session = row.insert(txn).await?;
        let issued = issue(txn, &session, &self.config, now).await?;
        let payload = json!({
            "subject_type": session.subject_type,
            "subject_id": session.subject_id,
            "device_id": session.device_id,
            "mfa_verified": session.mfa_verified,
            "access_token_id": issued.access_id,
            "refresh_token_id": issued.refresh_id,
        });
        record(
            txn,
            ctx,
            NewEvent::new("session.created", "session", session.id).payload(payload),
        )
        .await?;
        Ok((session.into(), issued.pair))
    }

    /// The session with `id`, in whatever state it is.
    pub async fn get(&self, id: Uuid) -> Result<Session> {
        Ok(found(session::Entity::find_by_id(id).one(&self.db).await?, id)?.into())
    }

    /// The subject's usable sessions (not revoked, expired or idle), most
    /// recently active first: what a "your devices" page shows.
    pub async fn list(&self, subject: &Subject) -> Result<Vec<Session>> {
        subject.storable()?;
        let now = self.now();
        let rows = session::Entity::find()
            .filter(session::Column::SubjectType.eq(subject.kind.as_str()))
            .filter(session::Column::SubjectId.eq(subject.id.as_str()))
            .filter(session::Column::RevokedAt.is_null())
            .all(&self.db)
            .await?;
        let mut sessions: Vec<Session> = rows
            .into_iter()
            .filter(|s| check_session(s, &self.config, now).is_ok())
            .map(Session::from)
            .collect();
        sessions.sort_by(|a, b| b.last_active_at.cmp(&a.last_active_at).then(b.id.cmp(&a.id)));
        Ok(sessions)
    }

    /// Replaces the session's data. Data equal to the stored data (by
    /// checksum of its canonical JSON) is not rewritten: nothing changes,
    /// `updated_at` included, and no event is recorded. Otherwise records
    /// `session.data_updated`. The session must be usable.
    pub async fn update_data(&self, ctx: &Context, id: Uuid, data: Value) -> Result<Session> {
        storable_json("data", &data)?;
        let now = self.now();
        let sum = checksum(&data);
        let txn = self.begin().await?;
        let session = self.find(&txn, id).await?;
        check_session(&session, &self.config, now)?;
        if session.checksum == sum {
            return Ok(session.into());
        }
        let mut row = session.into_active_model();
        row.data = Set(data);
        row.checksum = Set(sum.clone());
        row.updated_at = Set(now);
        let session = row.update(&txn).await?;
        record(
            &txn,
            ctx,
            NewEvent::new("session.data_updated", "session", id).payload(json!({ "checksum": sum })),
        )
        .await?;
        txn.commit().await?;
        self.cache.invalidate(&id);
        Ok(session.into())
    }

    /// Marks the session as having passed a second factor (step-up
    /// authentication). Records `session.mfa_verified` unless it already was.
    pub async fn set_mfa_verified(&self, ctx: &Context, id: Uuid) -> Result<Session> {
        let now = self.now();
        let txn = self.begin().await?;
        let session = self.find(&txn, id).await?;
        check_session(&session, &self.config, now)?;
        if session.mfa_verified {
            return Ok(session.into());
        }
        let mut row = session.into_active_model();
        row.mfa_verified = Set(true);
        row.updated_at = Set(now);
        let session = row.update(&txn).await?;
        record(&txn, ctx, NewEvent::new("session.mfa_verified", "session", id)).await?;
        txn.commit().await?;
        self.cache.invalidate(&id);
        Ok(session.into())
    }

    /// Starts a write transaction ([`plinth_db::begin_write`]).
    pub(crate) async fn begin(&self) -> Result<DatabaseTransaction> {
        Ok(plinth_db::begin_write(&self.db).await?)
    }

    /// The session row with `id`, or [`Error::NotFound`], locked until `txn`
    /// ends (on PostgreSQL; SQLite's write transactions already exclude each
    /// other), so concurrent changes of one session queue behind each other.
    pub(crate) async fn find(&self, txn: &DatabaseTransaction, id: Uuid) -> Result<session::Model> {
        found(
            session::Entity::find_by_id(id).lock_exclusive().one(txn).await?,
            id,
        )
    }
}

/// The session row `row` looked up by `id`, or [`Error::NotFound`].
fn found(row: Option<session::Model>, id: Uuid) -> Result<session::Model> {
    row.ok_or_else(|| Error::NotFound(format!("session {id}")))
}
