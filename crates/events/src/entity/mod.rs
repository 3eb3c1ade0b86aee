//! SeaORM entities of the events crate.

pub mod event;
