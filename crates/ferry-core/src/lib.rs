//! Ferry's decision logic: renders the AWS resources an app should have,
//! plans the actions that converge what exists towards them, and derives
//! status, all behind one pure function per reconcile, [`decide`]. No I/O,
//! no async, no clock: time is passed in.
//!
//! Modules depend on each other in one direction only: `names` and
//! `blocker` ← `traffic` and `autoscaling` ← `render` ← `observed` ← `plan`; `status` (the
//! types) ← `rollout` ← `report` (derivation) ← `decide`.

pub mod autoscaling;
pub mod blocker;
pub mod decide;
pub mod names;
pub mod observed;
pub mod plan;
pub mod render;
pub mod report;
pub mod restart;
pub mod rollout;
pub mod schedule;
pub mod schedule_runs;
pub mod status;
pub mod tidy;
pub mod traffic;

pub use blocker::{Blocker, BlockerReason};
pub use decide::{decide, Decision, LookAgain, ReleaseChange, ReleaseOutcome};
pub use observed::{Observed, ObservedService, ObservedTaskDefinition, ServiceStatus};
pub use plan::{plan, Action, Plan, TaskDefinitionRef};
pub use render::{
    render, render_app, DeploymentSpec, Desired, DesiredProcess, NetworkSpec, ServiceSpec,
    Settings, TaskDefinitionSpec,
};
pub use schedule::{DesiredSchedule, ObservedSchedule, ScheduleSpec};
pub use status::AppStatus;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
