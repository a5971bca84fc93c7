//! App status: the types (in [`crate::model::status`], re-exported here)
//! and their derivation from what a reconcile saw and did: [`report`] for
//! the app and its services, [`rollout`] for each process's rollout (with
//! [`failures`] and [`progress`] for Ferry's own judgements of it, and
//! [`deployment`] for ECS's own verdict on a blue/green, canary or linear
//! one, shown by [`deployment_line()`]), and
//! [`schedule`] for scheduled processes.

pub mod deployment;
pub mod deployment_line;
pub mod events;
pub mod failures;
pub mod progress;
pub mod report;
pub mod rollout;
pub mod schedule;

pub use crate::model::status::*;
pub use deployment_line::{deployment_line, percent};
