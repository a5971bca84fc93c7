//! What became of a scheduled process's runs, as the adapters observed
//! them and status keeps them: the invocations EventBridge Scheduler gave
//! up on (its dead-letter events) and the tasks schedules started. The
//! rules that read and bound them are in [`crate::schedule_runs`].

use serde::{Deserialize, Serialize};

/// One invocation Scheduler gave up on, as its dead-letter event says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedInvocation {
    /// `EXECUTION_ID`, or the SQS message id when there is none: each
    /// failure is shown once however often its message is received.
    pub id: String,
    /// `SCHEDULED_TIME`: when the run should have started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_time: Option<String>,
    /// `ERROR_CODE`, such as `InvalidParameterException`.
    pub error_code: String,
    /// `ERROR_MESSAGE`, cut at
    /// [`MAX_ERROR_MESSAGE`](crate::schedule_runs::MAX_ERROR_MESSAGE) characters.
    pub error_message: String,
    /// `RETRY_ATTEMPTS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_attempts: Option<u32>,
    /// `EXHAUSTED_RETRY_CONDITION`: `MaximumRetryAttempts` or
    /// `MaximumEventAgeInSeconds`; absent when Scheduler did not retry
    /// (an error it does not retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhausted_retry_condition: Option<String>,
}

/// A dead-letter event, with the schedule it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The schedule group and name, from `SCHEDULE_ARN`.
    pub group: String,
    pub schedule: String,
    pub failure: FailedInvocation,
}

/// A task a schedule started, as ECS describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledRun {
    pub task_arn: String,
    /// RFC 3339: when it started, or was created if it never started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// `PENDING`, `RUNNING`, `STOPPED`, ... as ECS reports it.
    pub last_status: String,
    /// The first container's exit code, once it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why it stopped, when it did: `EssentialContainerExited`,
    /// `TaskFailedToStart`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
}

impl ScheduledRun {
    /// The task id, the last part of its ARN.
    pub fn task_id(&self) -> &str {
        self.task_arn.rsplit('/').next().unwrap_or(&self.task_arn)
    }

    /// How it ended, in a few words: `exit 0`, `TaskFailedToStart: ...`,
    /// or its status while it has not ended.
    pub fn outcome(&self) -> String {
        match (&self.exit_code, &self.stop_code, &self.stopped_reason) {
            (Some(code), _, _) => format!("exit {code}"),
            (None, Some(code), Some(reason)) => format!("{code}: {reason}"),
            (None, Some(code), None) => code.clone(),
            (None, None, Some(reason)) => reason.clone(),
            (None, None, None) => self.last_status.clone(),
        }
    }
}

/// What the adapters observed of one schedule's runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedRuns {
    /// Dead-letter events received and not yet deleted from the queue.
    pub failures: Vec<FailedInvocation>,
    /// The SQS message ids they came from: deleted once status records
    /// them.
    pub dead_letter_messages: Vec<String>,
    /// The schedule's tasks ECS still lists (stopped ones for about an
    /// hour), in any order.
    pub runs: Vec<ScheduledRun>,
}
