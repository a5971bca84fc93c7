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
