//! The one decision a reconcile makes: from what is wanted, what exists and
//! what was reported before, everything the controller does next.
//!
//! A reconcile is observe → [`decide`] → execute → write. [`decide`] is
//! pure: the same input gives the same decision, time included (it is
//! passed in). It settles, in one place:
//! - the ordered actions and the blockers ([`crate::plan::plan_app`]), or
//!   none but blockers for an app whose roles the controller may not pass
//!   ([`crate::plan::roles`]);
//! - the no-repush rule: a generation whose rollout failed is not pushed
//!   again (ECS rolled it back; pushing it would flap and clutter task
//!   definitions) until a new generation arrives;
//! - which actions undo drift, for status and metrics;
//! - whether a deleted app's resources are all gone (finalize);
//! - the new status and the release outcomes its transition settles;
//! - when to look again.
//!
//! Executing can fail part-way; [`Decision::failed`] then gives the status
//! and outcomes to write instead, from the same decision.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::action::Plan;
use ferry_manifest::App;

use crate::model::desired::{DesiredProcess, DesiredSchedule, Settings};
use crate::model::observed::{Observed, ServiceStatus};
use crate::model::ownership::{self, Ownership};
use crate::model::status::{AppStatus, ConditionStatus, LastError, PROGRESSING};
use crate::model::traffic::ObservedTraffic;
use crate::plan::{self, plan_app};
use crate::render;
use crate::restart::{self, Restart};
use crate::status::report::{self, StatusInput};
use crate::status::rollout::{self, Judging, RolloutState};
use crate::status::schedule as schedule_status;

/// How soon an app is looked at again while it converges or rolls out.
pub const PROGRESS_REQUEUE: Duration = Duration::from_secs(2);

/// The app a decision is about, as the store holds it.
#[derive(Debug, Clone, Copy)]
pub struct AppRef<'a> {
    pub name: &'a str,
    pub generation: u64,
    /// Marked for deletion: everything it owns goes, then the app.
    pub deleting: bool,
    /// The last `ferry restart`, if any (pending or done).
    pub restart: Option<&'a Restart>,
}

/// Everything a decision is made from.
pub struct Input<'a> {
    pub app: AppRef<'a>,
    /// The app's spec: what it should have is rendered from it (nothing,
    /// once it is being deleted).
    pub spec: &'a App,
    /// The controller's settings: where and as whom things are made.
    pub settings: &'a Settings,
    /// The app's slice of the observed services and task definitions.
    pub observed: &'a Observed,
    /// The app's slice of the observed load balancers and records.
    pub observed_traffic: &'a ObservedTraffic,
    /// The status written last, if any.
    pub previous: Option<&'a AppStatus>,
    pub now: OffsetDateTime,
}

/// How a release's rollout ended, as the controller decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReleaseOutcome {
    /// Every process of the release converged.
    Succeeded,
    /// The rollout failed (e.g. the ECS deployment circuit breaker rolled
    /// it back); the controller does not push this spec again.
    Failed,
    /// A newer generation arrived before this one's rollout was decided.
    Superseded,
}

impl ReleaseOutcome {
    /// The stored (and displayed) form: `succeeded`, `failed`, `superseded`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseOutcome::Succeeded => "succeeded",
            ReleaseOutcome::Failed => "failed",
            ReleaseOutcome::Superseded => "superseded",
        }
    }

    /// The inverse of [`ReleaseOutcome::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Succeeded, Self::Failed, Self::Superseded]
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }
}

impl std::fmt::Display for ReleaseOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A release outcome to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseChange {
    pub version: u64,
    pub outcome: ReleaseOutcome,
    /// Why, for a failure: the process, the reason, and the last failed
    /// task's summary when one was seen.
    pub reason: Option<String>,
}

/// When the controller should reconcile the app again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookAgain {
    /// Nothing is changing: the next resync is soon enough.
    AtResync,
    /// A change or a rollout is under way.
    After(Duration),
    /// Executing failed: retry after the work queue's backoff.
    Backoff,
}

/// Everything a reconcile does next.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The actions to execute, in order, and what blocks the rest.
    pub plan: Plan,
    /// Actions the planner found but that are not pushed, because the
    /// rollout of this generation failed.
    pub held_back: usize,
    /// One line per action that undoes a change made outside Ferry.
    pub corrections: Vec<String>,
    /// The app is being deleted and nothing of it is left: remove it.
    pub finalize: bool,
    /// The status to write once the plan has run.
    pub status: AppStatus,
    /// Release outcomes the status transition settles; record them before
    /// the status, so a failure to record one is seen again next time.
    pub release_outcomes: Vec<ReleaseChange>,
    pub look_again: LookAgain,
    /// What [`Decision::failed`] derives the status from again.
    basis: Basis,
}

#[derive(Debug, Clone)]
struct Basis {
    app: String,
    generation: u64,
    desired: Vec<DesiredProcess>,
    schedules: Vec<DesiredSchedule>,
    endpoints: BTreeMap<String, Vec<String>>,
    observed: Observed,
    previous: Option<AppStatus>,
    crash_loop_stops: u32,
    now: OffsetDateTime,
}

/// Decides what to do about one app. Pure.
pub fn decide(input: Input<'_>) -> Decision {
    let app = input.app;
    let owner = input.settings.owner.as_str();
    let desired = &render::desired(input.spec, app.deleting, input.settings);
    let role_blockers = if app.deleting {
        Vec::new()
    } else {
        plan::roles::role_blockers(input.spec, &input.settings.app_role_path)
    };
    let planned = if role_blockers.is_empty() {
        plan_app(
            app.name,
            owner,
            &input.settings.traffic,
            desired,
            input.observed,
            input.observed_traffic,
        )
    } else {
        // IAM would refuse every registration: change nothing at all.
        Plan {
            actions: Vec::new(),
            blockers: role_blockers,
        }
    };
    let failed = !app.deleting
        && rollout::assess(
            app.generation,
            &desired.processes,
            input.observed,
            input.previous,
            Judging {
                crash_loop_stops: input.settings.crash_loop_stops,
                now: input.now,
            },
        )
        .values()
        .any(|r| matches!(r.state, RolloutState::Failed { .. }));
    let (mut plan, held_back) = if failed {
        let held_back = planned.actions.len();
        (
            Plan {
                actions: Vec::new(),
                blockers: planned.blockers,
            },
            held_back,
        )
    } else {
        (planned, 0)
    };
    // A restart rides on this reconcile unless the generation failed (ECS
    // rolled it back; a new deployment would only repeat that).
    if let Some(pending) = app
        .restart
        .filter(|r| !app.deleting && !failed && r.is_pending(input.previous))
    {
        restart::force_new_deployments(&mut plan, pending, &desired.processes, input.observed);
    }
    let corrections = if report::drift(input.previous, app.generation, &plan, app.deleting) {
        plan.actions.iter().map(ToString::to_string).collect()
    } else {
        Vec::new()
    };
    let finalize = app.deleting
        && plan.actions.is_empty()
        && !input.observed.services.values().any(|s| {
            s.status == ServiceStatus::Active
                && ownership::ownership(&s.tags, owner, app.name) == Ownership::Ours
        })
        && !input
            .observed
            .schedules
            .values()
            .any(|s| plan::schedule::ownership(s, owner, app.name) == Ownership::Ours);
    let basis = Basis {
        app: app.name.to_owned(),
        generation: app.generation,
        desired: desired.processes.clone(),
        schedules: desired.schedules.clone(),
        endpoints: desired.traffic.endpoints.clone(),
        observed: input.observed.clone(),
        previous: input.previous.cloned(),
        crash_loop_stops: input.settings.crash_loop_stops,
        now: input.now,
    };
    let status = basis.derive(&plan, &corrections, None);
    let release_outcomes = release_outcomes(input.previous, &status);
    let look_again = look_again(&status);
    Decision {
        plan,
        held_back,
        corrections,
        finalize,
        status,
        release_outcomes,
        look_again,
        basis,
    }
}

impl Decision {
    /// The decision after executing stopped with `error` once `completed`
    /// actions had run: status keeps the observed generation, reports the
    /// failed call and only the corrections that were made; nothing is
    /// finalized; the app is retried after backoff.
    pub fn failed(mut self, completed: usize, error: LastError) -> Decision {
        self.corrections.truncate(completed);
        self.status = self
            .basis
            .derive(&self.plan, &self.corrections, Some(error));
        self.release_outcomes = release_outcomes(self.basis.previous.as_ref(), &self.status);
        self.finalize = false;
        self.look_again = LookAgain::Backoff;
        self
    }

    /// Whether the status differs from the one written before (apart from
    /// the time): only then is it written.
    pub fn status_changed(&self) -> bool {
        self.basis
            .previous
            .as_ref()
            .is_none_or(|p| !p.same_as(&self.status))
    }
}

impl Basis {
    fn derive(&self, plan: &Plan, corrections: &[String], error: Option<LastError>) -> AppStatus {
        let mut status = report::derive(StatusInput {
            app: &self.app,
            generation: self.generation,
            desired: &self.desired,
            scheduled: self.schedules.len(),
            observed: &self.observed,
            plan,
            error,
            previous: self.previous.as_ref(),
            corrections,
            endpoints: &self.endpoints,
            crash_loop_stops: self.crash_loop_stops,
            now: self.now,
        });
        status.schedules = schedule_status::status(
            &self.schedules,
            &self.observed,
            self.previous.as_ref().map(|p| &p.schedules),
        );
        status
    }
}

fn look_again(status: &AppStatus) -> LookAgain {
    let progressing = status
        .condition(PROGRESSING)
        .is_some_and(|c| c.status == ConditionStatus::True);
    if progressing {
        LookAgain::After(PROGRESS_REQUEUE)
    } else {
        LookAgain::AtResync
    }
}

/// The release outcomes a status transition settles: the generation that
/// failed or succeeded, and a generation left unfinished by a newer one.
fn release_outcomes(previous: Option<&AppStatus>, next: &AppStatus) -> Vec<ReleaseChange> {
    if previous.is_some_and(|p| p.same_as(next)) {
        return Vec::new();
    }
    let mut outcomes = Vec::new();
    if let Some(failure) = &next.failure {
        // Recorded again when the record's last failure or its reason
        // changed: a log tail is read after the task is described, and a
        // rollback's cause (the alarms) after ECS went back; the release's
        // reason should carry both (the store overwrites the reason).
        let known = previous.and_then(|p| p.failure.as_ref()).is_some_and(|f| {
            f.generation == failure.generation
                && f.last_failure == failure.last_failure
                && f.reason == failure.reason
        });
        if !known {
            let why = failure
                .last_failure
                .as_ref()
                .map(|last| format!("; {}", last.summary()))
                .unwrap_or_default();
            outcomes.push(ReleaseChange {
                version: failure.generation,
                outcome: ReleaseOutcome::Failed,
                reason: Some(format!("{}: {}{why}", failure.process, failure.reason)),
            });
        }
    }
    if let Some(succeeded) = next.succeeded {
        if previous.and_then(|p| p.succeeded) != Some(succeeded) {
            outcomes.push(ReleaseChange {
                version: succeeded,
                outcome: ReleaseOutcome::Succeeded,
                reason: None,
            });
        }
    }
    if let Some(previous) = previous {
        let settled = previous.succeeded == Some(previous.generation)
            || previous
                .failure
                .as_ref()
                .is_some_and(|f| f.generation == previous.generation);
        if previous.generation < next.generation && previous.generation > 0 && !settled {
            outcomes.push(ReleaseChange {
                version: previous.generation,
                outcome: ReleaseOutcome::Superseded,
                reason: None,
            });
        }
    }
    outcomes
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
