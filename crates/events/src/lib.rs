//! plinth-events: one table that is both the audit log and the outbox.
//!
//! A mutation calls [`record`] with the caller's transaction, so the event
//! commits or rolls back with the change it describes. [`Events`] answers
//! audit queries (by actor, by subject) and feeds consumers through
//! [`Events::after`], which never skips an event even when transactions
//! commit out of order (see [`cursor`]).

pub mod cursor;
pub mod entity;
pub mod error;
pub mod migration;
pub mod query;
pub mod record;

pub use cursor::{Cursor, Page};
pub use entity::event::Model as Event;
pub use error::{Error, Result};
pub use migration::Migrator;
pub use query::Events;
pub use record::{Actor, Context, NewEvent, record};
