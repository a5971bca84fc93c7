//! The planner: (desired, observed) to ordered actions, one file per
//! domain ([`ecs`], [`traffic`], [`schedule`], [`autoscaling`]) and
//! [`plan_app`] here, which orders their parts into one plan. The action
//! types are in [`crate::model::action`], re-exported here.
//!
//! Guarantees, each covered by property tests:
//! - a plan on converged state is empty;
//! - executing a plan converges: planning again afterwards yields nothing;
//! - no action names a resource whose tags say Ferry does not own it for
//!   this app;
//! - a task definition is registered only when no owned revision with the
//!   same normalised content exists, so scaling never registers one;
//! - an autoscaled process's desired count is set only to clamp it into
//!   its range (see [`crate::model::autoscaling`]).

pub mod alarms;
pub mod autoscaling;
pub mod ecs;
pub mod live;
pub mod roles;
pub mod schedule;
pub mod traffic;

pub use crate::model::action::*;
pub use crate::model::blocker::{Blocker, BlockerReason};
pub use ecs::plan;

use crate::model::desired::{Desired, DesiredProcess};
use crate::model::observed::Observed;
use crate::model::traffic::{ObservedTraffic, TrafficSettings};
use crate::names::autoscaling::resource_label;

/// Plans one app, traffic included: target groups, rules and records that
/// services need come first, then the ECS changes, then the removal of
/// traffic resources nothing uses any more. `desired` is empty for an app
/// being deleted.
pub fn plan_app(
    app: &str,
    owner: &str,
    settings: &TrafficSettings,
    desired: &Desired,
    observed: &Observed,
    observed_traffic: &ObservedTraffic,
) -> Plan {
    // The live group of each pair is ECS's: adopted, never corrected.
    let desired = &live::adopt_live(app, owner, desired, observed, observed_traffic);
    let traffic = traffic::plan(app, owner, settings, &desired.traffic, observed_traffic);
    let alarms = alarms::plan(app, owner, &desired.alarms, observed);
    // A process whose traffic cannot change keeps the link it has.
    let blocked: Vec<&str> = traffic
        .blockers
        .iter()
        .filter(|b| b.reason == BlockerReason::NameConflict)
        .map(|b| b.process.as_str())
        .collect();
    let processes: Vec<DesiredProcess> = desired
        .processes
        .iter()
        .map(|process| {
            let mut process = process.clone();
            // A group whose rule cannot be made (its name is taken, say)
            // has no load balancer, and ECS refuses to link it.
            process
                .service
                .load_balancers
                .retain(|link| traffic.routed.contains(&link.target_group));
            if traffic.frozen || blocked.contains(&process.process.as_str()) {
                let current = observed.services.get(&process.service.name);
                process.service.load_balancers = current
                    .map(|s| s.load_balancers.clone())
                    .unwrap_or_default();
                process.service.health_check_grace_period =
                    current.and_then(|s| s.health_check_grace_period);
            }
            resolve_request_label(&mut process, observed_traffic);
            // ECS never rolls back on an alarm Ferry lost the name of.
            process
                .service
                .deployment
                .alarms
                .retain(|name| !alarms.conflicts.contains(name));
            process
        })
        .collect();
    let ecs = plan(app, owner, &processes, observed);
    let schedules = schedule::plan_schedules(app, owner, &desired.schedules, observed);
    let mut actions: Vec<Action> = traffic.before.into_iter().map(Action::Traffic).collect();
    // An alarm exists before the service that names it, and goes after.
    actions.extend(alarms.puts.into_iter().map(Action::Alarm));
    actions.extend(schedules.registers);
    actions.extend(ecs.actions);
    actions.extend(schedules.changes);
    actions.extend(schedules.deletes);
    actions.extend(traffic.after.into_iter().map(Action::Traffic));
    actions.extend(alarms.deletes.into_iter().map(Action::Alarm));
    let mut blockers = ecs.blockers;
    blockers.extend(schedules.blockers);
    blockers.extend(traffic.blockers);
    blockers.extend(alarms.blockers);
    Plan { actions, blockers }
}

/// A request-count policy counts at a target group the service is linked
/// to, or cannot be made (its label is dropped, and the planner reports
/// it); the whole label is known once the group exists.
fn resolve_request_label(process: &mut DesiredProcess, observed_traffic: &ObservedTraffic) {
    let links = &process.service.load_balancers;
    let Some(spec) = process.autoscaling.as_mut() else {
        return;
    };
    for policy in &mut spec.policies {
        let Some(label) = policy.label.as_mut() else {
            continue;
        };
        if !links.iter().any(|l| l.target_group == label.target_group) {
            policy.label = None;
            continue;
        }
        label.resolved = observed_traffic
            .target_groups
            .get(&label.target_group)
            .and_then(|group| resource_label(&label.load_balancer_arn, &group.arn));
    }
}

#[cfg(test)]
#[path = "autoscaling_app_tests.rs"]
mod autoscaling_tests;

#[cfg(test)]
#[path = "strategy_tests.rs"]
mod strategy_tests;
