//! Reconciles one app: observe → decide → execute → write.
//!
//! - **observe** reads the ECS adapter's shared cache and the traffic
//!   inventory; no reconcile describes services itself;
//! - **decide** is one call into ferry-core, [`ferry_core::decide`];
//! - **execute** runs the decided actions through the paced call layer, in
//!   order, stopping at the first failure;
//! - **write** records release outcomes and status, fenced by the lease,
//!   and only when the status changed.
//!
//! Level-triggered: a reconcile reads everything it needs each time and
//! never needs to know why it was called, so it is safe to repeat and to
//! cancel at any await.
//!
//! This module also keeps the cache current: a full listing when a term
//! starts, at its first resync and every [`FULL_LISTING_EVERY`] resyncs, the known services read
//! again (10 per call) at the other resyncs, and the services whose rollout
//! is in progress read between resyncs ([`Reconciler::progress`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use ferry_call::pacing::{self, Claimant};
use ferry_core::decide::{self, AppRef, Decision, Input, LookAgain};
use ferry_core::status::{self, ConditionStatus, LastError};
use ferry_core::traffic::ObservedTraffic;
use ferry_core::{Action, AppStatus, Desired, Observed, Settings};
use ferry_store::{AppRecord, Fence};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::adapters::{Cluster, Network, Schedules, StatusStore};
use crate::metrics::Metrics;
use crate::runner::Outcome;

/// The shortest pause between two progress reads.
pub const PROGRESS_TICK: Duration = Duration::from_secs(2);
/// The share of the ECS read bucket's refill that progress reads may use;
/// with many rollouts at once, the pause between progress reads grows.
const PROGRESS_READ_SHARE: f64 = 0.5;
/// Every this many resyncs, the cluster is listed in full (finding
/// services Ferry did not know of); the others read the known names only.
pub const FULL_LISTING_EVERY: u64 = 10;

pub struct Reconciler<
    C = ferry_aws::Ecs,
    N = ferry_aws::Traffic,
    W = ferry_store::Store,
    S = ferry_aws::Scheduler,
> {
    pub store: W,
    pub ecs: C,
    /// Load balancers and DNS; `None` when no listener is configured.
    pub traffic: Option<N>,
    /// EventBridge Scheduler, for scheduled processes; `None` in tests
    /// that have none (then no schedule is observed or changed).
    pub schedules: Option<S>,
    pub settings: Settings,
    metrics: Metrics,
    /// Held while an app's traffic is planned and changed: rule priorities
    /// and the rule quota are shared by every app on a load balancer.
    traffic_lock: tokio::sync::Mutex<()>,
    /// The services each app should have, as its last reconcile rendered
    /// them: with the cached names, what a resync reads again.
    wanted: Mutex<BTreeMap<String, Vec<String>>>,
    /// The status last written per app, so unchanged status is not written.
    written: Mutex<HashMap<String, AppStatus>>,
    /// Apps observed in full (services, schedules) in this term: only
    /// their families are tidied, since only then does the cache know
    /// every revision they run (a schedule's is learnt by observing it).
    observed: Mutex<BTreeSet<String>>,
    /// Resyncs in this term.
    resyncs: AtomicU64,
    /// Revisions kept per task-definition family beyond those in use
    /// (`--keep-task-definitions`); at least 1.
    keep_task_definitions: usize,
}

/// The default of `--keep-task-definitions`: enough for the last few
/// rollbacks, few enough that the console stays readable.
pub const DEFAULT_KEEP_TASK_DEFINITIONS: usize = 5;

/// Deregistrations per resync at most: hygiene catches up over a few
/// resyncs rather than spending the task-definition bucket at once.
pub const MAX_RETIRED_PER_RESYNC: usize = 10;

/// What executing a plan did before it stopped.
#[derive(Debug)]
struct ExecutionError {
    /// Actions that completed, in order.
    completed: usize,
    error: ferry_aws::Error,
}

impl<C: Cluster, N: Network, W: StatusStore> Reconciler<C, N, W> {
    pub fn new(store: W, ecs: C, traffic: Option<N>, settings: Settings, metrics: Metrics) -> Self {
        Self {
            store,
            ecs,
            traffic,
            schedules: None,
            settings,
            metrics,
            traffic_lock: tokio::sync::Mutex::new(()),
            wanted: Mutex::new(BTreeMap::new()),
            written: Mutex::new(HashMap::new()),
            observed: Mutex::new(BTreeSet::new()),
            resyncs: AtomicU64::new(0),
            keep_task_definitions: DEFAULT_KEEP_TASK_DEFINITIONS,
        }
    }
}

impl<C: Cluster, N: Network, W: StatusStore, S: Schedules> Reconciler<C, N, W, S> {
    /// Keeps scheduled processes' schedules with `schedules`.
    pub fn with_schedules<S2: Schedules>(self, schedules: S2) -> Reconciler<C, N, W, S2> {
        Reconciler {
            store: self.store,
            ecs: self.ecs,
            traffic: self.traffic,
            schedules: Some(schedules),
            settings: self.settings,
            metrics: self.metrics,
            traffic_lock: self.traffic_lock,
            wanted: self.wanted,
            written: self.written,
            observed: self.observed,
            resyncs: self.resyncs,
            keep_task_definitions: self.keep_task_definitions,
        }
    }

    async fn refresh_schedules(&self) -> Result<(), ferry_aws::Error> {
        if let Some(schedules) = &self.schedules {
            schedules.refresh().await?;
        }
        Ok(())
    }

    /// Reads the whole cluster into the cache, and the traffic inventory.
    /// Returns the ECS read calls made.
    pub async fn refresh_inventory(&self) -> Result<usize, ferry_aws::Error> {
        let reads = self.ecs.refresh_all().await?;
        self.refresh_autoscaling().await;
        self.refresh_traffic().await?;
        self.refresh_schedules().await?;
        Ok(reads)
    }

    /// Reads the scalable targets and their policies (two paginated reads
    /// for the whole account, and the tags of new targets). A failure is
    /// logged: the adapter then reads again when an app is observed, and
    /// that app's reconcile fails if it cannot.
    async fn refresh_autoscaling(&self) {
        if let Err(err) = self.ecs.refresh_autoscaling().await {
            warn!(error = %err, "reading the scalable targets failed");
        }
    }

    async fn refresh_traffic(&self) -> Result<(), ferry_aws::Error> {
        if let Some(traffic) = &self.traffic {
            // Not while an app changes traffic: a listing taken before a
            // write and stored after it would forget that write.
            let _traffic = self.traffic_lock.lock().await;
            traffic.refresh().await?;
        }
        Ok(())
    }

    /// A resync's read of the cluster: in full every
    /// [`FULL_LISTING_EVERY`]th time, else Ferry's services and those apps
    /// should have. Returns the ECS read calls made.
    pub async fn refresh_for_resync(&self) -> Result<usize, ferry_aws::Error> {
        let count = self.resyncs.fetch_add(1, Ordering::Relaxed) + 1;
        // The term's first resync lists again too: ECS's API is eventually
        // consistent, and a service created moments before the term's
        // opening listing may have been missing from it (API_RunTask).
        let reads = if count == 1 || count % FULL_LISTING_EVERY == 0 {
            // The families too: revisions registered outside Ferry since
            // the term began become known to task-definition hygiene.
            self.ecs.refresh_all().await?
                + self
                    .ecs
                    .load_task_definition_families(&self.settings.owner)
                    .await?
        } else {
            // Ferry's own services and the names apps should have; other
            // tools' services matter only where a name clashes, and then
            // the name is wanted.
            let mut names: BTreeSet<String> = self
                .ecs
                .owned_services(&self.settings.owner)
                .into_values()
                .flatten()
                .collect();
            names.extend(lock(&self.wanted).values().flatten().cloned());
            let names: Vec<String> = names.into_iter().collect();
            self.ecs.refresh(&names).await?
        };
        self.refresh_autoscaling().await;
        self.refresh_traffic().await?;
        self.refresh_schedules().await?;
        Ok(reads)
    }

    /// Reads the services whose rollout is in progress, 10 per call across
    /// all apps, and returns how long to wait before the next read: at
    /// least [`PROGRESS_TICK`], longer when so many services roll out that
    /// reading them all would take more than [`PROGRESS_READ_SHARE`] of
    /// the ECS read bucket.
    pub async fn progress(&self) -> Duration {
        let settling = self.ecs.settling(&self.settings.owner);
        if settling.is_empty() {
            return PROGRESS_TICK;
        }
        // The pause is sized for the reads the services need, whether or
        // not this round got through.
        let needed = settling
            .len()
            .div_ceil(ferry_aws::ecs::DESCRIBE_SERVICES_BATCH);
        match self.ecs.refresh(&settling).await {
            Ok(calls) => self
                .metrics
                .ecs_reads_total
                .with_label_values(&["progress"])
                .inc_by(u64::try_from(calls).unwrap_or(u64::MAX)),
            Err(err) => warn!(error = %err, "reading rollout progress failed"),
        }
        read_pause(needed, PROGRESS_READ_SHARE).max(PROGRESS_TICK)
    }

    /// Apps that own services in the cluster, per the cache.
    pub fn apps_with_services(&self) -> BTreeSet<String> {
        self.ecs
            .owned_services(&self.settings.owner)
            .into_keys()
            .collect()
    }

    /// Loads the statuses written before (by this replica's previous term
    /// or another leader), so unchanged status is not written again.
    pub async fn load_statuses(&self) -> Result<(), ferry_store::Error> {
        let statuses = self.store.list_statuses().await?;
        let mut written = lock(&self.written);
        *written = statuses;
        self.count_conditions(&written);
        Ok(())
    }

    /// Forgets what the last term knew: called when leadership is lost, as
    /// the next leader's writes make it stale.
    pub fn forget_term(&self) {
        lock(&self.wanted).clear();
        lock(&self.observed).clear();
        self.resyncs.store(0, Ordering::Relaxed);
        let mut written = lock(&self.written);
        written.clear();
        self.count_conditions(&written);
    }

    /// Sets the `apps{condition}` gauges from the written statuses.
    fn count_conditions(&self, written: &HashMap<String, AppStatus>) {
        for condition in [status::READY, status::PROGRESSING, status::DEGRADED] {
            let count = written
                .values()
                .filter(|s| {
                    s.condition(condition)
                        .is_some_and(|c| c.status == ConditionStatus::True)
                })
                .count();
            self.metrics
                .apps
                .with_label_values(&[condition.as_str()])
                .set(i64::try_from(count).unwrap_or(i64::MAX));
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
        let desired = if app.deleting {
            Desired {
                schedules: Vec::new(),
                processes: Vec::new(),
                traffic: Default::default(),
            }
        } else {
            ferry_core::render_app(&app.spec, &self.settings)
        };
        lock(&self.wanted).insert(
            app.name.clone(),
            desired
                .processes
                .iter()
                .map(|p| p.service.name.clone())
                .collect(),
        );
        let previous = lock(&self.written).get(&app.name).cloned();

        // Observe.
        let observed = match self.observe(&app.name, &desired).await {
            Ok(observed) => {
                lock(&self.observed).insert(app.name.clone());
                observed
            }
            Err(err) => {
                return self
                    .failed_to_observe(app, fence, &desired, previous, err)
                    .await
            }
        };
        let decide = |observed_traffic: &ObservedTraffic| {
            decide::decide(Input {
                app: AppRef {
                    name: &app.name,
                    generation: app.generation,
                    deleting: app.deleting,
                    restart: app.restart.as_ref(),
                },
                desired: &desired,
                observed: &observed,
                observed_traffic,
                previous: previous.as_ref(),
                owner: &self.settings.owner,
                traffic: &self.settings.traffic,
                now: OffsetDateTime::now_utc(),
            })
        };
        // Decide.
        let mut decision = match self.observe_traffic(&app.name, &desired).await {
            Ok(traffic) => decide(&traffic),
            Err(err) => {
                return self
                    .failed_to_observe(app, fence, &desired, previous, err)
                    .await
            }
        };
        // Rule priorities and the rule quota are shared by every app on a
        // load balancer: a decision that changes traffic is made again,
        // from the inventory as it is under the traffic lock, and its
        // traffic changes are made under it. ECS work never waits for it.
        let mut guard = None;
        if changes_traffic(&decision) {
            guard = Some(self.traffic_lock.lock().await);
            decision = match self.observe_traffic(&app.name, &desired).await {
                Ok(traffic) => decide(&traffic),
                Err(err) => {
                    return self
                        .failed_to_observe(app, fence, &desired, previous, err)
                        .await
                }
            };
        }
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

        // Execute.
        let decision = match self.execute(&decision.plan, guard).await {
            Ok(()) => {
                if !decision.plan.actions.is_empty() {
                    info!(actions = decision.plan.actions.len(), "plan executed");
                }
                decision
            }
            Err(failed) => {
                warn!(completed = failed.completed, error = %failed.error, "plan stopped");
                decision.failed(failed.completed, last_error(&failed.error))
            }
        };
        self.metrics
            .drift_corrections_total
            .inc_by(u64::try_from(decision.corrections.len()).unwrap_or(u64::MAX));

        // Write.
        if decision.finalize {
            return match self
                .store
                .remove_app(&app.name, app.generation, fence)
                .await
            {
                Ok(()) => {
                    info!("all resources gone, app removed");
                    lock(&self.wanted).remove(&app.name);
                    let mut written = lock(&self.written);
                    written.remove(&app.name);
                    self.count_conditions(&written);
                    Outcome::Removed
                }
                Err(err) => Outcome::Failed(err.to_string()),
            };
        }
        if self.write(&decision, fence).await {
            self.delete_recorded_dead_letters(&observed).await;
        }
        match decision.look_again {
            LookAgain::Backoff => Outcome::Failed(
                decision
                    .status
                    .last_error
                    .as_ref()
                    .map_or_else(|| "reconcile failed".to_owned(), |e| e.message.clone()),
            ),
            LookAgain::After(delay) => Outcome::Requeue(delay),
            LookAgain::AtResync => Outcome::Converged,
        }
    }

    /// The app's services and task definitions, and its schedules with
    /// the task definitions they run.
    async fn observe(&self, app: &str, desired: &Desired) -> Result<Observed, ferry_aws::Error> {
        let mut observed = self
            .ecs
            .observe(app, &self.settings.owner, &desired.processes)
            .await?;
        if let Some(schedules) = &self.schedules {
            observed.schedules = schedules.observe(app, &desired.schedules);
            observed.schedule_runs = schedules.observe_runs(&observed.schedules);
        }
        self.ecs
            .observe_schedule_targets(&desired.schedules, &mut observed)
            .await?;
        Ok(observed)
    }

    async fn observe_traffic(
        &self,
        app: &str,
        desired: &Desired,
    ) -> Result<ObservedTraffic, ferry_aws::Error> {
        match &self.traffic {
            None => Ok(ObservedTraffic::default()),
            Some(traffic) => traffic.observe(app, &desired.traffic).await,
        }
    }

    /// Runs a plan's actions in order, each with its adapter, and stops at
    /// the first failure. Traffic actions run under the traffic lock
    /// (`guard`, taken again if an ECS action in between released it); ECS
    /// actions run without it.
    async fn execute<'a>(
        &'a self,
        plan: &ferry_core::Plan,
        mut guard: Option<tokio::sync::MutexGuard<'a, ()>>,
    ) -> Result<(), ExecutionError> {
        let mut registered = BTreeMap::new();
        let target_group = |name: &str| {
            self.traffic
                .as_ref()
                .and_then(|traffic| traffic.target_group_arn(name))
        };
        for (completed, action) in plan.actions.iter().enumerate() {
            info!(action = %action, "executing");
            let result = match (action, &self.traffic) {
                (Action::Traffic(change), Some(traffic)) => {
                    if guard.is_none() {
                        guard = Some(self.traffic_lock.lock().await);
                    }
                    traffic.execute(change).await
                }
                (Action::Traffic(_), None) => Err(ferry_aws::Error::Build {
                    what: "traffic change",
                    message: "no load balancer is configured".into(),
                }),
                (
                    Action::CreateSchedule { .. }
                    | Action::UpdateSchedule { .. }
                    | Action::DeleteSchedule { .. },
                    _,
                ) => match &self.schedules {
                    Some(schedules) => {
                        guard = None;
                        schedules.execute(action, &registered).await
                    }
                    None => Err(ferry_aws::Error::Build {
                        what: "schedule change",
                        message: "no EventBridge Scheduler client is configured".into(),
                    }),
                },
                _ => {
                    guard = None;
                    self.ecs
                        .execute(action, &mut registered, &target_group)
                        .await
                }
            };
            result.map_err(|error| ExecutionError { completed, error })?;
        }
        Ok(())
    }

    /// Reports a failure to read what exists, and asks for a retry: the
    /// decision on nothing observed, failed before its first action.
    async fn failed_to_observe(
        &self,
        app: &AppRecord,
        fence: &Fence,
        desired: &Desired,
        previous: Option<AppStatus>,
        err: ferry_aws::Error,
    ) -> Outcome {
        warn!(error = %err, "observing failed");
        let decision = decide::decide(Input {
            app: AppRef {
                name: &app.name,
                generation: app.generation,
                deleting: app.deleting,
                restart: app.restart.as_ref(),
            },
            desired,
            observed: &Observed::default(),
            observed_traffic: &ObservedTraffic::default(),
            previous: previous.as_ref(),
            owner: &self.settings.owner,
            traffic: &self.settings.traffic,
            now: OffsetDateTime::now_utc(),
        });
        let decision = decision.failed(0, last_error(&err));
        self.write(&decision, fence).await;
        Outcome::Failed(err.to_string())
    }

    /// Deletes the dead letters this reconcile observed, now that the
    /// status the store holds records their failures. A failure is logged:
    /// SQS delivers the messages again, and status shows each failure once.
    async fn delete_recorded_dead_letters(&self, observed: &Observed) {
        let messages: Vec<String> = observed
            .schedule_runs
            .values()
            .flat_map(|r| r.dead_letter_messages.iter().cloned())
            .collect();
        if messages.is_empty() {
            return;
        }
        if let Some(schedules) = &self.schedules {
            if let Err(err) = schedules.delete_dead_letters(&messages).await {
                warn!(error = %err, "deleting recorded dead letters failed; they are received again");
            }
        }
    }

    /// Writes a decision's release outcomes, then its status, if the status
    /// changed. Release outcomes come first: if one cannot be written, the
    /// status is not either, so the next reconcile sees the same transition
    /// again. Returns whether the store holds this status now (written, or
    /// unchanged from the one written before).
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
                let mut written = lock(&self.written);
                written.insert(status.name.clone(), status.clone());
                self.count_conditions(&written);
                true
            }
            Err(err) => {
                warn!(error = %err, "writing status failed");
                false
            }
        }
    }

    /// Task-definition hygiene after a resync: retires what the apps'
    /// families no longer use, at the lowest priority there is, so that
    /// every app's own deploy writes go first in the task-definition
    /// bucket. A failure is logged and left for the next resync.
    async fn retire_task_definitions(&self, apps: &BTreeSet<String>) {
        let work = self.ecs.retire_task_definitions(
            apps,
            &self.settings.owner,
            self.keep_task_definitions,
            MAX_RETIRED_PER_RESYNC,
        );
        let claimant = ferry_aws::pacing::Claimant::new("ferry:hygiene", i64::MIN);
        match ferry_aws::pacing::on_behalf_of(claimant, work).await {
            Ok(0) => {}
            Ok(retired) => {
                info!(retired, "deregistered unused task-definition revisions");
                self.metrics
                    .task_definitions_deregistered_total
                    .inc_by(u64::try_from(retired).unwrap_or(u64::MAX));
            }
            Err(err) => {
                warn!(error = %err, "task-definition hygiene failed; trying again next resync")
            }
        }
    }

    /// Keeps `keep` unused revisions per family (at least 1) instead of
    /// [`DEFAULT_KEEP_TASK_DEFINITIONS`].
    pub fn keeping_task_definitions(mut self, keep: usize) -> Self {
        self.keep_task_definitions = keep.max(1);
        self
    }

    fn count_resync_reads(&self, reads: usize) {
        self.metrics.resyncs_total.inc();
        let reads = u64::try_from(reads).unwrap_or(u64::MAX);
        self.metrics
            .ecs_reads_total
            .with_label_values(&["resync"])
            .inc_by(reads);
        self.metrics
            .ecs_reads_per_resync
            .set(i64::try_from(reads).unwrap_or(i64::MAX));
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

/// How long `calls` ECS reads take at `share` of the read bucket's
/// documented refill (20/s): the pause that keeps reads within the share.
pub fn read_pause(calls: usize, share: f64) -> Duration {
    let refill = ferry_call::Bucket::ServiceReads
        .documented()
        .map_or(20.0, |rate| rate.per_second);
    let calls = u32::try_from(calls).unwrap_or(u32::MAX);
    Duration::from_secs_f64(f64::from(calls) / (refill * share.clamp(0.001, 1.0)))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them half-updated.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<C: Cluster, N: Network, W: StatusStore, S: Schedules> crate::controller::Reconcile
    for Reconciler<C, N, W, S>
{
    async fn start_term(&self, fence: &Fence) {
        // Published so that `ferry diff` plans with the controller's view.
        if let Err(err) = self
            .store
            .put_controller_settings(&self.settings, fence)
            .await
        {
            warn!(error = %err, "publishing the controller's settings failed");
        }
        if let Err(err) = self.load_statuses().await {
            warn!(error = %err, "could not load status; unchanged status may be written again");
        }
        match self.refresh_inventory().await {
            Ok(reads) => self.count_resync_reads(reads),
            Err(err) => {
                warn!(error = %err, "could not list the cluster's services; retried at the next resync")
            }
        }
        // The latest revision of every family, so a revision registered
        // before a crash is reused without asking ECS family by family.
        if let Err(err) = self
            .ecs
            .load_task_definition_families(&self.settings.owner)
            .await
        {
            warn!(error = %err, "could not list task definitions; families are described one by one");
        }
    }

    fn end_term(&self) {
        self.forget_term();
    }

    async fn resync(&self, apps: BTreeSet<String>) -> usize {
        let reads = match self.refresh_for_resync().await {
            Ok(reads) => reads,
            Err(err) => {
                warn!(error = %err, "reading the cluster's services failed");
                return 0;
            }
        };
        self.count_resync_reads(reads);
        let tidy: BTreeSet<String> = {
            let observed = lock(&self.observed);
            apps.iter()
                .filter(|a| observed.contains(*a))
                .cloned()
                .collect()
        };
        self.retire_task_definitions(&tidy).await;
        // Never deleted: a wiped or wrong table must not delete workloads.
        let orphans: Vec<String> = self
            .apps_with_services()
            .into_iter()
            .filter(|name| !apps.contains(name))
            .collect();
        for orphan in &orphans {
            warn!(app = %orphan, "services tagged for an app with no spec; left untouched");
        }
        self.metrics
            .apps_without_spec
            .set(i64::try_from(orphans.len()).unwrap_or(i64::MAX));
        reads
    }

    async fn progress(&self) -> Duration {
        Reconciler::progress(self).await
    }

    async fn reconcile(&self, app: &AppRecord, fence: &Fence) -> Outcome {
        Reconciler::reconcile(self, app, fence).await
    }
}

#[cfg(test)]
#[path = "reconciler_tests.rs"]
mod tests;
