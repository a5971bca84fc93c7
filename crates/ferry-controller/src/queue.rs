//! The work queue: which app to reconcile next, and when.
//!
//! Semantics follow client-go's workqueue and kube-runtime's scheduler:
//! - keyed and deduplicated: a key is waiting at most once, and when it is
//!   added again the earlier deadline wins;
//! - a key is never handed out while it runs; a request that arrives
//!   meanwhile is parked and the key runs once more after it finishes;
//! - after a failure the key comes back with per-key exponential backoff
//!   with jitter, bounded, and reset by the next success;
//! - every delay is clamped to [`MAX_DELAY`];
//! - among the keys that are due, the one with the highest priority goes
//!   first (the controller uses the app's last apply, so a one-app apply
//!   made during a bulk rollout does not wait behind hundreds of apps),
//!   then the earliest deadline.
//!
//! The queue is plain data with time passed in; [`crate::runner`] drives it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::Hash;
use std::time::Duration;

use tokio::time::Instant;

/// The first retry after a failure comes after about this long.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Backoff never exceeds this, and neither does any requested delay.
pub const MAX_DELAY: Duration = Duration::from_secs(300);
/// Backoff is spread by up to this fraction either way, so apps that
/// failed together (an AWS outage) do not retry in lockstep.
const JITTER: f64 = 0.2;

/// How a run of a key ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Succeeded; come back after the delay, if any (a rollout runs).
    Success(Option<Duration>),
    /// Failed: come back after backoff.
    Failure,
    /// The key is gone for good (the app was removed).
    Forget,
}

#[derive(Debug)]
pub struct WorkQueue<K> {
    /// Waiting keys and when they are due. A running key is never here.
    waiting: HashMap<K, Instant>,
    /// `waiting`, ordered by deadline.
    order: BTreeSet<(Instant, K)>,
    running: HashSet<K>,
    /// Requests that came for running keys, with the earliest deadline.
    parked: HashMap<K, Instant>,
    /// Consecutive failures per key.
    failures: HashMap<K, u32>,
    /// Priority per key; 0 when never set.
    priorities: HashMap<K, i64>,
}

impl<K: Clone + Eq + Hash + Ord> Default for WorkQueue<K> {
    fn default() -> Self {
        Self {
            waiting: HashMap::new(),
            order: BTreeSet::new(),
            running: HashSet::new(),
            parked: HashMap::new(),
            failures: HashMap::new(),
            priorities: HashMap::new(),
        }
    }
}

/// The backoff before retry number `failures` (1-based): doubling from
/// [`BACKOFF_BASE`], spread by `jitter` in [-1, 1] times [`JITTER`], never
/// below the base nor above [`MAX_DELAY`].
pub fn backoff(failures: u32, jitter: f64) -> Duration {
    let exponent = failures.saturating_sub(1).min(31);
    let plain = BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(MAX_DELAY);
    let spread = plain.mul_f64(1.0 + JITTER * jitter.clamp(-1.0, 1.0));
    spread.clamp(BACKOFF_BASE, MAX_DELAY)
}

impl<K: Clone + Eq + Hash + Ord> WorkQueue<K> {
    /// Asks for `key` to run at `at` (clamped to `now + MAX_DELAY`). If it
    /// waits already, the earlier deadline wins; if it runs, the request is
    /// parked until it finishes.
    pub fn add(&mut self, key: K, at: Instant, now: Instant) {
        let at = at.min(now + MAX_DELAY);
        if self.running.contains(&key) {
            let parked = self.parked.entry(key).or_insert(at);
            *parked = (*parked).min(at);
            return;
        }
        match self.waiting.get(&key) {
            Some(&current) if current <= at => {}
            Some(&current) => {
                self.order.remove(&(current, key.clone()));
                self.order.insert((at, key.clone()));
                self.waiting.insert(key, at);
            }
            None => {
                self.order.insert((at, key.clone()));
                self.waiting.insert(key, at);
            }
        }
    }

    /// The earliest deadline among waiting keys.
    pub fn next_due(&self) -> Option<Instant> {
        self.order.first().map(|(at, _)| *at)
    }

    /// Sets the priority of `key`: among due keys, higher goes first.
    pub fn set_priority(&mut self, key: K, priority: i64) {
        self.priorities.insert(key, priority);
    }

    /// The priority of `key`; 0 when never set.
    pub fn priority(&self, key: &K) -> i64 {
        self.priorities.get(key).copied().unwrap_or(0)
    }

    /// The highest priority among running keys.
    pub fn running_priority(&self) -> Option<i64> {
        self.running.iter().map(|k| self.priority(k)).max()
    }

    /// The earliest deadline among waiting keys whose priority is above
    /// `than`.
    pub fn next_due_above(&self, than: i64) -> Option<Instant> {
        self.order
            .iter()
            .find(|(_, key)| self.priority(key) > than)
            .map(|(at, _)| *at)
    }

    /// Hands out the due key with the highest priority (the earliest
    /// deadline among equals), if one is due at `now`, and marks it
    /// running until [`WorkQueue::done`].
    pub fn pop(&mut self, now: Instant) -> Option<K> {
        self.pop_above(now, i64::MIN)
    }

    /// Like [`WorkQueue::pop`], but only a key whose priority is above
    /// `than`.
    pub fn pop_above(&mut self, now: Instant, than: i64) -> Option<K> {
        let mut best: Option<&(Instant, K)> = None;
        for entry in self.order.iter().take_while(|(at, _)| *at <= now) {
            let priority = self.priority(&entry.1);
            if priority > than && best.is_none_or(|b| priority > self.priority(&b.1)) {
                best = Some(entry);
            }
        }
        let entry = best?.clone();
        self.order.remove(&entry);
        let (_, key) = entry;
        self.waiting.remove(&key);
        self.running.insert(key.clone());
        Some(key)
    }

    /// Records how a run of `key` ended and schedules what follows: the
    /// parked request, the requested requeue, or a retry after backoff,
    /// whichever is earliest. Returns the backoff when it was a failure.
    pub fn done(&mut self, key: &K, outcome: Done, now: Instant, jitter: f64) -> Option<Duration> {
        self.running.remove(key);
        let parked = self.parked.remove(key);
        let (next, retry) = match outcome {
            Done::Success(requeue) => {
                self.failures.remove(key);
                (requeue.map(|delay| now + delay.min(MAX_DELAY)), None)
            }
            Done::Failure => {
                let failures = self.failures.entry(key.clone()).or_insert(0);
                *failures = failures.saturating_add(1);
                let delay = backoff(*failures, jitter);
                (Some(now + delay), Some(delay))
            }
            Done::Forget => {
                self.failures.remove(key);
                return None;
            }
        };
        let at = match (parked, next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = at {
            self.add(key.clone(), at, now);
        }
        retry
    }

    /// Drops every request for `key` (its app is gone). A run in progress
    /// finishes; nothing is scheduled after it unless added again.
    pub fn forget(&mut self, key: &K) {
        if let Some(at) = self.waiting.remove(key) {
            self.order.remove(&(at, key.clone()));
        }
        self.parked.remove(key);
        self.failures.remove(key);
        self.priorities.remove(key);
    }

    /// Keys due at `now` that wait to run, plus parked requests: what
    /// client-go reports as the queue depth.
    pub fn depth(&self, now: Instant) -> usize {
        let due = self.order.iter().take_while(|(at, _)| *at <= now).count();
        due + self.parked.len()
    }

    /// Consecutive failures of `key`.
    #[cfg(test)]
    pub fn failures(&self, key: &K) -> u32 {
        self.failures.get(key).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_recent_apply_goes_before_a_bulk_that_was_due_earlier() {
        let now = Instant::now();
        let mut queue = WorkQueue::default();
        for app in 0..200 {
            let key = format!("bulk-{app:03}");
            queue.set_priority(key.clone(), 100);
            queue.add(key, now, now);
        }
        queue.set_priority("hotfix".to_owned(), 110);
        queue.add("hotfix".to_owned(), now + secs(10), now);
        assert_eq!(queue.pop(now).as_deref(), Some("bulk-000"));
        assert_eq!(
            queue.pop(now + secs(10)).as_deref(),
            Some("hotfix"),
            "due later, but applied later: it goes first"
        );
        assert_eq!(queue.pop(now + secs(10)).as_deref(), Some("bulk-001"));
    }

    #[test]
    fn the_earliest_deadline_wins_and_keys_are_deduplicated() {
        let now = Instant::now();
        let mut queue = WorkQueue::default();
        queue.add("a", now + secs(10), now);
        queue.add("a", now + secs(5), now);
        queue.add("a", now + secs(20), now);
        assert_eq!(queue.next_due(), Some(now + secs(5)));
        assert_eq!(queue.pop(now + secs(4)), None);
        assert_eq!(queue.pop(now + secs(5)), Some("a"));
        assert_eq!(queue.pop(now + secs(30)), None, "one entry per key");
    }

    #[test]
    fn keys_come_out_in_deadline_order() {
        let now = Instant::now();
        let mut queue = WorkQueue::default();
        queue.add("late", now + secs(3), now);
        queue.add("early", now + secs(1), now);
        queue.add("middle", now + secs(2), now);
        let later = now + secs(3);
        assert_eq!(queue.pop(later), Some("early"));
        assert_eq!(queue.pop(later), Some("middle"));
        assert_eq!(queue.pop(later), Some("late"));
    }

    #[test]
    fn a_running_key_is_parked_and_runs_once_afterwards() {
        let now = Instant::now();
        let mut queue = WorkQueue::default();
        queue.add("a", now, now);
        assert_eq!(queue.pop(now), Some("a"));
        queue.add("a", now, now);
        queue.add("a", now + secs(1), now);
        assert_eq!(queue.pop(now + secs(10)), None, "never handed out twice");
        assert_eq!(queue.depth(now), 1);
        queue.done(&"a", Done::Success(None), now + secs(2), 0.0);
        assert_eq!(
            queue.pop(now + secs(2)),
            Some("a"),
            "the parked request runs"
        );
        queue.done(&"a", Done::Success(None), now + secs(3), 0.0);
        assert_eq!(queue.pop(now + secs(100)), None, "and only once");
    }

    #[test]
    fn failures_back_off_exponentially_and_success_resets() {
        let now = Instant::now();
        let mut queue = WorkQueue::default();
        let mut delays = Vec::new();
        queue.add("a", now, now);
        let mut t = now;
        for _ in 0..4 {
            let key = queue.pop(t).expect("due");
            let delay = queue.done(&key, Done::Failure, t, 0.0).expect("a retry");
            delays.push(delay);
            t = queue.next_due().expect("scheduled");
        }
        assert_eq!(delays, [secs(1), secs(2), secs(4), secs(8)]);
        assert_eq!(queue.failures(&"a"), 4);
        let key = queue.pop(t).expect("due");
        queue.done(&key, Done::Success(None), t, 0.0);
        assert_eq!(queue.failures(&"a"), 0);
        queue.add("a", t, t);
        let key = queue.pop(t).expect("due");
        assert_eq!(queue.done(&key, Done::Failure, t, 0.0), Some(secs(1)));
    }

    #[test]
    fn a_parked_request_overrides_a_longer_backoff() {
        let now = Instant::now();
        let mut queue = WorkQueue::default();
        queue.add("a", now, now);
        queue.pop(now);
        queue.add("a", now + secs(1), now);
        queue.failures.insert("a", 5);
        queue.done(&"a", Done::Failure, now, 0.0);
        assert_eq!(queue.next_due(), Some(now + secs(1)));
    }

    #[test]
    fn delays_are_clamped() {
        let now = Instant::now();
        let mut queue = WorkQueue::default();
        queue.add("a", now + secs(100_000), now);
        assert_eq!(queue.next_due(), Some(now + MAX_DELAY));
        queue.pop(now + MAX_DELAY);
        queue.done(&"a", Done::Success(Some(secs(100_000))), now, 0.0);
        assert_eq!(queue.next_due(), Some(now + MAX_DELAY));
    }

    #[test]
    fn forgotten_keys_are_not_rescheduled() {
        let now = Instant::now();
        let mut queue = WorkQueue::default();
        queue.add("a", now, now);
        queue.add("b", now, now);
        queue.pop(now);
        queue.add("a", now, now);
        queue.forget(&"a");
        queue.forget(&"b");
        queue.done(&"a", Done::Success(None), now, 0.0);
        assert_eq!(queue.pop(now + secs(1000)), None);
        assert_eq!(queue.depth(now), 0);
    }

    proptest! {
        #[test]
        fn backoff_is_bounded(failures in 0u32..u32::MAX, jitter in -5.0f64..5.0) {
            let delay = backoff(failures, jitter);
            prop_assert!(delay >= BACKOFF_BASE && delay <= MAX_DELAY);
        }

        #[test]
        fn backoff_grows_until_the_bound(failures in 1u32..64) {
            prop_assert!(backoff(failures + 1, 0.0) >= backoff(failures, 0.0));
        }
    }
}
