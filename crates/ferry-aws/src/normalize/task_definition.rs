//! DescribeTaskDefinition (and RegisterTaskDefinition) answers to
//! Ferry's rendered [`TaskDefinitionSpec`].
//!
//! The process's container is the only one, or the one named like the
//! family's process (`{prefix}{app}_{process}`); every other container is
//! a sidecar. Without such a container the spec is named
//! [`SEVERAL_CONTAINERS`], which no process is, so no render equals it.
//! ECS's defaults are compared like with like: a container without
//! `essential` is essential, container cpu 0 is none, an ephemeral
//! storage of Fargate's default 20 GiB is none, and a health check gets
//! ECS's interval, timeout and retries where it has none.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as ecs;
use ferry_core::names;
use ferry_core::task::{HealthCheckSpec, RuntimePlatform, SidecarSpec, LINUX};
use ferry_core::TaskDefinitionSpec;

/// The container name of a task definition whose process's container
/// cannot be told: never a process name, so never equal to a render.
pub(crate) const SEVERAL_CONTAINERS: &str = "<several containers>";

/// Fargate's ephemeral storage when a task definition names none, GiB
/// ([EphemeralStorage](https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_EphemeralStorage.html)).
const FARGATE_DEFAULT_STORAGE: u32 = 20;

pub(crate) fn task_definition(td: &ecs::TaskDefinition) -> TaskDefinitionSpec {
    let family = td.family().unwrap_or_default();
    let containers = td.container_definitions();
    let process = match containers {
        [_] => Some(0),
        _ => names::process_of_family(family)
            .and_then(|process| containers.iter().position(|c| c.name() == Some(process))),
    };
    let container = process.map(|i| &containers[i]);
    let mut sidecars: Vec<SidecarSpec> = containers
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != process)
        .map(|(_, c)| sidecar(c))
        .collect();
    sidecars.sort_by(|a, b| a.name.cmp(&b.name));
    let parse = |v: Option<&str>| v.and_then(|v| v.trim().parse::<u32>().ok()).unwrap_or(0);
    TaskDefinitionSpec {
        family: family.to_owned(),
        container_name: match container {
            Some(c) => c.name().unwrap_or_default(),
            None if containers.is_empty() => "",
            None => SEVERAL_CONTAINERS,
        }
        .to_owned(),
        image: container
            .and_then(|c| c.image())
            .unwrap_or_default()
            .to_owned(),
        command: container.map(|c| c.command().to_vec()).unwrap_or_default(),
        environment: container.map(environment).unwrap_or_default(),
        secrets: container.map(secrets).unwrap_or_default(),
        cpu: parse(td.cpu()),
        memory: parse(td.memory()),
        container_port: container
            .and_then(|c| c.port_mappings().first())
            .and_then(|p| p.container_port())
            .and_then(|p| u16::try_from(p).ok()),
        execution_role_arn: td.execution_role_arn().map(str::to_owned),
        log_options: container.map(log_options).unwrap_or_default(),
        stop_timeout: container
            .and_then(|c| c.stop_timeout())
            .and_then(|s| u32::try_from(s).ok()),
        task_role_arn: td.task_role_arn().map(str::to_owned),
        // Without an architecture ECS picks x86_64, as with no platform.
        runtime_platform: td.runtime_platform().and_then(|p| {
            Some(RuntimePlatform {
                cpu_architecture: p.cpu_architecture()?.as_str().to_owned(),
                operating_system_family: p
                    .operating_system_family()
                    .map_or(LINUX, |os| os.as_str())
                    .to_owned(),
            })
        }),
        ephemeral_storage: td
            .ephemeral_storage()
            .and_then(|e| u32::try_from(e.size_in_gib()).ok())
            .filter(|gib| *gib > FARGATE_DEFAULT_STORAGE),
        health_check: container.and_then(|c| c.health_check()).map(|h| {
            let seconds = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
            HealthCheckSpec::with_defaults(
                h.command().to_vec(),
                seconds(h.interval()),
                seconds(h.timeout()),
                seconds(h.retries()),
                seconds(h.start_period()),
            )
        }),
        sidecars,
    }
}

fn sidecar(c: &ecs::ContainerDefinition) -> SidecarSpec {
    SidecarSpec {
        name: c.name().unwrap_or_default().to_owned(),
        image: c.image().unwrap_or_default().to_owned(),
        command: c.command().to_vec(),
        environment: environment(c),
        secrets: secrets(c),
        // ECS: a container whose `essential` is not given is essential.
        essential: c.essential().unwrap_or(true),
        cpu: u32::try_from(c.cpu()).ok().filter(|cpu| *cpu > 0),
        memory: c.memory().and_then(|m| u32::try_from(m).ok()),
        depends_on: c
            .depends_on()
            .iter()
            .map(|d| {
                (
                    d.container_name().to_owned(),
                    d.condition().as_str().to_owned(),
                )
            })
            .collect(),
        log_options: log_options(c),
    }
}

fn environment(c: &ecs::ContainerDefinition) -> BTreeMap<String, String> {
    c.environment()
        .iter()
        .filter_map(|kv| {
            Some((
                kv.name()?.to_owned(),
                kv.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

fn secrets(c: &ecs::ContainerDefinition) -> BTreeMap<String, String> {
    c.secrets()
        .iter()
        .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
        .collect()
}

/// The `awslogs` options; empty for any other driver.
fn log_options(c: &ecs::ContainerDefinition) -> BTreeMap<String, String> {
    c.log_configuration()
        .filter(|l| *l.log_driver() == ecs::LogDriver::Awslogs)
        .and_then(|l| l.options())
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "task_definition_tests.rs"]
mod tests;
