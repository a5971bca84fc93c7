//! Request builders: turn Ferry's specs into ECS request types.

use ferry_core::task::CapacityProviderItem;

use super::strategy::{advanced_configuration, with_strategy};
use super::*;
use crate::resolve::Resolve;

pub(super) fn resolve(
    reference: &TaskDefinitionRef,
    registered: &BTreeMap<String, String>,
) -> Result<String> {
    match reference {
        TaskDefinitionRef::Existing(arn) => Ok(arn.clone()),
        TaskDefinitionRef::Registered(family) => {
            registered.get(family).cloned().ok_or(Error::Build {
                what: "service request",
                message: format!("plan refers to a revision of {family} it did not register"),
            })
        }
    }
}

/// A service's link to a target group, with its `advancedConfiguration`
/// for a strategy other than rolling ([`advanced_configuration`]).
pub(super) fn load_balancer(
    link: &LoadBalancerLink,
    resolve: Resolve<'_>,
) -> Result<ecs::LoadBalancer> {
    let arn = (resolve.target_group)(&link.target_group).ok_or_else(|| Error::Build {
        what: "service request",
        message: format!(
            "target group {} is not known; it is created before the service",
            link.target_group
        ),
    })?;
    Ok(ecs::LoadBalancer::builder()
        .target_group_arn(arn)
        .container_name(&link.container_name)
        .container_port(i32::from(link.container_port))
        .set_advanced_configuration(
            link.advanced
                .as_ref()
                .map(|a| advanced_configuration(a, resolve))
                .transpose()?,
        )
        .build())
}

pub(super) fn deployment_configuration(
    spec: &ferry_core::DeploymentSpec,
) -> Result<ecs::DeploymentConfiguration> {
    Ok(
        with_strategy(ecs::DeploymentConfiguration::builder(), spec)?
            .deployment_circuit_breaker(
                ecs::DeploymentCircuitBreaker::builder()
                    .enable(true)
                    .rollback(spec.rollback)
                    .build(),
            )
            .minimum_healthy_percent(count(spec.min_healthy_percent))
            .maximum_percent(count(spec.max_percent))
            .build(),
    )
}

pub(super) fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(super) fn ecs_tags(tags: &BTreeMap<String, String>) -> Vec<ecs::Tag> {
    tags.iter()
        .map(|(k, v)| ecs::Tag::builder().key(k).value(v).build())
        .collect()
}

pub(super) fn network_configuration(network: &NetworkSpec) -> Result<ecs::NetworkConfiguration> {
    let vpc = ecs::AwsVpcConfiguration::builder()
        .set_subnets(Some(network.subnets.clone()))
        .set_security_groups(Some(network.security_groups.clone()))
        .assign_public_ip(if network.assign_public_ip {
            ecs::AssignPublicIp::Enabled
        } else {
            ecs::AssignPublicIp::Disabled
        })
        .build();
    Ok(ecs::NetworkConfiguration::builder()
        .awsvpc_configuration(built(vpc, "awsvpc configuration")?)
        .build())
}

/// ECS's items of a capacity provider strategy.
pub(super) fn capacity_provider_items(
    strategy: &[CapacityProviderItem],
) -> Result<Vec<ecs::CapacityProviderStrategyItem>> {
    strategy
        .iter()
        .map(|item| {
            built(
                ecs::CapacityProviderStrategyItem::builder()
                    .capacity_provider(&item.capacity_provider)
                    .base(count(item.base))
                    .weight(count(item.weight))
                    .build(),
                "capacity provider strategy",
            )
        })
        .collect()
}

/// Where a service's or a one-off run's tasks go: the FARGATE launch type
/// or a capacity provider strategy, never both ("If a
/// capacityProviderStrategy is specified, the launchType parameter must be
/// omitted", CreateService and RunTask,
/// <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html>).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Placement {
    pub launch_type: Option<ecs::LaunchType>,
    pub capacity_provider_strategy: Option<Vec<ecs::CapacityProviderStrategyItem>>,
}

impl Placement {
    /// An empty strategy is the FARGATE launch type, as before capacity
    /// existed.
    pub(super) fn of(strategy: &[CapacityProviderItem]) -> Result<Self> {
        Ok(if strategy.is_empty() {
            Self {
                launch_type: Some(ecs::LaunchType::Fargate),
                capacity_provider_strategy: None,
            }
        } else {
            Self {
                launch_type: None,
                capacity_provider_strategy: Some(capacity_provider_items(strategy)?),
            }
        })
    }
}
