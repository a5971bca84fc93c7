//! The words status is written in: condition types, statuses and
//! reasons, rollout states and why a rollout failed, schedules' states.
//! Each is an enum in memory and the very string it has always been in
//! JSON (`ferry status -o json`) and in the status items stored in
//! DynamoDB, so status written before these were enums reads back, and is
//! written again byte for byte.
//!
//! A closed vocabulary (Ferry's own words) refuses any other word; an open
//! one (where a newer Ferry or AWS may have written a word this version
//! does not know) keeps it as written, in an `Other` variant or as text.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::blocker::BlockerReason;
use super::observed::ENABLED;

/// The type of a status condition, as Kubernetes names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConditionType {
    /// The controller has observed the latest generation and every process
    /// has converged.
    Ready,
    /// Ferry is making changes, or ECS is rolling them out.
    Progressing,
    /// Something stands in the way: a blocker, a failed rollout, an error.
    Degraded,
}

impl ConditionType {
    /// Every type, for parsing.
    pub const ALL: [ConditionType; 3] = [
        ConditionType::Ready,
        ConditionType::Progressing,
        ConditionType::Degraded,
    ];

    /// The name status writes: `Ready`, `Progressing` or `Degraded`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::Ready => "Ready",
            ConditionType::Progressing => "Progressing",
            ConditionType::Degraded => "Degraded",
        }
    }
}

impl fmt::Display for ConditionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a condition holds, in Kubernetes' words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    /// Every status, for parsing.
    pub const ALL: [ConditionStatus; 3] = [
        ConditionStatus::True,
        ConditionStatus::False,
        ConditionStatus::Unknown,
    ];

    /// The name status writes.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for ConditionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a condition is as it is: the `reason` of a condition.
///
/// Written as its CamelCase name; a blocker's reason is written as the
/// blocker's own name (`NameConflict`, ...), which `Degraded` carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConditionReason {
    /// `Ready`: every process matches the spec.
    Converged,
    /// `Ready`, `Progressing`: this reconcile applied changes.
    Converging,
    /// `Ready`, `Progressing`: ECS is still rolling a change out.
    RolloutInProgress,
    /// `Ready`: the spec's generation is newer than the one the controller
    /// has acted on.
    GenerationNotObserved,
    /// `Ready`: not ready because the app is `Degraded` (see that one).
    Degraded,
    /// `Progressing`, `Degraded`: nothing to report.
    AsExpected,
    /// `Progressing`, `Degraded`: a rollout of this generation failed
    /// (ECS failed or rolled back its deployment).
    RolloutFailed,
    /// `Progressing`, `Degraded`: new tasks keep stopping after they ran
    /// (a crash loop), whether or not ECS's circuit breaker judges it.
    TasksStopping,
    /// `Progressing`, `Degraded`: the rollout made no progress within the
    /// process's `progressDeadline`.
    ProgressDeadlineExceeded,
    /// `Degraded`: a call to AWS failed during the reconcile.
    ReconcileError,
    /// Every condition, as the CLI shows an app the controller has not
    /// reconciled yet (the controller never writes it).
    Pending,
    /// `Degraded`: a blocker stands in the way.
    Blocked(BlockerReason),
    /// A reason this version of Ferry does not know, read from status
    /// another version wrote: kept as written, so that reading and writing
    /// it again changes nothing.
    Other(String),
}

impl ConditionReason {
    /// Every reason but [`ConditionReason::Blocked`] and
    /// [`ConditionReason::Other`], for parsing.
    const NAMED: [ConditionReason; 11] = [
        ConditionReason::Converged,
        ConditionReason::Converging,
        ConditionReason::RolloutInProgress,
        ConditionReason::GenerationNotObserved,
        ConditionReason::Degraded,
        ConditionReason::AsExpected,
        ConditionReason::RolloutFailed,
        ConditionReason::TasksStopping,
        ConditionReason::ProgressDeadlineExceeded,
        ConditionReason::ReconcileError,
        ConditionReason::Pending,
    ];

    /// The name status writes.
    pub fn as_str(&self) -> &str {
        match self {
            ConditionReason::Converged => "Converged",
            ConditionReason::Converging => "Converging",
            ConditionReason::RolloutInProgress => "RolloutInProgress",
            ConditionReason::GenerationNotObserved => "GenerationNotObserved",
            ConditionReason::Degraded => "Degraded",
            ConditionReason::AsExpected => "AsExpected",
            ConditionReason::RolloutFailed => "RolloutFailed",
            ConditionReason::TasksStopping => "TasksStopping",
            ConditionReason::ProgressDeadlineExceeded => "ProgressDeadlineExceeded",
            ConditionReason::ReconcileError => "ReconcileError",
            ConditionReason::Pending => "Pending",
            ConditionReason::Blocked(reason) => reason.as_str(),
            ConditionReason::Other(text) => text,
        }
    }

    /// The reason a written name stands for; never fails (see
    /// [`ConditionReason::Other`]).
    pub fn parse(text: &str) -> Self {
        if let Some(named) = Self::NAMED.into_iter().find(|r| r.as_str() == text) {
            return named;
        }
        match BlockerReason::parse(text) {
            Some(blocker) => ConditionReason::Blocked(blocker),
            None => ConditionReason::Other(text.to_owned()),
        }
    }
}

impl From<&str> for ConditionReason {
    fn from(text: &str) -> Self {
        Self::parse(text)
    }
}

impl From<BlockerReason> for ConditionReason {
    fn from(reason: BlockerReason) -> Self {
        ConditionReason::Blocked(reason)
    }
}

/// The state of a process's rollout, as Ferry judges it (see
/// [`crate::status::rollout`]) and status writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RolloutStatus {
    /// `COMPLETED`.
    Completed,
    /// `IN_PROGRESS`.
    InProgress,
    /// `FAILED`.
    Failed,
}

impl RolloutStatus {
    /// Every state, for parsing.
    pub const ALL: [RolloutStatus; 3] = [
        RolloutStatus::Completed,
        RolloutStatus::InProgress,
        RolloutStatus::Failed,
    ];

    /// The name status writes.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutStatus::Completed => "COMPLETED",
            RolloutStatus::InProgress => "IN_PROGRESS",
            RolloutStatus::Failed => "FAILED",
        }
    }
}

/// Why a rollout failed. Written as one sentence, as it always was.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RolloutFailureReason {
    /// ECS's own words: the failed deployment's `rolloutStateReason`. Open
    /// ended (AWS writes it), so it stays text.
    Ecs(String),
    /// The deployment failed and ECS gave no reason.
    Unexplained,
    /// ECS rolled the service back to this task definition before Ferry
    /// saw the deployment fail.
    RolledBack { to: String },
    /// Ferry's judgement: this many new tasks stopped after they ran (the
    /// controller's `--crash-loop-stops`).
    TasksStopping { stops: u32 },
    /// Ferry's judgement: no progress within the process's
    /// `progressDeadline`, in seconds.
    ProgressDeadlineExceeded { deadline_secs: u32 },
    /// ECS rolled back (or stopped) a blue/green, canary or linear
    /// deployment: `cause` is the alarms that fired (`alarm web-5xx`),
    /// else what ECS said (a hook that timed out, `ferry rollout abort`,
    /// the circuit breaker).
    DeploymentRolledBack { cause: String },
}

/// The sentence of [`RolloutFailureReason::Unexplained`].
const UNEXPLAINED: &str = "the deployment failed";
/// What the sentence of [`RolloutFailureReason::RolledBack`] starts with.
const ROLLED_BACK: &str = "ECS rolled the service back to ";
/// What the sentence of [`RolloutFailureReason::TasksStopping`] ends with,
/// after the count.
const TASKS_STOPPING: &str = " new tasks stopped after they ran (a crash loop)";
/// What the sentence of [`RolloutFailureReason::ProgressDeadlineExceeded`]
/// starts with, before the seconds and `s`.
const NO_PROGRESS: &str = "no progress within the progress deadline of ";
/// What the sentence of [`RolloutFailureReason::DeploymentRolledBack`]
/// starts with, before the cause.
const DEPLOYMENT_ROLLED_BACK: &str = "rolled back: ";

impl RolloutFailureReason {
    /// The reason a written sentence stands for; never fails: what is not
    /// Ferry's own sentence is ECS's.
    pub fn parse(text: &str) -> Self {
        if text == UNEXPLAINED {
            return RolloutFailureReason::Unexplained;
        }
        if let Some(stops) = text
            .strip_suffix(TASKS_STOPPING)
            .and_then(|n| n.parse().ok())
        {
            return RolloutFailureReason::TasksStopping { stops };
        }
        if let Some(deadline_secs) = text
            .strip_prefix(NO_PROGRESS)
            .and_then(|n| n.strip_suffix('s'))
            .and_then(|n| n.parse().ok())
        {
            return RolloutFailureReason::ProgressDeadlineExceeded { deadline_secs };
        }
        if let Some(cause) = text.strip_prefix(DEPLOYMENT_ROLLED_BACK) {
            return RolloutFailureReason::DeploymentRolledBack {
                cause: cause.to_owned(),
            };
        }
        match text.strip_prefix(ROLLED_BACK) {
            Some(to) => RolloutFailureReason::RolledBack { to: to.to_owned() },
            None => RolloutFailureReason::Ecs(text.to_owned()),
        }
    }

    /// The reason the `Progressing` and `Degraded` conditions give for a
    /// rollout that failed so: Ferry's own judgements have reasons of
    /// their own, ECS's are `RolloutFailed`.
    pub fn condition_reason(&self) -> ConditionReason {
        match self {
            RolloutFailureReason::TasksStopping { .. } => ConditionReason::TasksStopping,
            RolloutFailureReason::ProgressDeadlineExceeded { .. } => {
                ConditionReason::ProgressDeadlineExceeded
            }
            RolloutFailureReason::Ecs(_)
            | RolloutFailureReason::Unexplained
            | RolloutFailureReason::RolledBack { .. }
            | RolloutFailureReason::DeploymentRolledBack { .. } => ConditionReason::RolloutFailed,
        }
    }
}

impl From<&str> for RolloutFailureReason {
    fn from(text: &str) -> Self {
        Self::parse(text)
    }
}

impl fmt::Display for RolloutFailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RolloutFailureReason::Ecs(text) => f.write_str(text),
            RolloutFailureReason::Unexplained => f.write_str(UNEXPLAINED),
            RolloutFailureReason::RolledBack { to } => write!(f, "{ROLLED_BACK}{to}"),
            RolloutFailureReason::TasksStopping { stops } => write!(f, "{stops}{TASKS_STOPPING}"),
            RolloutFailureReason::ProgressDeadlineExceeded { deadline_secs } => {
                write!(f, "{NO_PROGRESS}{deadline_secs}s")
            }
            RolloutFailureReason::DeploymentRolledBack { cause } => {
                write!(f, "{DEPLOYMENT_ROLLED_BACK}{cause}")
            }
        }
    }
}

/// The state of a scheduled process's schedule, as status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScheduleState {
    /// `ENABLED`: Scheduler runs it (the state Ferry makes schedules in).
    Enabled,
    /// `DISABLED`: someone turned it off; the planner turns it on again.
    Disabled,
    /// `PENDING`: the schedule does not exist yet.
    Pending,
    /// A state Scheduler reports that this version of Ferry does not know:
    /// kept as Scheduler wrote it.
    Other(String),
}

impl ScheduleState {
    /// The name status writes: Scheduler's own, or `PENDING`.
    pub fn as_str(&self) -> &str {
        match self {
            ScheduleState::Enabled => ENABLED,
            ScheduleState::Disabled => "DISABLED",
            ScheduleState::Pending => "PENDING",
            ScheduleState::Other(text) => text,
        }
    }

    /// The state a written or observed name stands for; never fails (see
    /// [`ScheduleState::Other`]).
    pub fn parse(text: &str) -> Self {
        [
            ScheduleState::Enabled,
            ScheduleState::Disabled,
            ScheduleState::Pending,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
        .unwrap_or_else(|| ScheduleState::Other(text.to_owned()))
    }
}

impl From<&str> for ScheduleState {
    fn from(text: &str) -> Self {
        Self::parse(text)
    }
}

impl fmt::Display for ScheduleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ConditionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for RolloutStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serde as a plain string, through `Display` and a total `parse`: the
/// words whose text is open.
macro_rules! serde_as_text {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Ok(<$type>::parse(&text))
            }
        }
    };
}

serde_as_text!(ConditionReason);
serde_as_text!(RolloutFailureReason);
serde_as_text!(ScheduleState);

/// Serde as the name `as_str` gives, one of `ALL`'s: the closed
/// vocabularies, where any other name is an error.
macro_rules! serde_by_name {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                <$type>::ALL
                    .into_iter()
                    .find(|known| known.as_str() == text)
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!("unknown {}: {text}", stringify!($type)))
                    })
            }
        }
    };
}

serde_by_name!(ConditionType);
serde_by_name!(ConditionStatus);
serde_by_name!(RolloutStatus);
