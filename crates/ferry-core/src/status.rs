//! App status, derived from what a reconcile saw and did.
//!
//! The JSON form is part of Ferry's contract (`ferry status -o json`); field
//! names follow Kubernetes conventions.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::observed::{Observed, ServiceEvent};
use crate::plan::Plan;
use crate::render::DesiredProcess;

pub const READY: &str = "Ready";
pub const PROGRESSING: &str = "Progressing";
pub const DEGRADED: &str = "Degraded";

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
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
    /// Rollout state of the service's primary deployment.
    pub rollout: Option<String>,
}

/// The last failure of a reconcile, with the AWS call that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastError {
    /// E.g. `ecs:CreateService`.
    pub operation: String,
    pub message: String,
    pub time: String,
}

/// Everything status is derived from.
pub struct StatusInput<'a> {
    pub app: &'a str,
    pub generation: u64,
    pub desired: &'a [DesiredProcess],
    /// State observed before the plan ran.
    pub observed: &'a Observed,
    pub plan: &'a Plan,
    /// Set when executing the plan failed.
    pub error: Option<LastError>,
    /// The status written before, if any: keeps transition times and the
    /// observed generation when this reconcile fails.
    pub previous: Option<&'a AppStatus>,
    pub now: OffsetDateTime,
}

/// Derives status. `observedGeneration` advances only when the whole plan
/// ran without error; `Ready` needs that plus a plan with nothing to do.
pub fn derive(input: StatusInput<'_>) -> AppStatus {
    let now = rfc3339(input.now);
    let acted = input.error.is_none();
    let observed_generation = if acted {
        input.generation
    } else {
        input.previous.map_or(0, |p| p.observed_generation)
    };

    let processes: BTreeMap<String, ProcessStatus> = input
        .desired
        .iter()
        .map(|process| {
            let service = input.observed.services.get(&process.service.name);
            let primary =
                service.and_then(|s| s.deployments.iter().find(|d| d.status == "PRIMARY"));
            (
                process.process.clone(),
                ProcessStatus {
                    desired: process.service.desired_count,
                    running: service.map_or(0, |s| s.running_count),
                    pending: service.map_or(0, |s| s.pending_count),
                    task_definition: service.map(|s| s.task_definition_arn.clone()),
                    rollout: primary.and_then(|d| d.rollout_state.clone()),
                },
            )
        })
        .collect();

    let (ready, progressing, degraded) = conditions(&input, observed_generation);
    let previous = input
        .previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or(&[]);
    let conditions = [ready, progressing, degraded]
        .into_iter()
        .map(|(type_, status, reason, message)| {
            let last_transition_time = previous
                .iter()
                .find(|c| c.type_ == type_ && c.status == status)
                .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
            Condition {
                type_: type_.to_owned(),
                status: status.to_owned(),
                reason,
                message,
                last_transition_time,
            }
        })
        .collect();

    AppStatus {
        name: input.app.to_owned(),
        generation: input.generation,
        observed_generation,
        release: input.generation,
        conditions,
        processes,
        endpoints: Vec::new(),
        events: newest_events(input.observed),
        // Cleared by the first reconcile that succeeds.
        last_error: input.error.clone(),
        last_reconciled: now,
    }
}

type ConditionParts = (&'static str, &'static str, String, String);

fn conditions(
    input: &StatusInput<'_>,
    observed_generation: u64,
) -> (ConditionParts, ConditionParts, ConditionParts) {
    let changes = input.plan.actions.len();
    let in_progress: Vec<&str> = input
        .desired
        .iter()
        .filter(|p| {
            input
                .observed
                .services
                .get(&p.service.name)
                .and_then(|s| s.deployments.iter().find(|d| d.status == "PRIMARY"))
                .and_then(|d| d.rollout_state.as_deref())
                == Some("IN_PROGRESS")
        })
        .map(|p| p.process.as_str())
        .collect();

    let degraded = if let Some(error) = &input.error {
        (
            DEGRADED,
            "True",
            "ReconcileError".to_owned(),
            format!("{}: {}", error.operation, error.message),
        )
    } else if let Some(blocker) = input.plan.blockers.first() {
        let all: Vec<String> = input
            .plan
            .blockers
            .iter()
            .map(|b| format!("{}: {}", b.process, b.message))
            .collect();
        (DEGRADED, "True", blocker.reason.clone(), all.join("; "))
    } else {
        (DEGRADED, "False", "AsExpected".to_owned(), String::new())
    };

    let progressing = if changes > 0 && input.error.is_none() {
        let touched: BTreeSet<&str> = input.plan.actions.iter().map(|a| a.target()).collect();
        (
            PROGRESSING,
            "True",
            "Converging".to_owned(),
            format!(
                "applied {changes} change(s) to {}",
                touched.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
    } else if !in_progress.is_empty() {
        (
            PROGRESSING,
            "True",
            "RolloutInProgress".to_owned(),
            format!("ECS rollout in progress for {}", in_progress.join(", ")),
        )
    } else {
        (PROGRESSING, "False", "AsExpected".to_owned(), String::new())
    };

    let ready = if observed_generation < input.generation {
        (
            READY,
            "False",
            "GenerationNotObserved".to_owned(),
            format!(
                "generation {} not yet acted on (observed {observed_generation})",
                input.generation
            ),
        )
    } else if input.error.is_some() || !input.plan.blockers.is_empty() {
        (
            READY,
            "False",
            "Degraded".to_owned(),
            "see the Degraded condition".to_owned(),
        )
    } else if changes > 0 {
        (
            READY,
            "False",
            "Converging".to_owned(),
            format!("{changes} change(s) applied, waiting to observe them"),
        )
    } else {
        (
            READY,
            "True",
            "Converged".to_owned(),
            format!("all {} process(es) match the spec", input.desired.len()),
        )
    };
    (ready, progressing, degraded)
}

fn newest_events(observed: &Observed) -> Vec<ServiceEvent> {
    let mut events: Vec<ServiceEvent> = observed
        .services
        .values()
        .flat_map(|s| s.events.iter().cloned())
        .collect();
    // RFC 3339 in one offset sorts as text.
    events.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    let mut seen = BTreeSet::new();
    events.retain(|e| seen.insert(e.message.clone()));
    events.truncate(MAX_EVENTS);
    events
}

/// Formats a time the way status stores it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

impl AppStatus {
    /// The condition of the given type, if present.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// True when the `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.condition(READY).is_some_and(|c| c.status == "True")
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
