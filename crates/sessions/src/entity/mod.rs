//! SeaORM entities of the sessions crate.

pub mod session;
pub mod token;
