//! How each process's rollout stands, judged from ECS's deployments.
//!
//! ECS runs a rolling deployment per change of task definition: a new
//! PRIMARY deployment starts tasks while the previous ones (ACTIVE) drain.
//! With the deployment circuit breaker on and rollback enabled, a
//! deployment whose tasks keep failing goes FAILED and ECS rolls the
//! service back to the last deployment that completed. A tool that only
//! looks at the service's final state calls that a success; Ferry does not.
//!
//! A rollout of the task definition Ferry wants has failed when
//! - a deployment running it is in rollout state FAILED, or
//! - the status written before saw that task definition rolling out (in
//!   progress) as the PRIMARY deployment for this very generation, and the
//!   PRIMARY now runs another one: ECS rolled it back before Ferry looked
//!   again. Once a rollout completed, a different PRIMARY is drift (a
//!   console edit), which the planner corrects.
//!
//! Caveat: a console edit of the task definition during a rollout looks
//! like a rollback, and is reported as a failed rollout.
//!
//! Where ECS has not judged, Ferry judges a rollout still in progress
//! itself (ECS's judgements come first):
//! - a crash loop: [`Judging::crash_loop_stops`] tasks of the new
//!   deployment crashed after they ran ([`failures`]), which ECS's circuit
//!   breaker never judges;
//! - the progress deadline: no progress within the process's
//!   `progressDeadline` ([`progress`]).
//!
//! A rollout ECS calls complete is complete for Ferry only once its new
//! tasks have run [`MIN_STABLE_SECS`] since the last progress and the last
//! crash (as Kubernetes' `minReadySeconds`, for the rollout as a whole).
//! ECS completes a deployment as soon as its tasks run (and pass health
//! checks), so a version that crashes a few seconds after it starts would
//! otherwise be reported a success, then crash-loop in a service ECS
//! calls steady. The window applies only to a rollout the status before
//! saw in progress: a service found completed (a controller that restarts,
//! a scale-out) is not held back.
//!
//! For a strategy other than `rolling` (blue/green, canary, linear), ECS
//! judges the rollout itself, and its service deployment is the verdict
//! ([`deployment`]): complete on `SUCCESSFUL`, with no stable window (ECS's
//! bake is the window), and failed ([`RolloutFailureReason::DeploymentRolledBack`])
//! once it rolls back or stops. Until the adapter has described the
//! service deployment, `deployments[]` are judged as above, but a rollout
//! is never called complete while ECS is still deploying (a blue/green
//! deployment's PRIMARY runs all its tasks while it still bakes). The
//! crash-loop count applies as for `rolling`; the progress deadline only
//! while the new revision scales up (a bake or an approval waits by
//! design).
//!
//! A failure is sticky for its generation (it is carried in status), so the
//! controller never pushes the same spec again: only a new generation acts.
//! So is the last failure of a failed rollout: once ECS has rolled the
//! failed deployment away and its tasks are no longer observed, the one
//! the status before showed is kept.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::deployment::{self, Before, Verdict};
use super::{failures, progress};
use crate::model::deployments::{DeploymentView, LifecycleStage, ObservedServiceDeployment};
use crate::model::desired::DesiredProcess;
use crate::model::observed::{DeploymentStatus, EcsRolloutState, Observed, ObservedService};
use crate::model::status::{
    AppStatus, LastFailure, ProcessStatus, RolloutFailureReason, RolloutProgress, RolloutStatus,
};

/// How many service events explain a failure.
pub const FAILURE_EVENTS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutState {
    /// The PRIMARY deployment runs the wanted task definition at the
    /// desired count, and nothing else is left.
    Completed,
    InProgress,
    Failed {
        reason: RolloutFailureReason,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRollout {
    pub state: RolloutState,
    /// The task definition Ferry wants the process to run, once it exists.
    pub wanted: Option<String>,
    /// The PRIMARY deployment's task definition.
    pub primary: Option<String>,
    /// Task definitions of older deployments still running.
    pub old: Vec<String>,
    pub failed_tasks: u32,
    /// The service's newest event messages, newest first.
    pub events: Vec<String>,
    /// Tasks of the new deployments that crashed after they ran.
    pub crashed_tasks: u32,
    /// The newest failed task of the new deployments (or, once the
    /// rollout failed and they are gone, the one seen before).
    pub last_failure: Option<LastFailure>,
    /// Set while the rollout is in progress.
    pub progress: Option<RolloutProgress>,
    /// The service deployment of this rollout, for a strategy other than
    /// `rolling`, once the adapter described it (while it holds no
    /// description, the one the status before showed, if the service is
    /// still on it): shown in progress, after a failure, and after success
    /// until the next deployment.
    pub deployment: Option<DeploymentView>,
}

/// What Ferry's own judgements need beyond what ECS says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judging {
    /// This many crashes of the new deployments fail the rollout (the
    /// controller's `--crash-loop-stops`; 0 counts as 1).
    pub crash_loop_stops: u32,
    /// The time of the reconcile: progress deadlines are measured to it.
    pub now: OffsetDateTime,
}

/// The wanted revision of a process: the newest one of its family with the
/// desired content (what the planner points the service at).
pub fn wanted_revision(process: &DesiredProcess, observed: &Observed) -> Option<String> {
    observed
        .latest_task_definitions
        .get(&process.task_definition.family)
        .filter(|td| td.spec == process.task_definition)
        .map(|td| td.arn.clone())
        .or_else(|| {
            // A service may run a matching revision that is not the newest.
            observed
                .services
                .get(&process.service.name)
                .filter(|s| s.task_definition.as_ref() == Some(&process.task_definition))
                .map(|s| s.task_definition_arn.clone())
        })
}

/// The events that explain a rollout best: those about failures and
/// rollbacks first (by the time Ferry looks, a completed rollback has
/// pushed them below "steady state"), then the newest; at most
/// [`FAILURE_EVENTS`], each group newest first.
fn explaining_events(service: &ObservedService) -> Vec<String> {
    let telling =
        |m: &String| m.contains("fail") || m.contains("rolling back") || m.contains("unable");
    let (mut events, rest): (Vec<String>, Vec<String>) = service
        .events
        .iter()
        .map(|e| e.message.clone())
        .partition(telling);
    events.truncate(FAILURE_EVENTS);
    let room = FAILURE_EVENTS - events.len();
    events.extend(rest.into_iter().take(room));
    events
}

/// Assesses every desired process's rollout for `generation`.
pub fn assess(
    generation: u64,
    desired: &[DesiredProcess],
    observed: &Observed,
    previous: Option<&AppStatus>,
    judging: Judging,
) -> BTreeMap<String, ProcessRollout> {
    desired
        .iter()
        .map(|process| {
            let service = observed.services.get(&process.service.name);
            let wanted = wanted_revision(process, observed);
            let count = observed.settled_count(process);
            let failures = match (service, wanted.as_deref()) {
                (Some(service), Some(wanted)) => failures::of_process(
                    service,
                    wanted,
                    observed
                        .stopped_tasks
                        .get(&service.name)
                        .map_or(&[], Vec::as_slice),
                ),
                _ => failures::ProcessFailures::default(),
            };
            let before = previous.and_then(|p| p.processes.get(&process.process));
            let ecs = ecs_side(
                generation,
                process,
                service,
                wanted.as_deref(),
                observed,
                previous,
            );
            let mut rollout =
                assess_one(generation, process, service, wanted, previous, count, ecs);
            rollout.deployment = match ecs.deployment {
                Some(d) => Some(deployment::view(
                    &process.service.deployment,
                    d,
                    before.and_then(|b| b.deployment.as_ref()),
                    judging.now,
                )),
                None => ecs.kept.cloned(),
            };
            judge(
                &mut rollout,
                process,
                service,
                failures,
                before,
                judging,
                ecs.deployment.and_then(|d| d.lifecycle_stage),
            );
            if matches!(rollout.state, RolloutState::Failed { .. }) {
                keep_what_failed(
                    &mut rollout,
                    before.filter(|_| previous.is_some_and(|p| p.generation == generation)),
                );
            }
            (process.process.clone(), rollout)
        })
        .collect()
}

/// How long the new tasks of a rollout ECS calls complete must run since
/// the last progress and the last crash before Ferry calls it complete.
pub const MIN_STABLE_SECS: u32 = 10;

/// Whether the status before saw this rollout (of `wanted`) in progress.
fn was_rolling_out(before: Option<&ProcessStatus>, wanted: Option<&String>) -> bool {
    before.is_some_and(|b| {
        b.rollout == Some(RolloutStatus::InProgress) && b.new_task_definition.as_ref() == wanted
    })
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// Ferry's own judgements of a rollout ECS leaves in progress: a crash
/// loop first (it names what failed), then the progress deadline, then,
/// for one ECS calls complete, whether its new tasks have run
/// [`MIN_STABLE_SECS`] without a crash. Sets the crash count and last
/// failure whatever the state, and the progress while the rollout stays in
/// progress.
///
/// For a strategy other than `rolling`, ECS's `SUCCESSFUL` needs no stable
/// window, and the deadline runs only while `stage` (of ECS's service
/// deployment, `None` until it is described) is scaling up.
fn judge(
    rollout: &mut ProcessRollout,
    process: &DesiredProcess,
    service: Option<&ObservedService>,
    failures: failures::ProcessFailures,
    before: Option<&ProcessStatus>,
    judging: Judging,
    stage: Option<LifecycleStage>,
) {
    let shifts_traffic = process.service.deployment.strategy.shifts_traffic();
    let completed_by_ecs = rollout.state == RolloutState::Completed;
    if completed_by_ecs && (shifts_traffic || !was_rolling_out(before, rollout.wanted.as_ref())) {
        // Nothing is rolling out (or ECS baked it): no "why" to tell.
        return;
    }
    // Until it is stable, a rollout ECS completed is still in progress.
    if completed_by_ecs {
        rollout.state = RolloutState::InProgress;
    }
    rollout.crashed_tasks = failures.crashed_tasks;
    rollout.last_failure = failures.last_failure;
    if rollout.state != RolloutState::InProgress {
        return;
    }
    if rollout.crashed_tasks >= judging.crash_loop_stops.max(1) {
        rollout.state = RolloutState::Failed {
            reason: RolloutFailureReason::TasksStopping {
                stops: rollout.crashed_tasks,
            },
        };
        return;
    }
    if stage.is_some_and(|s| !s.is_scaling_up()) {
        // Baking, shifting traffic or waiting for an approval: by design,
        // not a lack of progress.
        return;
    }
    // A deployment ECS calls COMPLETED is not rolling out (its count
    // changing, a scale-out, has no deadline) unless it is this rollout's,
    // in its stable window.
    let Some((primary, old_running)) = service.and_then(|s| {
        let primary = s.deployments.iter().find(|d| {
            d.status == DeploymentStatus::Primary
                && Some(&d.task_definition_arn) == rollout.wanted.as_ref()
                && (completed_by_ecs || d.rollout_state != Some(EcsRolloutState::Completed))
        })?;
        let old_running = s
            .deployments
            .iter()
            .filter(|d| d.status != DeploymentStatus::Primary)
            .map(|d| d.running_count)
            .sum::<u32>();
        Some((primary, old_running))
    }) else {
        return;
    };
    let tracked = progress::track(
        before.and_then(|b| b.progress.as_ref()),
        primary,
        old_running,
        process.progress_deadline_secs,
        judging.now,
    );
    if tracked.exceeded {
        rollout.state = RolloutState::Failed {
            reason: RolloutFailureReason::ProgressDeadlineExceeded {
                deadline_secs: process.progress_deadline_secs,
            },
        };
        return;
    }
    if completed_by_ecs {
        let calm_from = [
            Some(tracked.progress.since.as_str()),
            failures.newest_crash_at.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter_map(parse_time)
        .max()
        .unwrap_or(judging.now);
        if judging.now >= calm_from + time::Duration::seconds(i64::from(MIN_STABLE_SECS)) {
            rollout.state = RolloutState::Completed;
            rollout.crashed_tasks = 0;
            rollout.last_failure = None;
            return;
        }
    }
    rollout.progress = Some(tracked.progress);
}

/// A failed rollout keeps what the status before (of this generation)
/// showed of it once its tasks are no longer observed: ECS rolls the
/// failed deployment away, and the adapter stops reading its tasks.
fn keep_what_failed(rollout: &mut ProcessRollout, before: Option<&ProcessStatus>) {
    let Some(before) = before else {
        return;
    };
    rollout.crashed_tasks = rollout.crashed_tasks.max(before.crashed_tasks);
    if rollout.last_failure.is_none() {
        rollout.last_failure = before.last_failure.clone();
    }
}

/// What ECS's service deployments say of a process (see [`deployment`]);
/// nothing for a `rolling` one.
#[derive(Clone, Copy, Default)]
struct Ecs<'a> {
    /// The service deployment of this rollout, if described.
    deployment: Option<&'a ObservedServiceDeployment>,
    /// The view the status before showed, kept while not described.
    kept: Option<&'a DeploymentView>,
    /// ECS is still deploying the service ([`deployment::busy`]).
    busy: bool,
}

fn ecs_side<'a>(
    generation: u64,
    process: &DesiredProcess,
    service: Option<&ObservedService>,
    wanted: Option<&str>,
    observed: &'a Observed,
    previous: Option<&'a AppStatus>,
) -> Ecs<'a> {
    let Some(service) = service.filter(|_| process.service.deployment.strategy.shifts_traffic())
    else {
        return Ecs::default();
    };
    let before = Before {
        status: previous.and_then(|p| p.processes.get(&process.process)),
        same_generation: previous.is_some_and(|p| p.generation == generation),
    };
    let kept = deployment::kept_view(
        before.status.and_then(|s| s.deployment.as_ref()),
        observed,
        service,
    );
    Ecs {
        deployment: wanted.and_then(|w| deployment::of_rollout(observed, service, w, before)),
        kept,
        busy: deployment::busy(observed, service, kept),
    }
}

fn assess_one(
    generation: u64,
    process: &DesiredProcess,
    service: Option<&ObservedService>,
    wanted: Option<String>,
    previous: Option<&AppStatus>,
    count: u32,
    ecs: Ecs<'_>,
) -> ProcessRollout {
    let primary = service.and_then(|s| {
        s.deployments
            .iter()
            .find(|d| d.status == DeploymentStatus::Primary)
    });
    let events = service.map(explaining_events).unwrap_or_default();
    let mut rollout = ProcessRollout {
        state: RolloutState::InProgress,
        wanted: wanted.clone(),
        primary: primary.map(|d| d.task_definition_arn.clone()),
        old: service
            .map(|s| {
                s.deployments
                    .iter()
                    .filter(|d| d.status != DeploymentStatus::Primary)
                    .map(|d| d.task_definition_arn.clone())
                    .collect()
            })
            .unwrap_or_default(),
        failed_tasks: service
            .map(|s| s.deployments.iter().map(|d| d.failed_tasks).sum())
            .unwrap_or(0),
        events,
        crashed_tasks: 0,
        last_failure: None,
        progress: None,
        deployment: None,
    };

    // Sticky: a failure recorded for this generation stays. Only the
    // cause of a rollback may grow more exact, once ECS's service
    // deployment says it (the alarms that fired): the state never changes.
    if let Some(failure) = previous
        .and_then(|p| p.failure.as_ref())
        .filter(|f| f.generation == generation && f.process == process.process)
    {
        let refined = match (&failure.reason, ecs.deployment.map(deployment::verdict)) {
            (
                RolloutFailureReason::DeploymentRolledBack { .. },
                Some(Verdict::RolledBack { cause }),
            ) => Some(RolloutFailureReason::DeploymentRolledBack { cause }),
            _ => None,
        };
        rollout.state = RolloutState::Failed {
            reason: refined.unwrap_or_else(|| failure.reason.clone()),
        };
        return rollout;
    }
    let (Some(service), Some(wanted)) = (service, wanted) else {
        return rollout;
    };
    let seen_rolling_out = previous.is_some_and(|p| {
        p.generation == generation
            && p.processes.get(&process.process).is_some_and(|s| {
                s.new_task_definition.as_deref() == Some(wanted.as_str())
                    && s.rollout == Some(RolloutStatus::InProgress)
            })
    });
    let rolled_back_to = rollout
        .primary
        .clone()
        .filter(|p| seen_rolling_out && *p != wanted);
    if let Some(ecs_deployment) = ecs.deployment {
        rollout.state = match deployment::verdict(ecs_deployment) {
            Verdict::RolledBack { cause } => RolloutState::Failed {
                reason: RolloutFailureReason::DeploymentRolledBack { cause },
            },
            // DescribeServices already shows ECS back on the old revision
            // while the service deployment read is a tick behind: a
            // rollback, whose cause the next read makes exact (above).
            // Judging it in progress would push the revision ECS just
            // rolled back again.
            Verdict::Successful | Verdict::InProgress if rolled_back_to.is_some() => {
                RolloutState::Failed {
                    reason: RolloutFailureReason::DeploymentRolledBack {
                        cause: format!(
                            "ECS went back to {}",
                            rolled_back_to.clone().unwrap_or_default()
                        ),
                    },
                }
            }
            // A scale-out after ECS finished is still to come.
            Verdict::Successful if service.running_count >= count => RolloutState::Completed,
            Verdict::Successful | Verdict::InProgress => RolloutState::InProgress,
        };
        return rollout;
    }

    if let Some(failed) = service.deployments.iter().find(|d| {
        d.task_definition_arn == wanted && d.rollout_state == Some(EcsRolloutState::Failed)
    }) {
        rollout.state = RolloutState::Failed {
            reason: failed
                .rollout_state_reason
                .clone()
                .map_or(RolloutFailureReason::Unexplained, RolloutFailureReason::Ecs),
        };
        return rollout;
    }
    if let Some(to) = rolled_back_to {
        rollout.state = RolloutState::Failed {
            reason: RolloutFailureReason::RolledBack { to },
        };
        return rollout;
    }

    let completed = primary.is_some_and(|d| {
        d.task_definition_arn == wanted
            && d.rollout_state
                .is_none_or(|s| s == EcsRolloutState::Completed)
            && d.running_count >= count
    }) && rollout.old.is_empty()
        && service.running_count >= count;
    // ECS's service deployment has the last word for a strategy other
    // than `rolling`: while the one in flight is not known to be finished,
    // the rollout is not complete.
    if completed && !ecs.busy {
        rollout.state = RolloutState::Completed;
    }
    rollout
}

#[cfg(test)]
#[path = "rollout_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "rollout_strategy_tests.rs"]
mod strategy_tests;
