//! SeaORM entities of the auth crate, one module per table.

pub mod api_token;
pub mod client;
pub mod credential;
pub mod email_token;
pub mod meta;
pub mod org;
pub mod org_invitation;
pub mod org_member;
pub mod role;
pub mod team;
pub mod team_member;
pub mod user;
