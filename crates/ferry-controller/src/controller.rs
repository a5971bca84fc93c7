//! The control loop: notices applies by polling the revision counter,
//! resyncs every app periodically, and reconciles due apps with bounded
//! concurrency.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{error, info, info_span, warn, Instrument};

use crate::metrics::Metrics;
use crate::reconciler::{Outcome, Reconciler};

/// Backoff after a failed reconcile: doubles from `BACKOFF_BASE` up to
/// `BACKOFF_MAX`, and resets on success.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

pub struct LoopSettings {
    pub poll_interval: Duration,
    pub resync_interval: Duration,
    pub concurrency: usize,
}

pub struct Controller {
    pub reconciler: Arc<Reconciler>,
    pub metrics: Metrics,
    pub synced: Arc<AtomicBool>,
    pub settings: LoopSettings,
}

fn backoff(failures: u32) -> Duration {
    BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)))
        .min(BACKOFF_MAX)
}

impl Controller {
    /// Runs until `shutdown` turns true. A reconcile in flight when it does
    /// is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let store = &self.reconciler.store;
        let mut last_revision: Option<u64> = None;
        let mut apps: BTreeMap<String, ferry_store::AppRecord> = BTreeMap::new();
        let mut due: BTreeMap<String, Instant> = BTreeMap::new();
        let mut failures: HashMap<String, u32> = HashMap::new();
        let mut next_resync = Instant::now();

        if let Err(err) = self.reconciler.load_statuses().await {
            warn!(error = %err, "could not load earlier statuses; they will be rewritten");
        }

        while !*shutdown.borrow() {
            let now = Instant::now();
            let resync = now >= next_resync;
            let revision = match store.revision().await {
                Ok(revision) => Some(revision),
                Err(err) => {
                    error!(error = %err, "reading the revision counter failed");
                    None
                }
            };
            if revision.is_some() && (resync || revision != last_revision) {
                match store.list_apps().await {
                    Ok(listed) => {
                        let mut fresh = BTreeMap::new();
                        for app in listed {
                            let changed = apps
                                .get(&app.name)
                                .is_none_or(|old| old.generation != app.generation);
                            if changed || resync {
                                due.insert(app.name.clone(), now);
                                if changed {
                                    failures.remove(&app.name);
                                }
                            }
                            fresh.insert(app.name.clone(), app);
                        }
                        due.retain(|name, _| fresh.contains_key(name));
                        apps = fresh;
                        last_revision = revision;
                    }
                    Err(err) => error!(error = %err, "listing apps failed"),
                }
            }
            if resync {
                match self.reconciler.refresh_inventory().await {
                    Ok(()) => {
                        for orphan in self
                            .reconciler
                            .apps_with_services()
                            .into_iter()
                            .filter(|name| !apps.contains_key(name))
                        {
                            warn!(app = %orphan, "services tagged for an app with no spec; left untouched");
                        }
                    }
                    Err(err) => error!(error = %err, "listing the cluster's services failed"),
                }
                next_resync = now + self.settings.resync_interval;
            }

            let ready: Vec<ferry_store::AppRecord> = due
                .iter()
                .filter(|(_, at)| **at <= now)
                .filter_map(|(name, _)| apps.get(name).cloned())
                .collect();
            self.metrics.workqueue_depth.set(ready.len() as i64);
            for app in &ready {
                due.remove(&app.name);
            }
            let outcomes: Vec<(String, Outcome)> = stream::iter(ready)
                .map(|app| {
                    let reconciler = Arc::clone(&self.reconciler);
                    let metrics = self.metrics.clone();
                    let span =
                        info_span!("reconcile", app = %app.name, generation = app.generation);
                    async move {
                        let timer = metrics.reconcile_time_seconds.start_timer();
                        let outcome = reconciler.reconcile(&app).await;
                        timer.observe_duration();
                        let result = match &outcome {
                            Outcome::Failed(_) => "error",
                            Outcome::Requeue(_) => "requeue",
                            Outcome::Converged | Outcome::Removed => "success",
                        };
                        metrics.reconcile_total.with_label_values(&[result]).inc();
                        if let Outcome::Failed(message) = &outcome {
                            metrics.reconcile_errors_total.inc();
                            warn!(error = %message, "reconcile failed");
                        }
                        (app.name, outcome)
                    }
                    .instrument(span)
                })
                .buffer_unordered(self.settings.concurrency)
                .collect()
                .await;

            let after = Instant::now();
            for (name, outcome) in outcomes {
                match outcome {
                    Outcome::Converged => {
                        failures.remove(&name);
                    }
                    Outcome::Requeue(delay) => {
                        failures.remove(&name);
                        due.insert(name, after + delay);
                    }
                    Outcome::Failed(_) => {
                        let count = failures.entry(name.clone()).or_insert(0);
                        *count += 1;
                        due.insert(name, after + backoff(*count));
                    }
                    Outcome::Removed => {
                        failures.remove(&name);
                        apps.remove(&name);
                    }
                }
            }
            if last_revision.is_some() && !self.synced.swap(true, Ordering::AcqRel) {
                info!(apps = apps.len(), "first full sync done");
            }

            let next_due = due.values().min().copied().unwrap_or(next_resync);
            let wake = next_due
                .min(next_resync)
                .min(Instant::now() + self.settings.poll_interval);
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = shutdown.changed() => {}
            }
        }
        info!("control loop stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_bounded() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(30), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }
}
