//! Reconciles one app: observe → decide → execute → write.
//!
//! - **observe**: [`World::observe`], a snapshot of ferry-aws's shared
//!   caches (no AWS call, unless the caches lack what the app needs);
//! - **decide**: one call into ferry-core, [`ferry_core::decide()`], pure,
//!   with the time passed in;
//! - **execute**: [`World::execute`] runs the decided actions through the
//!   paced call layer, in order, stopping at the first failure;
//! - **write**: release outcomes and status, fenced by the lease, and only
//!   when the status changed.
//!
//! Level-triggered: a reconcile reads everything it needs each time and
//! never needs to know why it was called, so it is safe to repeat and to
//! cancel at any await. What a leadership term does around reconciles
//! (its listings, progress reads, hygiene) is in [`crate::term`].

use ferry_aws::Snapshot;
use ferry_call::pacing::{self, Claimant};
use ferry_core::decide::{self, AppRef, Decision, Input, LookAgain};
use ferry_core::status::{self, LastError};
use ferry_core::{Action, AppStatus, Settings};
use ferry_store::{AppRecord, Fence};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::adapters::{StatusStore, World};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::runner::{Next, Outcome};
use crate::term_state::TermState;

pub struct Reconciler<W = ferry_aws::Aws, S = ferry_store::Store> {
    pub(crate) world: W,
    pub(crate) store: S,
    pub(crate) settings: Settings,
    pub(crate) metrics: Metrics,
    /// What this leadership term has learnt: see [`TermState`].
    pub(crate) term: TermState,
}

impl<W: World, S: StatusStore> Reconciler<W, S> {
    pub fn new(world: W, store: S, settings: Settings, metrics: Metrics) -> Self {
        Self {
            world,
            store,
            settings,
            metrics,
            term: TermState::default(),
        }
    }

    /// Reconciles one app, writing to the store under `fence`. Every AWS
    /// call it makes waits for its token on behalf of the app, with the
    /// app's last apply as its priority (see [`ferry_call::pacing`]).
    pub async fn reconcile(&self, app: &AppRecord, fence: &Fence) -> Outcome {
        let claimant = Claimant::new(app.name.as_str(), app.applied_at_seconds());
        pacing::on_behalf_of(claimant, self.reconcile_app(app, fence)).await
    }

    async fn reconcile_app(&self, app: &AppRecord, fence: &Fence) -> Outcome {
        let previous = self.term.previous(&app.name);

        // Observe, then decide.
        let mut snapshot = match self.world.observe(&app.spec, app.deleting, None).await {
            Ok(snapshot) => snapshot,
            Err(err) => return self.failed_to_observe(app, fence, previous, err).await,
        };
        self.term.observed(&app.name, &snapshot.desired);
        let mut decision = self.decide(app, Some(&snapshot), previous.as_ref());
        // Rule priorities and the rule quota are shared by every app on a
        // load balancer: a decision that changes traffic is made again,
        // from the inventory as it is under the traffic lock, and its
        // traffic changes are made under it. ECS work never waits for it.
        let mut traffic = None;
        if changes_traffic(&decision) {
            let guard = self.world.hold_traffic().await;
            snapshot = match self
                .world
                .observe(&app.spec, app.deleting, Some(&guard))
                .await
            {
                Ok(snapshot) => snapshot,
                Err(err) => return self.failed_to_observe(app, fence, previous, err).await,
            };
            decision = self.decide(app, Some(&snapshot), previous.as_ref());
            traffic = Some(guard);
        }
        log_decision(&decision);

        // Execute.
        let (decision, failure) = match self.world.execute(&decision.plan, traffic).await {
            Ok(()) => {
                if !decision.plan.actions.is_empty() {
                    info!(actions = decision.plan.actions.len(), "plan executed");
                }
                (decision, None)
            }
            Err(stopped) => {
                warn!(completed = stopped.completed, error = %stopped.error, "plan stopped");
                let failed = decision.failed(stopped.completed, last_error(&stopped.error));
                let error = Error::Execute {
                    completed: stopped.completed,
                    source: stopped.error,
                };
                (failed, Some(error))
            }
        };
        self.metrics
            .drift_corrections_total
            .inc_by(u64::try_from(decision.corrections.len()).unwrap_or(u64::MAX));

        // Write.
        if decision.finalize {
            return self.remove(app, fence).await;
        }
        if self.write(&decision, fence).await {
            self.delete_recorded_dead_letters(&snapshot).await;
        }
        match (failure, decision.look_again) {
            (Some(error), _) => Err(error),
            (None, LookAgain::After(delay)) => Ok(Next::Requeue(delay)),
            (None, LookAgain::AtResync | LookAgain::Backoff) => Ok(Next::Converged),
        }
    }

    /// Decides on `snapshot`, or on nothing observed (`None`).
    fn decide(
        &self,
        app: &AppRecord,
        snapshot: Option<&Snapshot>,
        previous: Option<&AppStatus>,
    ) -> Decision {
        let nothing = Default::default();
        decide::decide(Input {
            app: AppRef {
                name: &app.name,
                generation: app.generation,
                deleting: app.deleting,
                restart: app.restart.as_ref(),
            },
            spec: &app.spec,
            settings: &self.settings,
            observed: snapshot.map_or(&nothing, |s| &s.observed),
            observed_traffic: snapshot.map_or(&Default::default(), |s| &s.traffic),
            previous,
            now: OffsetDateTime::now_utc(),
        })
    }

    /// Reports a failure to read what exists, and asks for a retry: the
    /// decision on nothing observed, failed before its first action.
    async fn failed_to_observe(
        &self,
        app: &AppRecord,
        fence: &Fence,
        previous: Option<AppStatus>,
        err: ferry_aws::Error,
    ) -> Outcome {
        warn!(error = %err, "observing failed");
        let decision = self
            .decide(app, None, previous.as_ref())
            .failed(0, last_error(&err));
        self.write(&decision, fence).await;
        Err(Error::Observe(err))
    }

    /// Removes a deleted app's spec once its resources are gone.
    async fn remove(&self, app: &AppRecord, fence: &Fence) -> Outcome {
        self.store
            .remove_app(&app.name, app.generation, fence)
            .await
            .map_err(Error::Store)?;
        info!("all resources gone, app removed");
        self.term.forget_app(&app.name);
        self.count_conditions();
        Ok(Next::Removed)
    }

    /// Writes a decision's release outcomes, then its status, if the status
    /// changed. Release outcomes come first: if one cannot be written, the
    /// status is not either, so the next reconcile sees the same transition
    /// again. Returns whether the store holds this status now (written, or
    /// unchanged from the one written before). A failed write is logged,
    /// not returned: the next reconcile writes again.
    async fn write(&self, decision: &Decision, fence: &Fence) -> bool {
        if !decision.status_changed() {
            return true;
        }
        ferry_call::failpoint::hit("reconcile.before_status").await;
        let status = &decision.status;
        for change in &decision.release_outcomes {
            info!(version = change.version, outcome = %change.outcome, "release outcome");
            if let Err(err) = self
                .store
                .set_release_outcome(
                    &status.name,
                    change.version,
                    change.outcome,
                    change.reason.as_deref(),
                    fence,
                )
                .await
            {
                warn!(error = %err, version = change.version, "recording the release outcome failed");
                return false;
            }
        }
        match self.store.put_status(status, fence).await {
            Ok(()) => {
                self.term.written(status.clone());
                self.count_conditions();
                true
            }
            Err(err) => {
                warn!(error = %err, "writing status failed");
                false
            }
        }
    }

    /// Deletes the dead letters this reconcile observed, now that the
    /// status the store holds records their failures. A failure is logged:
    /// SQS delivers the messages again, and status shows each failure once.
    async fn delete_recorded_dead_letters(&self, snapshot: &Snapshot) {
        let messages: Vec<String> = snapshot
            .observed
            .schedule_runs
            .values()
            .flat_map(|r| r.dead_letter_messages.iter().cloned())
            .collect();
        if messages.is_empty() {
            return;
        }
        if let Err(err) = self.world.delete_dead_letters(&messages).await {
            warn!(error = %err, "deleting recorded dead letters failed; they are received again");
        }
    }
}

/// Logs what a decision found: blockers, a held-back failed generation,
/// drift it corrects.
fn log_decision(decision: &Decision) {
    for blocker in &decision.plan.blockers {
        warn!(process = %blocker.process, reason = %blocker.reason, "{}", blocker.message);
    }
    if decision.held_back > 0 {
        info!(
            skipped = decision.held_back,
            "the rollout of this generation failed: nothing is pushed until a new one is applied"
        );
    }
    for correction in &decision.corrections {
        warn!(correction = %correction, "correcting drift: a change made outside Ferry is undone");
    }
}

fn changes_traffic(decision: &Decision) -> bool {
    decision
        .plan
        .actions
        .iter()
        .any(|a| matches!(a, Action::Traffic(_)))
}

fn last_error(err: &ferry_aws::Error) -> LastError {
    LastError {
        operation: err.operation(),
        message: err.to_string(),
        time: status::rfc3339(OffsetDateTime::now_utc()),
    }
}

#[cfg(test)]
#[path = "reconciler_tests.rs"]
mod tests;
