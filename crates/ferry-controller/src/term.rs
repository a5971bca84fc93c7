//! A leadership term around the reconciles: what it reads when it starts,
//! at each resync and between resyncs, what it tidies, and what it
//! remembers of the apps it reconciled.
//!
//! The caches are kept current by batched reads, never per app: a full
//! listing when a term starts, at its first resync and every
//! [`FULL_LISTING_EVERY`] resyncs; the known services read again (10 per
//! call) at the other resyncs; and the services whose rollout is in
//! progress read between resyncs ([`Reconciler::progress`]).

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ferry_core::status::{self, ConditionStatus};
use ferry_store::{AppRecord, Fence};
use tracing::{info, warn};

use crate::adapters::{StatusStore, World};
use crate::controller::Reconcile;
use crate::read_share::read_pause;
use crate::reconciler::Reconciler;
use crate::runner::Outcome;
use crate::term_state::lock;

/// The shortest pause between two progress reads.
pub const PROGRESS_TICK: Duration = Duration::from_secs(2);
/// The share of the ECS read bucket's refill that progress reads may use;
/// with many rollouts at once, the pause between progress reads grows.
const PROGRESS_READ_SHARE: f64 = 0.5;
/// Every this many resyncs, the cluster is listed in full (finding
/// services Ferry did not know of); the others read the known names only.
pub const FULL_LISTING_EVERY: u64 = 10;

/// A count of calls as a counter's increment.
fn count(calls: usize) -> u64 {
    u64::try_from(calls).unwrap_or(u64::MAX)
}

/// Deregistrations per resync at most: hygiene catches up over a few
/// resyncs rather than spending the task-definition bucket at once.
pub const MAX_RETIRED_PER_RESYNC: usize = 10;

impl<W: World, S: StatusStore> Reconciler<W, S> {
    /// Keeps `keep` unused revisions per family (at least 1) instead of
    /// [`DEFAULT_KEEP_TASK_DEFINITIONS`](crate::term_state::DEFAULT_KEEP_TASK_DEFINITIONS).
    pub fn keeping_task_definitions(mut self, keep: usize) -> Self {
        self.term.keep_task_definitions = keep.max(1);
        self
    }

    /// Loads the statuses written before (by this replica's previous term
    /// or another leader), so unchanged status is not written again.
    pub async fn load_statuses(&self) -> Result<(), ferry_store::Error> {
        let statuses = self.store.list_statuses().await?;
        *lock(&self.term.written) = statuses;
        self.count_conditions();
        Ok(())
    }

    /// A resync's read of the cluster: in full (with the task-definition
    /// families, so that revisions registered outside Ferry since the term
    /// began become known to hygiene) the first time and every
    /// [`FULL_LISTING_EVERY`]th time, else Ferry's services and those apps
    /// should have. Returns the ECS read calls made.
    pub async fn refresh_for_resync(&self) -> ferry_aws::Result<usize> {
        let count = self.term.resyncs.fetch_add(1, Ordering::Relaxed) + 1;
        // The term's first resync lists again too: ECS's API is eventually
        // consistent, and a service created moments before the term's
        // opening listing may have been missing from it (API_RunTask).
        let reads = if count == 1 || count % FULL_LISTING_EVERY == 0 {
            self.world.refresh_all().await? + self.world.load_task_definition_families().await?
        } else {
            self.refresh_known().await?
        };
        self.world.read_schedule_runs().await;
        Ok(reads)
    }

    /// Reads again Ferry's own services and the names apps should have;
    /// other tools' services matter only where a name clashes, and then
    /// the name is wanted.
    async fn refresh_known(&self) -> ferry_aws::Result<usize> {
        let mut names: BTreeSet<String> = self
            .world
            .owned_services()
            .into_values()
            .flatten()
            .collect();
        names.extend(lock(&self.term.wanted).values().flatten().cloned());
        let names: Vec<String> = names.into_iter().collect();
        self.world.refresh_services(&names).await
    }

    /// Reads the services whose rollout is in progress, 10 per call across
    /// all apps, then their stopped tasks (one cluster-wide sweep, the new
    /// ones described 100 per call, one log read per failed task that
    /// ran), and returns how long to wait before the next read: at least
    /// [`PROGRESS_TICK`], longer when so many services roll out (or so
    /// many tasks stop) that reading them all would take more than
    /// [`PROGRESS_READ_SHARE`] of a read bucket.
    pub async fn progress(&self) -> Duration {
        let (settling, read) = self.world.read_progress().await;
        let progress_reads = self
            .metrics
            .ecs_reads_total
            .with_label_values(&["progress"]);
        if let Err(err) = &read {
            warn!(error = %err, "reading rollout progress failed");
        }
        progress_reads.inc_by(count(*read.as_ref().unwrap_or(&0)));
        // After the services were read again: `settling` is current. Makes
        // no call when nothing settles (it still forgets what settled long
        // ago).
        let stops = match self.world.read_stopped_tasks().await {
            Ok(calls) => calls,
            Err(err) => {
                warn!(error = %err, "reading stopped tasks failed");
                Default::default()
            }
        };
        progress_reads.inc_by(count(stops.ecs));
        self.metrics.log_reads_total.inc_by(count(stops.logs));
        // After the services were read again: their current service
        // deployments are current. No call when no service with a
        // strategy other than rolling settles.
        let deployments = match self.world.read_service_deployments().await {
            Ok(calls) => calls,
            Err(err) => {
                warn!(error = %err, "reading service deployments failed");
                0
            }
        };
        progress_reads.inc_by(count(deployments));
        if settling == 0 {
            return PROGRESS_TICK;
        }
        // The pause is sized for the reads the services need, whether or
        // not this round got through. Stopped tasks draw from ECS's
        // cluster-resource read bucket and GetLogEvents from its own, each
        // refilling at least as fast as the service read bucket: the
        // longest of the three sizes the pause.
        let services = settling.div_ceil(ferry_aws::ecs::DESCRIBE_SERVICES_BATCH);
        // Service deployments share the service read bucket.
        let needed = (services + deployments).max(stops.ecs).max(stops.logs);
        read_pause(needed, PROGRESS_READ_SHARE).max(PROGRESS_TICK)
    }

    /// Sets the `apps{condition}` gauges from the written statuses.
    pub(crate) fn count_conditions(&self) {
        let written = lock(&self.term.written);
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

    /// Task-definition hygiene after a resync: retires what the apps'
    /// families no longer use, at the lowest priority there is, so that
    /// every app's own deploy writes go first in the task-definition
    /// bucket. A failure is logged and left for the next resync.
    async fn retire_task_definitions(&self, apps: &BTreeSet<String>) {
        let work = self.world.retire_task_definitions(
            apps,
            self.term.keep_task_definitions,
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

impl<W: World, S: StatusStore> Reconcile for Reconciler<W, S> {
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
        match self.world.refresh_all().await {
            Ok(reads) => {
                self.world.read_schedule_runs().await;
                self.count_resync_reads(reads)
            }
            Err(err) => {
                warn!(error = %err, "could not list the cluster's services; retried at the next resync")
            }
        }
        // The latest revision of every family, so a revision registered
        // before a crash is reused without asking ECS family by family.
        if let Err(err) = self.world.load_task_definition_families().await {
            warn!(error = %err, "could not list task definitions; families are described one by one");
        }
    }

    fn end_term(&self) {
        self.term.forget();
        self.count_conditions();
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
            let observed = lock(&self.term.observed);
            apps.iter()
                .filter(|a| observed.contains(*a))
                .cloned()
                .collect()
        };
        self.retire_task_definitions(&tidy).await;
        // Never deleted: a wiped or wrong table must not delete workloads.
        let orphans: Vec<String> = self
            .world
            .owned_services()
            .into_keys()
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
