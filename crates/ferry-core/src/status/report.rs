//! Status, derived from what a reconcile saw and did: the pure function
//! behind the status part of [`crate::decide()`].

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::rollout::{self, Judging, RolloutState};
use crate::model::action::Plan;
use crate::model::desired::DesiredProcess;
use crate::model::observed::{DeploymentStatus, EcsRolloutState, Observed, ServiceEvent};
use crate::model::reasons::RolloutFailureReason;
use crate::model::status::{
    rfc3339, AppStatus, Condition, ConditionReason, ConditionStatus, ConditionType, LastError,
    LastFailure, ProcessStatus, RolloutFailure, RolloutStatus, ScalingStatus, DEGRADED, MAX_EVENTS,
    PROGRESSING, READY,
};

/// Everything status is derived from.
pub struct StatusInput<'a> {
    pub app: &'a str,
    pub generation: u64,
    pub desired: &'a [DesiredProcess],
    /// How many scheduled processes the app has (they have no service, and
    /// their schedules' status is derived apart): counted in `Ready`'s
    /// message.
    pub scheduled: usize,
    /// State observed before the plan ran.
    pub observed: &'a Observed,
    pub plan: &'a Plan,
    /// Set when executing the plan failed.
    pub error: Option<LastError>,
    /// The status written before, if any: keeps transition times, events
    /// and the observed generation when this reconcile fails.
    pub previous: Option<&'a AppStatus>,
    /// Drift this reconcile undid (see [`drift`]), one line per action.
    pub corrections: &'a [String],
    /// URLs per process, as rendered.
    pub endpoints: &'a BTreeMap<String, Vec<String>>,
    /// The controller's `--crash-loop-stops`.
    pub crash_loop_stops: u32,
    pub now: OffsetDateTime,
}

/// Whether a plan for `generation` undoes changes made outside Ferry: the
/// previous status says the whole plan for this very generation already ran
/// with nothing in the way, so anything left to do was done by someone else
/// (a console edit, a deleted service). An app being deleted never drifts.
pub fn drift(previous: Option<&AppStatus>, generation: u64, plan: &Plan, deleting: bool) -> bool {
    let Some(previous) = previous else {
        return false;
    };
    !deleting
        && !plan.actions.is_empty()
        && previous.observed_generation == generation
        && previous
            .condition(DEGRADED)
            .is_none_or(|c| c.status != ConditionStatus::True)
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

    let rollouts = rollout::assess(
        input.generation,
        input.desired,
        input.observed,
        input.previous,
        Judging {
            crash_loop_stops: input.crash_loop_stops,
            now: input.now,
        },
    );
    let processes: BTreeMap<String, ProcessStatus> = input
        .desired
        .iter()
        .map(|process| {
            let service = input.observed.services.get(&process.service.name);
            let rollout = rollouts.get(&process.process);
            let (state, reason) = match rollout.map(|r| &r.state) {
                Some(RolloutState::Completed) => (RolloutStatus::Completed, None),
                Some(RolloutState::Failed { reason }) => {
                    (RolloutStatus::Failed, Some(reason.clone()))
                }
                Some(RolloutState::InProgress) | None => (RolloutStatus::InProgress, None),
            };
            let desired = input.observed.settled_count(process);
            (
                process.process.clone(),
                ProcessStatus {
                    desired,
                    autoscaling: process.autoscaling.as_ref().map(|a| ScalingStatus {
                        min: a.min,
                        max: a.max,
                        current: desired,
                    }),
                    running: service.map_or(0, |s| s.running_count),
                    pending: service.map_or(0, |s| s.pending_count),
                    task_definition: service.map(|s| s.task_definition_arn.clone()),
                    rollout: service.map(|_| state),
                    rollout_reason: reason,
                    new_task_definition: rollout.and_then(|r| r.primary.clone()),
                    old_task_definitions: rollout.map(|r| r.old.clone()).unwrap_or_default(),
                    failed_tasks: rollout.map_or(0, |r| r.failed_tasks),
                    endpoints: input
                        .endpoints
                        .get(&process.process)
                        .cloned()
                        .unwrap_or_default(),
                    last_failure: rollout.and_then(|r| r.last_failure.clone()),
                    crashed_tasks: rollout.map_or(0, |r| r.crashed_tasks),
                    progress: rollout.and_then(|r| r.progress.clone()),
                    deployment: rollout.and_then(|r| r.deployment.clone()),
                },
            )
        })
        .collect();
    let failure = rollouts
        .iter()
        .find_map(|(process, r)| match &r.state {
            RolloutState::Failed { reason } => Some(RolloutFailure {
                generation: input.generation,
                process: process.clone(),
                task_definition: r.wanted.clone().unwrap_or_default(),
                reason: reason.clone(),
                events: r.events.clone(),
                last_failure: r.last_failure.clone(),
            }),
            _ => None,
        })
        .map(|fresh| first_record(input.previous, fresh));
    let all_completed = rollouts
        .values()
        .all(|r| r.state == RolloutState::Completed);

    let (ready, progressing, degraded) =
        conditions(&input, observed_generation, failure.as_ref(), all_completed);
    let previous = input
        .previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or(&[]);
    let conditions: Vec<Condition> = [ready, progressing, degraded]
        .into_iter()
        .map(|(type_, status, reason, message)| {
            let last_transition_time = previous
                .iter()
                .find(|c| c.type_ == type_ && c.status == status)
                .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
            Condition {
                type_,
                status,
                reason,
                message,
                last_transition_time,
            }
        })
        .collect();

    let ready_now = conditions
        .iter()
        .any(|c: &Condition| c.type_ == READY && c.status == ConditionStatus::True);
    AppStatus {
        name: input.app.to_owned(),
        generation: input.generation,
        observed_generation,
        release: input.generation,
        conditions,
        processes,
        endpoints: {
            let mut all: Vec<String> = Vec::new();
            for url in input.endpoints.values().flatten() {
                if !all.contains(url) {
                    all.push(url.clone());
                }
            }
            all
        },
        events: newest_events(&input, &now),
        // Cleared by the first reconcile that succeeds.
        last_error: input.error.clone(),
        last_reconciled: now,
        succeeded: if ready_now {
            Some(input.generation)
        } else {
            input.previous.and_then(|p| p.succeeded)
        },
        failure,
        // Filled by the decision, which knows the desired schedules.
        schedules: BTreeMap::new(),
    }
}

type ConditionParts = (ConditionType, ConditionStatus, ConditionReason, String);

fn conditions(
    input: &StatusInput<'_>,
    observed_generation: u64,
    failure: Option<&RolloutFailure>,
    all_completed: bool,
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
                .and_then(|s| {
                    s.deployments
                        .iter()
                        .find(|d| d.status == DeploymentStatus::Primary)
                })
                .and_then(|d| d.rollout_state)
                == Some(EcsRolloutState::InProgress)
        })
        .map(|p| p.process.as_str())
        .collect();

    let degraded = if let Some(error) = &input.error {
        (
            DEGRADED,
            ConditionStatus::True,
            ConditionReason::ReconcileError,
            format!("{}: {}", error.operation, error.message),
        )
    } else if let Some(failure) = failure {
        (
            DEGRADED,
            ConditionStatus::True,
            failure.reason.condition_reason(),
            failure_sentence(failure),
        )
    } else if let Some(blocker) = input.plan.blockers.first() {
        let all: Vec<String> = input
            .plan
            .blockers
            .iter()
            .map(|b| format!("{}: {}", b.process, b.message))
            .collect();
        (
            DEGRADED,
            ConditionStatus::True,
            blocker.reason.into(),
            all.join("; "),
        )
    } else {
        (
            DEGRADED,
            ConditionStatus::False,
            ConditionReason::AsExpected,
            String::new(),
        )
    };

    let progressing = if let Some(failure) = failure {
        (
            PROGRESSING,
            ConditionStatus::False,
            failure.reason.condition_reason(),
            format!("the rollout of process {} failed", failure.process),
        )
    } else if changes > 0 && input.error.is_none() {
        let touched: BTreeSet<&str> = input.plan.actions.iter().map(|a| a.target()).collect();
        (
            PROGRESSING,
            ConditionStatus::True,
            ConditionReason::Converging,
            format!(
                "applied {changes} change(s) to {}",
                touched.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
    } else if !in_progress.is_empty() || !all_completed {
        (
            PROGRESSING,
            ConditionStatus::True,
            ConditionReason::RolloutInProgress,
            format!(
                "ECS rollout in progress for {}",
                if in_progress.is_empty() {
                    "the app".to_owned()
                } else {
                    in_progress.join(", ")
                }
            ),
        )
    } else {
        (
            PROGRESSING,
            ConditionStatus::False,
            ConditionReason::AsExpected,
            String::new(),
        )
    };

    let ready = if observed_generation < input.generation {
        let (reason, message) =
            crate::model::status::not_observed(input.generation, observed_generation);
        (READY, ConditionStatus::False, reason, message)
    } else if input.error.is_some() || !input.plan.blockers.is_empty() || failure.is_some() {
        (
            READY,
            ConditionStatus::False,
            ConditionReason::Degraded,
            "see the Degraded condition".to_owned(),
        )
    } else if changes > 0 {
        (
            READY,
            ConditionStatus::False,
            ConditionReason::Converging,
            format!("{changes} change(s) applied, waiting to observe them"),
        )
    } else if !all_completed {
        (
            READY,
            ConditionStatus::False,
            ConditionReason::RolloutInProgress,
            format!(
                "waiting for the rollout of {}",
                if in_progress.is_empty() {
                    "every process".to_owned()
                } else {
                    in_progress.join(", ")
                }
            ),
        )
    } else {
        (
            READY,
            ConditionStatus::True,
            ConditionReason::Converged,
            format!(
                "all {} process(es) match the spec",
                input.desired.len() + input.scheduled
            ),
        )
    };
    (ready, progressing, degraded)
}

/// The record of a failure: the first one made for its generation and
/// process, whose events and last failure explain it. That task's log
/// tail may come later (it is read after the task is described), and a
/// record made before any task was seen takes the first one seen.
fn first_record(previous: Option<&AppStatus>, fresh: RolloutFailure) -> RolloutFailure {
    let Some(mut first) = previous
        .and_then(|p| p.failure.clone())
        .filter(|f| f.generation == fresh.generation && f.process == fresh.process)
    else {
        return fresh;
    };
    let same_task = |seen: &LastFailure| {
        first
            .last_failure
            .as_ref()
            .is_none_or(|f| f.task == seen.task)
    };
    if let Some(seen) = fresh.last_failure.filter(same_task) {
        first.last_failure = Some(seen);
    }
    // A rollback's cause grows exact once ECS's service deployment says
    // which alarms fired (see `rollout`): the record takes it.
    if let (
        RolloutFailureReason::DeploymentRolledBack { .. },
        RolloutFailureReason::DeploymentRolledBack { .. },
    ) = (&first.reason, &fresh.reason)
    {
        first.reason = fresh.reason;
    }
    first
}

/// The `Degraded` message of a failed rollout: one sentence. ECS's events,
/// stop reasons and log lines are shown apart (status's events and
/// `lastFailure`), never inside it.
fn failure_sentence(failure: &RolloutFailure) -> String {
    let what = match failure.reason.condition_reason() {
        // Ferry's own judgements say what failed by themselves.
        ConditionReason::RolloutFailed => format!(
            "the rollout of {} failed: {}",
            failure.task_definition, failure.reason
        ),
        _ => failure.reason.to_string(),
    };
    // ECS ends its reasons with a full stop; the sentence goes on.
    let what = what.trim_end().trim_end_matches('.');
    let sentence = format!(
        "process {}: {what}; Ferry will not retry this generation, apply a new one or roll back.",
        failure.process
    );
    // ECS's reason is its own text: keep the message on one line.
    sentence.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// ECS's service events merged with Ferry's own (drift it corrected) and
/// those reported before, newest first, one per message.
fn newest_events(input: &StatusInput<'_>, now: &str) -> Vec<ServiceEvent> {
    let corrections = input
        .corrections
        .iter()
        .enumerate()
        .map(|(i, message)| ServiceEvent {
            id: format!("ferry-{now}-{i}"),
            created_at: now.to_owned(),
            message: format!("(ferry) corrected drift: {message}"),
        });
    let mut events: Vec<ServiceEvent> = corrections
        .chain(
            input
                .observed
                .services
                .values()
                .flat_map(|s| s.events.iter().cloned()),
        )
        .chain(
            input
                .previous
                .into_iter()
                .flat_map(|p| p.events.iter().cloned()),
        )
        .collect();
    // RFC 3339 in one offset sorts as text; the sort is stable, so among
    // equal times this reconcile's corrections stay first.
    events.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    let mut seen = BTreeSet::new();
    events.retain(|e| seen.insert(e.message.clone()));
    events.truncate(MAX_EVENTS);
    events
}

#[cfg(test)]
#[path = "report_tests.rs"]
pub(crate) mod tests;
