//! Stored roles and the per-process cache of their expansion. Every role
//! change bumps a generation counter in the same transaction; a process
//! re-reads the roles when it sees a new generation, checking at most every
//! `role_cache_ms`, so all server processes converge within that time; the
//! process that made the change re-reads at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use plinth_events::{Context, NewEvent, record};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::RwLock;

use crate::entity::{meta, role as role_row};
use crate::role::{Role, RoleSet};
use crate::{Auth, Error, Result, text};

const GENERATION_KEY: &str = "roles";

#[derive(Debug)]
struct Cached {
    generation: i64,
    checked: Instant,
    set: Arc<RoleSet>,
}

/// The process's view of the roles, refreshed when the generation moves.
#[derive(Debug)]
pub struct RoleCache {
    ttl: Duration,
    state: RwLock<Option<Cached>>,
}

impl RoleCache {
    /// An empty cache trusting its contents for `ttl_ms` milliseconds.
    pub fn new(ttl_ms: u64) -> Self {
        Self {
            ttl: Duration::from_millis(ttl_ms),
            state: RwLock::new(None),
        }
    }

    /// Drops the cached roles, so that the next use reads them again.
    async fn clear(&self) {
        *self.state.write().await = None;
    }
}

async fn generation(conn: &impl ConnectionTrait) -> Result<i64> {
    Ok(meta::Entity::find_by_id(GENERATION_KEY.to_owned())
        .one(conn)
        .await?
        .map_or(0, |m| m.value))
}

async fn load(conn: &impl ConnectionTrait) -> Result<Vec<Role>> {
    role_row::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|r| {
            let scopes = serde_json::from_value(r.scopes)
                .map_err(|e| Error::Internal(format!("role {} has malformed scopes: {e}", r.role_id)))?;
            Ok(Role {
                id: r.role_id,
                scopes,
            })
        })
        .collect()
}

impl Auth {
    /// The current role set, from the cache when it is fresh.
    pub async fn role_set(&self) -> Result<Arc<RoleSet>> {
        let cache = &self.roles;
        if let Some(c) = cache.state.read().await.as_ref()
            && c.checked.elapsed() < cache.ttl
        {
            return Ok(c.set.clone());
        }
        let mut state = cache.state.write().await;
        let current = generation(&self.db).await?;
        if let Some(c) = state.as_mut()
            && c.generation == current
        {
            c.checked = Instant::now();
            return Ok(c.set.clone());
        }
        let set = Arc::new(RoleSet::new(load(&self.db).await?)?);
        *state = Some(Cached {
            generation: current,
            checked: Instant::now(),
            set: set.clone(),
        });
        Ok(set)
    }

    /// `scopes` expanded through the roles they assume, normalised.
    pub async fn expand(&self, scopes: &[String]) -> Result<Vec<String>> {
        Ok(self.role_set().await?.expand(scopes))
    }

    /// Every role.
    pub async fn list_roles(&self) -> Result<Vec<Role>> {
        load(&self.db).await
    }

    /// Creates or replaces a role. Refused when the id or a scope is invalid
    /// or when the change would create a cycle.
    pub async fn put_role(&self, ctx: &Context, role: Role, description: &str) -> Result<Role> {
        text::storable("description", description)?;
        let txn = plinth_db::begin_write(&self.db).await?;
        // Bumping first takes the write lock, so concurrent writers validate in turn.
        bump_generation(&txn).await?;
        let mut all: Vec<Role> = load(&txn)
            .await?
            .into_iter()
            .filter(|r| r.id != role.id)
            .collect();
        all.push(Role {
            id: role.id.clone(),
            scopes: crate::scope::normalize(role.scopes.clone()),
        });
        let set = RoleSet::new(all)?;
        let stored = set
            .roles()
            .last()
            .cloned()
            .ok_or_else(|| Error::Internal("role vanished".into()))?;
        let now = OffsetDateTime::now_utc();
        let existing = role_row::Entity::find_by_id(stored.id.clone()).one(&txn).await?;
        let scopes = json!(stored.scopes);
        match existing {
            Some(r) => {
                let mut row: role_row::ActiveModel = r.into();
                row.scopes = Set(scopes);
                row.description = Set(description.to_owned());
                row.updated_at = Set(now);
                row.update(&txn).await?;
            }
            None => {
                role_row::ActiveModel {
                    role_id: Set(stored.id.clone()),
                    scopes: Set(scopes),
                    description: Set(description.to_owned()),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await?;
            }
        }
        record(
            &txn,
            ctx,
            NewEvent::new("role.put", "role", &stored.id).payload(json!({ "scopes": stored.scopes })),
        )
        .await?;
        txn.commit().await?;
        self.roles.clear().await;
        Ok(stored)
    }

    /// Deletes a role; `false` when there was none.
    pub async fn delete_role(&self, ctx: &Context, role_id: &str) -> Result<bool> {
        crate::role::validate_id(role_id)?;
        let txn = plinth_db::begin_write(&self.db).await?;
        bump_generation(&txn).await?;
        let deleted = role_row::Entity::delete_by_id(role_id.to_owned())
            .exec(&txn)
            .await?
            .rows_affected
            > 0;
        if deleted {
            record(&txn, ctx, NewEvent::new("role.deleted", "role", role_id)).await?;
        }
        txn.commit().await?;
        self.roles.clear().await;
        Ok(deleted)
    }
}

async fn bump_generation(conn: &impl ConnectionTrait) -> Result<()> {
    let update = Query::update()
        .table(meta::Entity)
        .value(meta::Column::Value, Expr::col(meta::Column::Value).add(1))
        .and_where(Expr::col(meta::Column::Key).eq(GENERATION_KEY))
        .to_owned();
    conn.execute(&update).await?;
    Ok(())
}
