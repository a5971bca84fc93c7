//! The manifest's task fields as written: sidecars, capacity and the
//! health check that is either the load balancer's or the container's.
//! Values are kept as written (strings, `i64`) so that a bad one is a
//! located validation error, not a serde failure; [`crate::validate`]
//! resolves them into [`super::Sidecar`], [`super::Capacity`],
//! [`super::HealthCheck`] and [`super::ContainerHealthCheck`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Command;
use crate::limits;
use crate::vocabulary;

/// A sidecar as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(transform = vocabulary::field_order::<Self>)]
pub struct ManifestSidecar {
    /// Docker/OCI image reference of the sidecar, as `spec.image`.
    #[schemars(
        pattern(limits::image()),
        example = &"public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
    )]
    pub image: String,
    /// The sidecar's command: a string (split like a shell, no expansion) or a list; default the image's.
    #[serde(default)]
    pub command: Option<Command>,
    /// The sidecar's environment variables (the app's `env` is not passed to it).
    #[serde(default)]
    #[schemars(transform = vocabulary::environment)]
    pub env: BTreeMap<String, String>,
    /// The sidecar's secrets: name -> SSM parameter or Secrets Manager ARN, under the same rules as the app's `secrets`.
    #[serde(default)]
    #[schemars(transform = vocabulary::secret_references)]
    pub secrets: BTreeMap<String, String>,
    /// Whether the task stops when the sidecar stops; default false.
    #[serde(default)]
    pub essential: Option<bool>,
    /// CPU units reserved for the sidecar, 0-16384; the process's sidecars together at most the task's `cpu`.
    #[serde(default)]
    #[schemars(range(min = limits::SIDECAR_CPU.min, max = limits::SIDECAR_CPU.max))]
    pub cpu: Option<i64>,
    /// Hard memory limit of the sidecar in MiB, at least 6; the process's sidecars together less than the task's `memory`.
    #[serde(default)]
    #[schemars(range(min = limits::SIDECAR_MEMORY.min, max = limits::SIDECAR_MEMORY.max))]
    pub memory: Option<i64>,
    /// Containers the sidecar starts after: `app` (the process's own container) or another sidecar of the same process -> START, HEALTHY (the container has a health check), COMPLETE or SUCCESS (the container is not essential).
    #[serde(default)]
    #[schemars(extend(
        "additionalProperties" = {"type": "string", "enum": limits::DEPENDENCY_CONDITIONS}
    ))]
    pub depends_on: BTreeMap<String, String>,
}

/// A process's `capacity` as written: a name, or weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "a capacity: `spot`, `on-demand`, or `{spot: 1, onDemand: 2}`")]
pub enum ManifestCapacity {
    /// `spot` or `on-demand`.
    Named(
        #[schemars(
            extend("enum" = limits::CAPACITY_NAMES),
            transform = vocabulary::yaml_string_only
        )]
        String,
    ),
    /// A split between on-demand and Spot tasks.
    Weighted(ManifestCapacityWeights),
}

/// `capacity: {spot: W, onDemand: B}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(transform = vocabulary::field_order::<Self>)]
pub struct ManifestCapacityWeights {
    /// Weight of FARGATE_SPOT, 1-1000 (required: a strategy needs a provider with a weight).
    #[serde(default)]
    #[schemars(range(min = limits::CAPACITY_SPOT_WEIGHT.min, max = limits::CAPACITY_SPOT_WEIGHT.max))]
    pub spot: Option<i64>,
    /// Tasks that always run on demand (FARGATE's base), 0-100000; default 0.
    #[serde(default)]
    #[schemars(range(
        min = limits::CAPACITY_ON_DEMAND_BASE.min,
        max = limits::CAPACITY_ON_DEMAND_BASE.max
    ))]
    pub on_demand: Option<i64>,
}

/// A process's `healthCheck` as written. With a `port` it is the load
/// balancer's (`path`, `matcher`, thresholds); without one it is the
/// container's (`command`, `retries`, `startPeriod`). `interval` and
/// `timeout` serve both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(transform = vocabulary::field_order::<Self>)]
pub struct ManifestHealthCheck {
    /// Load balancer check: the path checked, default /.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(limits::HEALTH_CHECK_PATH), length(max = limits::MAX_HEALTH_CHECK_PATH_LEN))]
    pub path: Option<String>,
    /// Container check (a process without `port`): the command run in the container, exit 0 = healthy; a string runs in the container's shell (CMD-SHELL), a list runs directly (CMD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Command>,
    /// Seconds between checks, 5-300; default 10 for the load balancer's check, 30 for the container's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = limits::HEALTH_CHECK_INTERVAL.min, max = limits::HEALTH_CHECK_INTERVAL.max))]
    pub interval: Option<u32>,
    /// Seconds a check may take, default 5: 2-120 for the load balancer's check, 2-60 for the container's; less than `interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = limits::HEALTH_CHECK_TIMEOUT.min, max = limits::HEALTH_CHECK_TIMEOUT.max))]
    pub timeout: Option<u32>,
    /// Container check: consecutive failures before the container is unhealthy, 1-10, default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(
        min = limits::CONTAINER_HEALTH_CHECK_RETRIES.min,
        max = limits::CONTAINER_HEALTH_CHECK_RETRIES.max
    ))]
    pub retries: Option<u32>,
    /// Container check: seconds after start during which failures do not count, 0-300; default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(
        min = limits::CONTAINER_HEALTH_CHECK_START_PERIOD.min,
        max = limits::CONTAINER_HEALTH_CHECK_START_PERIOD.max
    ))]
    pub start_period: Option<u32>,
    /// Load balancer check: consecutive passes before a task is healthy, default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = limits::HEALTH_CHECK_THRESHOLD.min, max = limits::HEALTH_CHECK_THRESHOLD.max))]
    pub healthy_threshold: Option<u32>,
    /// Load balancer check: consecutive failures before a task is unhealthy, default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = limits::HEALTH_CHECK_THRESHOLD.min, max = limits::HEALTH_CHECK_THRESHOLD.max))]
    pub unhealthy_threshold: Option<u32>,
    /// Load balancer check: HTTP codes that pass, default 200-399.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = vocabulary::matcher)]
    pub matcher: Option<String>,
}
