//! What exists in AWS for one app, as the adapter observed it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::alarms::ObservedAlarm;
use super::autoscaling::{self, ObservedScalableTarget};
use super::deployments::ObservedServiceDeployment;
use super::desired::{
    DeploymentSpec, DesiredProcess, NetworkSpec, RetryPolicy, ScheduleSpec, TaskDefinitionSpec,
    RETRY_POLICY, RUN_GROUP,
};
use super::ownership;
use super::runs::ObservedRuns;
use super::stops::StoppedTask;
use super::task::CapacityProviderItem;
use super::traffic::LoadBalancerLink;

/// Lifecycle of an ECS service. INACTIVE services are never observed: the
/// adapter drops them, as ECS keeps them listed for a while after deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceStatus {
    Active,
    /// Deleted and stopping its tasks; its name cannot be reused yet.
    Draining,
}

/// A task definition revision, normalised into the rendered form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTaskDefinition {
    pub arn: String,
    pub spec: TaskDefinitionSpec,
    pub tags: BTreeMap<String, String>,
}

/// The role of a deployment in its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentStatus {
    /// The newest deployment: the one ECS rolls out.
    Primary,
    /// An older deployment whose tasks are being replaced.
    Active,
    /// A deployment whose tasks are gone.
    Inactive,
}

impl DeploymentStatus {
    /// ECS's name for it; `None` for one Ferry does not know.
    pub fn from_ecs(status: &str) -> Option<Self> {
        match status {
            "PRIMARY" => Some(Self::Primary),
            "ACTIVE" => Some(Self::Active),
            "INACTIVE" => Some(Self::Inactive),
            _ => None,
        }
    }
}

/// A deployment's rollout state, as ECS reports it (with the circuit
/// breaker on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EcsRolloutState {
    InProgress,
    Completed,
    Failed,
}

impl EcsRolloutState {
    /// ECS's name for it; `None` for one Ferry does not know.
    pub fn from_ecs(state: &str) -> Option<Self> {
        match state {
            "IN_PROGRESS" => Some(Self::InProgress),
            "COMPLETED" => Some(Self::Completed),
            "FAILED" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One ECS deployment of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedDeployment {
    pub id: String,
    pub status: DeploymentStatus,
    pub task_definition_arn: String,
    pub desired_count: u32,
    pub running_count: u32,
    pub pending_count: u32,
    pub failed_tasks: u32,
    /// When ECS reports one.
    pub rollout_state: Option<EcsRolloutState>,
    pub rollout_state_reason: Option<String>,
    /// RFC 3339: when ECS created the deployment; `None` when it does not
    /// say. A rollout's progress deadline counts from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// One entry of a service's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    pub id: String,
    /// RFC 3339.
    pub created_at: String,
    pub message: String,
}

/// An ECS service, with the fields Ferry reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedService {
    pub name: String,
    pub arn: String,
    pub status: ServiceStatus,
    pub tags: BTreeMap<String, String>,
    pub desired_count: u32,
    pub running_count: u32,
    pub pending_count: u32,
    pub task_definition_arn: String,
    /// The service's task definition, or `None` if it could not be
    /// described (deregistered and deleted, say): then it never matches.
    pub task_definition: Option<TaskDefinitionSpec>,
    pub network: Option<NetworkSpec>,
    /// The first of the service's load balancers, target group by name.
    /// Sorted by target group name.
    pub load_balancers: Vec<LoadBalancerLink>,
    pub health_check_grace_period: Option<u32>,
    /// `None` when ECS does not report it (then it is not compared).
    pub deployment: Option<DeploymentSpec>,
    /// Sorted by provider; empty: the service has a launch type (Ferry's
    /// are all FARGATE) rather than a strategy.
    pub capacity_provider_strategy: Vec<CapacityProviderItem>,
    /// ECS Exec is on for tasks started from now on.
    pub enable_execute_command: bool,
    pub deployments: Vec<ObservedDeployment>,
    /// Newest first.
    pub events: Vec<ServiceEvent>,
    /// `currentServiceDeployment`: the ARN of the service deployment ECS
    /// runs or ran last (every strategy has one); what the progress reads
    /// describe for a strategy other than `rolling`.
    pub current_deployment: Option<String>,
}

/// Everything observed for one app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Services by name: those the app should have (whoever owns them) and
    /// those tagged as belonging to it.
    pub services: BTreeMap<String, ObservedService>,
    /// Latest ACTIVE revision of each family the app should have, where one
    /// exists. Lets a restarted controller reuse a revision it registered
    /// before it could point a service at it.
    pub latest_task_definitions: BTreeMap<String, ObservedTaskDefinition>,
    /// Schedules in this installation's group by name: those the app
    /// should have (whoever owns them) and those named for it.
    pub schedules: BTreeMap<String, ObservedSchedule>,
    /// What became of those schedules' runs, by schedule name: dead-letter
    /// events not yet deleted from the queue, and the tasks ECS lists.
    pub schedule_runs: BTreeMap<String, ObservedRuns>,
    /// ECS scalable targets by service name: those of the services the
    /// app should have (whoever owns them) and those tagged for it.
    pub scalable_targets: BTreeMap<String, ObservedScalableTarget>,
    /// Stopped tasks of the services' deployments by service name, newest
    /// first (at most
    /// [`MAX_STOPPED_PER_DEPLOYMENT`](super::stops::MAX_STOPPED_PER_DEPLOYMENT)
    /// per deployment): those the adapter read while the service's
    /// rollout was in progress or had failed.
    pub stopped_tasks: BTreeMap<String, Vec<StoppedTask>>,
    /// The current service deployment of each service whose strategy is
    /// not `rolling`, by service name: those the adapter described while
    /// the deployment was in progress, and the last it described after.
    pub service_deployments: BTreeMap<String, ObservedServiceDeployment>,
    /// Alarms by name: those the app's processes should have (whoever
    /// owns them) and those tagged for the app.
    pub alarms: BTreeMap<String, ObservedAlarm>,
}

impl Observed {
    /// The desired count `process` settles at: `scale` without
    /// autoscaling, the autoscaler's count (clamped into the range) with
    /// it, and whatever the count is where someone else's autoscaler owns
    /// it; see [`autoscaling::settled_count`]. Status and rollouts compare
    /// running tasks with it.
    pub fn settled_count(&self, process: &DesiredProcess) -> u32 {
        let name = &process.service.name;
        let tag = |key: &str| process.service.tags.get(key).map_or("", String::as_str);
        autoscaling::settled_count(
            process.service.desired_count,
            self.services.get(name).map(|s| s.desired_count),
            process.autoscaling.as_ref(),
            self.scalable_targets.get(name),
            tag(ownership::TAG_MANAGED_BY),
            tag(ownership::TAG_APP),
        )
    }
}

/// A schedule in this installation's group, normalised into the rendered
/// form by the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSchedule {
    pub name: String,
    pub group: String,
    pub expression: String,
    pub timezone: String,
    /// `ENABLED` or `DISABLED`, Scheduler's word as the adapter read it;
    /// status shows it as a [`super::status::ScheduleState`].
    pub state: String,
    /// The cluster name of an ECS target; `None` for any other target.
    pub cluster: Option<String>,
    pub role_arn: Option<String>,
    pub task_definition_arn: Option<String>,
    /// The target's task definition, described; `None` if it could not be.
    pub task_definition: Option<TaskDefinitionSpec>,
    pub network: Option<NetworkSpec>,
    /// The target's task tags.
    pub tags: BTreeMap<String, String>,
    /// The tags are in the shape an earlier Ferry wrote (`{"key": K,
    /// "value": V}` maps, which Scheduler reads as duplicate tags, so
    /// every run fails); `tags` holds what they meant. Never matches.
    pub legacy_tags: bool,
    /// The FARGATE launch type (rather than a capacity provider
    /// strategy), and the flexible window off.
    pub fargate: bool,
    pub window_off: bool,
    /// The target's capacity provider strategy, sorted by provider.
    pub capacity_provider_strategy: Vec<CapacityProviderItem>,
    /// ECS Exec for the tasks it starts.
    pub enable_execute_command: bool,
    /// The target's dead-letter queue.
    pub dead_letter_arn: Option<String>,
    /// The target's retry policy, when it has one.
    pub retry_policy: Option<RetryPolicy>,
    /// The ECS task group of the tasks it starts (`EcsParameters.Group`).
    pub run_group: Option<String>,
}

/// The state a schedule Ferry makes is in.
pub const ENABLED: &str = "ENABLED";

impl ObservedSchedule {
    /// The schedule a Create or UpdateSchedule of `spec` running
    /// `task_definition_arn` makes, until it is read back.
    pub fn written(spec: &ScheduleSpec, task_definition_arn: String) -> Self {
        Self {
            name: spec.name.clone(),
            group: spec.group.clone(),
            expression: spec.expression.clone(),
            timezone: spec.timezone.clone(),
            state: ENABLED.to_owned(),
            cluster: Some(spec.cluster.clone()),
            role_arn: spec.role_arn.clone(),
            task_definition_arn: Some(task_definition_arn),
            task_definition: None,
            network: Some(spec.network.clone()),
            tags: spec.tags.clone(),
            legacy_tags: false,
            fargate: spec.capacity_provider_strategy.is_empty(),
            window_off: true,
            capacity_provider_strategy: spec.capacity_provider_strategy.clone(),
            enable_execute_command: spec.enable_execute_command,
            dead_letter_arn: spec.dead_letter_arn.clone(),
            retry_policy: Some(RETRY_POLICY),
            run_group: Some(RUN_GROUP.to_owned()),
        }
    }

    /// Whether everything but the task definition is as `spec` wants it.
    pub fn matches(&self, spec: &ScheduleSpec) -> bool {
        self.expression == spec.expression
            && self.timezone == spec.timezone
            && self.state == ENABLED
            && self.cluster.as_deref() == Some(spec.cluster.as_str())
            && self.role_arn == spec.role_arn
            && self.network.as_ref() == Some(&spec.network)
            && self.tags == spec.tags
            && !self.legacy_tags
            // Scheduler takes a launch type or a strategy, never both.
            && self.fargate == spec.capacity_provider_strategy.is_empty()
            && self.capacity_provider_strategy == spec.capacity_provider_strategy
            && self.enable_execute_command == spec.enable_execute_command
            && self.window_off
            && self.dead_letter_arn == spec.dead_letter_arn
            && self.retry_policy == Some(RETRY_POLICY)
            && self.run_group.as_deref() == Some(RUN_GROUP)
    }
}
