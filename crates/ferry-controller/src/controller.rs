//! The control loop. Every replica watches the store, so a follower is warm
//! when it takes over; only the leader runs the work queue, and each of its
//! terms gets a fresh queue whose reconciles write under that term's fence.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ferry_store::{AppRecord, Fence, Store};
use futures::future::BoxFuture;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{error, info, info_span, warn, Instrument};

use crate::leader::Role;
use crate::metrics::Metrics;
use crate::reconciler::Reconciler;
use crate::runner::{Outcome, Runner};

pub struct LoopSettings {
    pub poll_interval: Duration,
    pub resync_interval: Duration,
    pub concurrency: usize,
    /// How long a shutdown waits for reconciles in flight.
    pub shutdown_timeout: Duration,
}

pub struct Controller {
    pub reconciler: Arc<Reconciler>,
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

/// One leadership term: its queue, and its inventory refreshes.
struct Term {
    fence: Fence,
    runner: Runner<Work>,
    background: JoinSet<()>,
}

impl Controller {
    /// Runs until `shutdown` turns true, acting only while `role` says this
    /// replica leads. On shutdown, reconciles in flight get up to the
    /// shutdown timeout to finish; the caller then hands the lease back.
    pub async fn run(self, mut role: watch::Receiver<Role>, mut shutdown: watch::Receiver<bool>) {
        let apps = Apps::default();
        let (changes_tx, mut changes) = mpsc::channel(16);
        let (stop_watch, watch_stopped) = watch::channel(false);
        let watcher = tokio::spawn(watch_store(
            self.reconciler.store.clone(),
            Arc::clone(&apps),
            self.settings.poll_interval,
            changes_tx,
            Arc::clone(&self.ready),
            watch_stopped,
        ));

        let mut term: Option<Term> = None;
        let mut resync = tokio::time::interval(self.settings.resync_interval);
        resync.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The role may have been decided before this loop subscribed.
        role.mark_changed();

        loop {
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => break,
                changed = role.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let now = role.borrow_and_update().clone();
                    self.follow_role(now, &mut term, &apps).await;
                }
                Some(found) = changes.recv() => {
                    if let Some(term) = term.as_mut() {
                        let now = Instant::now();
                        for name in found.changed {
                            term.runner.add(name, now);
                        }
                        for name in &found.removed {
                            term.runner.forget(name);
                        }
                    }
                }
                _ = resync.tick() => {
                    if let Some(term) = term.as_mut() {
                        self.resync(term, &apps);
                    }
                }
                () = step(&mut term) => {}
            }
        }

        let _ = stop_watch.send(true);
        if let Some(mut term) = term {
            let in_flight = term.runner.in_flight();
            info!(in_flight, "shutting down: finishing reconciles in flight");
            if tokio::time::timeout(self.settings.shutdown_timeout, term.runner.drain())
                .await
                .is_err()
            {
                warn!("reconciles still running at the shutdown timeout were cancelled");
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
                    self.reconciler.forget_term();
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
            self.reconciler.forget_term();
        }
        info!(
            token = fence.token,
            "leading: loading status and the cluster's services"
        );
        // The previous leader wrote status and changed services since this
        // replica last looked; start from what is there now.
        if let Err(err) = self.reconciler.load_statuses().await {
            warn!(error = %err, "could not load status; unchanged status may be written again");
        }
        if let Err(err) = self.reconciler.refresh_inventory().await {
            warn!(error = %err, "could not list the cluster's services; retried at the next resync");
        }
        let mut new = Term {
            runner: Runner::new(
                self.work(fence.clone(), Arc::clone(apps)),
                self.settings.concurrency,
                self.metrics.clone(),
            ),
            fence,
            background: JoinSet::new(),
        };
        let now = Instant::now();
        for name in read(apps).keys() {
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
                    return Outcome::Removed;
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

    /// Queues every app and refreshes the list of the cluster's services:
    /// how drift and services left behind are found.
    fn resync(&self, term: &mut Term, apps: &Apps) {
        let now = Instant::now();
        let names: Vec<String> = read(apps).keys().cloned().collect();
        for name in names {
            term.runner.add(name, now);
        }
        // One refresh at a time; a slow one is not stacked on.
        while term.background.try_join_next().is_some() {}
        if !term.background.is_empty() {
            return;
        }
        let reconciler = Arc::clone(&self.reconciler);
        let apps = Arc::clone(apps);
        term.background.spawn(async move {
            if let Err(err) = reconciler.refresh_inventory().await {
                error!(error = %err, "listing the cluster's services failed");
                return;
            }
            let known = read(&apps);
            for orphan in reconciler
                .apps_with_services()
                .into_iter()
                .filter(|name| !known.contains_key(name))
            {
                warn!(app = %orphan, "services tagged for an app with no spec; left untouched");
            }
        });
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
async fn watch_store(
    store: Store,
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
            _ = stop.wait_for(|stop| *stop) => return,
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
