//! What a leadership term remembers of the apps it reconciles: the
//! services each should have, the status last written, which were
//! observed in full. Written by reconciles, read by the term's resyncs and
//! hygiene; forgotten when the term ends.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use ferry_core::{AppStatus, Desired};

/// The default of `--keep-task-definitions`: enough for the last few
/// rollbacks, few enough that the console stays readable.
pub const DEFAULT_KEEP_TASK_DEFINITIONS: usize = 5;

/// What a term learns of the apps it reconciles; forgotten when the term
/// ends, since the next leader's writes make it stale.
#[derive(Debug)]
pub struct TermState {
    /// The services each app should have, as its last reconcile rendered
    /// them: with the cached names, what a resync reads again.
    pub(crate) wanted: Mutex<BTreeMap<String, Vec<String>>>,
    /// The status last written per app, so unchanged status is not written.
    pub(crate) written: Mutex<HashMap<String, AppStatus>>,
    /// Apps observed in full (services, schedules) in this term: only
    /// their families are tidied, since only then has the cache read every
    /// revision they run.
    pub(crate) observed: Mutex<BTreeSet<String>>,
    /// Resyncs in this term.
    pub(crate) resyncs: AtomicU64,
    /// Revisions kept per task-definition family beyond those in use
    /// (`--keep-task-definitions`); at least 1.
    pub(crate) keep_task_definitions: usize,
}

impl Default for TermState {
    fn default() -> Self {
        Self {
            wanted: Mutex::default(),
            written: Mutex::default(),
            observed: Mutex::default(),
            resyncs: AtomicU64::new(0),
            keep_task_definitions: DEFAULT_KEEP_TASK_DEFINITIONS,
        }
    }
}

impl TermState {
    /// Records that `app` was observed in full in this term, and the
    /// services it should have.
    pub fn observed(&self, app: &str, desired: &Desired) {
        let services = desired
            .processes
            .iter()
            .map(|p| p.service.name.clone())
            .collect();
        lock(&self.wanted).insert(app.to_owned(), services);
        lock(&self.observed).insert(app.to_owned());
    }

    /// The status last written for `app`.
    pub fn previous(&self, app: &str) -> Option<AppStatus> {
        lock(&self.written).get(app).cloned()
    }

    /// Records the status written for an app.
    pub fn written(&self, status: AppStatus) {
        lock(&self.written).insert(status.name.clone(), status);
    }

    /// Forgets an app that is gone.
    pub fn forget_app(&self, app: &str) {
        lock(&self.wanted).remove(app);
        lock(&self.written).remove(app);
    }

    pub(crate) fn forget(&self) {
        lock(&self.wanted).clear();
        lock(&self.observed).clear();
        lock(&self.written).clear();
        self.resyncs.store(0, Ordering::Relaxed);
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them half-updated.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
