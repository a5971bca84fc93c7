//! The current service deployment of each settling service whose
//! strategy is not rolling, as a cache the controller's progress tick
//! keeps current and snapshots read (`Observed.service_deployments`).
//!
//! **Reading** ([`ServiceDeployments::read_tick`], once per progress tick,
//! after the settling services were read again, so their
//! `currentServiceDeployment` is current):
//! - no settling service with a strategy other than rolling: no call;
//! - else DescribeServiceDeployments with those services' current
//!   deployments, at most [`DESCRIBE_SERVICE_DEPLOYMENTS_BATCH`] ARNs per
//!   call across apps, in ECS's service read bucket like DescribeServices
//!   ("You can specify up to 20 service deployment ARNs",
//!   <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html>);
//! - a deployment is read until it is final, and once more after (its
//!   last fields, such as the rollback's reason, may be written as it
//!   ends); then not again until the service has another one.
//!
//! **Memory.** One deployment per service, the current one; a service
//! that is no longer read for is forgotten with it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use ferry_core::model::deployments::ObservedServiceDeployment;
use ferry_manifest::RolloutStrategy;

use super::{Ecs, SERVICE};
use crate::{normalize, Result};
use ferry_call::Bucket;

/// DescribeServiceDeployments accepts at most this many ARNs per call.
pub const DESCRIBE_SERVICE_DEPLOYMENTS_BATCH: usize = 20;

/// How many times a final deployment is read: when it is first seen
/// final, and once more.
const FINAL_READS: u32 = 2;

/// The read the cache makes, behind a trait so that the tests count it
/// against a fake; [`Ecs`] makes it through the paced caller.
pub(crate) trait DeploymentReads {
    /// ONE DescribeServiceDeployments call for at most
    /// [`DESCRIBE_SERVICE_DEPLOYMENTS_BATCH`] ARNs.
    async fn describe(&self, arns: &[String]) -> Result<Vec<ObservedServiceDeployment>>;
}

#[derive(Debug, Clone)]
struct Kept {
    deployment: ObservedServiceDeployment,
    /// How many reads found it final.
    final_reads: u32,
}

/// The cache; see the module's documentation.
#[derive(Debug, Default)]
pub(crate) struct ServiceDeployments {
    /// By service name.
    state: Mutex<BTreeMap<String, Kept>>,
}

impl ServiceDeployments {
    fn state(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Kept>> {
        // Every update leaves the map whole, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the cache holds `arn` for `service` and is done with it
    /// (final, and read once more after).
    fn done(&self, service: &str, arn: &str) -> bool {
        self.state()
            .get(service)
            .is_some_and(|k| k.deployment.arn == arn && k.final_reads >= FINAL_READS)
    }

    /// Whether `arn`, the current deployment of `service`, is not known
    /// to be final: the service still settles (a blue/green deployment
    /// bakes with both revisions complete, which DescribeServices alone
    /// shows as settled).
    pub(crate) fn in_progress(&self, service: &str, arn: &str) -> bool {
        self.state()
            .get(service)
            .filter(|k| k.deployment.arn == arn)
            .is_none_or(|k| !k.deployment.status.is_final())
    }

    /// One progress tick's read for `current` (service name to the ARN of
    /// its current service deployment); see the module's documentation.
    /// Returns the calls made. A failing call ends the read with its
    /// error; what earlier calls of the tick read is kept.
    pub(crate) async fn read_tick(
        &self,
        reads: &impl DeploymentReads,
        current: &BTreeMap<String, String>,
    ) -> Result<usize> {
        self.state()
            .retain(|service, _| current.contains_key(service));
        let wanted: Vec<(&String, &String)> = current
            .iter()
            .filter(|(service, arn)| !self.done(service, arn))
            .collect();
        let mut calls = 0;
        for batch in wanted.chunks(DESCRIBE_SERVICE_DEPLOYMENTS_BATCH) {
            let arns: Vec<String> = batch.iter().map(|(_, arn)| (*arn).clone()).collect();
            let described = reads.describe(&arns).await?;
            calls += 1;
            let mut state = self.state();
            for (service, arn) in batch {
                let Some(deployment) = described.iter().find(|d| &d.arn == *arn) else {
                    continue;
                };
                let before = state
                    .get(*service)
                    .filter(|k| &k.deployment.arn == *arn)
                    .map_or(0, |k| k.final_reads);
                let final_reads = before + u32::from(deployment.status.is_final());
                state.insert(
                    (*service).clone(),
                    Kept {
                        deployment: deployment.clone(),
                        final_reads,
                    },
                );
            }
        }
        Ok(calls)
    }

    /// The kept current deployment of `service`: no call.
    pub(crate) fn of(&self, service: &str) -> Option<ObservedServiceDeployment> {
        self.state().get(service).map(|k| k.deployment.clone())
    }
}

/// The read through the paced caller, in ECS's service read bucket.
struct PacedReads<'a> {
    ecs: &'a Ecs,
}

impl DeploymentReads for PacedReads<'_> {
    async fn describe(&self, arns: &[String]) -> Result<Vec<ObservedServiceDeployment>> {
        let resource = arns.first().cloned().unwrap_or_default();
        let out = self
            .ecs
            .caller
            .call(
                SERVICE,
                "DescribeServiceDeployments",
                Bucket::ServiceReads,
                &resource,
                || {
                    self.ecs
                        .client
                        .describe_service_deployments()
                        .set_service_deployment_arns(Some(arns.to_vec()))
                        .send()
                },
            )
            .await?;
        Ok(out
            .service_deployments()
            .iter()
            .filter_map(normalize::service_deployment)
            .collect())
    }
}

/// Whether `service` has a strategy other than rolling, and its current
/// service deployment is not known to be final in `kept`.
pub(crate) fn settles_by_deployment(
    kept: &ServiceDeployments,
    service: &ferry_core::ObservedService,
) -> bool {
    let strategy = service.deployment.as_ref().map(|d| d.strategy);
    if matches!(strategy, None | Some(RolloutStrategy::Rolling)) {
        return false;
    }
    service
        .current_deployment
        .as_deref()
        .is_some_and(|arn| kept.in_progress(&service.name, arn))
}

impl Ecs {
    /// The current service deployment of each cached service of `owner`
    /// whose observed strategy is not rolling, among `settling`.
    fn current_deployments(&self, settling: &[String]) -> BTreeMap<String, String> {
        settling
            .iter()
            .filter_map(|name| {
                let service = self.services.get(name)?;
                let strategy = service.deployment.as_ref().map(|d| d.strategy);
                if matches!(strategy, None | Some(RolloutStrategy::Rolling)) {
                    return None;
                }
                Some((name.clone(), service.current_deployment?))
            })
            .collect()
    }

    /// One progress tick's read of the service deployments of `owner`'s
    /// settling services with a strategy other than rolling (see the
    /// module's documentation). Returns the calls made.
    pub async fn read_service_deployments(&self, owner: &str) -> Result<usize> {
        let current = self.current_deployments(&self.settling(owner));
        self.deployments
            .read_tick(&PacedReads { ecs: self }, &current)
            .await
    }

    /// The kept current service deployment of `service`: no call.
    pub(crate) fn service_deployment_of(&self, service: &str) -> Option<ObservedServiceDeployment> {
        self.deployments.of(service)
    }
}

#[cfg(test)]
#[path = "deployments_tests.rs"]
mod tests;
