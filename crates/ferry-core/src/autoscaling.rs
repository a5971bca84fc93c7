//! Autoscaling: the Application Auto Scaling target and target-tracking
//! policies of an autoscaled process, who owns its desired count, and the
//! plan that converges them.
//!
//! An autoscaled process's desired count belongs to the autoscaler. Ferry
//! sets it only when it creates the service (`scale`, clamped into
//! `min..=max`) and to clamp it into `min..=max` when the count is outside
//! (a narrowed range, say); drift correction never resets it otherwise. A
//! service with a scalable target Ferry does not own is left to whoever
//! registered it: Ferry does not correct its count either.
//!
//! Ownership. A scalable target is Ferry's when its tags say so (this
//! installation and app). Policies have no tags: a policy is Ferry's only
//! when its target is and its name is one [`policy_name`] derives for the
//! process. Nothing else is changed or deleted: a target with policies of
//! someone else's keeps being registered (deregistering it would delete
//! them), and only Ferry's policies on it go.
//!
//! Ordering. Targets are registered after their service exists (the plan
//! puts them after creates and updates); policies and targets are removed
//! before anything else, so a service is never deleted or rescaled while
//! an autoscaler still acts on it.
//!
//! This module depends on `names` and `blocker` only; the planner (in
//! `plan`) hands it what it needs of the desired and observed state.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::blocker::{Blocker, BlockerReason};
use crate::names::{self, Ownership};

/// The namespace of ECS scalable targets.
pub const SERVICE_NAMESPACE: &str = "ecs";
/// The dimension Ferry scales: an ECS service's desired count.
pub const SCALABLE_DIMENSION: &str = "ecs:service:DesiredCount";

/// A target-tracking metric, one per manifest field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Metric {
    /// `cpu`: average CPU utilization of the service, percent.
    Cpu,
    /// `memory`: average memory utilization of the service, percent.
    Memory,
    /// `requestsPerTarget`: ALB requests per task and minute.
    Requests,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::Cpu, Metric::Memory, Metric::Requests];

    /// Application Auto Scaling's predefined metric type.
    pub fn predefined_type(self) -> &'static str {
        match self {
            Metric::Cpu => "ECSServiceAverageCPUUtilization",
            Metric::Memory => "ECSServiceAverageMemoryUtilization",
            Metric::Requests => "ALBRequestCountPerTarget",
        }
    }

    /// The inverse of [`Metric::predefined_type`].
    pub fn from_predefined_type(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.predefined_type() == text)
    }

    fn suffix(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Memory => "memory",
            Metric::Requests => "requests",
        }
    }
}

/// The resource id of an ECS service's scalable target.
pub fn resource_id(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

/// The service name in a resource id `service/<cluster>/<service>`.
pub fn service_of(resource_id: &str) -> Option<&str> {
    let rest = resource_id.strip_prefix("service/")?;
    let (_, service) = rest.split_once('/')?;
    (!service.is_empty() && !service.contains('/')).then_some(service)
}

/// The name of the policy that tracks `metric` for a service: derived
/// from the service name (that is, app and process), so a restarted
/// controller finds it, and prefixed so that a reader sees whose it is.
pub fn policy_name(service: &str, metric: Metric) -> String {
    format!("ferry-{service}-{}", metric.suffix())
}

/// `app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>`, the resource
/// label of `ALBRequestCountPerTarget`: the final portions of the load
/// balancer's and the target group's ARNs. `None` if either is no ALB or
/// target group ARN.
pub fn resource_label(load_balancer_arn: &str, target_group_arn: &str) -> Option<String> {
    let (_, lb) = load_balancer_arn.split_once(":loadbalancer/")?;
    let (_, tg) = target_group_arn.split_once(":targetgroup/")?;
    let lb_parts: Vec<&str> = lb.split('/').collect();
    let tg_parts: Vec<&str> = tg.split('/').collect();
    let whole = |parts: &[&str]| parts.iter().all(|p| !p.is_empty());
    match (lb_parts.as_slice(), tg_parts.as_slice()) {
        (["app", _, _], [_, _]) if whole(&lb_parts) && whole(&tg_parts) => {
            Some(format!("{lb}/targetgroup/{tg}"))
        }
        _ => None,
    }
}

/// Which target group a request-count policy counts at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelRef {
    pub load_balancer_arn: String,
    /// Name of the target group (its ARN may not exist before the plan
    /// runs).
    pub target_group: String,
    /// The whole label, when the target group's ARN is known at planning.
    pub resolved: Option<String>,
}

/// A target-tracking policy Ferry wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySpec {
    pub name: String,
    pub metric: Metric,
    pub target: u32,
    /// For [`Metric::Requests`] only; `None` there means no load balancer
    /// serves the process, and the policy cannot be made.
    pub label: Option<LabelRef>,
}

/// What an autoscaled process's Application Auto Scaling side should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingSpec {
    pub resource_id: String,
    pub min: u32,
    pub max: u32,
    pub tags: BTreeMap<String, String>,
    /// In [`Metric`] order.
    pub policies: Vec<PolicySpec>,
}

impl ScalingSpec {
    /// `count` moved into `min..=max`.
    pub fn clamp(&self, count: u32) -> u32 {
        count.clamp(self.min, self.max.max(self.min))
    }
}

/// A scaling policy as Application Auto Scaling describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedPolicy {
    pub name: String,
    /// `None` for a step-scaling policy or a customized metric.
    pub metric: Option<Metric>,
    /// The target value, if it is a whole number.
    pub target: Option<u32>,
    pub resource_label: Option<String>,
}

/// A scalable target of an ECS service, with its policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedScalableTarget {
    pub arn: String,
    pub resource_id: String,
    pub min: u32,
    pub max: u32,
    pub tags: BTreeMap<String, String>,
    /// By name: every policy on the target, whoever made it.
    pub policies: BTreeMap<String, ObservedPolicy>,
}

/// A change to Application Auto Scaling. `service` names the ECS service
/// whose desired count the target scales.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum ScalingAction {
    /// Registers a target, or updates its bounds; `tags` only when it is
    /// new (RegisterScalableTarget tags a target when it creates it).
    RegisterScalableTarget {
        service: String,
        resource_id: String,
        min: u32,
        max: u32,
        tags: Option<BTreeMap<String, String>>,
    },
    /// Creates or updates a policy of the target.
    PutScalingPolicy {
        service: String,
        resource_id: String,
        policy: PolicySpec,
    },
    DeleteScalingPolicy {
        service: String,
        resource_id: String,
        name: String,
    },
    DeregisterScalableTarget {
        service: String,
        resource_id: String,
    },
}

impl ScalingAction {
    /// The ECS service the action is about.
    pub fn service(&self) -> &str {
        match self {
            ScalingAction::RegisterScalableTarget { service, .. }
            | ScalingAction::PutScalingPolicy { service, .. }
            | ScalingAction::DeleteScalingPolicy { service, .. }
            | ScalingAction::DeregisterScalableTarget { service, .. } => service,
        }
    }
}

impl fmt::Display for ScalingAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScalingAction::RegisterScalableTarget {
                service,
                min,
                max,
                tags,
                ..
            } => write!(
                f,
                "{} scalable target {service} (min {min}, max {max})",
                if tags.is_some() { "register" } else { "update" }
            ),
            ScalingAction::PutScalingPolicy { policy, .. } => write!(
                f,
                "put scaling policy {} ({} {})",
                policy.name,
                policy.metric.predefined_type(),
                policy.target
            ),
            ScalingAction::DeleteScalingPolicy { name, .. } => {
                write!(f, "delete scaling policy {name}")
            }
            ScalingAction::DeregisterScalableTarget { service, .. } => {
                write!(f, "deregister scalable target {service}")
            }
        }
    }
}

/// Whether `target` is this app's, from this installation. `tags` are the
/// desired ownership tags of the process (they name both).
fn owned(target: &ObservedScalableTarget, owner: &str, app: &str) -> bool {
    names::ownership(&target.tags, owner, app) == Ownership::Ours
}

/// The desired count to set on an existing service whose count is
/// `current`, or `None` to leave it. `rendered` is what Ferry wants
/// without autoscaling (`scale`); `spec` the process's autoscaling, if
/// any; `target` the service's observed scalable target, if any.
pub fn count_to_set(
    rendered: u32,
    current: u32,
    spec: Option<&ScalingSpec>,
    target: Option<&ObservedScalableTarget>,
    owner: &str,
    app: &str,
) -> Option<u32> {
    if target.is_some_and(|t| !owned(t, owner, app)) {
        // Someone else's autoscaler owns the count.
        return None;
    }
    let wanted = match spec {
        Some(spec) => spec.clamp(current),
        None => rendered,
    };
    (wanted != current).then_some(wanted)
}

/// The count a process settles at: what [`count_to_set`] leaves or sets,
/// or `rendered` for a service that does not exist yet. Status and
/// rollouts compare running tasks with it.
pub fn settled_count(
    rendered: u32,
    current: Option<u32>,
    spec: Option<&ScalingSpec>,
    target: Option<&ObservedScalableTarget>,
    owner: &str,
    app: &str,
) -> u32 {
    match current {
        None => rendered,
        Some(current) => {
            count_to_set(rendered, current, spec, target, owner, app).unwrap_or(current)
        }
    }
}

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
mod tests {
    use super::*;

    const OWNER: &str = "ferry";

    fn spec(min: u32, max: u32, metrics: &[(Metric, u32)]) -> ScalingSpec {
        ScalingSpec {
            resource_id: resource_id("c", "acme_web"),
            min,
            max,
            tags: names::ownership_tags(OWNER, "acme", Some("web")),
            policies: metrics
                .iter()
                .map(|(metric, target)| PolicySpec {
                    name: policy_name("acme_web", *metric),
                    metric: *metric,
                    target: *target,
                    label: (*metric == Metric::Requests).then(|| LabelRef {
                        load_balancer_arn: "lb".into(),
                        target_group: "tg".into(),
                        resolved: Some("app/lb/1/targetgroup/tg/2".into()),
                    }),
                })
                .collect(),
        }
    }

    /// What registering `spec` and putting its policies leaves.
    fn registered(spec: &ScalingSpec, tags: BTreeMap<String, String>) -> ObservedScalableTarget {
        ObservedScalableTarget {
            arn: "arn:target".into(),
            resource_id: spec.resource_id.clone(),
            min: spec.min,
            max: spec.max,
            tags,
            policies: spec
                .policies
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        ObservedPolicy {
                            name: p.name.clone(),
                            metric: Some(p.metric),
                            target: Some(p.target),
                            resource_label: p.label.as_ref().and_then(|l| l.resolved.clone()),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn names_and_labels() {
        assert_eq!(resource_id("prod", "acme_web"), "service/prod/acme_web");
        assert_eq!(service_of("service/prod/acme_web"), Some("acme_web"));
        assert_eq!(service_of("table/x"), None);
        assert_eq!(policy_name("acme_web", Metric::Cpu), "ferry-acme_web-cpu");
        assert_eq!(
            resource_label(
                "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/my-alb/778d41231b141a0f",
                "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/my-tg/943f017f100becff",
            )
            .as_deref(),
            Some("app/my-alb/778d41231b141a0f/targetgroup/my-tg/943f017f100becff")
        );
        assert_eq!(
            resource_label(
                "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/nlb/1",
                "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/2"
            ),
            None,
            "request counts per target exist only for ALBs"
        );
        for metric in Metric::ALL {
            assert_eq!(
                Metric::from_predefined_type(metric.predefined_type()),
                Some(metric)
            );
        }
    }

    #[test]
    fn a_new_target_is_registered_tagged_then_gets_its_policies() {
        let s = spec(2, 20, &[(Metric::Cpu, 60), (Metric::Requests, 500)]);
        let plan = plan_process("acme", OWNER, "web", "acme_web", Some(&s), None);
        let shown: Vec<String> = plan.apply.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "register scalable target acme_web (min 2, max 20)",
                "put scaling policy ferry-acme_web-cpu (ECSServiceAverageCPUUtilization 60)",
                "put scaling policy ferry-acme_web-requests (ALBRequestCountPerTarget 500)",
            ]
        );
        assert!(matches!(
            &plan.apply[0],
            ScalingAction::RegisterScalableTarget { tags: Some(tags), .. } if *tags == s.tags
        ));
        assert!(plan.remove.is_empty() && plan.blockers.is_empty());
    }

    #[test]
    fn a_converged_target_needs_nothing_and_changes_are_minimal() {
        let s = spec(2, 20, &[(Metric::Cpu, 60), (Metric::Memory, 70)]);
        let target = registered(&s, s.tags.clone());
        let plan = plan_process("acme", OWNER, "web", "acme_web", Some(&s), Some(&target));
        assert_eq!(plan, ScalingPlan::default());

        let narrowed = spec(3, 5, &[(Metric::Cpu, 50)]);
        let plan = plan_process(
            "acme",
            OWNER,
            "web",
            "acme_web",
            Some(&narrowed),
            Some(&target),
        );
        let shown: Vec<String> = plan
            .remove
            .iter()
            .chain(&plan.apply)
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "delete scaling policy ferry-acme_web-memory",
                "update scalable target acme_web (min 3, max 5)",
                "put scaling policy ferry-acme_web-cpu (ECSServiceAverageCPUUtilization 50)",
            ]
        );
    }

    #[test]
    fn removing_autoscaling_deletes_only_ferrys_policies_then_the_target() {
        let s = spec(1, 4, &[(Metric::Cpu, 60)]);
        let mut target = registered(&s, s.tags.clone());
        let plan = plan_process("acme", OWNER, "web", "acme_web", None, Some(&target));
        let shown: Vec<String> = plan.remove.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "delete scaling policy ferry-acme_web-cpu",
                "deregister scalable target acme_web"
            ]
        );
        // A policy someone else put on Ferry's target keeps it registered.
        target.policies.insert(
            "ops-step".into(),
            ObservedPolicy {
                name: "ops-step".into(),
                metric: None,
                target: None,
                resource_label: None,
            },
        );
        let plan = plan_process("acme", OWNER, "web", "acme_web", None, Some(&target));
        let shown: Vec<String> = plan.remove.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["delete scaling policy ferry-acme_web-cpu"]);
        assert_eq!(plan.blockers[0].reason, BlockerReason::NameConflict);
        assert!(plan.blockers[0].message.contains("ops-step"));
    }

    #[test]
    fn a_foreign_target_is_never_touched() {
        let s = spec(1, 4, &[(Metric::Cpu, 60)]);
        for tags in [
            BTreeMap::new(),
            names::ownership_tags("someone-else", "acme", Some("web")),
            names::ownership_tags(OWNER, "other", Some("web")),
        ] {
            let target = registered(&spec(1, 9, &[(Metric::Cpu, 10)]), tags);
            for wanted in [Some(&s), None] {
                let plan = plan_process("acme", OWNER, "web", "acme_web", wanted, Some(&target));
                assert!(plan.apply.is_empty() && plan.remove.is_empty(), "{plan:?}");
                assert_eq!(plan.blockers.len(), usize::from(wanted.is_some()));
                // Nor is the count it scales.
                assert_eq!(
                    count_to_set(2, 7, wanted, Some(&target), OWNER, "acme"),
                    None
                );
            }
        }
    }

    #[test]
    fn a_request_policy_without_a_load_balancer_is_a_blocker() {
        let mut s = spec(1, 4, &[(Metric::Cpu, 60), (Metric::Requests, 100)]);
        s.policies[1].label = None;
        let plan = plan_process("acme", OWNER, "web", "acme_web", Some(&s), None);
        assert_eq!(plan.apply.len(), 2, "the target and the CPU policy");
        assert_eq!(plan.blockers[0].reason, BlockerReason::NoLoadBalancer);
    }

    #[test]
    fn an_unresolved_label_is_put_again_until_it_is_known() {
        let mut s = spec(1, 4, &[(Metric::Requests, 100)]);
        let target = registered(&s, s.tags.clone());
        if let Some(label) = s.policies[0].label.as_mut() {
            label.resolved = None;
        }
        let plan = plan_process("acme", OWNER, "web", "acme_web", Some(&s), Some(&target));
        assert_eq!(plan.apply.len(), 1);
    }

    #[test]
    fn the_autoscaler_owns_the_count_within_the_range() {
        let s = spec(2, 5, &[(Metric::Cpu, 60)]);
        let target = registered(&s, s.tags.clone());
        for current in 0..8 {
            let set = count_to_set(2, current, Some(&s), Some(&target), OWNER, "acme");
            let expected = match current {
                0 | 1 => Some(2),
                6 | 7 => Some(5),
                _ => None,
            };
            assert_eq!(set, expected, "current {current}");
            assert_eq!(
                settled_count(2, Some(current), Some(&s), Some(&target), OWNER, "acme"),
                current.clamp(2, 5)
            );
        }
        // Without autoscaling Ferry owns it again.
        assert_eq!(count_to_set(2, 4, None, None, OWNER, "acme"), Some(2));
        assert_eq!(
            count_to_set(2, 4, None, Some(&target), OWNER, "acme"),
            Some(2)
        );
        assert_eq!(settled_count(3, None, Some(&s), None, OWNER, "acme"), 3);
    }
}
