//! Renders the scheduled processes of an app.

use ferry_manifest::App;

use super::ecs::render_all;
use crate::model::desired::{DesiredSchedule, ScheduleSpec, Settings};
use crate::names;

/// Renders the scheduled processes of `app`, in process-name order.
pub fn render_schedules(app: &App, settings: &Settings) -> Vec<DesiredSchedule> {
    render_all(app, settings)
        .into_iter()
        .filter_map(|rendered| {
            let process = rendered.process.clone();
            let schedule = app.processes.get(&process)?.schedule.as_ref()?;
            Some(DesiredSchedule {
                schedule: ScheduleSpec {
                    name: names::schedule_name(&app.name, &process),
                    group: names::schedule_group(&settings.owner),
                    expression: schedule.expression.clone(),
                    timezone: schedule.timezone.clone(),
                    cluster: settings.cluster.clone(),
                    role_arn: settings.scheduler_role_arn.clone(),
                    network: rendered.service.network.clone(),
                    tags: rendered.service.tags.clone(),
                    dead_letter_arn: settings.schedule_dlq_arn.clone(),
                    capacity_provider_strategy: rendered.service.capacity_provider_strategy.clone(),
                    enable_execute_command: rendered.service.enable_execute_command,
                },
                process,
                task_definition: rendered.task_definition,
            })
        })
        .collect()
}
