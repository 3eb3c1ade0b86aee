//! Writing events inside the caller's transaction.

use sea_orm::{ActiveValue::NotSet, ConnectionTrait, EntityTrait, Set};
use serde_json::Value;
use time::OffsetDateTime;

use crate::entity::event;
use crate::{Error, Result};

/// Who acted: a kind (`user`, `client`, `token`, `system`) and an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Kind of principal.
    pub kind: String,
    /// The principal's id.
    pub id: String,
}

impl Actor {
    /// An actor of `kind` with `id`.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            id: id.into(),
        }
    }
}

/// The circumstances of a mutation: the actor and the request it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The principal that acted, if any.
    pub actor: Option<Actor>,
    /// The HTTP request id.
    pub request_id: Option<String>,
    /// The client's IP address.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
}

impl Context {
    /// A context with only an actor, for work not caused by a request.
    pub fn actor(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            actor: Some(Actor::new(kind, id)),
            ..Self::default()
        }
    }
}

/// An event to record: topic, subject and payload.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Dotted lower-case topic, e.g. `repo.pushed`.
    pub topic: String,
    /// Kind of the subject, e.g. `repo`.
    pub subject_type: String,
    /// Id of the subject.
    pub subject_id: String,
    /// Details; `null` when there are none.
    pub payload: Value,
}

impl NewEvent {
    /// An event about `subject_type`/`subject_id` with an empty payload.
    pub fn new(topic: impl Into<String>, subject_type: impl Into<String>, subject_id: impl ToString) -> Self {
        Self {
            topic: topic.into(),
            subject_type: subject_type.into(),
            subject_id: subject_id.to_string(),
            payload: Value::Null,
        }
    }

    /// Sets the payload.
    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }
}

/// Longest accepted topic.
pub const MAX_TOPIC_LEN: usize = 200;

fn check_topic(topic: &str) -> Result<()> {
    let valid = !topic.is_empty()
        && topic.len() <= MAX_TOPIC_LEN
        && topic
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "topic `{topic}` must be 1-{MAX_TOPIC_LEN} characters of a-z, 0-9, '.', '_' or '-'"
        )))
    }
}

/// Refuses `value` of `field` with [`Error::Invalid`] when it holds a NUL
/// character, which PostgreSQL cannot store, so both backends behave alike.
pub(crate) fn storable(field: &str, value: &str) -> Result<()> {
    plinth_db::text::storable(field, value).map_err(Error::Invalid)
}

/// Longest accepted subject type, subject id, actor kind or actor id, in
/// bytes: they are indexed, and PostgreSQL refuses index entries over a few
/// kilobytes.
pub const MAX_ID_LEN: usize = plinth_db::text::MAX_INDEXED_LEN;

/// Refuses an event or context holding a NUL character anywhere, or an
/// indexed field longer than [`MAX_ID_LEN`].
fn check_storable(ctx: &Context, event: &NewEvent) -> Result<()> {
    let indexed = [
        ("subject type", Some(&event.subject_type)),
        ("subject id", Some(&event.subject_id)),
        ("actor kind", ctx.actor.as_ref().map(|a| &a.kind)),
        ("actor id", ctx.actor.as_ref().map(|a| &a.id)),
    ];
    let text = [
        ("request id", ctx.request_id.as_ref()),
        ("ip", ctx.ip.as_ref()),
        ("user agent", ctx.user_agent.as_ref()),
    ];
    for (field, value) in indexed {
        if let Some(value) = value {
            plinth_db::text::indexable(field, value).map_err(Error::Invalid)?;
        }
    }
    for (field, value) in text {
        if let Some(value) = value {
            storable(field, value)?;
        }
    }
    plinth_db::text::storable_json("payload", &event.payload).map_err(Error::Invalid)
}

/// Records `event` on `conn` — pass the transaction that makes the change, so
/// the event exists exactly when the change does. Returns the event id.
/// A bad topic, a subject or actor longer than [`MAX_ID_LEN`], or text or
/// payload holding a NUL character, is [`Error::Invalid`].
pub async fn record(conn: &impl ConnectionTrait, ctx: &Context, event: NewEvent) -> Result<i64> {
    check_topic(&event.topic)?;
    check_storable(ctx, &event)?;
    let (actor_type, actor_id) = match &ctx.actor {
        Some(a) => (Some(a.kind.clone()), Some(a.id.clone())),
        None => (None, None),
    };
    let row = event::ActiveModel {
        id: NotSet,
        tx_id: NotSet,
        topic: Set(event.topic),
        subject_type: Set(event.subject_type),
        subject_id: Set(event.subject_id),
        actor_type: Set(actor_type),
        actor_id: Set(actor_id),
        request_id: Set(ctx.request_id.clone()),
        ip: Set(ctx.ip.clone()),
        user_agent: Set(ctx.user_agent.clone()),
        payload: Set(event.payload),
        created_at: Set(OffsetDateTime::now_utc()),
    };
    let res = event::Entity::insert(row).exec(conn).await?;
    Ok(res.last_insert_id)
}

#[cfg(test)]
mod tests {
    use super::check_topic;

    #[test]
    fn topics_are_checked() {
        assert!(check_topic("repo.pushed").is_ok());
        assert!(check_topic("task.group-resolved_2").is_ok());
        assert!(check_topic("").is_err());
        assert!(check_topic("Repo.Pushed").is_err());
        assert!(check_topic("a b").is_err());
        assert!(check_topic(&"a".repeat(201)).is_err());
    }
}
