//! SeaORM entities of the task queue, one per table.

pub mod artifact;
pub mod dependency;
pub mod group;
pub mod indexed;
pub mod namespace;
pub mod provisioner;
pub mod run;
pub mod task;
pub mod worker;
pub mod worker_type;
