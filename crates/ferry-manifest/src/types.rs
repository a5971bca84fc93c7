//! The manifest as written (`Manifest`) and the app it resolves to (`App`).
//!
//! `Manifest` mirrors the YAML exactly and rejects unknown fields. `App` is
//! what the rest of Ferry works with: the Procfile is merged in, defaults are
//! filled, and every command is an argument vector. `App` is what the store
//! keeps, so the controller never needs the manifest's files.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The only `apiVersion` this release understands.
pub const API_VERSION: &str = "ferry/v1";
/// The only `kind` this release understands.
pub const KIND: &str = "App";

/// Scale of a process that does not set `scale`.
pub const DEFAULT_SCALE: u32 = 1;
/// CPU units of a process that does not set `cpu`.
pub const DEFAULT_CPU: u32 = 256;
/// Memory (MiB) of a process that does not set `memory`.
pub const DEFAULT_MEMORY: u32 = 512;

/// One manifest document, exactly as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Manifest {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: ManifestSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManifestSpec {
    pub image: String,
    /// Path of a Procfile, relative to the manifest file.
    #[serde(default)]
    pub procfile: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Name to the ARN of an SSM parameter or Secrets Manager secret.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    #[serde(default)]
    pub domains: Vec<DomainEntry>,
    #[serde(default)]
    pub processes: BTreeMap<String, ManifestProcess>,
}

/// A domain as written: either a bare name, routed to `web`, or a name with
/// the process it routes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DomainEntry {
    Name(String),
    Routed(RoutedDomain),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoutedDomain {
    pub name: String,
    pub process: String,
}

/// A process as written. Every field is optional: a Procfile may supply the
/// command, and the rest have defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManifestProcess {
    #[serde(default)]
    pub command: Option<Command>,
    #[serde(default)]
    pub scale: Option<i64>,
    #[serde(default)]
    pub cpu: Option<u32>,
    #[serde(default)]
    pub memory: Option<u32>,
    #[serde(default)]
    pub port: Option<i64>,
    #[serde(default)]
    pub health_check: Option<HealthCheck>,
    /// Seconds the load balancer lets a leaving task finish in-flight
    /// requests (the target group's deregistration delay). Only with `port`.
    #[serde(default)]
    pub drain_timeout: Option<i64>,
    /// Seconds ECS ignores failing load-balancer health checks of a task
    /// that just started. Only with `port`.
    #[serde(default)]
    pub health_check_grace_period: Option<i64>,
    /// Percent of the desired count kept running during a deployment.
    #[serde(default)]
    pub min_healthy_percent: Option<i64>,
    /// Percent of the desired count allowed running during a deployment.
    #[serde(default)]
    pub max_percent: Option<i64>,
    /// Seconds between SIGTERM and SIGKILL when a task stops.
    #[serde(default)]
    pub stop_timeout: Option<i64>,
    /// Whether ECS rolls back a deployment its circuit breaker stops.
    #[serde(default)]
    pub rollback: Option<bool>,
    /// An EventBridge Scheduler expression: the process runs as a task on
    /// this schedule and has no ECS service.
    #[serde(default)]
    pub schedule: Option<String>,
    /// IANA time zone the schedule is evaluated in; only with `schedule`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Target-tracking autoscaling: Application Auto Scaling owns the
    /// desired count between `min` and `max`.
    #[serde(default)]
    pub autoscaling: Option<ManifestAutoscaling>,
}

/// Autoscaling of a process, as written. Integers are checked (ranges,
/// at least one metric) when the manifest is resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManifestAutoscaling {
    pub min: i64,
    pub max: i64,
    /// Target average CPU utilization, percent.
    #[serde(default)]
    pub cpu: Option<i64>,
    /// Target average memory utilization, percent.
    #[serde(default)]
    pub memory: Option<i64>,
    /// Target ALB requests per task per minute; only with `port`.
    #[serde(default)]
    pub requests_per_target: Option<i64>,
}

/// A command: a string is split like a shell would split words (no
/// expansion), a list is taken verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Command {
    Line(String),
    Argv(Vec<String>),
}

/// Load balancer health check of an exposed process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Seconds between checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
    /// Seconds before a check counts as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold: Option<u32>,
    /// HTTP codes that count as healthy, e.g. `200` or `200-299`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matcher: Option<String>,
}

/// A resolved app: what Ferry stores, renders and reconciles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub name: String,
    pub image: String,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    #[serde(default)]
    pub domains: Vec<Domain>,
    pub processes: BTreeMap<String, Process>,
}

/// A public domain and the process it routes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    pub name: String,
    pub process: String,
}

/// A resolved process: command merged from the Procfile, defaults filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    /// Argument vector; empty means "the image's default command".
    pub command: Vec<String>,
    pub scale: u32,
    pub cpu: u32,
    pub memory: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Seconds, at most [`crate::MAX_DRAIN_TIMEOUT`]; set only on processes with a port.
    /// `None` means the renderer's default. Optional so that specs stored
    /// before the field existed still read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_timeout: Option<u32>,
    /// Seconds, at most [`crate::MAX_HEALTH_CHECK_GRACE_PERIOD`]; set only on processes
    /// with a port. `None` means the renderer's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_healthy_percent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_percent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<bool>,
    /// Set for a scheduled process: it runs as a task on this schedule and
    /// has no ECS service (its `scale` is unused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// `None`: Ferry owns the desired count (`scale`). `Some`: Application
    /// Auto Scaling does, and `scale` is only the count a new service
    /// starts with (clamped into `min..=max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
}

/// The process a manifest that sets nothing resolves to: the image's own
/// command, [`DEFAULT_SCALE`] tasks, the smallest Fargate size
/// ([`DEFAULT_CPU`] units, [`DEFAULT_MEMORY`] MiB), no port, every other
/// setting left to its documented default.
impl Default for Process {
    fn default() -> Self {
        Self {
            command: Vec::new(),
            scale: DEFAULT_SCALE,
            cpu: DEFAULT_CPU,
            memory: DEFAULT_MEMORY,
            port: None,
            health_check: None,
            drain_timeout: None,
            health_check_grace_period: None,
            min_healthy_percent: None,
            max_percent: None,
            stop_timeout: None,
            rollback: None,
            schedule: None,
            autoscaling: None,
        }
    }
}

/// When a scheduled process runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// An EventBridge Scheduler expression: `rate(...)`, `cron(...)` or `at(...)`.
    pub expression: String,
    /// IANA time zone name; `UTC` when the manifest gives none.
    pub timezone: String,
}

/// Resolved autoscaling of a process: `min <= max <= MAX_SCALE`, and at
/// least one target. Each target set becomes one target-tracking policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Autoscaling {
    pub min: u32,
    pub max: u32,
    /// Average CPU utilization of the service, percent (1 to 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// Average memory utilization of the service, percent (1 to 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// ALB requests per target (task) per minute; only on a process with a
    /// port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_target: Option<u32>,
}

impl Autoscaling {
    /// `count` moved into `min..=max`.
    pub fn clamp(&self, count: u32) -> u32 {
        count.clamp(self.min, self.max.max(self.min))
    }
}
