//! Renders a process's task definition: its container, the sidecars
//! beside it, and the task-level settings (roles, platform, storage).

use std::collections::BTreeMap;

use ferry_manifest::{App, Process, Sidecar, APP_CONTAINER};

use crate::model::desired::{Settings, TaskDefinitionSpec};
use crate::model::task::{HealthCheckSpec, RuntimePlatform, SidecarSpec, LINUX};
use crate::names;

/// The task definition of `process_name`. An app that sets none of
/// `role`, `executionRole`, `sidecars`, `platform`, `ephemeralStorage`
/// and a container health check renders exactly what Ferry rendered
/// before they existed, so upgrading Ferry registers no new revision.
pub fn render(
    app: &App,
    settings: &Settings,
    process_name: &str,
    process: &Process,
) -> TaskDefinitionSpec {
    let log_options = log_options(app, settings);
    let mut sidecars: Vec<SidecarSpec> = process
        .sidecars
        .iter()
        .filter_map(|name| {
            // Validation guarantees every name is the app's sidecar.
            let sidecar = app.sidecars.get(name)?;
            Some(sidecar_spec(name, sidecar, process_name, &log_options))
        })
        .collect();
    sidecars.sort_by(|a, b| a.name.cmp(&b.name));
    TaskDefinitionSpec {
        family: names::task_family(&settings.owner, &app.name, process_name),
        container_name: process_name.to_owned(),
        image: app.image.clone(),
        command: process.command.clone(),
        environment: app.env.clone(),
        secrets: app.secrets.clone(),
        cpu: process.cpu,
        memory: process.memory,
        container_port: process.port,
        execution_role_arn: app
            .execution_role
            .clone()
            .or_else(|| settings.execution_role_arn.clone()),
        log_options,
        stop_timeout: process.stop_timeout,
        task_role_arn: app.role.clone(),
        runtime_platform: process.platform.map(|platform| RuntimePlatform {
            cpu_architecture: platform.cpu_architecture().to_owned(),
            operating_system_family: LINUX.to_owned(),
        }),
        ephemeral_storage: process.ephemeral_storage,
        health_check: process
            .container_health_check
            .as_ref()
            .map(HealthCheckSpec::from_manifest),
        sidecars,
    }
}

/// `awslogs` options of every container of the app's tasks; empty when
/// the controller has no log group.
fn log_options(app: &App, settings: &Settings) -> BTreeMap<String, String> {
    match &settings.log_group {
        Some(group) => BTreeMap::from([
            ("awslogs-group".to_owned(), group.clone()),
            ("awslogs-region".to_owned(), settings.region.clone()),
            ("awslogs-stream-prefix".to_owned(), app.name.clone()),
        ]),
        None => BTreeMap::new(),
    }
}

fn sidecar_spec(
    name: &str,
    sidecar: &Sidecar,
    process_name: &str,
    log_options: &BTreeMap<String, String>,
) -> SidecarSpec {
    SidecarSpec {
        name: name.to_owned(),
        image: sidecar.image.clone(),
        command: sidecar.command.clone(),
        environment: sidecar.env.clone(),
        secrets: sidecar.secrets.clone(),
        essential: sidecar.essential,
        cpu: sidecar.cpu,
        memory: sidecar.memory,
        depends_on: sidecar
            .depends_on
            .iter()
            .map(|(container, condition)| {
                // The process's container is named after the process.
                let container = if container == APP_CONTAINER {
                    process_name
                } else {
                    container.as_str()
                };
                (container.to_owned(), condition_name(*condition).to_owned())
            })
            .collect(),
        log_options: log_options.clone(),
    }
}

/// ECS's name of a dependency condition.
pub fn condition_name(condition: ferry_manifest::DependencyCondition) -> &'static str {
    use ferry_manifest::DependencyCondition::*;
    match condition {
        Start => "START",
        Healthy => "HEALTHY",
        Complete => "COMPLETE",
        Success => "SUCCESS",
    }
}

#[cfg(test)]
#[path = "task_definition_tests.rs"]
mod tests;
