//! Which stopped tasks of a process are failures, which of those are
//! crashes, and the last failure status shows.
//!
//! A stopped task is a *failure* unless it was stopped on purpose. ECS
//! says why in the task's `stopCode`, with details in `stoppedReason`
//! (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html>):
//! - `UserInitiated`, `SpotInterruption`, `TerminationNotice` and
//!   `InfrastructureHealth` are someone's or AWS's doing, not the app's;
//! - `ServiceSchedulerInitiated` is the scheduler's: scale-in and a
//!   deployment replacing a task are on purpose, but a task that failed its
//!   load balancer's or its container's health checks ("Task failed ELB
//!   health checks in ...", "Task failed container health checks") failed;
//! - `TaskFailedToStart`, `EssentialContainerExited`, and a stop without a
//!   code are failures.
//!
//! A *crash* is a failure of a task that ran (it has a `startedAt`) and
//! stopped because an essential container exited (an exit, an
//! out-of-memory kill). ECS's circuit breaker judges tasks that never
//! start and health-check failures; with its default `resetOnHealthyTask`
//! a task that runs and then crashes resets the breaker's count, so a
//! crash loop is Ferry's to judge.

use crate::model::observed::ObservedService;
use crate::model::stops::{
    LastFailure, StoppedTask, ESSENTIAL_CONTAINER_EXITED, INFRASTRUCTURE_HEALTH,
    SERVICE_SCHEDULER_INITIATED, SPOT_INTERRUPTION, TERMINATION_NOTICE, USER_INITIATED,
};

/// Whether the task's stop is a failure rather than a stop on purpose.
pub fn is_failure(task: &StoppedTask) -> bool {
    match task.stop_code.as_deref() {
        Some(USER_INITIATED | SPOT_INTERRUPTION | TERMINATION_NOTICE | INFRASTRUCTURE_HEALTH) => {
            false
        }
        Some(SERVICE_SCHEDULER_INITIATED) => task
            .stopped_reason
            .as_deref()
            .is_some_and(|reason| reason.to_ascii_lowercase().contains("health check")),
        _ => true,
    }
}

/// Whether the task crashed: it ran, then an essential container exited.
pub fn is_crash(task: &StoppedTask) -> bool {
    // EssentialContainerExited is always a failure (see `is_failure`).
    task.started_at.is_some() && task.stop_code.as_deref() == Some(ESSENTIAL_CONTAINER_EXITED)
}

/// The failure as status shows it: the failing container's reason where
/// it has one (`OutOfMemoryError: ...` says more than "Essential container
/// in task exited"), else the task's `stoppedReason`.
pub fn last_failure(task: &StoppedTask) -> LastFailure {
    let container = task.failing_container();
    let reason = container
        .and_then(|c| c.reason.clone())
        .or_else(|| task.stopped_reason.clone())
        .unwrap_or_default();
    LastFailure {
        task: task.task_id().to_owned(),
        stopped_at: task.stopped_at.clone(),
        stop_code: task.stop_code.clone(),
        reason,
        container: container.map(|c| c.name.clone()),
        exit_code: container.and_then(|c| c.exit_code),
        log_tail: task.log_tail.clone().unwrap_or_default(),
    }
}

/// What the stopped tasks of a process's new deployments say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessFailures {
    /// How many of their tasks crashed.
    pub crashed_tasks: u32,
    /// Their newest failure.
    pub last_failure: Option<LastFailure>,
    /// When the newest of their crashes stopped (RFC 3339).
    pub newest_crash_at: Option<String>,
}

/// The failures among `stopped` (newest first) of the deployments of
/// `service` that run `wanted`: the deployments of this rollout (more than
/// one when a restart forced a new deployment of the same revision).
/// Tasks of other deployments are not this rollout's.
pub fn of_process(
    service: &ObservedService,
    wanted: &str,
    stopped: &[StoppedTask],
) -> ProcessFailures {
    let ids: Vec<&str> = service
        .deployments
        .iter()
        .filter(|d| d.task_definition_arn == wanted)
        .map(|d| d.id.as_str())
        .collect();
    let ours = || {
        stopped
            .iter()
            .filter(|t| ids.contains(&t.deployment_id.as_str()))
    };
    let crashed = ours().filter(|t| is_crash(t)).count();
    ProcessFailures {
        crashed_tasks: u32::try_from(crashed).unwrap_or(u32::MAX),
        // The newest failure whose last lines were read (or that never
        // ran, so has none), else the newest: a task and its own lines,
        // rather than a newer task whose lines are not readable yet.
        last_failure: ours()
            .filter(|t| is_failure(t))
            .find(|t| t.log_tail.is_some() || t.started_at.is_none())
            .or_else(|| ours().find(|t| is_failure(t)))
            .map(last_failure),
        newest_crash_at: ours()
            .find(|t| is_crash(t))
            .and_then(|t| t.stopped_at.clone()),
    }
}

#[cfg(test)]
#[path = "failures_tests.rs"]
pub(crate) mod tests;
