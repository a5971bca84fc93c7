//! The RegisterTaskDefinition request of a [`TaskDefinitionSpec`]: the
//! process's container first, then its sidecars by name, and the
//! task-level settings. [`crate::normalize::task_definition`] reads ECS's
//! answer back into the same spec (see the round-trip tests).

use ferry_core::task::{HealthCheckSpec, SidecarSpec};

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;

use super::requests::{count, ecs_tags};
use super::*;

/// The RegisterTaskDefinition request of `spec`, tagged with `tags`: a
/// Fargate, awsvpc task definition with the spec's size, roles,
/// containers and task-level settings.
pub(super) fn register_request(
    client: &Client,
    spec: &TaskDefinitionSpec,
    tags: &BTreeMap<String, String>,
) -> Result<RegisterTaskDefinitionFluentBuilder> {
    let parts = parts(spec)?;
    Ok(client
        .register_task_definition()
        .family(&spec.family)
        .set_container_definitions(Some(parts.containers))
        .requires_compatibilities(ecs::Compatibility::Fargate)
        .network_mode(ecs::NetworkMode::Awsvpc)
        .cpu(spec.cpu.to_string())
        .memory(spec.memory.to_string())
        .set_execution_role_arn(spec.execution_role_arn.clone())
        .set_task_role_arn(spec.task_role_arn.clone())
        .set_runtime_platform(parts.runtime_platform)
        .set_ephemeral_storage(parts.ephemeral_storage)
        .set_tags(Some(ecs_tags(tags))))
}

/// What a RegisterTaskDefinition of a spec carries besides family, size,
/// roles and tags.
#[derive(Debug, Clone)]
pub(crate) struct TaskDefinitionParts {
    /// The process's container, then the sidecars, sorted by name.
    pub containers: Vec<ecs::ContainerDefinition>,
    pub runtime_platform: Option<ecs::RuntimePlatform>,
    pub ephemeral_storage: Option<ecs::EphemeralStorage>,
}

/// The containers and task-level settings of `spec`. Nothing is sent for
/// a field the spec leaves unset, so an app that sets none of the fields
/// added for sidecars, platform, storage and health checks sends what
/// Ferry sent before them.
pub(crate) fn parts(spec: &TaskDefinitionSpec) -> Result<TaskDefinitionParts> {
    let mut process = container(
        &spec.container_name,
        &spec.image,
        &spec.command,
        &spec.environment,
        &spec.secrets,
        &spec.log_options,
    )?
    // The process's container is the one whose exit stops the task.
    .essential(true);
    if let Some(port) = spec.container_port {
        process = process.port_mappings(
            ecs::PortMapping::builder()
                .container_port(i32::from(port))
                .protocol(ecs::TransportProtocol::Tcp)
                .build(),
        );
    }
    if let Some(seconds) = spec.stop_timeout {
        process = process.stop_timeout(count(seconds));
    }
    if let Some(check) = &spec.health_check {
        process = process.health_check(health_check(check)?);
    }
    let mut containers = vec![process.build()];
    for sidecar in &spec.sidecars {
        containers.push(sidecar_container(sidecar)?);
    }
    Ok(TaskDefinitionParts {
        containers,
        runtime_platform: spec.runtime_platform.as_ref().map(|platform| {
            ecs::RuntimePlatform::builder()
                .cpu_architecture(ecs::CpuArchitecture::from(
                    platform.cpu_architecture.as_str(),
                ))
                .operating_system_family(ecs::OsFamily::from(
                    platform.operating_system_family.as_str(),
                ))
                .build()
        }),
        ephemeral_storage: spec.ephemeral_storage.map(|gib| {
            ecs::EphemeralStorage::builder()
                .size_in_gib(count(gib))
                .build()
        }),
    })
}

/// What every container of a task has alike: name, image, command,
/// environment, secrets and the `awslogs` options.
fn container(
    name: &str,
    image: &str,
    command: &[String],
    environment: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
    log_options: &BTreeMap<String, String>,
) -> Result<ecs::builders::ContainerDefinitionBuilder> {
    let mut container = ecs::ContainerDefinition::builder()
        .name(name)
        .image(image)
        .set_command((!command.is_empty()).then(|| command.to_vec()))
        .set_environment(Some(
            environment
                .iter()
                .map(|(k, v)| ecs::KeyValuePair::builder().name(k).value(v).build())
                .collect(),
        ));
    for (name, value_from) in secrets {
        container = container.secrets(built(
            ecs::Secret::builder()
                .name(name)
                .value_from(value_from)
                .build(),
            "ECS secret",
        )?);
    }
    if !log_options.is_empty() {
        container = container.log_configuration(built(
            ecs::LogConfiguration::builder()
                .log_driver(ecs::LogDriver::Awslogs)
                .set_options(Some(log_options.clone().into_iter().collect()))
                .build(),
            "ECS log configuration",
        )?);
    }
    Ok(container)
}

fn sidecar_container(sidecar: &SidecarSpec) -> Result<ecs::ContainerDefinition> {
    let mut container = container(
        &sidecar.name,
        &sidecar.image,
        &sidecar.command,
        &sidecar.environment,
        &sidecar.secrets,
        &sidecar.log_options,
    )?
    .essential(sidecar.essential)
    .set_cpu(sidecar.cpu.map(count))
    .set_memory(sidecar.memory.map(count));
    for (name, condition) in &sidecar.depends_on {
        container = container.depends_on(built(
            ecs::ContainerDependency::builder()
                .container_name(name)
                .condition(ecs::ContainerCondition::from(condition.as_str()))
                .build(),
            "ECS container dependency",
        )?);
    }
    Ok(container.build())
}

/// Every field is sent, ECS's defaults included, except a start period of
/// 0, which is "off" and ECS's default when absent
/// ([HealthCheck](https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html)).
fn health_check(check: &HealthCheckSpec) -> Result<ecs::HealthCheck> {
    built(
        ecs::HealthCheck::builder()
            .set_command(Some(check.command.clone()))
            .interval(count(check.interval))
            .timeout(count(check.timeout))
            .retries(count(check.retries))
            .set_start_period((check.start_period > 0).then(|| count(check.start_period)))
            .build(),
        "ECS health check",
    )
}
