//! ECS's service deployments (`ListServiceDeployments`,
//! `DescribeServiceDeployments`): the record of a blue/green, canary or
//! linear deployment, its lifecycle stage, the weights it asked for, its
//! hooks and its rollback, as the adapter read them; and the part of it
//! status shows ([`DeploymentView`]).
//!
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html>

use serde::{Deserialize, Serialize};

/// `ServiceDeployment.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceDeploymentState {
    Pending,
    InProgress,
    Successful,
    StopRequested,
    Stopped,
    RollbackRequested,
    RollbackInProgress,
    RollbackSuccessful,
    RollbackFailed,
}

impl ServiceDeploymentState {
    /// Every state.
    pub const ALL: [ServiceDeploymentState; 9] = [
        Self::Pending,
        Self::InProgress,
        Self::Successful,
        Self::StopRequested,
        Self::Stopped,
        Self::RollbackRequested,
        Self::RollbackInProgress,
        Self::RollbackSuccessful,
        Self::RollbackFailed,
    ];

    /// ECS's name.
    pub fn as_ecs(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::InProgress => "IN_PROGRESS",
            Self::Successful => "SUCCESSFUL",
            Self::StopRequested => "STOP_REQUESTED",
            Self::Stopped => "STOPPED",
            Self::RollbackRequested => "ROLLBACK_REQUESTED",
            Self::RollbackInProgress => "ROLLBACK_IN_PROGRESS",
            Self::RollbackSuccessful => "ROLLBACK_SUCCESSFUL",
            Self::RollbackFailed => "ROLLBACK_FAILED",
        }
    }

    /// The state ECS names; `None` for one Ferry does not know.
    pub fn from_ecs(status: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_ecs() == status)
    }

    /// Whether ECS is done with the deployment, one way or the other.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Successful | Self::Stopped | Self::RollbackSuccessful | Self::RollbackFailed
        )
    }

    /// Whether the deployment is being, or was, rolled back or stopped:
    /// the new revision did not take over.
    pub fn is_rollback(self) -> bool {
        matches!(
            self,
            Self::StopRequested
                | Self::Stopped
                | Self::RollbackRequested
                | Self::RollbackInProgress
                | Self::RollbackSuccessful
                | Self::RollbackFailed
        )
    }
}

/// `ServiceDeployment.lifecycleStage`, in the order ECS goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LifecycleStage {
    ReconcileService,
    PreScaleUp,
    ScaleUp,
    PostScaleUp,
    TestTrafficShift,
    PostTestTrafficShift,
    PreProductionTrafficShift,
    ProductionTrafficShift,
    PostProductionTrafficShift,
    BakeTime,
    CleanUp,
}

impl LifecycleStage {
    /// Every stage, in order.
    pub const ALL: [LifecycleStage; 11] = [
        Self::ReconcileService,
        Self::PreScaleUp,
        Self::ScaleUp,
        Self::PostScaleUp,
        Self::TestTrafficShift,
        Self::PostTestTrafficShift,
        Self::PreProductionTrafficShift,
        Self::ProductionTrafficShift,
        Self::PostProductionTrafficShift,
        Self::BakeTime,
        Self::CleanUp,
    ];

    /// ECS's name.
    pub fn as_ecs(self) -> &'static str {
        match self {
            Self::ReconcileService => "RECONCILE_SERVICE",
            Self::PreScaleUp => "PRE_SCALE_UP",
            Self::ScaleUp => "SCALE_UP",
            Self::PostScaleUp => "POST_SCALE_UP",
            Self::TestTrafficShift => "TEST_TRAFFIC_SHIFT",
            Self::PostTestTrafficShift => "POST_TEST_TRAFFIC_SHIFT",
            Self::PreProductionTrafficShift => "PRE_PRODUCTION_TRAFFIC_SHIFT",
            Self::ProductionTrafficShift => "PRODUCTION_TRAFFIC_SHIFT",
            Self::PostProductionTrafficShift => "POST_PRODUCTION_TRAFFIC_SHIFT",
            Self::BakeTime => "BAKE_TIME",
            Self::CleanUp => "CLEAN_UP",
        }
    }

    /// The stage ECS names; `None` for one Ferry does not know.
    pub fn from_ecs(stage: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_ecs() == stage)
    }

    /// Whether the new revision's tasks are still being started: the part
    /// of a deployment a progress deadline judges. Later stages wait on
    /// bake timers and approvals by design.
    pub fn is_scaling_up(self) -> bool {
        self <= Self::PostScaleUp
    }
}

/// `DeploymentLifecycleHookDetail.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    AwaitingAction,
    InProgress,
    Succeeded,
    Failed,
    TimedOut,
}

impl HookStatus {
    /// ECS's name for it; `None` for one Ferry does not know.
    pub fn from_ecs(status: &str) -> Option<Self> {
        Some(match status {
            "AWAITING_ACTION" => Self::AwaitingAction,
            "IN_PROGRESS" => Self::InProgress,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "TIMED_OUT" => Self::TimedOut,
            _ => return None,
        })
    }
}

/// One `lifecycleHookDetails` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookDetail {
    /// What `ContinueServiceDeployment` names.
    pub hook_id: String,
    /// `PAUSE` or `AWS_LAMBDA`.
    pub target_type: String,
    pub status: HookStatus,
    /// RFC 3339: when ECS takes `timeout_action`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `CONTINUE` or `ROLLBACK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_action: Option<String>,
}

/// A `ServiceRevisionSummary`: one side of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSummary {
    /// The service revision's ARN.
    pub arn: String,
    pub requested_tasks: u32,
    pub running_tasks: u32,
    pub pending_tasks: u32,
    /// `requestedProductionTrafficWeight`, in tenths of a percent
    /// (0-1000); `None` when ECS does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_weight_tenths: Option<u32>,
    /// `requestedTestTrafficWeight`, in tenths of a percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_weight_tenths: Option<u32>,
}

/// A service deployment as `DescribeServiceDeployments` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedServiceDeployment {
    pub arn: String,
    pub service_arn: String,
    pub status: ServiceDeploymentState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<LifecycleStage>,
    /// The revision being deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<RevisionSummary>,
    /// The revisions it replaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<RevisionSummary>,
    /// `rollback.reason`, when ECS rolls it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookDetail>,
    /// `alarms.triggeredAlarmNames`: the alarms that rolled it back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggered_alarms: Vec<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

impl ObservedServiceDeployment {
    /// The PAUSE hook waiting for a decision, if any: what `ferry rollout
    /// continue` acts on.
    pub fn awaiting_hook(&self) -> Option<&HookDetail> {
        self.hooks
            .iter()
            .find(|h| h.status == HookStatus::AwaitingAction)
    }
}

/// What status shows of a process's current service deployment (for a
/// strategy other than `rolling`), and `ferry rollout status` prints.
/// Written by the controller; `since` is when Ferry first saw the
/// deployment in its current stage at the current weight, so the CLI can
/// say what remains of a bake without asking ECS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentView {
    /// The service deployment's ARN.
    pub arn: String,
    /// The manifest's word: `blueGreen`, `canary`, `linear`.
    pub strategy: String,
    pub status: ServiceDeploymentState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<LifecycleStage>,
    /// RFC 3339: when Ferry first saw this stage at this weight.
    pub since: String,
    /// The new revision's share of production traffic, tenths of a
    /// percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_weight_tenths: Option<u32>,
    /// Minutes the current bake lasts (the step bake while shifting, the
    /// final bake in `BAKE_TIME`); `None` outside a bake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_minutes: Option<u32>,
    /// The approval waiting for `ferry rollout continue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting: Option<HookDetail>,
    /// Why ECS rolled it back or stopped it: the alarms that fired, else
    /// ECS's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back: Option<String>,
}
