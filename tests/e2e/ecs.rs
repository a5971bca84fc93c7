//! Reading ECS through the SDK, the way a user checking Ferry's work would.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{Service, ServiceField, TaskDefinition, TaskDefinitionField};
use aws_sdk_ecs::Client;

/// The service if it exists and is ACTIVE (moto keeps deleted services
/// listed as INACTIVE).
pub async fn active_service(ecs: &Client, cluster: &str, name: &str) -> Option<Service> {
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .include(ServiceField::Tags)
        .send()
        .await
        .expect("DescribeServices");
    out.services()
        .iter()
        .find(|s| s.service_name() == Some(name) && s.status() == Some("ACTIVE"))
        .cloned()
}

pub async fn task_definition(
    ecs: &Client,
    arn: &str,
) -> (TaskDefinition, BTreeMap<String, String>) {
    let out = ecs
        .describe_task_definition()
        .task_definition(arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .expect("DescribeTaskDefinition");
    let tags = out
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (
        out.task_definition().cloned().expect("taskDefinition"),
        tags,
    )
}

/// Every revision ARN registered in exactly this family.
pub async fn revisions(ecs: &Client, family: &str) -> Vec<String> {
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let out = ecs
            .list_task_definitions()
            .family_prefix(family)
            .set_next_token(token)
            .send()
            .await
            .expect("ListTaskDefinitions");
        arns.extend(
            out.task_definition_arns()
                .iter()
                .filter(|arn| {
                    arn.rsplit_once('/').is_some_and(|(_, rest)| {
                        rest.rsplit_once(':').is_some_and(|(f, _)| f == family)
                    })
                })
                .cloned(),
        );
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return arns;
        }
    }
}

pub fn tags(service: &Service) -> BTreeMap<String, String> {
    service
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A service nobody gave Ferry's tags, as another team would have made it.
pub async fn create_foreign_service(
    ecs: &Client,
    cluster: &str,
    name: &str,
    family: &str,
) -> String {
    let container = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("app")
        .image("legacy/billing:7")
        .memory(256)
        .build();
    let td = ecs
        .register_task_definition()
        .family(family)
        .container_definitions(container)
        .send()
        .await
        .expect("RegisterTaskDefinition");
    let arn = td
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_owned();
    ecs.create_service()
        .cluster(cluster)
        .service_name(name)
        .task_definition(&arn)
        .desired_count(1)
        .send()
        .await
        .expect("CreateService");
    arn
}

/// The host names a listener rule matches, sorted.
pub fn rule_hosts(rule: &aws_sdk_elasticloadbalancingv2::types::Rule) -> Vec<String> {
    let mut hosts: Vec<String> = rule
        .conditions()
        .iter()
        .flat_map(|c| {
            c.host_header_config()
                .map(|h| h.values().to_vec())
                .unwrap_or_else(|| c.values().to_vec())
        })
        .collect();
    hosts.sort();
    hosts
}

/// Every service ARN ListServices gives for the cluster, every page.
pub async fn service_arns(ecs: &Client, cluster: &str) -> Vec<String> {
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let out = ecs
            .list_services()
            .cluster(cluster)
            .set_next_token(token)
            .send()
            .await
            .expect("ListServices");
        arns.extend(out.service_arns().iter().cloned());
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return arns;
        }
    }
}

/// The id of a service's PRIMARY deployment.
pub fn primary_deployment(service: &Service) -> Option<String> {
    service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.id().map(str::to_owned))
}
