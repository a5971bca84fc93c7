//! The manifest as written (`Manifest`) and the app it resolves to (`App`).
//!
//! `Manifest` mirrors the YAML exactly and rejects unknown fields. `App` is
//! what the rest of Ferry works with: the Procfile is merged in, defaults are
//! filled, and every command is an argument vector. `App` is what the store
//! keeps, so the controller never needs the manifest's files.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::limits;
use crate::vocabulary;

mod written_rollout;
mod written_tasks;

pub use written_rollout::{ManifestRollout, ManifestRolloutAlarms};
pub use written_tasks::{
    ManifestCapacity, ManifestCapacityWeights, ManifestHealthCheck, ManifestSidecar,
};

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "Ferry app manifest (ferry/v1)", transform = vocabulary::field_order::<Self>)]
pub struct Manifest {
    /// Always ferry/v1.
    #[schemars(extend("const" = API_VERSION), example = API_VERSION)]
    pub api_version: String,
    /// Always App.
    #[schemars(extend("const" = KIND), example = KIND)]
    pub kind: String,
    /// The app's name.
    #[schemars(example = serde_json::json!({"name": "my-app"}))]
    pub metadata: Metadata,
    /// What the app runs: image, processes, environment, domains.
    #[schemars(example = serde_json::json!({"image": "remind101/acme-inc:latest"}))]
    pub spec: ManifestSpec,
}

/// A manifest's `metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(transform = vocabulary::field_order::<Self>)]
pub struct Metadata {
    /// App name: a lowercase DNS label starting with a letter, 1-40 characters.
    #[schemars(pattern(limits::app_name()), example = &"my-app")]
    pub name: String,
}

/// A manifest's `spec`: what the app runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(transform = vocabulary::field_order::<Self>)]
pub struct ManifestSpec {
    /// Docker/OCI image reference: `[registry[:port]/]path[:tag][@digest]`.
    #[schemars(pattern(limits::image()), example = &"remind101/acme-inc:latest")]
    pub image: String,
    /// A Procfile (name: command lines), relative to this file; its processes merge with `processes`, the manifest winning per field.
    #[serde(default)]
    #[schemars(pattern(limits::NOT_BLANK))]
    pub procfile: Option<String>,
    /// Environment variables; names match `[A-Za-z_][A-Za-z0-9_]*`.
    #[serde(default)]
    #[schemars(transform = vocabulary::environment)]
    pub env: BTreeMap<String, String>,
    /// Name -> ARN of an SSM parameter or Secrets Manager secret, passed to ECS as valueFrom; never stored as values.
    #[serde(default)]
    #[schemars(transform = vocabulary::secret_references)]
    pub secrets: BTreeMap<String, String>,
    /// Public names served by the internet-facing load balancer: a name (routed to `web`) or {name, process}. One app per domain.
    #[serde(default)]
    pub domains: Vec<DomainEntry>,
    /// Processes by name (a DNS label, 1-24 characters): one ECS service each.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": limits::process_name()}))]
    pub processes: BTreeMap<String, ManifestProcess>,
    /// The task role: the app's own AWS identity (`taskRoleArn`) for every process, one-off and scheduled run; an IAM role ARN `arn:aws:iam::<account>:role/<path><name>`, under the installation's app role path (default `/ferry-apps/`). Default: no task role.
    #[serde(default)]
    #[schemars(pattern(limits::ROLE_ARN), transform = vocabulary::yaml_string_only)]
    pub role: Option<String>,
    /// The app's own task execution role (image pulls, secrets, logs), replacing the installation's shared one; an IAM role ARN under the app role path. With it the app may name any secret its role can read; without it only secrets under `<secrets prefix><app>/` and the shared prefix.
    #[serde(default)]
    #[schemars(pattern(limits::ROLE_ARN), transform = vocabulary::yaml_string_only)]
    pub execution_role: Option<String>,
    /// ECS Exec: lets `ferry exec` open a shell in the app's running tasks (services and one-off runs); default false. The task role needs the SSM messages permissions.
    #[serde(default)]
    pub exec: Option<bool>,
    /// CPU architecture of every process's tasks (Linux): `arm64` (Graviton) or `x86_64`; a process's `platform` wins. Default: ECS's, x86_64.
    #[serde(default)]
    #[schemars(transform = vocabulary::platform)]
    pub platform: Option<String>,
    /// Containers beside each process's own (a log router, a metrics agent), by name (a DNS label, not `app`); every process runs all of them unless it lists its own `sidecars`.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": limits::sidecar_name()}))]
    pub sidecars: BTreeMap<String, ManifestSidecar>,
}

/// A domain as written: either a bare name, routed to `web`, or a name with
/// the process it routes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(
    title = "a domain: a name such as `app.example.com`, or `{name: app.example.com, process: web}`"
)]
pub enum DomainEntry {
    /// A public name, routed to the `web` process.
    Name(
        #[schemars(
            pattern(limits::domain()),
            length(max = limits::MAX_DOMAIN_LEN),
            transform = vocabulary::yaml_string_only
        )]
        String,
    ),
    /// A public name and the process it routes to.
    Routed(RoutedDomain),
}

/// A domain with the process it routes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(transform = vocabulary::field_order::<Self>)]
pub struct RoutedDomain {
    /// The public name.
    #[schemars(
        pattern(limits::domain()),
        length(max = limits::MAX_DOMAIN_LEN),
        example = &"app.example.com",
        transform = vocabulary::yaml_string_only
    )]
    pub name: String,
    /// The process (with a `port`) it routes to.
    #[schemars(
        pattern(limits::process_name()),
        example = &"web",
        transform = vocabulary::yaml_string_only
    )]
    pub process: String,
}

/// A process as written. Every field is optional: a Procfile may supply the
/// command, and the rest have defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(transform = vocabulary::field_order::<Self>)]
pub struct ManifestProcess {
    /// Overrides the Procfile entry: a string (split like a shell, no expansion) or a list; absent or [] runs the image's default command.
    #[serde(default)]
    pub command: Option<Command>,
    /// Desired task count: 0-1000, default 1.
    #[serde(default)]
    #[schemars(range(min = limits::SCALE.min, max = limits::SCALE.max))]
    pub scale: Option<i64>,
    /// Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384; default 256.
    #[serde(default)]
    #[schemars(transform = vocabulary::fargate_cpu)]
    pub cpu: Option<u32>,
    /// Fargate memory in MiB, valid for the CPU; default the smallest valid for the CPU.
    #[serde(default)]
    #[schemars(transform = vocabulary::fargate_memory)]
    pub memory: Option<u32>,
    /// Container port, 1-65535: the process is served by the load balancers.
    #[serde(default)]
    #[schemars(range(min = limits::PORT.min, max = limits::PORT.max))]
    pub port: Option<i64>,
    /// With `port`: the load balancer's health check (`path`, `matcher`, thresholds). Without: a container health check, which needs `command`.
    #[serde(default)]
    pub health_check: Option<ManifestHealthCheck>,
    /// Seconds a leaving task may finish in-flight requests (deregistration delay): 0-3600, default 30; only with `port`.
    #[serde(default)]
    #[schemars(range(min = limits::DRAIN_TIMEOUT.min, max = limits::DRAIN_TIMEOUT.max))]
    pub drain_timeout: Option<i64>,
    /// Seconds ECS ignores failing load-balancer health checks after a task starts: 0-1800, default 60; only with `port`.
    #[serde(default)]
    #[schemars(range(
        min = limits::HEALTH_CHECK_GRACE_PERIOD.min,
        max = limits::HEALTH_CHECK_GRACE_PERIOD.max
    ))]
    pub health_check_grace_period: Option<i64>,
    /// Deployment minimum healthy percent: 0-100, default 100.
    #[serde(default)]
    #[schemars(range(min = limits::MIN_HEALTHY_PERCENT.min, max = limits::MIN_HEALTHY_PERCENT.max))]
    pub min_healthy_percent: Option<i64>,
    /// Deployment maximum percent: 100-200, default 200; not both 100.
    #[serde(default)]
    #[schemars(range(min = limits::MAX_PERCENT.min, max = limits::MAX_PERCENT.max))]
    pub max_percent: Option<i64>,
    /// Seconds between SIGTERM and SIGKILL when a task stops: 2-120; ECS's default 30.
    #[serde(default)]
    #[schemars(range(min = limits::STOP_TIMEOUT.min, max = limits::STOP_TIMEOUT.max))]
    pub stop_timeout: Option<i64>,
    /// Roll back a deployment the circuit breaker stops (the breaker is always on); default true.
    #[serde(default)]
    pub rollback: Option<bool>,
    /// Run the process on a schedule instead of as a service: EventBridge Scheduler syntax, cron(minutes hours day-of-month month day-of-week year), rate(N unit) or at(yyyy-mm-ddThh:mm:ss); no scale, port or service settings with it.
    #[serde(default)]
    #[schemars(pattern(limits::SCHEDULE), transform = vocabulary::yaml_string_only)]
    pub schedule: Option<String>,
    /// IANA time zone the schedule's cron or at expression is read in; default UTC; only with `schedule`.
    #[serde(default)]
    #[schemars(
        extend("enum" = crate::timezones::IANA),
        transform = vocabulary::yaml_string_only
    )]
    pub timezone: Option<String>,
    /// Target-tracking autoscaling: Application Auto Scaling owns the desired count between `min` and `max`, and `scale` is only the count a new service starts with.
    #[serde(default)]
    pub autoscaling: Option<ManifestAutoscaling>,
    /// The app's sidecars that run beside this process, by name; default all of them, `[]` none.
    #[serde(default)]
    #[schemars(extend("items" = {"type": "string", "pattern": limits::sidecar_name()}))]
    pub sidecars: Option<Vec<String>>,
    /// CPU architecture of this process's tasks: `arm64` or `x86_64`; default the app's `platform`.
    #[serde(default)]
    #[schemars(transform = vocabulary::platform)]
    pub platform: Option<String>,
    /// Fargate capacity: `spot` (FARGATE_SPOT), `on-demand` (FARGATE), or `{spot: weight 1-1000, onDemand: base 0-100000}` (the first `onDemand` tasks on demand, the rest on Spot); default the FARGATE launch type. Changing it is a new deployment.
    #[serde(default)]
    pub capacity: Option<ManifestCapacity>,
    /// Task ephemeral storage in GiB: 21-200; default Fargate's 20.
    #[serde(default)]
    #[schemars(range(min = limits::EPHEMERAL_STORAGE.min, max = limits::EPHEMERAL_STORAGE.max))]
    pub ephemeral_storage: Option<i64>,
    /// How long a rollout may go without progress (a new task running, an old one gone) before it has failed: whole seconds or a duration such as `90s`, `10m`, `1h30m`; 10s-24h, default 10m. Ferry then reports it and pushes nothing more for the release; it does not roll back by itself. Not with `schedule`.
    #[serde(default)]
    #[schemars(transform = vocabulary::progress_deadline)]
    pub progress_deadline: Option<String>,
    /// How ECS deploys a new version: `strategy` (rolling, blueGreen, canary, linear) and its traffic steps and bake times, alarms that roll back, and an approval to pause for; default a rolling update. Not with `schedule`.
    #[serde(default)]
    pub rollout: Option<ManifestRollout>,
}

/// Autoscaling of a process, as written. Integers are checked (ranges,
/// at least one metric) when the manifest is resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(transform = vocabulary::field_order::<Self>)]
pub struct ManifestAutoscaling {
    /// Fewest tasks: 0-1000, at most `max`.
    #[schemars(
        range(min = limits::AUTOSCALING_TASKS.min, max = limits::AUTOSCALING_TASKS.max),
        example = 1
    )]
    pub min: i64,
    /// Most tasks: 0-1000, at least `min`.
    #[schemars(
        range(min = limits::AUTOSCALING_TASKS.min, max = limits::AUTOSCALING_TASKS.max),
        example = 10
    )]
    pub max: i64,
    /// Target average CPU utilization of the service, percent: 1-100.
    #[serde(default)]
    #[schemars(range(min = limits::UTILIZATION_PERCENT.min, max = limits::UTILIZATION_PERCENT.max))]
    pub cpu: Option<i64>,
    /// Target average memory utilization of the service, percent: 1-100.
    #[serde(default)]
    #[schemars(range(min = limits::UTILIZATION_PERCENT.min, max = limits::UTILIZATION_PERCENT.max))]
    pub memory: Option<i64>,
    /// Target load-balancer requests per task per minute (ALBRequestCountPerTarget); only with `port`. At least one of `cpu`, `memory` and `requestsPerTarget` is required.
    #[serde(default)]
    #[schemars(range(min = limits::REQUESTS_PER_TARGET.min, max = limits::REQUESTS_PER_TARGET.max))]
    pub requests_per_target: Option<i64>,
}

/// A command: a string is split like a shell would split words (no
/// expansion), a list is taken verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "a command: a string such as `bin/server --port 8080`, or a list of arguments")]
pub enum Command {
    /// A command line, split into words like a shell would (no expansion).
    Line(#[schemars(pattern(limits::NOT_BLANK), transform = vocabulary::yaml_string_only)] String),
    /// An argument vector, taken verbatim.
    Argv(#[schemars(transform = vocabulary::arguments)] Vec<String>),
}

/// Load balancer health check of an exposed process, resolved: the
/// load-balancer fields of a [`ManifestHealthCheck`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HealthCheck {
    /// Path checked, default /.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Seconds between checks; `None`: the renderer's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
    /// Seconds a check may take, default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// Consecutive passes before a task is healthy, default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_threshold: Option<u32>,
    /// Consecutive failures before a task is unhealthy, default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold: Option<u32>,
    /// HTTP codes that pass, default 200-399.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matcher: Option<String>,
}

/// A resolved app: what Ferry stores, renders and reconciles. Every field
/// added after the first release is optional in storage, so specs stored
/// before it still read, and renders as before when unset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The task role (`taskRoleArn`): the app's own AWS identity, for
    /// every process, one-off run and scheduled run. `None`: the tasks
    /// have no AWS identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The app's own task execution role, replacing the installation's
    /// shared one. `None`: the shared role, and secrets only under the
    /// app's part of the secrets prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role: Option<String>,
    /// ECS Exec (`enableExecuteCommand`) for the app's services and
    /// one-off runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exec: bool,
    /// Containers that run beside a process's own, by name. Which
    /// processes run which is [`Process::sidecars`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sidecars: BTreeMap<String, Sidecar>,
}

/// A container beside a process's own: a log router, a metrics agent.
/// It takes no port from the load balancer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    pub image: String,
    /// Argument vector; empty means the image's default command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Name to `valueFrom` ARN, as the app's `secrets`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// Whether the task stops when this container stops (ECS `essential`).
    #[serde(default)]
    pub essential: bool,
    /// Container-level CPU units; `None` leaves it to the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// Container-level hard memory limit, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// Containers this one waits for, by name: another sidecar, or
    /// [`APP_CONTAINER`] for the process's own container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, DependencyCondition>,
}

/// The name a sidecar's `dependsOn` uses for the container of the process
/// it runs beside (whose ECS container name is the process's name).
pub const APP_CONTAINER: &str = "app";

/// ECS's container dependency conditions
/// ([ContainerDependency](https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDependency.html)).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum DependencyCondition {
    /// The dependency has started.
    Start,
    /// The dependency passes its container health check.
    Healthy,
    /// The dependency ran to completion (it must not be essential).
    Complete,
    /// The dependency exited with code 0 (it must not be essential).
    Success,
}

/// The CPU architecture a task runs on (`runtimePlatform`, Linux).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Platform {
    #[serde(rename = "arm64")]
    Arm64,
    #[serde(rename = "x86_64")]
    X86_64,
}

impl Platform {
    /// ECS's `cpuArchitecture` value.
    pub fn cpu_architecture(self) -> &'static str {
        match self {
            Platform::Arm64 => "ARM64",
            Platform::X86_64 => "X86_64",
        }
    }
}

/// Where a process's tasks run: a strategy over the FARGATE (on-demand)
/// and FARGATE_SPOT capacity providers. `spot` is
/// `{spot_weight: 1}`, `on-demand` is `{on_demand_weight: 1}`, and
/// `{spot: W, onDemand: B}` is `{on_demand_base: B, spot_weight: W}`: the
/// first B tasks on demand, the rest on Spot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    #[serde(default)]
    pub on_demand_base: u32,
    #[serde(default)]
    pub on_demand_weight: u32,
    #[serde(default)]
    pub spot_weight: u32,
}

/// A container health check
/// ([HealthCheck](https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html)),
/// for a process without a port. `None` fields take ECS's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerHealthCheck {
    /// ECS's form: `["CMD-SHELL", line]` for a string, `["CMD", args...]`
    /// for a list.
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<u32>,
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
    /// Names of the app's sidecars that run beside this process, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<String>,
    /// The process's platform, or the app's; `None`: ECS's default
    /// (x86_64, no `runtimePlatform`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// `None`: the FARGATE launch type, as before capacity existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// Task ephemeral storage, GiB (21-200); `None`: Fargate's 20 GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<u32>,
    /// The container health check of a process without a port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_health_check: Option<ContainerHealthCheck>,
    /// Seconds a rollout may go without progress before it has failed
    /// ([`crate::MIN_PROGRESS_DEADLINE`]..=[`crate::MAX_PROGRESS_DEADLINE`]);
    /// `None`: [`crate::DEFAULT_PROGRESS_DEADLINE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline: Option<u32>,
    /// How ECS replaces the process's tasks (`rollout:`); `None`: a
    /// rolling update, as before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
}

/// How ECS deploys a new version of a process: its own deployment
/// strategies (`deploymentConfiguration.strategy`), never traffic shifting
/// of Ferry's own. Every value is resolved: defaults are filled when the
/// manifest is read, so two equal `Rollout`s render the same service.
///
/// Ranges are ECS's (API_CanaryConfiguration, API_LinearConfiguration,
/// API_DeploymentConfiguration, API_DeploymentLifecycleHook). Bake times
/// and the approval timeout are whole minutes, as ECS takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    pub strategy: RolloutStrategy,
    /// `bake`: minutes both revisions run after the last traffic shift,
    /// before the old one goes (`bakeTimeInMinutes`, 0-1440). Unused for
    /// `rolling`.
    pub bake_minutes: u32,
    /// CloudWatch alarms that roll a deployment back (`alarms`).
    pub alarms: RolloutAlarms,
    /// A PAUSE lifecycle hook (`approval`), for strategies other than
    /// `rolling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

/// A deployment strategy with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RolloutStrategy {
    /// ECS's rolling update (`ROLLING`): the default.
    Rolling,
    /// `BLUE_GREEN`: the new revision starts beside the old one, gets the
    /// test traffic, then all production traffic at once.
    BlueGreen,
    /// `CANARY`: `percent_tenths` of production traffic first (tenths of a
    /// percent, 1-1000: `canaryPercent` 0.1-100), for
    /// `step_bake_minutes` (`stepBake`, 0-1440), then the rest.
    #[serde(rename_all = "camelCase")]
    Canary {
        percent_tenths: u32,
        step_bake_minutes: u32,
    },
    /// `LINEAR`: `step_tenths` of production traffic per step (tenths of a
    /// percent, 30-1000: `stepPercent` 3-100), `step_bake_minutes` between
    /// steps.
    #[serde(rename_all = "camelCase")]
    Linear {
        step_tenths: u32,
        step_bake_minutes: u32,
    },
}

impl RolloutStrategy {
    /// The manifest's word for it.
    pub fn name(&self) -> &'static str {
        match self {
            RolloutStrategy::Rolling => "rolling",
            RolloutStrategy::BlueGreen => "blueGreen",
            RolloutStrategy::Canary { .. } => "canary",
            RolloutStrategy::Linear { .. } => "linear",
        }
    }

    /// Whether ECS shifts traffic between two target groups (every
    /// strategy but `rolling`): the process needs a `port`.
    pub fn shifts_traffic(&self) -> bool {
        !matches!(self, RolloutStrategy::Rolling)
    }
}

/// The alarms that roll a deployment back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RolloutAlarms {
    /// No alarm (the field is absent).
    None,
    /// `alarms: default`: one alarm Ferry creates, owns and tags per
    /// process, on its target groups' 5xx share.
    Default,
    /// `alarms: [a, b]`: CloudWatch alarm names the team owns; Ferry only
    /// names them to ECS. Sorted, without duplicates.
    Named(Vec<String>),
}

/// A PAUSE lifecycle hook: the deployment waits at `stage` until
/// `ferry rollout continue` (or `abort`), or until `timeout_minutes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub stage: ApprovalStage,
    /// `approvalTimeout`, whole minutes, 1-1440 (ECS's
    /// `timeoutInMinutes`); default 1440, ECS's.
    pub timeout_minutes: u32,
    /// `onApprovalTimeout`: what ECS does when nobody decided in time.
    pub on_timeout: TimeoutAction,
}

/// Where an approval pauses a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalStage {
    /// `afterTestTraffic`: `POST_TEST_TRAFFIC_SHIFT`, once the new
    /// revision has all the test traffic and none of production.
    AfterTestTraffic,
    /// `beforeProductionTraffic`: `PRE_PRODUCTION_TRAFFIC_SHIFT`. For
    /// canary and linear, ECS runs this stage before every shift, so the
    /// deployment pauses before each.
    BeforeProductionTraffic,
}

/// What ECS does when a hook times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum TimeoutAction {
    /// `ROLLBACK`: ECS's default, and Ferry's.
    #[default]
    Rollback,
    /// `CONTINUE`.
    Continue,
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
            sidecars: Vec::new(),
            platform: None,
            capacity: None,
            ephemeral_storage: None,
            container_health_check: None,
            progress_deadline: None,
            rollout: None,
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
