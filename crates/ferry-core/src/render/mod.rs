//! Renders the AWS resources an app should have, one file per domain:
//! [`ecs`] (task definitions, services, autoscaling), [`traffic`]
//! (target groups, rules, records) and [`schedule`] (scheduled
//! processes). The types they render are in [`crate::model::desired`],
//! re-exported here.

mod alarms;
pub mod ecs;
pub mod rollout;
pub mod schedule;
pub mod task_definition;
pub mod traffic;

use ferry_manifest::App;

pub use crate::model::desired::*;
pub use ecs::render;

/// What an app should have: every process of `spec` with its traffic and
/// schedules, or nothing at all once the app is being deleted. The one
/// render both the snapshot of what exists and [`crate::decide()`] start
/// from.
pub fn desired(spec: &App, deleting: bool, settings: &Settings) -> Desired {
    if deleting {
        Desired {
            processes: Vec::new(),
            traffic: Default::default(),
            schedules: Vec::new(),
            alarms: Vec::new(),
        }
    } else {
        render_app(spec, settings)
    }
}

/// Renders every process of `app` and its traffic.
pub fn render_app(app: &App, settings: &Settings) -> Desired {
    let mut traffic = traffic::render(app, &settings.owner, &settings.traffic);
    rollout::pair_up(app, settings, &mut traffic);
    traffic
        .blockers
        .extend(rollout::strategy_blockers(app, settings));
    let mut processes = render(app, settings);
    for process in &mut processes {
        if let Some((links, grace)) = traffic.links.get(&process.process) {
            process.service.load_balancers = links.clone();
            process.service.health_check_grace_period = Some(*grace);
        }
    }
    Desired {
        processes,
        schedules: schedule::render_schedules(app, settings),
        alarms: alarms::render(app, settings, &traffic),
        traffic,
    }
}
