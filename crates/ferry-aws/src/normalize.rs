//! ECS responses to Ferry's rendered form.
//!
//! Only fields Ferry manages are read, and read the way ECS returns them:
//! defaults ECS fills in (essential, hostPort, protocol, container-level
//! cpu) are ignored, lists that are sets become sorted maps. A task
//! definition that does not have Ferry's shape (several containers, say)
//! normalises to something no rendered spec equals, so it gets replaced.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as ecs;
use ferry_core::observed::{DeploymentStatus, EcsRolloutState, ObservedDeployment, ServiceEvent};
use ferry_core::traffic::{target_group_name_from_arn, LoadBalancerLink};
use ferry_core::DeploymentSpec;
use ferry_core::{NetworkSpec, ObservedService, ServiceStatus, TaskDefinitionSpec};

pub(crate) fn tags(tags: &[ecs::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

pub(crate) fn task_definition(td: &ecs::TaskDefinition) -> TaskDefinitionSpec {
    let containers = td.container_definitions();
    let container = match containers {
        [only] => Some(only),
        _ => None,
    };
    let parse = |v: Option<&str>| v.and_then(|v| v.trim().parse::<u32>().ok()).unwrap_or(0);
    TaskDefinitionSpec {
        family: td.family().unwrap_or_default().to_owned(),
        container_name: container
            .and_then(|c| c.name())
            .unwrap_or(if containers.is_empty() {
                ""
            } else {
                "<several containers>"
            })
            .to_owned(),
        image: container
            .and_then(|c| c.image())
            .unwrap_or_default()
            .to_owned(),
        command: container.map(|c| c.command().to_vec()).unwrap_or_default(),
        environment: container
            .map(|c| {
                c.environment()
                    .iter()
                    .filter_map(|kv| {
                        Some((
                            kv.name()?.to_owned(),
                            kv.value().unwrap_or_default().to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        secrets: container
            .map(|c| {
                c.secrets()
                    .iter()
                    .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        cpu: parse(td.cpu()),
        memory: parse(td.memory()),
        container_port: container
            .and_then(|c| c.port_mappings().first())
            .and_then(|p| p.container_port())
            .and_then(|p| u16::try_from(p).ok()),
        execution_role_arn: td.execution_role_arn().map(str::to_owned),
        log_options: container
            .and_then(|c| c.log_configuration())
            .filter(|l| *l.log_driver() == ecs::LogDriver::Awslogs)
            .and_then(|l| l.options())
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        stop_timeout: container
            .and_then(|c| c.stop_timeout())
            .and_then(|s| u32::try_from(s).ok()),
    }
}

/// `None` for INACTIVE services (and anything unknown): ECS lists deleted
/// services for a while, and they no longer exist for Ferry's purposes.
pub(crate) fn service(s: &ecs::Service) -> Option<ObservedService> {
    let status = match s.status()? {
        "ACTIVE" => ServiceStatus::Active,
        "DRAINING" => ServiceStatus::Draining,
        _ => return None,
    };
    let count = |n: i32| u32::try_from(n).unwrap_or(0);
    let network = s
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .map(|vpc| {
            let mut subnets = vpc.subnets().to_vec();
            subnets.sort();
            let mut security_groups = vpc.security_groups().to_vec();
            security_groups.sort();
            NetworkSpec {
                subnets,
                security_groups,
                assign_public_ip: vpc.assign_public_ip() == Some(&ecs::AssignPublicIp::Enabled),
            }
        });
    Some(ObservedService {
        name: s.service_name()?.to_owned(),
        arn: s.service_arn().unwrap_or_default().to_owned(),
        status,
        tags: tags(s.tags()),
        desired_count: count(s.desired_count()),
        running_count: count(s.running_count()),
        pending_count: count(s.pending_count()),
        task_definition_arn: s.task_definition().unwrap_or_default().to_owned(),
        task_definition: None,
        network,
        load_balancers: {
            let mut links: Vec<LoadBalancerLink> = s
                .load_balancers()
                .iter()
                .map(|lb| LoadBalancerLink {
                    target_group: target_group_name_from_arn(
                        lb.target_group_arn().unwrap_or_default(),
                    )
                    .to_owned(),
                    container_name: lb.container_name().unwrap_or_default().to_owned(),
                    container_port: lb
                        .container_port()
                        .and_then(|p| u16::try_from(p).ok())
                        .unwrap_or(0),
                })
                .collect();
            // Compared with the rendered links, which are sorted.
            links.sort_by(|a, b| a.target_group.cmp(&b.target_group));
            links
        },
        health_check_grace_period: s
            .health_check_grace_period_seconds()
            .and_then(|g| u32::try_from(g).ok()),
        deployment: s.deployment_configuration().and_then(|d| {
            Some(DeploymentSpec {
                min_healthy_percent: u32::try_from(d.minimum_healthy_percent()?).ok()?,
                max_percent: u32::try_from(d.maximum_percent()?).ok()?,
                rollback: d.deployment_circuit_breaker()?.rollback(),
            })
        }),
        deployments: s
            .deployments()
            .iter()
            .filter_map(|d| {
                // A deployment in a state Ferry does not know is left out
                // rather than guessed at.
                let status = DeploymentStatus::from_ecs(d.status()?)?;
                Some((d, status))
            })
            .map(|(d, status)| ObservedDeployment {
                id: d.id().unwrap_or_default().to_owned(),
                status,
                task_definition_arn: d.task_definition().unwrap_or_default().to_owned(),
                desired_count: count(d.desired_count()),
                running_count: count(d.running_count()),
                pending_count: count(d.pending_count()),
                failed_tasks: count(d.failed_tasks()),
                rollout_state: d
                    .rollout_state()
                    .and_then(|r| EcsRolloutState::from_ecs(r.as_str())),
                rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
            })
            .collect(),
        events: s
            .events()
            .iter()
            .map(|e| ServiceEvent {
                id: e.id().unwrap_or_default().to_owned(),
                created_at: e
                    .created_at()
                    .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                    .unwrap_or_default(),
                message: e.message().unwrap_or_default().to_owned(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DescribeTaskDefinition answer shaped like ECS's: the fields Ferry
    /// sent, plus what ECS adds (hostPort, protocol, essential, a zero
    /// container cpu, empty lists, revision, status, compatibilities, the
    /// attributes it requires), with environment and secrets in another
    /// order than Ferry sent them.
    fn described() -> ecs::TaskDefinition {
        let container = ecs::ContainerDefinition::builder()
            .name("web")
            .image("acme/web:1")
            .cpu(0)
            .essential(true)
            .command("serve")
            .command("--port=8080")
            .environment(ecs::KeyValuePair::builder().name("B").value("2").build())
            .environment(ecs::KeyValuePair::builder().name("A").value("1").build())
            .secrets(
                ecs::Secret::builder()
                    .name("DB")
                    .value_from("arn:aws:ssm:us-east-1:123456789012:parameter/db")
                    .build()
                    .expect("secret"),
            )
            .port_mappings(
                ecs::PortMapping::builder()
                    .container_port(8080)
                    .host_port(8080)
                    .protocol(ecs::TransportProtocol::Tcp)
                    .build(),
            )
            .log_configuration(
                ecs::LogConfiguration::builder()
                    .log_driver(ecs::LogDriver::Awslogs)
                    .options("awslogs-group", "/ferry/apps")
                    .options("awslogs-region", "us-east-1")
                    .options("awslogs-stream-prefix", "acme")
                    .build()
                    .expect("log configuration"),
            )
            .stop_timeout(60)
            .build();
        ecs::TaskDefinition::builder()
            .family("acme_web")
            .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/acme_web:7")
            .revision(7)
            .status(ecs::TaskDefinitionStatus::Active)
            .container_definitions(container)
            .cpu("256")
            .memory("512")
            .network_mode(ecs::NetworkMode::Awsvpc)
            .requires_compatibilities(ecs::Compatibility::Fargate)
            .compatibilities(ecs::Compatibility::Ec2)
            .compatibilities(ecs::Compatibility::Fargate)
            .requires_attributes(
                ecs::Attribute::builder()
                    .name("com.amazonaws.ecs.capability.logging-driver.awslogs")
                    .build()
                    .expect("attribute"),
            )
            .execution_role_arn("arn:aws:iam::123456789012:role/exec")
            .build()
    }

    fn rendered() -> TaskDefinitionSpec {
        TaskDefinitionSpec {
            family: "acme_web".into(),
            container_name: "web".into(),
            image: "acme/web:1".into(),
            command: vec!["serve".into(), "--port=8080".into()],
            environment: BTreeMap::from([("A".into(), "1".into()), ("B".into(), "2".into())]),
            secrets: BTreeMap::from([(
                "DB".into(),
                "arn:aws:ssm:us-east-1:123456789012:parameter/db".into(),
            )]),
            cpu: 256,
            memory: 512,
            container_port: Some(8080),
            execution_role_arn: Some("arn:aws:iam::123456789012:role/exec".into()),
            log_options: BTreeMap::from([
                ("awslogs-group".into(), "/ferry/apps".into()),
                ("awslogs-region".into(), "us-east-1".into()),
                ("awslogs-stream-prefix".into(), "acme".into()),
            ]),
            stop_timeout: Some(60),
        }
    }

    #[test]
    fn what_ecs_adds_does_not_count_as_a_change() {
        assert_eq!(task_definition(&described()), rendered());
    }

    #[test]
    fn a_change_ferry_manages_does_count() {
        let mut other = rendered();
        other.image = "acme/web:2".into();
        assert_ne!(task_definition(&described()), other);
        // Two containers are not Ferry's shape: never equal to a render.
        let mut two = described();
        two.container_definitions
            .get_or_insert_with(Vec::new)
            .push(ecs::ContainerDefinition::builder().name("sidecar").build());
        assert_ne!(task_definition(&two), rendered());
    }
}
