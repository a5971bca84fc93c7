//! Autoscaling's types: the Application Auto Scaling target and
//! target-tracking policies of an autoscaled process (desired and
//! observed), the changes a plan makes to them, and the rule of who owns
//! a service's desired count.
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
//! when its target is and its name is one
//! [`crate::names::autoscaling::policy_name`] derives for the process.
//! Nothing else is changed or deleted: a target with policies of
//! someone else's keeps being registered (deregistering it would delete
//! them), and only Ferry's policies on it go.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ownership::{self, Ownership};

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

    pub(crate) fn suffix(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Memory => "memory",
            Metric::Requests => "requests",
        }
    }
}

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
pub(crate) fn owned(target: &ObservedScalableTarget, owner: &str, app: &str) -> bool {
    ownership::ownership(&target.tags, owner, app) == Ownership::Ours
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
