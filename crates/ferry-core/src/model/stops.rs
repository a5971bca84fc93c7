//! Why tasks stopped: the stopped tasks of a service's deployments, as
//! DescribeTasks and the task's log stream show them, and the last
//! failure status keeps of them.
//!
//! ECS's words are kept as ECS wrote them (`stopCode`, `stoppedReason`, a
//! container's `reason` and `exitCode`,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-errors.html>).
//! Nothing here holds an environment value or a secret: DescribeTasks
//! returns neither (overrides aside, which Ferry never reads). Log lines
//! are the app's own output; status shows them only to those who may read
//! the app's status, which the deployer policy scopes with its logs.

use serde::{Deserialize, Serialize};

/// How many log lines a [`LastFailure`] keeps, at most.
pub const LOG_TAIL_LINES: usize = 5;
/// How many bytes of log lines a [`LastFailure`] keeps, at most (each line
/// cut at a character boundary to fit, the newest kept first).
pub const LOG_TAIL_BYTES: usize = 2048;
/// How many stopped tasks the adapter keeps per deployment, newest first.
pub const MAX_STOPPED_PER_DEPLOYMENT: usize = 50;

/// ECS's `stopCode` for a task whose essential container exited.
pub const ESSENTIAL_CONTAINER_EXITED: &str = "EssentialContainerExited";
/// ECS's `stopCode` for a task that never reached RUNNING.
pub const TASK_FAILED_TO_START: &str = "TaskFailedToStart";
/// ECS's `stopCode` for a task someone stopped (StopTask, the console).
pub const USER_INITIATED: &str = "UserInitiated";
/// ECS's `stopCode` for a task the service scheduler stopped: scale-in, a
/// deployment replacing it, or a failed health check (the
/// `stoppedReason` says which).
pub const SERVICE_SCHEDULER_INITIATED: &str = "ServiceSchedulerInitiated";
/// ECS's `stopCode` for a Fargate Spot task AWS reclaimed.
pub const SPOT_INTERRUPTION: &str = "SpotInterruption";
/// ECS's `stopCode` for a task AWS stopped for maintenance.
pub const TERMINATION_NOTICE: &str = "TerminationNotice";
/// ECS's `stopCode` for a task AWS stopped because its infrastructure
/// (not the app) was unhealthy.
pub const INFRASTRUCTURE_HEALTH: &str = "InfrastructureHealth";

/// One container of a stopped task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoppedContainer {
    pub name: String,
    /// Set once the container exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// ECS's `reason` for the container (`OutOfMemoryError: ...`,
    /// `CannotPullContainerError: ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A task of a service that stopped, as DescribeTasks showed it, with the
/// last lines its failing container wrote once the adapter read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoppedTask {
    pub task_arn: String,
    /// The deployment that started it: the task's `startedBy`, which ECS
    /// sets to the deployment's id (`ecs-svc/...`) for a service's tasks.
    pub deployment_id: String,
    pub task_definition_arn: String,
    /// RFC 3339; `None` when the task never started (it failed before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    pub containers: Vec<StoppedContainer>,
    /// The container whose log the adapter reads: the first that exited
    /// with a non-zero code or has a reason, else the first that exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_container: Option<String>,
    /// The last lines `log_container` wrote, oldest first, bounded by
    /// [`LOG_TAIL_LINES`] and [`LOG_TAIL_BYTES`]. `None`: not read (yet,
    /// or never: no container ran, or there is no log group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<Vec<String>>,
}

impl StoppedTask {
    /// The task id, the last part of its ARN.
    pub fn task_id(&self) -> &str {
        self.task_arn.rsplit('/').next().unwrap_or(&self.task_arn)
    }

    /// The container that explains the stop: `log_container` when the
    /// adapter named one, else the first that exited with a non-zero code
    /// or has a reason, else the first that exited.
    pub fn failing_container(&self) -> Option<&StoppedContainer> {
        let named = self
            .log_container
            .as_deref()
            .and_then(|name| self.containers.iter().find(|c| c.name == name));
        named.or_else(|| telling_container(&self.containers))
    }
}

/// The container of a stopped task whose log and exit tell most why it
/// stopped: the first that exited non-zero or has a reason, else the first
/// that exited, else the first (a task stopped for failed health checks:
/// the process's container, which ECS lists first as Ferry renders it).
pub fn telling_container(containers: &[StoppedContainer]) -> Option<&StoppedContainer> {
    containers
        .iter()
        .find(|c| c.exit_code.is_some_and(|code| code != 0) || c.reason.is_some())
        .or_else(|| containers.iter().find(|c| c.exit_code.is_some()))
        .or_else(|| containers.first())
}

/// The last failed task of a process's new deployment, as status shows it
/// (`processes.<p>.lastFailure`) and the CLI prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastFailure {
    /// The task id.
    pub task: String,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    /// The most telling reason ECS gave: the failing container's `reason`
    /// where it has one (`OutOfMemoryError: ...`), else the task's
    /// `stoppedReason`.
    pub reason: String,
    /// The failing container, where one is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Its exit code, once it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Its last log lines, oldest first; empty when none were read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
}

/// How many characters of a task id a summary shows (as `git` shortens a
/// commit: enough to find it in the console).
pub const SHORT_TASK_ID: usize = 8;

impl LastFailure {
    /// One line for a person, without the process:
    /// - `task 7f1a3b28: essential container web exited with code 1: "KeyError: 'DATABASE_URL'"`
    ///   (the last log line quoted, when there is one);
    /// - `task 7f1a3b28 stopped: CannotPullContainerError: ... (exit -)`.
    pub fn summary(&self) -> String {
        let task: String = self.task.chars().take(SHORT_TASK_ID).collect();
        let last_line = self
            .log_tail
            .last()
            .map(|line| format!(": {line:?}"))
            .unwrap_or_default();
        let exited = self.stop_code.as_deref() == Some(ESSENTIAL_CONTAINER_EXITED);
        match (exited, self.exit_code) {
            (true, Some(code)) => {
                let container = self
                    .container
                    .as_deref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default();
                // A container reason (an out-of-memory kill) says more
                // than the task's "Essential container in task exited".
                let why = if self.reason.starts_with("Essential container") {
                    String::new()
                } else {
                    format!(" ({})", self.reason)
                };
                format!("task {task}: essential container{container} exited with code {code}{why}{last_line}")
            }
            (_, code) => {
                let code = code.map_or_else(|| "-".to_owned(), |c| c.to_string());
                format!(
                    "task {task} stopped: {} (exit {code}){last_line}",
                    self.reason
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure() -> LastFailure {
        LastFailure {
            task: "7f1a3b28c0de4f00".into(),
            stopped_at: None,
            stop_code: Some(ESSENTIAL_CONTAINER_EXITED.into()),
            reason: "Essential container in task exited".into(),
            container: Some("worker".into()),
            exit_code: Some(1),
            log_tail: vec!["booting".into(), "KeyError: 'DATABASE_URL'".into()],
        }
    }

    #[test]
    fn a_crash_is_summed_up_with_its_exit_code_and_last_line() {
        assert_eq!(
            failure().summary(),
            "task 7f1a3b28: essential container worker exited with code 1: \"KeyError: 'DATABASE_URL'\""
        );
        let oom = LastFailure {
            reason: "OutOfMemoryError: Container killed due to memory usage".into(),
            exit_code: Some(137),
            log_tail: Vec::new(),
            ..failure()
        };
        assert_eq!(
            oom.summary(),
            "task 7f1a3b28: essential container worker exited with code 137 (OutOfMemoryError: Container killed due to memory usage)"
        );
    }

    #[test]
    fn a_task_that_never_ran_is_summed_up_with_ecs_reason() {
        let pull = LastFailure {
            stop_code: Some(TASK_FAILED_TO_START.into()),
            reason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
                .into(),
            container: None,
            exit_code: None,
            log_tail: Vec::new(),
            ..failure()
        };
        assert_eq!(
            pull.summary(),
            "task 7f1a3b28 stopped: CannotPullContainerError: pull image manifest has been retried 5 time(s) (exit -)"
        );
    }
}
