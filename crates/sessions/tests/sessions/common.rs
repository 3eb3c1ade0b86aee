//! Shared setup for the integration tests: a migrated database, a service on
//! a manual clock, and readers for events and token rows.

use plinth_db::testing::TestDb;
use plinth_events::{Context, Events};
use plinth_sessions::entity::token;
use plinth_sessions::{ManualClock, NewSession, Session, SessionConfig, Sessions, Subject, TokenPair};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// Where every test's clock starts.
pub const START: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);

/// Applies the events and sessions migrations.
pub async fn migrate(db: &TestDb) {
    plinth_db::migrate::up(db, &[&plinth_events::Migrator, &plinth_sessions::Migrator])
        .await
        .expect("migrate");
}

/// A migrated database's service with `config`, on a manual clock at [`START`].
pub async fn service_with(db: &TestDb, config: SessionConfig) -> (Sessions, ManualClock) {
    migrate(db).await;
    let clock = ManualClock::new(START);
    let sessions = Sessions::new(db.conn().clone(), config).with_clock(clock.clone());
    (sessions, clock)
}

/// A migrated database's service with the default configuration.
pub async fn service(db: &TestDb) -> (Sessions, ManualClock) {
    service_with(db, SessionConfig::default()).await
}

/// The request context the tests act in.
pub fn ctx() -> Context {
    Context {
        request_id: Some("req-1".into()),
        ip: Some("203.0.113.7".into()),
        ..Context::actor("user", "alice")
    }
}

/// A user subject.
pub fn user(id: &str) -> Subject {
    Subject::new("user", id)
}

/// Signs `subject` in with default details.
pub async fn sign_in(sessions: &Sessions, subject: Subject) -> (Session, TokenPair) {
    sessions
        .create(&ctx(), NewSession::new(subject))
        .await
        .expect("create session")
}

/// Topics of the events about session `id`, oldest first.
pub async fn topics(db: &TestDb, id: Uuid) -> Vec<String> {
    let mut events = Events::new(db.conn().clone())
        .by_subject("session", &id.to_string(), None, 1_000)
        .await
        .expect("events");
    events.reverse();
    events.into_iter().map(|e| e.topic).collect()
}

/// Every token row of session `id`.
pub async fn token_rows(db: &TestDb, id: Uuid) -> Vec<token::Model> {
    token::Entity::find()
        .filter(token::Column::Session.eq(id))
        .all(db.conn())
        .await
        .expect("token rows")
}

/// A transaction of another writer holding session `id`'s row, so that on
/// PostgreSQL callers started meanwhile all read the session before any writes.
pub async fn hold_row(db: &TestDb, id: Uuid) -> DatabaseTransaction {
    plinth_db::testing::hold(
        db,
        "UPDATE sessions_session SET mfa_verified = mfa_verified WHERE id = $1",
        [id.into()],
    )
    .await
}

pub use plinth_db::testing::wait_for_waiters;
