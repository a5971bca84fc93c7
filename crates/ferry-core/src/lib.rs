//! Ferry's decision logic: renders the AWS resources an app should have,
//! plans the actions that converge what exists towards them, and derives
//! status, all behind one pure function per reconcile, [`decide()`]. No I/O,
//! no async, no clock: time is passed in.
//!
//! Modules depend on each other in one direction only, from the bottom up:
//! - [`model`]: the types (desired, observed, action, status, and those of
//!   traffic and autoscaling), with [`schedule_runs`] under them;
//! - [`names`]: every derived AWS name, from the types;
//! - [`mod@render`]: manifest to desired, one file per domain;
//! - [`mod@plan`]: (desired, observed) to actions, one file per domain;
//! - [`status`]: status derived from what a reconcile saw and did;
//! - [`restart`], then [`mod@decide`], which runs them all;
//! - [`tidy`], beside them, from the names: which task-definition
//!   revisions to retire.
//!
//! No module imports one above it. The domain modules [`traffic`],
//! [`autoscaling`], [`schedule`], [`observed`], [`blocker`], [`report`]
//! and [`rollout`] are the paths other crates have always used: each
//! gathers its domain's types and functions from the layers by
//! re-exports, and no module of this crate imports them.

pub mod decide;
pub mod model;
pub mod names;
pub mod plan;
pub mod render;
pub mod restart;
pub mod schedule_runs;
pub mod status;
pub mod tidy;

pub use status::{report, rollout};

/// Blockers: why a plan cannot do something (see [`model::blocker`]).
pub mod blocker {
    pub use crate::model::blocker::*;
}

/// What exists in AWS for one app (see [`model::observed`]).
pub mod observed {
    pub use crate::model::observed::*;
}

/// The parts of a task beyond its process's container: sidecars, the
/// container health check, platform and capacity (see [`model::task`]).
pub mod task {
    pub use crate::model::task::*;
}

/// Traffic: target groups, listener rules and DNS records: the types
/// ([`model::traffic`]), their names ([`names::traffic`]), render
/// ([`render::traffic`]) and plan ([`plan::traffic`]).
pub mod traffic {
    pub use crate::model::traffic::*;
    pub use crate::names::traffic::*;
    pub use crate::plan::traffic::{plan, TrafficPlan};
    pub use crate::render::traffic::{
        default_process, domain_blockers, render, strategy_blockers, zone_for,
    };
}

/// Autoscaling: the types and the count's owner ([`model::autoscaling`]),
/// names ([`names::autoscaling`]) and plan ([`plan::autoscaling`]).
pub mod autoscaling {
    pub use crate::model::autoscaling::*;
    pub use crate::names::autoscaling::*;
    pub use crate::plan::autoscaling::{plan_process, ScalingPlan};
}

/// Scheduled processes: a process with `schedule` has no ECS service; an
/// EventBridge Scheduler schedule runs its task definition instead. Types
/// in [`model::desired`], [`model::observed`] and [`model::status`];
/// render, plan and status in [`render::schedule`], [`plan::schedule`] and
/// [`status::schedule`].
pub mod schedule {
    pub use crate::model::desired::{
        DesiredSchedule, RetryPolicy, ScheduleSpec, RETRY_POLICY, RUN_GROUP,
    };
    pub use crate::model::observed::{ObservedSchedule, ENABLED};
    pub use crate::model::status::ScheduleStatus;
    pub use crate::plan::schedule::{ownership, plan_schedules, SchedulePlan};
    pub use crate::render::schedule::render_schedules;
    pub use crate::status::schedule::status;
}

pub use decide::{decide, Decision, LookAgain, ReleaseChange, ReleaseOutcome};
pub use model::action::{Action, Plan, ServiceUpdate, TaskDefinitionRef};
pub use model::blocker::{Blocker, BlockerReason};
pub use model::desired::{
    DeploymentSpec, Desired, DesiredProcess, DesiredSchedule, NetworkSpec, ScheduleSpec,
    ServiceSpec, Settings, TaskDefinitionSpec, DEFAULT_APP_ROLE_PATH, DEFAULT_CRASH_LOOP_STOPS,
};
pub use model::observed::{
    Observed, ObservedSchedule, ObservedService, ObservedTaskDefinition, ServiceStatus,
};
pub use model::status::AppStatus;
pub use plan::plan;
pub use render::{render, render_app};

#[cfg(any(test, feature = "testing"))]
pub mod testing;
