//! Runs the work queue: starts due keys up to the concurrency limit, never
//! two runs of one key at once, and feeds each outcome back to the queue.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::task::{Id, JoinSet};
use tokio::time::Instant;
use tracing::{error, warn};

use crate::error::Error;
use crate::metrics::Metrics;
use crate::queue::{Done, WorkQueue};

/// When to look at an app again after a reconcile that finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing left to do: come back at the next resync.
    Converged,
    /// Changes were made or a rollout runs: look again after this long.
    Requeue(Duration),
    /// The app is gone: forget it.
    Removed,
}

/// What a reconcile ends with: when to look again, or why it failed (then
/// the app is retried with backoff).
pub type Outcome = Result<Next, Error>;

/// The `result` label of `reconcile_total`.
fn label(outcome: &Outcome) -> &'static str {
    match outcome {
        Err(_) => "error",
        Ok(Next::Requeue(_)) => "requeue",
        Ok(Next::Converged | Next::Removed) => "success",
    }
}

fn done(outcome: &Outcome) -> Done {
    match outcome {
        Ok(Next::Converged) => Done::Success(None),
        Ok(Next::Requeue(delay)) => Done::Success(Some(*delay)),
        Ok(Next::Removed) => Done::Forget,
        Err(_) => Done::Failure,
    }
}

/// A work queue with its workers. `work` starts one run of a key; the
/// future it returns is spawned, so it must own what it needs.
///
/// Dropping the runner aborts every run in flight: reconciles are safe to
/// cancel at any await, which is what makes losing leadership immediate.
pub struct Runner<F> {
    queue: WorkQueue<String>,
    inflight: JoinSet<Outcome>,
    keys: HashMap<Id, String>,
    work: F,
    concurrency: usize,
    metrics: Metrics,
}

impl<F, Fut> Runner<F>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    pub fn new(work: F, concurrency: usize, metrics: Metrics) -> Self {
        Self {
            queue: WorkQueue::default(),
            inflight: JoinSet::new(),
            keys: HashMap::new(),
            work,
            concurrency: concurrency.max(1),
            metrics,
        }
    }

    /// Asks for `key` to run at `at`; see [`WorkQueue::add`].
    pub fn add(&mut self, key: String, at: Instant) {
        self.queue.add(key, at, Instant::now());
        self.update_depth();
    }

    /// Sets the priority of `key`; see [`WorkQueue::set_priority`].
    pub fn set_priority(&mut self, key: String, priority: i64) {
        self.queue.set_priority(key, priority);
    }

    /// Drops pending requests for `key`; a run in flight finishes.
    pub fn forget(&mut self, key: &str) {
        self.queue.forget(&key.to_owned());
        self.update_depth();
    }

    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Waits for the next thing to happen, a run finishing or a key coming
    /// due, and handles it. Cancel-safe: state changes only after an await
    /// completes. Pends forever when there is nothing to wait for.
    pub async fn step(&mut self) {
        let due = if self.inflight.len() < self.concurrency {
            self.queue.next_due()
        } else if self.inflight.len() < self.concurrency * 2 {
            // A key applied more recently than everything running may
            // start beyond the limit: see [`Runner::start_due`].
            self.queue
                .running_priority()
                .and_then(|p| self.queue.next_due_above(p))
        } else {
            None
        };
        tokio::select! {
            Some(joined) = self.inflight.join_next_with_id(), if !self.inflight.is_empty() => {
                self.finish(joined);
            }
            _ = sleep_until_opt(due), if due.is_some() => {
                self.start_due();
            }
            else => std::future::pending().await,
        }
        self.update_depth();
    }

    /// Waits for the runs in flight to finish, starting nothing new.
    pub async fn drain(&mut self) {
        while let Some(joined) = self.inflight.join_next_with_id().await {
            self.finish(joined);
        }
    }

    /// Starts due keys up to the concurrency limit. Beyond it (up to twice
    /// the limit), a key whose priority is above every running key's
    /// starts too: a one-app apply made while a bulk rollout fills every
    /// slot would otherwise wait for the bulk's reconciles, which wait on
    /// AWS's token buckets, to finish.
    fn start_due(&mut self) {
        loop {
            let now = Instant::now();
            let key = if self.inflight.len() < self.concurrency {
                self.queue.pop(now)
            } else if self.inflight.len() < self.concurrency * 2 {
                match self.queue.running_priority() {
                    Some(running) => self.queue.pop_above(now, running),
                    None => None,
                }
            } else {
                None
            };
            let Some(key) = key else {
                break;
            };
            let run = (self.work)(key.clone());
            let timer = self.metrics.reconcile_time_seconds.clone();
            let handle = self.inflight.spawn(async move {
                let started = Instant::now();
                let outcome = run.await;
                timer.observe(started.elapsed().as_secs_f64());
                outcome
            });
            self.keys.insert(handle.id(), key);
        }
    }

    fn finish(&mut self, joined: Result<(Id, Outcome), tokio::task::JoinError>) {
        let (id, outcome) = match joined {
            Ok(done) => done,
            Err(err) => {
                // A panic is a bug, but one app's bug must not stop the
                // others or lose the app: retry it with backoff.
                error!(error = %err, "a reconcile panicked");
                (err.id(), Err(Error::Panicked(err.to_string())))
            }
        };
        let Some(key) = self.keys.remove(&id) else {
            return;
        };
        self.metrics
            .reconcile_total
            .with_label_values(&[label(&outcome)])
            .inc();
        if let Err(err) = &outcome {
            self.metrics
                .reconcile_errors_total
                .with_label_values(&[err.metric_label()])
                .inc();
            warn!(app = %key, error = %err, "reconcile failed");
        }
        let jitter = fastrand::f64() * 2.0 - 1.0;
        if self
            .queue
            .done(&key, done(&outcome), Instant::now(), jitter)
            .is_some()
        {
            self.metrics.workqueue_retries_total.inc();
        }
    }

    fn update_depth(&self) {
        let depth = self.queue.depth(Instant::now());
        self.metrics
            .workqueue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Records what ran when, and how many runs overlapped.
    #[derive(Default)]
    struct Log {
        active: HashMap<String, usize>,
        max_per_key: usize,
        active_total: usize,
        max_total: usize,
        runs: Vec<(String, Duration)>,
    }

    type Shared = Arc<Mutex<Log>>;

    fn worker(
        log: Shared,
        start: Instant,
        took: Duration,
        outcome: impl Fn(&str, usize) -> Outcome + Send + Sync + 'static,
    ) -> impl FnMut(String) -> futures::future::BoxFuture<'static, Outcome> {
        let outcome = Arc::new(outcome);
        move |key: String| {
            let log = Arc::clone(&log);
            let outcome = Arc::clone(&outcome);
            Box::pin(async move {
                let run = {
                    let mut log = log.lock().expect("log");
                    let active = log.active.entry(key.clone()).or_insert(0);
                    *active += 1;
                    let per_key = *active;
                    log.max_per_key = log.max_per_key.max(per_key);
                    log.active_total += 1;
                    log.max_total = log.max_total.max(log.active_total);
                    log.runs.push((key.clone(), start.elapsed()));
                    log.runs.iter().filter(|(k, _)| *k == key).count()
                };
                tokio::time::sleep(took).await;
                {
                    let mut log = log.lock().expect("log");
                    *log.active.entry(key.clone()).or_insert(1) -= 1;
                    log.active_total -= 1;
                }
                outcome(&key, run)
            })
        }
    }

    fn metrics() -> Metrics {
        Metrics::new().expect("metrics")
    }

    /// Steps the runner until `until`, adding keys at the given offsets.
    async fn drive<F, Fut>(
        runner: &mut Runner<F>,
        start: Instant,
        mut adds: Vec<(u64, &str)>,
        until: Duration,
    ) where
        F: FnMut(String) -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        adds.sort();
        let mut adds = adds.into_iter().peekable();
        let end = start + until;
        loop {
            let next_add = adds
                .peek()
                .map(|(ms, _)| start + Duration::from_millis(*ms))
                .unwrap_or(end)
                .min(end);
            tokio::select! {
                _ = runner.step() => {}
                _ = tokio::time::sleep_until(next_add) => {
                    if next_add >= end {
                        return;
                    }
                    if let Some((_, key)) = adds.next() {
                        runner.add(key.to_owned(), Instant::now());
                    }
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn never_two_reconciles_of_one_app_at_once() {
        let log = Shared::default();
        let start = Instant::now();
        let work = worker(Arc::clone(&log), start, Duration::from_secs(10), |_, _| {
            Ok(Next::Converged)
        });
        let mut runner = Runner::new(work, 8, metrics());
        // "a" is requested again three times while its first run takes
        // ten seconds: it runs exactly once more, after the first.
        drive(
            &mut runner,
            start,
            vec![(0, "a"), (1000, "a"), (2000, "a"), (3000, "a"), (500, "b")],
            Duration::from_secs(60),
        )
        .await;
        let log = log.lock().expect("log");
        assert_eq!(log.max_per_key, 1);
        let a: Vec<u64> = log
            .runs
            .iter()
            .filter(|(k, _)| k == "a")
            .map(|(_, at)| at.as_secs())
            .collect();
        assert_eq!(a, [0, 10], "the parked request runs once, right after");
        assert_eq!(log.runs.iter().filter(|(k, _)| k == "b").count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_recent_apply_starts_while_a_bulk_fills_every_slot() {
        let log = Shared::default();
        let start = Instant::now();
        let work = worker(Arc::clone(&log), start, Duration::from_secs(30), |_, _| {
            Ok(Next::Converged)
        });
        let mut runner = Runner::new(work, 2, metrics());
        for app in ["bulk-1", "bulk-2", "bulk-3", "bulk-4"] {
            runner.set_priority(app.to_owned(), 100);
        }
        runner.set_priority("hotfix".to_owned(), 110);
        runner.set_priority("older".to_owned(), 50);
        drive(
            &mut runner,
            start,
            vec![
                (0, "bulk-1"),
                (0, "bulk-2"),
                (0, "bulk-3"),
                (0, "bulk-4"),
                (5000, "older"),
                (10_000, "hotfix"),
            ],
            Duration::from_secs(200),
        )
        .await;
        let log = log.lock().expect("log");
        let started = |key: &str| {
            log.runs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, at)| at.as_secs())
        };
        assert_eq!(
            started("hotfix"),
            Some(10),
            "started at once, beyond the limit"
        );
        assert_eq!(started("bulk-3"), Some(30), "the bulk waits for its slots");
        assert_eq!(
            started("older"),
            Some(60),
            "an older apply does not jump the line"
        );
        assert_eq!(log.max_total, 3, "at most one beyond the limit here");
    }

    #[tokio::test(start_paused = true)]
    async fn total_concurrency_is_bounded() {
        let log = Shared::default();
        let start = Instant::now();
        let work = worker(Arc::clone(&log), start, Duration::from_secs(1), |_, _| {
            Ok(Next::Converged)
        });
        let mut runner = Runner::new(work, 3, metrics());
        let keys = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        drive(
            &mut runner,
            start,
            keys.iter().map(|k| (0, *k)).collect(),
            Duration::from_secs(30),
        )
        .await;
        let log = log.lock().expect("log");
        assert_eq!(log.max_total, 3);
        assert_eq!(log.runs.len(), 10, "every key ran once");
        let last = log.runs.iter().map(|(_, at)| *at).max().expect("runs");
        assert_eq!(
            last,
            Duration::from_secs(3),
            "ten one-second runs, three at a time"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_with_jitter_and_success_resets() {
        let log = Shared::default();
        let start = Instant::now();
        // Fails four times, then succeeds, then fails again once.
        let work = worker(Arc::clone(&log), start, Duration::ZERO, |_, run| {
            if run <= 4 {
                Err(Error::Panicked("boom".into()))
            } else if run == 5 {
                Ok(Next::Requeue(Duration::from_secs(100)))
            } else if run == 6 {
                Err(Error::Panicked("boom".into()))
            } else {
                Ok(Next::Converged)
            }
        });
        let metrics = metrics();
        let mut runner = Runner::new(work, 1, metrics.clone());
        drive(&mut runner, start, vec![(0, "a")], Duration::from_secs(600)).await;
        let log = log.lock().expect("log");
        let at: Vec<f64> = log.runs.iter().map(|(_, t)| t.as_secs_f64()).collect();
        assert_eq!(at.len(), 7, "runs: {at:?}");
        let gaps: Vec<f64> = at.windows(2).map(|w| w[1] - w[0]).collect();
        // Retries after 1, 2, 4 and 8 s, each within ±20 %.
        for (gap, plain) in gaps.iter().zip([1.0, 2.0, 4.0, 8.0]) {
            assert!(
                *gap >= (plain * 0.8f64).max(1.0) - 1e-3 && *gap <= plain * 1.2 + 1e-3,
                "gap {gap} for {plain}: {gaps:?}"
            );
        }
        assert!((gaps[4] - 100.0).abs() < 1e-3, "the requested requeue");
        // The success reset the count: the next failure waits ~1 s again.
        assert!(gaps[5] >= 1.0 - 1e-3 && gaps[5] <= 1.2 + 1e-3, "{gaps:?}");
        assert_eq!(metrics.workqueue_retries_total.get(), 5);
        assert_eq!(
            metrics
                .reconcile_errors_total
                .with_label_values(&["panic"])
                .get(),
            5
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_reconcile_is_retried_and_others_go_on() {
        let log = Shared::default();
        let start = Instant::now();
        let work = worker(Arc::clone(&log), start, Duration::ZERO, |key, run| {
            if key == "bad" && run == 1 {
                panic!("a bug");
            }
            Ok(Next::Converged)
        });
        let mut runner = Runner::new(work, 2, metrics());
        drive(
            &mut runner,
            start,
            vec![(0, "bad"), (0, "good")],
            Duration::from_secs(10),
        )
        .await;
        let log = log.lock().expect("log");
        assert_eq!(log.runs.iter().filter(|(k, _)| k == "bad").count(), 2);
        assert_eq!(log.runs.iter().filter(|(k, _)| k == "good").count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_runner_cancels_runs_in_flight() {
        let log = Shared::default();
        let start = Instant::now();
        let work = worker(Arc::clone(&log), start, Duration::from_secs(100), |_, _| {
            Ok(Next::Converged)
        });
        let mut runner = Runner::new(work, 2, metrics());
        drive(&mut runner, start, vec![(0, "a")], Duration::from_secs(1)).await;
        assert_eq!(runner.in_flight(), 1);
        drop(runner);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let log = log.lock().expect("log");
        assert_eq!(log.active_total, 1, "the run never reached its end");
    }
}
