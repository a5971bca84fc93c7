//! The parts of a task beyond its process's one container, in the rendered
//! form the planner compares: the containers beside it ([`SidecarSpec`]),
//! the process container's health check ([`HealthCheckSpec`]), the CPU
//! architecture ([`RuntimePlatform`]) and where tasks run
//! ([`CapacityProviderItem`]).
//!
//! Each is filled the way ECS answers, so that what Ferry registered and
//! what ECS describes back compare equal: ECS's defaults are written out
//! rather than left absent.

use std::collections::BTreeMap;

use ferry_manifest::{Capacity, ContainerHealthCheck};
use serde::{Deserialize, Serialize};

/// A container beside a process's own (a log router, a metrics agent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarSpec {
    /// The ECS container name: the sidecar's name in the manifest.
    pub name: String,
    pub image: String,
    /// Empty means the image's default command.
    pub command: Vec<String>,
    pub environment: BTreeMap<String, String>,
    /// Name to `valueFrom` ARN; never the secret's value.
    pub secrets: BTreeMap<String, String>,
    pub essential: bool,
    /// Container-level CPU units; `None` for ECS's 0 (a share of the task's).
    pub cpu: Option<u32>,
    /// Container-level hard memory limit, MiB.
    pub memory: Option<u32>,
    /// ECS container name to ECS condition (`START`, `HEALTHY`, `COMPLETE`,
    /// `SUCCESS`): the process's container goes by the process's name.
    pub depends_on: BTreeMap<String, String>,
    /// `awslogs` driver options, the same as the process container's.
    pub log_options: BTreeMap<String, String>,
}

/// ECS's interval between container health checks, seconds, when none is
/// given ([HealthCheck](https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html)).
pub const HEALTH_CHECK_INTERVAL: u32 = 30;
/// ECS's health check timeout, seconds, when none is given (same page).
pub const HEALTH_CHECK_TIMEOUT: u32 = 5;
/// ECS's retries before a container is unhealthy, when none are given.
pub const HEALTH_CHECK_RETRIES: u32 = 3;

/// A container health check with ECS's defaults written out: an absent
/// start period is 0 ("off"), so a check ECS describes with the defaults
/// filled equals the one rendered without them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckSpec {
    /// ECS's form: `["CMD-SHELL", line]` or `["CMD", args...]`.
    pub command: Vec<String>,
    pub interval: u32,
    pub timeout: u32,
    pub retries: u32,
    /// Seconds; 0 is no start period.
    pub start_period: u32,
}

impl HealthCheckSpec {
    /// The manifest's check with ECS's defaults filled.
    pub fn from_manifest(check: &ContainerHealthCheck) -> Self {
        Self::with_defaults(
            check.command.clone(),
            check.interval,
            check.timeout,
            check.retries,
            check.start_period,
        )
    }

    /// A check from fields that may be absent, ECS's defaults filled: the
    /// one rule both the render and the reading of ECS's answer apply.
    pub fn with_defaults(
        command: Vec<String>,
        interval: Option<u32>,
        timeout: Option<u32>,
        retries: Option<u32>,
        start_period: Option<u32>,
    ) -> Self {
        Self {
            command,
            interval: interval.unwrap_or(HEALTH_CHECK_INTERVAL),
            timeout: timeout.unwrap_or(HEALTH_CHECK_TIMEOUT),
            retries: retries.unwrap_or(HEALTH_CHECK_RETRIES),
            start_period: start_period.unwrap_or(0),
        }
    }
}

/// ECS's `runtimePlatform`: Ferry renders `LINUX` with the process's
/// architecture (`ARM64` or `X86_64`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlatform {
    pub cpu_architecture: String,
    pub operating_system_family: String,
}

/// The operating system family of every task Ferry runs.
pub const LINUX: &str = "LINUX";

/// The on-demand Fargate capacity provider.
pub const FARGATE: &str = "FARGATE";
/// The Fargate Spot capacity provider.
pub const FARGATE_SPOT: &str = "FARGATE_SPOT";

/// One item of a capacity provider strategy
/// ([CapacityProviderStrategyItem](https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html)):
/// `base` tasks first on this provider, then the rest by `weight`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderItem {
    pub capacity_provider: String,
    pub base: u32,
    pub weight: u32,
}

/// The capacity provider strategy of a process, sorted by provider:
/// empty without `capacity` (the FARGATE launch type, as before capacity
/// existed), else a FARGATE item when it has an on-demand base or weight
/// and a FARGATE_SPOT item when it has a Spot weight.
pub fn capacity_provider_strategy(capacity: Option<&Capacity>) -> Vec<CapacityProviderItem> {
    let Some(capacity) = capacity else {
        return Vec::new();
    };
    let mut strategy = Vec::new();
    if capacity.on_demand_base > 0 || capacity.on_demand_weight > 0 {
        strategy.push(CapacityProviderItem {
            capacity_provider: FARGATE.to_owned(),
            base: capacity.on_demand_base,
            weight: capacity.on_demand_weight,
        });
    }
    if capacity.spot_weight > 0 {
        strategy.push(CapacityProviderItem {
            capacity_provider: FARGATE_SPOT.to_owned(),
            base: 0,
            weight: capacity.spot_weight,
        });
    }
    strategy
}

/// A capacity provider strategy as ECS describes it, in the rendered
/// form: sorted by provider. ECS keeps the items it was given, so nothing
/// else needs normalising.
pub fn sorted_strategy(mut items: Vec<CapacityProviderItem>) -> Vec<CapacityProviderItem> {
    items.sort();
    items
}
