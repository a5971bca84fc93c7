//! Renders the AWS resources an app should have, one file per domain:
//! [`ecs`] (task definitions, services, autoscaling), [`traffic`]
//! (target groups, rules, records) and [`schedule`] (scheduled
//! processes). The types they render are in [`crate::model::desired`],
//! re-exported here.

pub mod ecs;
pub mod schedule;
pub mod traffic;

use ferry_manifest::App;

pub use crate::model::desired::*;
pub use ecs::render;

/// Renders every process of `app` and its traffic.
pub fn render_app(app: &App, settings: &Settings) -> Desired {
    let traffic = traffic::render(app, &settings.owner, &settings.traffic);
    let mut processes = render(app, settings);
    for process in &mut processes {
        if let Some((links, grace)) = traffic.links.get(&process.process) {
            process.service.load_balancers = links.clone();
            process.service.health_check_grace_period = Some(*grace);
        }
    }
    Desired {
        processes,
        traffic,
        schedules: schedule::render_schedules(app, settings),
    }
}
