//! Application Auto Scaling: the scalable targets of the cluster's ECS
//! services and their scaling policies.
//!
//! Like the traffic adapter, this one keeps an inventory, loaded in full
//! by [`Autoscaling::refresh`] (at each resync: DescribeScalableTargets
//! and DescribeScalingPolicies for the `ecs` namespace, paginated, once
//! for the whole account and Region) and kept current by Ferry's own
//! writes in between, so observing an app costs no call. A target's tags
//! (ListTagsForResource, one call per target) are read once per target
//! ARN, when the target is first seen: Ferry tags a target when it
//! registers it and never after, so a changed tag on a target Ferry has
//! seen is noticed only when the target is registered anew (its ARN
//! changes). A write that fails marks the inventory stale, so that the
//! next observation reloads it rather than trusting a write whose answer
//! was lost.
//!
//! The inventory is two [`Cache`]s (targets by resource id, tags by target
//! ARN): newest-sent answer wins, so a listing sent before a write and
//! answered after it does not undo what the write's answer recorded.
//! [`Autoscaling::snapshot`] reads them with no call.

use std::collections::BTreeMap;

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_applicationautoscaling::types as aast;
use ferry_core::autoscaling::{
    self, Metric, ObservedPolicy, ObservedScalableTarget, PolicySpec, ScalingAction,
    SCALABLE_DIMENSION, SERVICE_NAMESPACE,
};
use ferry_core::names::{self, Ownership};

use crate::cache::Cache;
use crate::paginate::{next_token, paginate, Page};
use crate::{Caller, Error, Result};
use ferry_call::Bucket;

/// The service name calls are counted (and IAM actions prefixed) under.
pub const APPLICATION_AUTOSCALING: &str = "application-autoscaling";
/// DescribeScalableTargets returns at most 50 targets per call.
const TARGETS_PAGE: i32 = 50;
/// DescribeScalingPolicies returns at most 10 policies per call.
const POLICIES_PAGE: i32 = 10;

#[derive(Default)]
struct Inventory {
    /// By resource id: every ECS scalable target of the account and Region.
    targets: Cache<String, ObservedScalableTarget>,
    /// Tags by target ARN, as read once per ARN or written by Ferry.
    tags: Cache<String, BTreeMap<String, String>>,
}

impl Inventory {
    fn is_ready(&self) -> bool {
        self.targets.is_ready() && self.tags.is_ready()
    }

    fn invalidate(&self) {
        self.targets.invalidate();
        self.tags.invalidate();
    }
}

/// Application Auto Scaling for the ECS services of the account and
/// Region: the inventory, the snapshot of one app's scalable targets from
/// it, and the executor of scaling actions.
pub struct Autoscaling {
    client: aas::Client,
    caller: Caller,
    inventory: Inventory,
}

fn namespace() -> aast::ServiceNamespace {
    aast::ServiceNamespace::from(SERVICE_NAMESPACE)
}

fn dimension() -> aast::ScalableDimension {
    aast::ScalableDimension::from(SCALABLE_DIMENSION)
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn capacity(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// ObjectNotFoundException: what a delete of something already gone gets.
fn not_found(err: &Error) -> bool {
    matches!(err, Error::Call { code: Some(code), .. } if code == "ObjectNotFoundException")
}

impl Autoscaling {
    /// An adapter with an empty inventory, not ready until the first
    /// [`Autoscaling::refresh`].
    pub fn new(client: aas::Client, caller: Caller) -> Self {
        Self {
            client,
            caller,
            inventory: Inventory::default(),
        }
    }

    /// An adapter whose client is made from `sdk` (see
    /// [`crate::paced_sdk_config`]), its writes held back by `gate` after
    /// signing (see [`ferry_call::GateInterceptor`]).
    pub fn from_config(
        sdk: &aws_config::SdkConfig,
        caller: Caller,
        gate: &ferry_call::WriteGate,
    ) -> Self {
        let config = aas::config::Builder::from(sdk)
            .interceptor(gate.interceptor())
            .build();
        Self::new(aas::Client::from_conf(config), caller)
    }

    /// Reads every ECS scalable target and scaling policy, and the tags of
    /// targets not seen before. Returns the number of calls made. A failed
    /// read leaves the inventory unloaded: observing then reads again,
    /// rather than planning from what may be stale.
    pub async fn refresh(&self) -> Result<usize> {
        let result = self.load().await;
        if result.is_err() {
            self.inventory.invalidate();
        }
        result
    }

    async fn load(&self) -> Result<usize> {
        let targets_seq = self.inventory.targets.begin();
        let tags_seq = self.inventory.tags.begin();
        let (listed, mut calls) = paginate(|token: Option<String>| async move {
            let out = self
                .caller
                .call(
                    APPLICATION_AUTOSCALING,
                    "DescribeScalableTargets",
                    Bucket::Autoscaling,
                    SERVICE_NAMESPACE,
                    || {
                        self.client
                            .describe_scalable_targets()
                            .service_namespace(namespace())
                            .max_results(TARGETS_PAGE)
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await?;
            let targets = out
                .scalable_targets()
                .iter()
                .filter(|target| target.scalable_dimension().as_str() == SCALABLE_DIMENSION)
                .map(observed_target)
                .collect();
            Ok(Page::new(targets, next_token(out.next_token())))
        })
        .await?;
        let mut targets: BTreeMap<String, ObservedScalableTarget> = listed
            .into_iter()
            .map(|t| (t.resource_id.clone(), t))
            .collect();
        let (policies, policy_calls) = paginate(|token: Option<String>| async move {
            let out = self
                .caller
                .call(
                    APPLICATION_AUTOSCALING,
                    "DescribeScalingPolicies",
                    Bucket::Autoscaling,
                    SERVICE_NAMESPACE,
                    || {
                        self.client
                            .describe_scaling_policies()
                            .service_namespace(namespace())
                            .max_results(POLICIES_PAGE)
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await?;
            let policies = out
                .scaling_policies()
                .iter()
                .filter(|policy| policy.scalable_dimension().as_str() == SCALABLE_DIMENSION)
                .map(|policy| (policy.resource_id().to_owned(), observed_policy(policy)))
                .collect();
            Ok(Page::new(policies, next_token(out.next_token())))
        })
        .await?;
        calls += policy_calls;
        for (resource_id, policy) in policies {
            if let Some(target) = targets.get_mut(&resource_id) {
                target.policies.insert(policy.name.clone(), policy);
            }
        }
        let known = self.inventory.tags.to_map();
        let mut tags = BTreeMap::new();
        for target in targets.values_mut() {
            if target.arn.is_empty() {
                continue;
            }
            let found = match known.get(&target.arn) {
                Some(found) => found.clone(),
                None => {
                    calls += 1;
                    self.list_tags(&target.arn).await?
                }
            };
            target.tags = found.clone();
            tags.insert(target.arn.clone(), found);
        }
        self.inventory.targets.apply_listing(targets_seq, targets);
        self.inventory.tags.apply_listing(tags_seq, tags);
        Ok(calls)
    }

    async fn list_tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let out = self
            .caller
            .call(
                APPLICATION_AUTOSCALING,
                "ListTagsForResource",
                Bucket::Autoscaling,
                arn,
                || {
                    self.client
                        .list_tags_for_resource()
                        .resource_arn(arn)
                        .send()
                },
            )
            .await?;
        Ok(out
            .tags()
            .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Whether the inventory comes from a complete listing, with no failed
    /// read or write since: what [`Autoscaling::snapshot`] needs to answer.
    pub fn is_ready(&self) -> bool {
        self.inventory.is_ready()
    }

    /// The scalable targets of one app in `cluster`, by service name: those
    /// of the named services (whoever owns them) and those tagged for the
    /// app, from the inventory, with no call. `None` while the inventory
    /// is not ready (never loaded, or a refresh or write failed since).
    pub fn snapshot(
        &self,
        cluster: &str,
        app: &str,
        owner: &str,
        services: &[String],
    ) -> Option<BTreeMap<String, ObservedScalableTarget>> {
        self.is_ready()
            .then(|| self.observed(cluster, app, owner, services))
    }

    fn observed(
        &self,
        cluster: &str,
        app: &str,
        owner: &str,
        services: &[String],
    ) -> BTreeMap<String, ObservedScalableTarget> {
        let prefix = format!("service/{cluster}/");
        self.inventory.targets.read(|targets| {
            targets
                .values()
                .filter(|t| t.resource_id.starts_with(&prefix))
                .filter_map(|t| Some((autoscaling::service_of(&t.resource_id)?, t)))
                .filter(|(service, t)| {
                    services.iter().any(|s| s == service)
                        || names::ownership(&t.tags, owner, app) == Ownership::Ours
                })
                .map(|(service, t)| (service.to_owned(), t.clone()))
                .collect()
        })
    }

    /// Executes one change. `target_group` turns a target group name into
    /// its ARN, for a request-count policy whose label was not known when
    /// it was planned.
    pub async fn execute(
        &self,
        action: &ScalingAction,
        target_group: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<()> {
        let result = self.execute_inner(action, target_group).await;
        if result.is_err() {
            self.inventory.invalidate();
        }
        result
    }

    async fn execute_inner(
        &self,
        action: &ScalingAction,
        target_group: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<()> {
        let targets_seq = self.inventory.targets.begin();
        let tags_seq = self.inventory.tags.begin();
        match action {
            ScalingAction::RegisterScalableTarget {
                resource_id,
                min,
                max,
                tags,
                ..
            } => {
                let request = self
                    .client
                    .register_scalable_target()
                    .service_namespace(namespace())
                    .resource_id(resource_id)
                    .scalable_dimension(dimension())
                    .min_capacity(count(*min))
                    .max_capacity(count(*max))
                    .set_tags(
                        tags.as_ref()
                            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                    );
                let out = self
                    .caller
                    .call(
                        APPLICATION_AUTOSCALING,
                        "RegisterScalableTarget",
                        Bucket::Autoscaling,
                        resource_id,
                        || request.clone().send(),
                    )
                    .await?;
                let arn = out.scalable_target_arn().unwrap_or_default().to_owned();
                let known_tags = self.inventory.tags.get(&arn);
                let targets = &self.inventory.targets;
                targets.modify(targets_seq, resource_id.clone(), |held| {
                    let mut target = held.cloned().unwrap_or_else(|| ObservedScalableTarget {
                        arn: arn.clone(),
                        resource_id: resource_id.clone(),
                        min: *min,
                        max: *max,
                        tags: BTreeMap::new(),
                        policies: BTreeMap::new(),
                    });
                    target.min = *min;
                    target.max = *max;
                    if let Some(tags) = tags.clone().or(known_tags) {
                        target.tags = tags;
                    }
                    if !arn.is_empty() {
                        target.arn = arn.clone();
                    }
                    Some(target)
                });
                if !arn.is_empty() {
                    if let Some(target) = targets.get(resource_id) {
                        self.inventory.tags.put(tags_seq, arn, target.tags);
                    }
                }
            }
            ScalingAction::PutScalingPolicy {
                resource_id,
                policy,
                ..
            } => {
                let label = match &policy.label {
                    None => None,
                    Some(label) => Some(match &label.resolved {
                        Some(resolved) => resolved.clone(),
                        None => target_group(&label.target_group)
                            .and_then(|tg| {
                                autoscaling::resource_label(&label.load_balancer_arn, &tg)
                            })
                            .ok_or_else(|| Error::Build {
                                what: "scaling policy",
                                message: format!(
                                    "the resource label of {} needs target group {}, which is \
                                     not known",
                                    policy.name, label.target_group
                                ),
                            })?,
                    }),
                };
                let configuration = tracking(policy, label.clone())?;
                let request = self
                    .client
                    .put_scaling_policy()
                    .policy_name(&policy.name)
                    .service_namespace(namespace())
                    .resource_id(resource_id)
                    .scalable_dimension(dimension())
                    .policy_type(aast::PolicyType::TargetTrackingScaling)
                    .target_tracking_scaling_policy_configuration(configuration);
                self.caller
                    .call(
                        APPLICATION_AUTOSCALING,
                        "PutScalingPolicy",
                        Bucket::Autoscaling,
                        &policy.name,
                        || request.clone().send(),
                    )
                    .await?;
                self.inventory
                    .targets
                    .update(targets_seq, resource_id, |target| {
                        target.policies.insert(
                            policy.name.clone(),
                            ObservedPolicy {
                                name: policy.name.clone(),
                                metric: Some(policy.metric),
                                target: Some(policy.target),
                                resource_label: label,
                            },
                        );
                    });
            }
            ScalingAction::DeleteScalingPolicy {
                resource_id, name, ..
            } => {
                let sent = self
                    .caller
                    .call(
                        APPLICATION_AUTOSCALING,
                        "DeleteScalingPolicy",
                        Bucket::Autoscaling,
                        name,
                        || {
                            self.client
                                .delete_scaling_policy()
                                .policy_name(name)
                                .service_namespace(namespace())
                                .resource_id(resource_id)
                                .scalable_dimension(dimension())
                                .send()
                        },
                    )
                    .await;
                match sent {
                    Ok(_) => {}
                    // Gone already: what the delete was for.
                    Err(err) if not_found(&err) => {}
                    Err(err) => return Err(err),
                }
                self.inventory
                    .targets
                    .update(targets_seq, resource_id, |target| {
                        target.policies.remove(name);
                    });
            }
            ScalingAction::DeregisterScalableTarget { resource_id, .. } => {
                let sent = self
                    .caller
                    .call(
                        APPLICATION_AUTOSCALING,
                        "DeregisterScalableTarget",
                        Bucket::Autoscaling,
                        resource_id,
                        || {
                            self.client
                                .deregister_scalable_target()
                                .service_namespace(namespace())
                                .resource_id(resource_id)
                                .scalable_dimension(dimension())
                                .send()
                        },
                    )
                    .await;
                match sent {
                    Ok(_) => {}
                    Err(err) if not_found(&err) => {}
                    Err(err) => return Err(err),
                }
                let targets = &self.inventory.targets;
                if let Some(target) = targets.get(resource_id) {
                    targets.remove(targets_seq, resource_id);
                    self.inventory.tags.remove(tags_seq, &target.arn);
                }
            }
        }
        Ok(())
    }
}

fn tracking(
    policy: &PolicySpec,
    label: Option<String>,
) -> Result<aast::TargetTrackingScalingPolicyConfiguration> {
    let metric = aast::PredefinedMetricSpecification::builder()
        .predefined_metric_type(aast::MetricType::from(policy.metric.predefined_type()))
        .set_resource_label(label)
        .build()
        .map_err(|e| Error::Build {
            what: "scaling policy metric",
            message: e.to_string(),
        })?;
    aast::TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(f64::from(policy.target))
        .predefined_metric_specification(metric)
        .build()
        .map_err(|e| Error::Build {
            what: "scaling policy",
            message: e.to_string(),
        })
}

/// A scalable target as DescribeScalableTargets describes it, without
/// tags or policies.
fn observed_target(target: &aast::ScalableTarget) -> ObservedScalableTarget {
    ObservedScalableTarget {
        arn: target.scalable_target_arn().unwrap_or_default().to_owned(),
        resource_id: target.resource_id().to_owned(),
        min: capacity(target.min_capacity()),
        max: capacity(target.max_capacity()),
        tags: BTreeMap::new(),
        policies: BTreeMap::new(),
    }
}

fn observed_policy(policy: &aast::ScalingPolicy) -> ObservedPolicy {
    let tracking = policy.target_tracking_scaling_policy_configuration();
    let predefined = tracking.and_then(|t| t.predefined_metric_specification());
    ObservedPolicy {
        name: policy.policy_name().to_owned(),
        metric: predefined
            .and_then(|p| Metric::from_predefined_type(p.predefined_metric_type().as_str())),
        target: tracking.and_then(|t| whole(t.target_value())),
        resource_label: predefined
            .and_then(|p| p.resource_label())
            .map(str::to_owned),
    }
}

/// A target value that is a whole number Ferry could have written.
fn whole(value: f64) -> Option<u32> {
    if value.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&value) {
        return None;
    }
    // In range and whole: the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(value as u32)
}

#[cfg(test)]
#[path = "autoscaling_tests.rs"]
mod tests;
