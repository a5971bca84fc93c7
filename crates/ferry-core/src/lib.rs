//! Ferry's decision logic: renders the AWS resources an app should have,
//! plans the actions that converge what exists towards them, and derives
//! status. No I/O, no async, no clock: time is passed in.

pub mod blocker;
pub mod names;
pub mod observed;
pub mod plan;
pub mod render;
pub mod rollout;
pub mod status;
pub mod traffic;

pub use blocker::{Blocker, BlockerReason};
pub use observed::{Observed, ObservedService, ObservedTaskDefinition, ServiceStatus};
pub use plan::{plan, Action, Plan, TaskDefinitionRef};
pub use render::{
    render, render_app, DeploymentSpec, Desired, DesiredProcess, NetworkSpec, ServiceSpec,
    Settings, TaskDefinitionSpec,
};
pub use status::AppStatus;

#[cfg(test)]
mod testing;
