//! ECS responses to Ferry's rendered form.
//!
//! Only fields Ferry manages are read, and read the way ECS returns them:
//! defaults ECS fills in (essential, hostPort, protocol, container-level
//! cpu, health check intervals) are ignored or filled on both sides, lists
//! that are sets become sorted maps. A task definition that does not have
//! Ferry's shape (a container Ferry did not render, say) normalises to
//! something no rendered spec equals, so it gets replaced. Task
//! definitions are read in [`task_definition`] (the module).

mod deployment;
mod service_deployment;
mod task_definition;

pub use service_deployment::service_deployment;
pub(crate) use task_definition::task_definition;

use std::collections::BTreeMap;

use aws_sdk_ecs::types as ecs;
use ferry_core::observed::{DeploymentStatus, EcsRolloutState, ObservedDeployment, ServiceEvent};
use ferry_core::task::{sorted_strategy, CapacityProviderItem};
use ferry_core::traffic::{target_group_name_from_arn, LoadBalancerLink};
use ferry_core::{NetworkSpec, ObservedService, ServiceStatus};

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
        current_deployment: s.current_service_deployment().map(str::to_owned),
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
                    advanced: lb.advanced_configuration().and_then(deployment::advanced),
                })
                .collect();
            // Compared with the rendered links, which are sorted.
            links.sort_by(|a, b| a.target_group.cmp(&b.target_group));
            links
        },
        health_check_grace_period: s
            .health_check_grace_period_seconds()
            .and_then(|g| u32::try_from(g).ok()),
        deployment: s
            .deployment_configuration()
            .and_then(deployment::deployment),
        // Empty for a service with a launch type (the FARGATE one, for
        // Ferry's): ECS reports one or the other.
        capacity_provider_strategy: sorted_strategy(
            s.capacity_provider_strategy()
                .iter()
                .map(|item| CapacityProviderItem {
                    capacity_provider: item.capacity_provider().to_owned(),
                    base: count(item.base()),
                    weight: count(item.weight()),
                })
                .collect(),
        ),
        enable_execute_command: s.enable_execute_command(),
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
                created_at: d
                    .created_at()
                    .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
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
