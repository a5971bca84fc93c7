//! Plans the autoscaling of one process.
//!
//! Ordering. Targets are registered after their service exists (the plan
//! puts them after creates and updates); policies and targets are removed
//! before anything else, so a service is never deleted or rescaled while
//! an autoscaler still acts on it.

use crate::model::autoscaling::*;
use crate::model::blocker::{Blocker, BlockerReason};
use crate::names::autoscaling::policy_name;

/// One process's autoscaling changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScalingPlan {
    /// Registrations and policies: after the service exists.
    pub apply: Vec<ScalingAction>,
    /// Deletions: before anything else changes the service.
    pub remove: Vec<ScalingAction>,
    pub blockers: Vec<Blocker>,
}

impl ScalingPlan {
    fn extend(&mut self, other: ScalingPlan) {
        self.apply.extend(other.apply);
        self.remove.extend(other.remove);
        self.blockers.extend(other.blockers);
    }
}

/// Plans the autoscaling of one process, whose service is `service`
/// (existing, or created earlier in the same plan). `spec` is `None` when
/// the process is not autoscaled, or is not wanted at all.
pub fn plan_process(
    app: &str,
    owner: &str,
    process: &str,
    service: &str,
    spec: Option<&ScalingSpec>,
    observed: Option<&ObservedScalableTarget>,
) -> ScalingPlan {
    let mut out = ScalingPlan::default();
    match (spec, observed) {
        (None, None) => {}
        (_, Some(target)) if !owned(target, owner, app) => {
            if spec.is_some() {
                out.blockers.push(Blocker {
                    process: process.to_owned(),
                    reason: BlockerReason::NameConflict,
                    message: format!(
                        "service {service} already has a scalable target that is not Ferry's for \
                         this app; Ferry leaves it and its policies untouched, and does not \
                         autoscale the process"
                    ),
                });
            }
        }
        (None, Some(target)) => out.extend(remove(process, service, target)),
        (Some(spec), target) => {
            let bounds_differ = target.is_none_or(|t| t.min != spec.min || t.max != spec.max);
            if bounds_differ {
                out.apply.push(ScalingAction::RegisterScalableTarget {
                    service: service.to_owned(),
                    resource_id: spec.resource_id.clone(),
                    min: spec.min,
                    max: spec.max,
                    tags: target.is_none().then(|| spec.tags.clone()),
                });
            }
            for policy in &spec.policies {
                if policy.metric == Metric::Requests && policy.label.is_none() {
                    out.blockers.push(Blocker {
                        process: process.to_owned(),
                        reason: BlockerReason::NoLoadBalancer,
                        message: format!(
                            "requestsPerTarget of process {process} cannot be tracked: no load \
                             balancer routes to its target group; its other targets are"
                        ),
                    });
                    continue;
                }
                let existing = target.and_then(|t| t.policies.get(&policy.name));
                if !existing.is_some_and(|e| matches(policy, e)) {
                    out.apply.push(ScalingAction::PutScalingPolicy {
                        service: service.to_owned(),
                        resource_id: spec.resource_id.clone(),
                        policy: policy.clone(),
                    });
                }
            }
            if let Some(target) = target {
                for metric in Metric::ALL {
                    let name = policy_name(service, metric);
                    let wanted = spec.policies.iter().any(|p| p.name == name);
                    if !wanted && target.policies.contains_key(&name) {
                        out.remove.push(ScalingAction::DeleteScalingPolicy {
                            service: service.to_owned(),
                            resource_id: target.resource_id.clone(),
                            name,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Removes Ferry's policies of an owned target, then the target, unless
/// someone else's policies are on it.
fn remove(process: &str, service: &str, target: &ObservedScalableTarget) -> ScalingPlan {
    let mut out = ScalingPlan::default();
    let ours: Vec<String> = Metric::ALL
        .into_iter()
        .map(|m| policy_name(service, m))
        .collect();
    for name in target.policies.keys().filter(|n| ours.contains(n)) {
        out.remove.push(ScalingAction::DeleteScalingPolicy {
            service: service.to_owned(),
            resource_id: target.resource_id.clone(),
            name: name.clone(),
        });
    }
    let foreign: Vec<&str> = target
        .policies
        .keys()
        .filter(|n| !ours.contains(n))
        .map(String::as_str)
        .collect();
    if foreign.is_empty() {
        out.remove.push(ScalingAction::DeregisterScalableTarget {
            service: service.to_owned(),
            resource_id: target.resource_id.clone(),
        });
    } else {
        out.blockers.push(Blocker {
            process: process.to_owned(),
            reason: BlockerReason::NameConflict,
            message: format!(
                "the scalable target of service {service} has scaling policies Ferry did not make \
                 ({}); deregistering it would delete them, so Ferry leaves it registered",
                foreign.join(", ")
            ),
        });
    }
    out
}

fn matches(spec: &PolicySpec, observed: &ObservedPolicy) -> bool {
    let label_matches = match (&spec.label, &observed.resource_label) {
        (None, None) => true,
        // Unknown until the target group exists: put it again.
        (Some(label), Some(seen)) => label.resolved.as_deref() == Some(seen.as_str()),
        _ => false,
    };
    observed.metric == Some(spec.metric) && observed.target == Some(spec.target) && label_matches
}

#[cfg(test)]
#[path = "autoscaling_tests.rs"]
mod tests;
