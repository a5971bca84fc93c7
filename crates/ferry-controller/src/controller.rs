//! The control loop. Every replica watches the store, so a follower is warm
//! when it takes over; only the leader runs the work queue, and each of its
//! terms gets a fresh queue whose reconciles write under that term's fence.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ferry_store::{AppRecord, Fence};
use futures::future::BoxFuture;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{error, info, info_span, warn, Instrument};

use crate::flag::until_true;
use crate::leader::Role;
use crate::metrics::Metrics;
use crate::runner::{Next, Outcome, Runner};

/// The desired state the loop watches: [`ferry_store::Store`].
pub trait DesiredState: Clone + Send + Sync + 'static {
    /// The revision counter, bumped by every change to an app spec.
    fn revision(&self) -> impl Future<Output = ferry_store::Result<u64>> + Send;
    fn list_apps(&self) -> impl Future<Output = ferry_store::Result<Vec<AppRecord>>> + Send;
}

impl DesiredState for ferry_store::Store {
    async fn revision(&self) -> ferry_store::Result<u64> {
        ferry_store::Store::revision(self).await
    }

    async fn list_apps(&self) -> ferry_store::Result<Vec<AppRecord>> {
        ferry_store::Store::list_apps(self).await
    }
}

/// What the loop asks of the reconciler: [`crate::reconciler::Reconciler`].
pub trait Reconcile: Send + Sync + 'static {
    /// Prepares a leadership term: load what the previous leader wrote.
    /// Failures are the implementation's to log; the term starts anyway.
    fn start_term(&self, fence: &Fence) -> impl Future<Output = ()> + Send;
    /// Forgets what the ended term knew.
    fn end_term(&self);
    /// The periodic look at what exists; `apps` are those with a spec.
    /// Returns the ECS reads it made, which stretch the resync interval
    /// when they would exceed their share of the read bucket.
    fn resync(&self, apps: BTreeSet<String>) -> impl Future<Output = usize> + Send;
    /// Reads the progress of rollouts under way; returns how long to wait
    /// before doing it again. Runs for as long as the term lasts.
    fn progress(&self) -> impl Future<Output = Duration> + Send;
    /// Reconciles one app, writing under `fence`.
    fn reconcile(&self, app: &AppRecord, fence: &Fence) -> impl Future<Output = Outcome> + Send;
}

pub struct LoopSettings {
    pub poll_interval: Duration,
    /// The shortest resync interval; see `resync_read_share`.
    pub resync_interval: Duration,
    /// The share of the ECS read bucket's refill that steady-state resyncs
    /// may use: when a resync's reads would take more, the interval grows.
    pub resync_read_share: f64,
    pub concurrency: usize,
    /// How long a shutdown waits for reconciles in flight.
    pub shutdown_timeout: Duration,
}

pub struct Controller<S, R> {
    pub store: S,
    pub reconciler: Arc<R>,
    pub metrics: Metrics,
    /// Set once the store has been read in full.
    pub ready: Arc<AtomicBool>,
    pub settings: LoopSettings,
}

/// The apps as last read from the store, by name.
type Apps = Arc<RwLock<BTreeMap<String, AppRecord>>>;

/// What a read of the store found changed.
#[derive(Debug, Default)]
struct Changes {
    /// New apps and apps with a new generation.
    changed: Vec<String>,
    removed: Vec<String>,
}

type Work = Box<dyn FnMut(String) -> BoxFuture<'static, Outcome> + Send>;

/// One leadership term: its queue, its resyncs' reads of the cluster, and
/// its progress reads. Dropping it cancels all of them.
struct Term {
    fence: Fence,
    runner: Runner<Work>,
    background: JoinSet<usize>,
    progress: JoinSet<()>,
}

impl<S: DesiredState, R: Reconcile> Controller<S, R> {
    /// Runs until `shutdown` turns true, acting only while `role` says this
    /// replica leads. On shutdown, reconciles in flight get up to the
    /// shutdown timeout to finish; the caller then hands the lease back.
    pub async fn run(self, mut role: watch::Receiver<Role>, mut shutdown: watch::Receiver<bool>) {
        self.metrics
            .resync_interval_seconds
            .set(i64::try_from(self.settings.resync_interval.as_secs()).unwrap_or(i64::MAX));
        let apps = Apps::default();
        let (changes_tx, mut changes) = mpsc::channel(16);
        // A resync's refresh of the cluster reports here when it is done,
        // with the reads it made: only then are the apps queued, so that
        // they reconcile against what the refresh found.
        let (refreshed_tx, mut refreshed) = mpsc::channel::<usize>(4);
        let (stop_watch, watch_stopped) = watch::channel(false);
        let watcher = tokio::spawn(watch_store(
            self.store.clone(),
            Arc::clone(&apps),
            self.settings.poll_interval,
            changes_tx,
            Arc::clone(&self.ready),
            watch_stopped,
        ));

        let mut term: Option<Term> = None;
        // A term starts with a full look of its own (every app queued, the
        // inventory loaded), so the first resync is one interval later.
        let mut resync = tokio::time::interval_at(
            Instant::now() + self.settings.resync_interval,
            self.settings.resync_interval,
        );
        resync.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The role may have been decided before this loop subscribed.
        role.mark_changed();

        loop {
            tokio::select! {
                () = until_true(&mut shutdown) => break,
                changed = role.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let now = role.borrow_and_update().clone();
                    let leading_before = term.as_ref().map(|t| t.fence.clone());
                    self.follow_role(now, &mut term, &apps).await;
                    if term.as_ref().map(|t| &t.fence) != leading_before.as_ref() {
                        resync.reset();
                    }
                }
                Some(found) = changes.recv() => {
                    if let Some(term) = term.as_mut() {
                        let now = Instant::now();
                        for name in found.changed {
                            if let Some(app) = read(&apps).get(&name) {
                                term.runner.set_priority(name.clone(), app.applied_at_seconds());
                            }
                            term.runner.add(name, now);
                        }
                        for name in &found.removed {
                            term.runner.forget(name);
                        }
                    }
                }
                _ = resync.tick() => {
                    if let Some(term) = term.as_mut() {
                        self.resync(term, &apps, &refreshed_tx);
                    }
                }
                Some(reads) = refreshed.recv() => {
                    if let Some(term) = term.as_mut() {
                        let now = Instant::now();
                        let names: Vec<String> = read(&apps).keys().cloned().collect();
                        for name in names {
                            term.runner.add(name, now);
                        }
                    }
                    let current = Duration::from_secs(
                        u64::try_from(self.metrics.resync_interval_seconds.get()).unwrap_or(0),
                    );
                    let period = self.resync_period(reads);
                    if period.as_secs() != current.as_secs() {
                        resync = tokio::time::interval_at(Instant::now() + period, period);
                        resync.set_missed_tick_behavior(MissedTickBehavior::Delay);
                    }
                }
                () = step(&mut term) => {}
            }
        }

        let _ = stop_watch.send(true);
        if let Some(mut term) = term {
            let in_flight = term.runner.in_flight();
            info!(in_flight, "shutting down: finishing reconciles in flight");
            let fence = term.fence.clone();
            tokio::select! {
                () = term.runner.drain() => {}
                () = tokio::time::sleep(self.settings.shutdown_timeout) => {
                    warn!("reconciles still running at the shutdown timeout were cancelled");
                }
                // Finishing is no excuse to write without the lease.
                () = async { let _ = role.wait_for(|r| *r != Role::Leader(fence.clone())).await; } => {
                    warn!("leadership lost while shutting down: reconciles in flight cancelled");
                }
            }
        }
        let _ = watcher.await;
        info!("control loop stopped");
    }

    /// Starts or ends a term so that it matches `role`.
    async fn follow_role(&self, role: Role, term: &mut Option<Term>, apps: &Apps) {
        let fence = match role {
            Role::Leader(fence) => fence,
            Role::Follower => {
                if term.take().is_some() {
                    // Dropping the term cancelled its reconciles.
                    self.reconciler.end_term();
                    self.metrics.workqueue_depth.set(0);
                    warn!("leadership lost: reconciles in flight cancelled, no more writes");
                }
                return;
            }
        };
        if term.as_ref().is_some_and(|t| t.fence == fence) {
            return;
        }
        if term.take().is_some() {
            self.reconciler.end_term();
        }
        info!(
            token = fence.token,
            "leading: loading status and the cluster's services"
        );
        // The previous leader wrote status and changed services since this
        // replica last looked; start from what is there now.
        self.reconciler.start_term(&fence).await;
        let mut new = Term {
            runner: Runner::new(
                self.work(fence.clone(), Arc::clone(apps)),
                self.settings.concurrency,
                self.metrics.clone(),
            ),
            fence,
            background: JoinSet::new(),
            progress: JoinSet::new(),
        };
        let reconciler = Arc::clone(&self.reconciler);
        new.progress.spawn(async move {
            loop {
                let pause = reconciler.progress().await;
                tokio::time::sleep(pause).await;
            }
        });
        let now = Instant::now();
        for (name, app) in read(apps).iter() {
            new.runner
                .set_priority(name.clone(), app.applied_at_seconds());
            new.runner.add(name.clone(), now);
        }
        *term = Some(new);
    }

    /// The work of one term: reconcile an app under the term's fence.
    fn work(&self, fence: Fence, apps: Apps) -> Work {
        let reconciler = Arc::clone(&self.reconciler);
        Box::new(move |name: String| {
            let reconciler = Arc::clone(&reconciler);
            let fence = fence.clone();
            let app = read(&apps).get(&name).cloned();
            Box::pin(async move {
                let Some(app) = app else {
                    // Removed from the store since it was queued.
                    return Ok(Next::Removed);
                };
                let span = info_span!(
                    "reconcile",
                    app = %app.name,
                    generation = app.generation,
                    deleting = app.deleting,
                    token = fence.token,
                );
                reconciler.reconcile(&app, &fence).instrument(span).await
            })
        })
    }

    /// Reads the cluster's services again (how drift and services left
    /// behind are found), then, through `refreshed`, queues every app: a
    /// reconcile queued before the refresh landed would judge what the
    /// last one saw, and drift would take two resyncs to undo.
    fn resync(&self, term: &mut Term, apps: &Apps, refreshed: &mpsc::Sender<usize>) {
        while term.background.try_join_next().is_some() {}
        // One refresh at a time; a slow one is not stacked on.
        if term.background.is_empty() {
            let reconciler = Arc::clone(&self.reconciler);
            let known: BTreeSet<String> = read(apps).keys().cloned().collect();
            let refreshed = refreshed.clone();
            term.background.spawn(async move {
                let reads = reconciler.resync(known).await;
                // The loop may be gone (shutdown); then nobody is queued.
                let _ = refreshed.send(reads).await;
                reads
            });
        }
    }

    /// The resync interval that keeps `reads` per resync within the read
    /// share: never shorter than the configured interval.
    fn resync_period(&self, reads: usize) -> Duration {
        let period = crate::read_share::read_pause(reads, self.settings.resync_read_share)
            .max(self.settings.resync_interval);
        self.metrics
            .resync_interval_seconds
            .set(i64::try_from(period.as_secs()).unwrap_or(i64::MAX));
        if period > self.settings.resync_interval {
            info!(
                reads,
                seconds = period.as_secs(),
                "resync interval stretched to keep ECS reads within their share"
            );
        }
        period
    }
}

async fn step(term: &mut Option<Term>) {
    match term {
        Some(term) => term.runner.step().await,
        None => std::future::pending().await,
    }
}

fn read(apps: &Apps) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, AppRecord>> {
    // Writers replace the map in one assignment, so a poisoned lock still
    // holds a whole map.
    apps.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Notices applies: reads the revision counter every `poll` (one strongly
/// consistent read) and lists the apps only when it moved. The first full
/// list marks the replica ready; nothing is reconciled before it.
async fn watch_store<S: DesiredState>(
    store: S,
    apps: Apps,
    poll: Duration,
    changes: mpsc::Sender<Changes>,
    ready: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_revision: Option<u64> = None;
    loop {
        match store.revision().await {
            Ok(revision) if Some(revision) != last_revision => match store.list_apps().await {
                Ok(listed) => {
                    let found = replace_apps(&apps, listed);
                    last_revision = Some(revision);
                    if !ready.swap(true, Ordering::AcqRel) {
                        info!(apps = read(&apps).len(), revision, "store read in full");
                    }
                    if (!found.changed.is_empty() || !found.removed.is_empty())
                        && changes.send(found).await.is_err()
                    {
                        return;
                    }
                }
                Err(err) => error!(error = %err, "listing apps failed"),
            },
            Ok(_) => {}
            Err(err) => error!(error = %err, "reading the revision counter failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            () = until_true(&mut stop) => return,
        }
    }
}

/// Replaces the cached apps with a fresh listing and says what changed.
fn replace_apps(apps: &Apps, listed: Vec<AppRecord>) -> Changes {
    let fresh: BTreeMap<String, AppRecord> = listed
        .into_iter()
        .map(|app| (app.name.clone(), app))
        .collect();
    let mut cache = apps
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let changes = Changes {
        changed: fresh
            .values()
            .filter(|app| cache.get(&app.name) != Some(app))
            .map(|app| app.name.clone())
            .collect(),
        removed: cache
            .keys()
            .filter(|name| !fresh.contains_key(*name))
            .cloned()
            .collect(),
    };
    *cache = fresh;
    changes
}

#[cfg(test)]
#[path = "controller_tests.rs"]
mod tests;
