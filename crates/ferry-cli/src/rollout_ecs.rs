//! [`ServiceDeployments`] in ECS: the four calls `ferry rollout` makes,
//! through the CLI's paced caller, and DescribeServiceDeployments' answer
//! read into [`ObservedServiceDeployment`] by ferry-aws, as the controller reads it.
//!
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContinueServiceDeployment.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopServiceDeployment.html>

use aws_sdk_ecs::primitives::{DateTime, DateTimeFormat};
use aws_sdk_ecs::types::{DeploymentLifecycleHookAction, StopServiceDeploymentStopType};
use aws_sdk_ecs::Client;
use ferry_aws::pacing::Bucket;
use ferry_aws::paginate::{next_token, paginate, Page};
use ferry_aws::Caller;
use ferry_core::model::deployments::ObservedServiceDeployment;

use crate::rollout::{Listed, ServiceDeployments};

const SERVICE: &str = "ecs";

/// ECS's service deployments of the cluster the controller published.
pub struct EcsDeployments {
    pub client: Client,
    pub caller: Caller,
    pub cluster: String,
}

impl ServiceDeployments for EcsDeployments {
    async fn current(&self, service: &str) -> anyhow::Result<Option<String>> {
        let out = self
            .caller
            .call(
                SERVICE,
                "DescribeServices",
                Bucket::ServiceReads,
                service,
                || {
                    self.client
                        .describe_services()
                        .cluster(&self.cluster)
                        .services(service)
                        .send()
                },
            )
            .await?;
        Ok(out
            .services()
            .iter()
            .find(|s| s.status() != Some("INACTIVE"))
            .and_then(|s| s.current_service_deployment())
            .map(str::to_owned))
    }

    async fn describe(&self, arns: &[String]) -> anyhow::Result<Vec<ObservedServiceDeployment>> {
        let resource = arns.first().map_or("", String::as_str);
        let out = self
            .caller
            .call(
                SERVICE,
                "DescribeServiceDeployments",
                Bucket::ServiceReads,
                resource,
                || {
                    self.client
                        .describe_service_deployments()
                        .set_service_deployment_arns(Some(arns.to_vec()))
                        .send()
                },
            )
            .await?;
        Ok(out
            .service_deployments()
            .iter()
            .filter_map(ferry_aws::service_deployment)
            .collect())
    }

    async fn recent(&self, service: &str) -> anyhow::Result<Vec<Listed>> {
        // ListServiceDeployments documents no order, so every page is read
        // and `history` picks the newest by `createdAt`.
        let (listed, _calls) = paginate(|token: Option<String>| async move {
            let out = self
                .caller
                .call(
                    SERVICE,
                    "ListServiceDeployments",
                    Bucket::ServiceReads,
                    service,
                    || {
                        self.client
                            .list_service_deployments()
                            .cluster(&self.cluster)
                            .service(service)
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await?;
            let items = out
                .service_deployments()
                .iter()
                .filter_map(|d| {
                    Some(Listed {
                        arn: d.service_deployment_arn()?.to_owned(),
                        created_at: d.created_at().and_then(rfc3339),
                    })
                })
                .collect();
            Ok(Page::new(items, next_token(out.next_token())))
        })
        .await?;
        Ok(listed)
    }

    async fn continue_hook(&self, deployment: &str, hook_id: &str) -> anyhow::Result<()> {
        self.caller
            .call(
                SERVICE,
                "ContinueServiceDeployment",
                Bucket::ServiceWrites,
                deployment,
                || {
                    self.client
                        .continue_service_deployment()
                        .service_deployment_arn(deployment)
                        .hook_id(hook_id)
                        .action(DeploymentLifecycleHookAction::Continue)
                        .send()
                },
            )
            .await?;
        Ok(())
    }

    async fn roll_back(&self, deployment: &str) -> anyhow::Result<()> {
        self.caller
            .call(
                SERVICE,
                "StopServiceDeployment",
                Bucket::ServiceWrites,
                deployment,
                || {
                    self.client
                        .stop_service_deployment()
                        .service_deployment_arn(deployment)
                        .stop_type(StopServiceDeploymentStopType::Rollback)
                        .send()
                },
            )
            .await?;
        Ok(())
    }
}

fn rfc3339(time: &DateTime) -> Option<String> {
    time.fmt(DateTimeFormat::DateTime).ok()
}
