//! What an app should have in AWS: the rendered resources.
//!
//! The rendered types hold exactly the fields Ferry manages, in a normal
//! form (maps sorted, lists in a fixed order). The AWS adapter converts what
//! ECS *returns* into the same types, so the planner compares like with like
//! and a field ECS fills with a default never looks like a change.

use std::collections::BTreeMap;

use ferry_manifest::{ApprovalStage, RolloutStrategy, TimeoutAction};
use serde::{Deserialize, Serialize};

use super::alarms::AlarmSpec;
use super::autoscaling::ScalingSpec;
use super::task::{CapacityProviderItem, HealthCheckSpec, RuntimePlatform, SidecarSpec};
use super::traffic::{DesiredTraffic, LoadBalancerLink, TrafficSettings};

/// The environment an app is deployed into: everything the controller is
/// configured with that shapes rendered resources. Serializable, so the
/// controller can publish it for the CLI to plan with (`ferry diff`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// ECS cluster every service runs in.
    pub cluster: String,
    /// Subnets for awsvpc networking.
    pub subnets: Vec<String>,
    /// Security groups for awsvpc networking.
    pub security_groups: Vec<String>,
    /// Whether tasks get a public IP (only for public subnets without NAT).
    pub assign_public_ip: bool,
    /// Task execution role: pulls images, reads secrets, writes logs.
    pub execution_role_arn: Option<String>,
    /// CloudWatch Logs group for the `awslogs` driver; no logging when unset.
    pub log_group: Option<String>,
    /// Region of the log group.
    pub region: String,
    /// Value of the `ferry:managed-by` tag: identifies this installation.
    pub owner: String,
    /// Load balancers and zones for exposed processes.
    #[serde(default)]
    pub traffic: TrafficSettings,
    /// The role EventBridge Scheduler assumes to run scheduled processes'
    /// tasks (`--scheduler-role-arn`); without it none is scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler_role_arn: Option<String>,
    /// Where the apps may take their secrets from (`--secrets-prefix`,
    /// `--shared-secrets-prefix`): `ferry apply` refuses any other.
    #[serde(default)]
    pub secrets: ferry_manifest::SecretScope,
    /// The SQS queue schedules send the invocations Scheduler gave up on
    /// to (`--schedule-dlq-arn`); without it failures are not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_dlq_arn: Option<String>,
    /// The IAM path every app role (`role`, `executionRole`) must be under
    /// (`--app-role-path`): the controller may pass only those roles
    /// (`iam:PassRole` is scoped to it), and `ferry apply` refuses others.
    #[serde(default = "default_app_role_path")]
    pub app_role_path: String,
    /// A process whose new tasks stop this many times after they ran is
    /// failing (`--crash-loop-stops`, `TasksStopping`).
    #[serde(default = "default_crash_loop_stops")]
    pub crash_loop_stops: u32,
    /// The role ECS assumes to shift a load balancer's traffic in a
    /// blue/green, canary or linear deployment
    /// (`--ecs-infrastructure-role-arn`; `advancedConfiguration.roleArn`).
    /// Without it, such strategies are refused at apply and blocked
    /// (`NoInfrastructureRole`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure_role_arn: Option<String>,
}

/// The default of [`Settings::crash_loop_stops`].
pub const DEFAULT_CRASH_LOOP_STOPS: u32 = 3;

fn default_crash_loop_stops() -> u32 {
    DEFAULT_CRASH_LOOP_STOPS
}

/// The default of [`Settings::app_role_path`]: `ferry.yaml`'s
/// `AppRolePath`.
pub const DEFAULT_APP_ROLE_PATH: &str = "/ferry-apps/";

fn default_app_role_path() -> String {
    DEFAULT_APP_ROLE_PATH.to_owned()
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cluster: String::new(),
            subnets: Vec::new(),
            security_groups: Vec::new(),
            assign_public_ip: false,
            execution_role_arn: None,
            log_group: None,
            region: String::new(),
            owner: String::new(),
            traffic: TrafficSettings::default(),
            scheduler_role_arn: None,
            secrets: ferry_manifest::SecretScope::default(),
            schedule_dlq_arn: None,
            app_role_path: default_app_role_path(),
            crash_loop_stops: DEFAULT_CRASH_LOOP_STOPS,
            infrastructure_role_arn: None,
        }
    }
}

/// The container-level and task-level fields of a task definition that
/// Ferry manages. Two equal specs need no new revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionSpec {
    pub family: String,
    /// Name of the single container; the process name.
    pub container_name: String,
    pub image: String,
    /// Empty means the image's default command.
    pub command: Vec<String>,
    pub environment: BTreeMap<String, String>,
    /// Name to `valueFrom` ARN; never the secret's value.
    pub secrets: BTreeMap<String, String>,
    /// Task-level CPU units.
    pub cpu: u32,
    /// Task-level memory, MiB.
    pub memory: u32,
    pub container_port: Option<u16>,
    pub execution_role_arn: Option<String>,
    /// `awslogs` driver options, empty when logging is not configured.
    pub log_options: BTreeMap<String, String>,
    /// Seconds between SIGTERM and SIGKILL; ECS's default (30) when unset.
    #[serde(default)]
    pub stop_timeout: Option<u32>,
    /// `taskRoleArn`: the app's own AWS identity; `None`: the tasks have
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// `None`: no `runtimePlatform` (ECS's default, x86_64 Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,
    /// `ephemeralStorage.sizeInGiB`; `None`: Fargate's 20 GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<u32>,
    /// The process container's health check, ECS's defaults filled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckSpec>,
    /// The containers beside the process's own, sorted by name. The
    /// process's container stays the essential one that load balancers
    /// and `ferry run` name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<SidecarSpec>,
}

/// How ECS replaces a service's tasks. The circuit breaker is always on:
/// a deployment that cannot start its tasks must fail, not hang.
///
/// `strategy`, `bake_minutes`, `alarms` and `pause_hooks` are ECS's
/// `deploymentConfiguration` fields of the same names (alarms as
/// `DeploymentAlarms{alarmNames, enable: true, rollback: true}`, hooks as
/// PAUSE `lifecycleHooks`). The adapter reads ECS's answer back into the
/// same form, so a default ECS fills in never looks like a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    pub min_healthy_percent: u32,
    pub max_percent: u32,
    /// Roll back to the last completed deployment when the breaker trips.
    pub rollback: bool,
    /// `deploymentConfiguration.strategy` with its canary or linear
    /// parameters.
    #[serde(default = "rolling")]
    pub strategy: RolloutStrategy,
    /// `bakeTimeInMinutes`; 0 for `rolling` (ECS ignores it there).
    #[serde(default)]
    pub bake_minutes: u32,
    /// Names of the alarms that roll a deployment back, sorted; Ferry's
    /// own (`alarms: default`) by its rendered name. Empty: alarms off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    /// PAUSE lifecycle hooks (the `approval`), at most one today.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pause_hooks: Vec<PauseHook>,
}

fn rolling() -> RolloutStrategy {
    RolloutStrategy::Rolling
}

/// A PAUSE lifecycle hook: ECS waits at `stage` until
/// `ContinueServiceDeployment`, or `timeout_minutes`, then `on_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PauseHook {
    pub stage: ApprovalStage,
    pub timeout_minutes: u32,
    pub on_timeout: TimeoutAction,
}

impl Default for DeploymentSpec {
    fn default() -> Self {
        Self {
            min_healthy_percent: 100,
            max_percent: 200,
            rollback: true,
            strategy: RolloutStrategy::Rolling,
            bake_minutes: 0,
            alarms: Vec::new(),
            pause_hooks: Vec::new(),
        }
    }
}

/// awsvpc network configuration of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSpec {
    /// Sorted.
    pub subnets: Vec<String>,
    /// Sorted.
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

/// The fields of an ECS service that Ferry manages, besides its task
/// definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    pub name: String,
    pub desired_count: u32,
    pub network: NetworkSpec,
    pub tags: BTreeMap<String, String>,
    /// The target groups its tasks register with, for an exposed process:
    /// one per load balancer that serves it, sorted by name.
    pub load_balancers: Vec<LoadBalancerLink>,
    /// Seconds ECS ignores failing load-balancer health checks of a new
    /// task; only with a load balancer (ECS rejects it otherwise).
    pub health_check_grace_period: Option<u32>,
    pub deployment: DeploymentSpec,
    /// Where its tasks run; empty: the FARGATE launch type (see
    /// [`super::task::capacity_provider_strategy`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderItem>,
    /// ECS Exec (`enableExecuteCommand`), the app's `exec`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_execute_command: bool,
}

/// Everything one process of an app should be in AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredProcess {
    pub process: String,
    pub task_definition: TaskDefinitionSpec,
    /// `desired_count` is the count the service is created with; for an
    /// autoscaled process the autoscaler owns it afterwards.
    pub service: ServiceSpec,
    /// The scalable target and policies of an autoscaled process.
    pub autoscaling: Option<ScalingSpec>,
    /// Seconds a rollout may go without progress before it has failed
    /// (`progressDeadline`, `ProgressDeadlineExceeded`).
    pub progress_deadline_secs: u32,
}

impl DesiredProcess {
    /// Tags for the task definitions of this process.
    pub fn task_definition_tags(&self) -> &BTreeMap<String, String> {
        // Task definitions carry the same ownership tags as their service.
        &self.service.tags
    }
}

/// Everything an app should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// In process-name order; scheduled processes are in `schedules`.
    pub processes: Vec<DesiredProcess>,
    pub traffic: DesiredTraffic,
    /// The scheduled processes, in process-name order.
    pub schedules: Vec<DesiredSchedule>,
    /// The alarms Ferry owns for processes with `alarms: default`, in
    /// process-name order.
    pub alarms: Vec<AlarmSpec>,
}

/// The fields of a schedule Ferry manages, besides its task definition.
/// The target is ECS RunTask on the cluster, on Fargate (the launch type,
/// or the process's capacity provider strategy), with awsvpc networking,
/// the ownership tags on every task, and no flexible window. The task role
/// is the task definition's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSpec {
    pub name: String,
    pub group: String,
    pub expression: String,
    pub timezone: String,
    /// The ECS cluster's name; the target is its ARN.
    pub cluster: String,
    /// The role EventBridge Scheduler assumes to call RunTask; `None` when
    /// the controller has none configured (then nothing is planned).
    pub role_arn: Option<String>,
    pub network: NetworkSpec,
    /// Put on each task the schedule starts.
    pub tags: BTreeMap<String, String>,
    /// The SQS queue Scheduler sends the invocations it gave up on to
    /// (`--schedule-dlq-arn`); `None`: failures are not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_arn: Option<String>,
    /// Where its tasks run; empty: the FARGATE launch type. Scheduler
    /// takes one or the other, never both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderItem>,
    /// ECS Exec for the tasks it starts, the app's `exec`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_execute_command: bool,
}

/// How often and for how long Scheduler retries an invocation that failed
/// before it gives up (and sends the event to the dead-letter queue)
/// ([API_RetryPolicy](https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_seconds: u32,
}

/// The retry policy of every schedule Ferry makes: 2 retries within 5
/// minutes. Scheduler's default (185 retries over 24 hours, per
/// API_RetryPolicy) would report a failed run a day later, long after the
/// next run is due. What makes RunTask fail is mostly lasting (a refused
/// parameter, a missing task definition, a missing permission), and what
/// passes (throttling, capacity) has usually passed within minutes; two
/// retries cover a blip, and a failure shows in status within about five
/// minutes. A run that never happens is not made up for later: the next
/// scheduled time is the next chance.
pub const RETRY_POLICY: RetryPolicy = RetryPolicy {
    maximum_retry_attempts: 2,
    maximum_event_age_seconds: 300,
};

/// The ECS task group (`EcsParameters.Group`) of every task a schedule
/// starts. It tells scheduled runs apart from `ferry run` tasks (group
/// `family:<family>`, ECS's default) and services' tasks (`service:<name>`).
pub const RUN_GROUP: &str = "ferry:schedule";

/// Everything a scheduled process should be in AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSchedule {
    pub process: String,
    pub task_definition: TaskDefinitionSpec,
    pub schedule: ScheduleSpec,
}

impl DesiredSchedule {
    /// Tags for the process's task definitions: the same as its tasks'.
    pub fn task_definition_tags(&self) -> &BTreeMap<String, String> {
        &self.schedule.tags
    }
}
