//! Request builders: turn Ferry's specs into ECS request types.

use super::*;

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

pub(super) fn load_balancer(
    link: &LoadBalancerLink,
    target_group: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<ecs::LoadBalancer> {
    let arn = target_group(&link.target_group).ok_or_else(|| Error::Build {
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
        .build())
}

pub(super) fn deployment_configuration(
    spec: &ferry_core::DeploymentSpec,
) -> ecs::DeploymentConfiguration {
    ecs::DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            ecs::DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(spec.rollback)
                .build(),
        )
        .minimum_healthy_percent(count(spec.min_healthy_percent))
        .maximum_percent(count(spec.max_percent))
        .build()
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
