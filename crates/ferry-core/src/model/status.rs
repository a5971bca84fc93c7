//! App status, as the controller writes it and `ferry status` reads it.
//! [`crate::status::report`] derives it.
//!
//! The JSON form is part of Ferry's contract (`ferry status -o json`), and
//! the controller stores the same form in DynamoDB; field names follow
//! Kubernetes conventions. Condition types and reasons and rollout states
//! are enums ([`super::reasons`]) written as the strings they always were.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::blocker::BlockerReason;
use super::observed::ServiceEvent;
pub use super::reasons::{
    ConditionReason, ConditionStatus, ConditionType, RolloutFailureReason, RolloutStatus,
    ScheduleState,
};
use super::runs::{FailedInvocation, ScheduledRun};
pub use super::stops::LastFailure;

/// The condition types by their old names.
pub const READY: ConditionType = ConditionType::Ready;
pub const PROGRESSING: ConditionType = ConditionType::Progressing;
pub const DEGRADED: ConditionType = ConditionType::Degraded;

/// How many service events status keeps, newest first.
pub const MAX_EVENTS: usize = 10;

/// The status of one app, as the controller last wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub name: String,
    /// Generation of the spec at the time of writing.
    pub generation: u64,
    /// Latest generation the controller has fully acted on.
    pub observed_generation: u64,
    /// Release (version) the app runs: equal to the generation it came from.
    pub release: u64,
    pub conditions: Vec<Condition>,
    pub processes: BTreeMap<String, ProcessStatus>,
    pub endpoints: Vec<String>,
    pub events: Vec<ServiceEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LastError>,
    /// RFC 3339 time of the reconcile that wrote this status.
    pub last_reconciled: String,
    /// The rollout of this generation failed: the controller leaves the
    /// app alone until a new generation is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<RolloutFailure>,
    /// The newest generation whose rollout completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded: Option<u64>,
    /// Scheduled processes' schedules, by process.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub schedules: BTreeMap<String, ScheduleStatus>,
}

/// A failed rollout, with what explains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutFailure {
    pub generation: u64,
    pub process: String,
    /// The task definition whose rollout failed.
    pub task_definition: String,
    pub reason: RolloutFailureReason,
    /// The service's newest events when the failure was seen: ECS's
    /// messages, as text.
    pub events: Vec<String>,
    /// The last failed task of the failed deployment, when one was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<LastFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: ConditionType,
    pub status: ConditionStatus,
    pub reason: ConditionReason,
    /// Free text for a person: what the reason means for this app.
    pub message: String,
    /// RFC 3339; changes only when `status` changes.
    pub last_transition_time: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessStatus {
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    /// ARN of the task definition the service runs, once it exists.
    pub task_definition: Option<String>,
    /// `COMPLETED`, `IN_PROGRESS` or `FAILED`, as Ferry judges it (see
    /// [`crate::status::rollout`]).
    pub rollout: Option<RolloutStatus>,
    /// Why the rollout failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_reason: Option<RolloutFailureReason>,
    /// The task definition being rolled out (the PRIMARY deployment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_task_definition: Option<String>,
    /// Task definitions of deployments still draining.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub old_task_definitions: Vec<String>,
    #[serde(default)]
    pub failed_tasks: u32,
    /// URLs that reach the process: internal first, then public.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// Set for an autoscaled process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<ScalingStatus>,
    /// The last failed task of the new deployment (the one rolling out, or
    /// the one that failed), while its rollout is in progress or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<LastFailure>,
    /// Tasks of the new deployment that stopped after they ran (an
    /// essential container exited: a crash, an out-of-memory kill), as
    /// the crash-loop check counts them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub crashed_tasks: u32,
    /// How the rollout progresses, while it is in progress: what the
    /// progress deadline is measured against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<RolloutProgress>,
    /// The current service deployment of a process whose strategy is not
    /// `rolling`: its stage, weight, bake, approval and rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<super::deployments::DeploymentView>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The progress of a rollout in progress (Kubernetes'
/// `progressDeadlineSeconds`, per process). Progress is a new task
/// running beyond the most seen so far, or an old one gone beyond the
/// fewest seen so far: both marks only move one way, so a task that
/// starts, crashes and starts again is not progress twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutProgress {
    /// The deployment this is about (ECS's id).
    pub deployment: String,
    /// RFC 3339: the last progress, or when the deployment began.
    pub since: String,
    /// RFC 3339: `since` plus the process's `progressDeadline`: without
    /// progress by then, the rollout has failed.
    pub deadline: String,
    /// The most tasks of the new deployment seen running.
    pub new_running: u32,
    /// The fewest tasks of older deployments seen running.
    pub old_running: u32,
}

/// The bounds an autoscaled process is kept in, and its count now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingStatus {
    pub min: u32,
    pub max: u32,
    /// The service's desired count, as the autoscaler set it (clamped
    /// into `min..=max`).
    pub current: u32,
}

/// The last failure of a reconcile, with the AWS call that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastError {
    /// The AWS call that failed, `service:Operation` (e.g.
    /// `ecs:CreateService`): text, as the call layer names every
    /// operation of every service it makes.
    pub operation: String,
    /// What went wrong, in AWS's words where AWS answered: open text.
    pub message: String,
    /// RFC 3339.
    pub time: String,
}

/// `Ready`'s reason and message while generation `generation` of the spec
/// is newer than the `observed` one.
pub fn not_observed(generation: u64, observed: u64) -> (ConditionReason, String) {
    (
        ConditionReason::GenerationNotObserved,
        format!("generation {generation} not yet acted on (observed {observed})"),
    )
}

/// Formats a time the way status stores it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

impl AppStatus {
    /// The condition of the given type, if present.
    pub fn condition(&self, type_: ConditionType) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// True when the `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.condition(READY)
            .is_some_and(|c| c.status == ConditionStatus::True)
    }

    /// This status as it stands for spec generation `generation`, which
    /// may be newer than the one it was written for: until the controller
    /// has observed that generation, `Ready` is `False` with reason
    /// `GenerationNotObserved`, whatever it was for the older one, so that
    /// nothing reads an unobserved spec as ready. `since` (RFC 3339) is
    /// when that generation was applied.
    pub fn for_generation(mut self, generation: u64, since: &str) -> Self {
        self.generation = generation;
        if self.observed_generation < generation {
            let (reason, message) = not_observed(generation, self.observed_generation);
            let ready = Condition {
                type_: READY,
                status: ConditionStatus::False,
                reason,
                message,
                last_transition_time: since.to_owned(),
            };
            match self.conditions.iter_mut().find(|c| c.type_ == READY) {
                Some(condition) => {
                    if condition.status == ConditionStatus::False {
                        // Not Ready already: it has been so since then.
                        let since = std::mem::take(&mut condition.last_transition_time);
                        *condition = Condition {
                            last_transition_time: since,
                            ..ready
                        };
                    } else {
                        *condition = ready;
                    }
                }
                None => self.conditions.push(ready),
            }
        }
        self
    }

    /// A `Degraded` blocker that stays until someone acts, reported for
    /// generation `generation` or a later one: `(reason, message)`.
    pub fn blocked(&self, generation: u64) -> Option<(BlockerReason, &str)> {
        if self.observed_generation < generation {
            return None;
        }
        let degraded = self
            .condition(DEGRADED)
            .filter(|c| c.status == ConditionStatus::True)?;
        match degraded.reason {
            ConditionReason::Blocked(reason) if reason.needs_a_person() => {
                Some((reason, degraded.message.as_str()))
            }
            _ => None,
        }
    }

    /// Equal apart from the time of the reconcile that wrote it: a status
    /// that only differs in that need not be written again.
    pub fn same_as(&self, other: &AppStatus) -> bool {
        let mut a = self.clone();
        a.last_reconciled.clear();
        let mut b = other.clone();
        b.last_reconciled.clear();
        a == b
    }
}

/// A schedule as `ferry status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleStatus {
    pub name: String,
    pub group: String,
    pub expression: String,
    pub timezone: String,
    /// As observed; [`ScheduleState::Pending`] before it exists.
    pub state: ScheduleState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// Whether invocations Scheduler gives up on are reported here: only
    /// with a dead-letter queue (`--schedule-dlq-arn`).
    #[serde(default)]
    pub failures_reported: bool,
    /// The invocations Scheduler gave up on, newest first, at most
    /// [`MAX_FAILED_INVOCATIONS`](crate::schedule_runs::MAX_FAILED_INVOCATIONS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_invocations: Vec<FailedInvocation>,
    /// The newest task the schedule started, while ECS still lists it
    /// (stopped tasks for about an hour), else the last one seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<ScheduledRun>,
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "status_json_tests.rs"]
mod json_tests;
