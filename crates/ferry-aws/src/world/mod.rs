//! The installation's AWS as one reconcile sees it: ECS (with Application
//! Auto Scaling), the load balancers and DNS, and EventBridge Scheduler,
//! each behind its shared cache.
//!
//! A reconcile enters this crate twice, in its own order:
//! - [`Aws::observe`] (`observe.rs`): a synchronous [`Aws::snapshot`] of
//!   the caches, no AWS call; only when the caches lack something the app
//!   needs are the named reads of [`Aws::fill`] made first;
//! - [`Aws::execute`] (`execute.rs`): the decided actions, in order, each
//!   through the paced call layer, stopping at the first failure.
//!
//! A leadership term keeps the caches current through `refresh.rs`: full
//! listings, named reads of known services, and the progress of settling
//! rollouts.

mod execute;
mod observe;
mod refresh;

use std::sync::Arc;

use ferry_core::traffic::ObservedTraffic;
use ferry_core::{Desired, Observed, Settings};

use crate::{Ecs, Logs, Scheduler, Traffic};

pub use execute::Stopped;

/// Held while an app's traffic is decided and changed; see
/// [`Aws::hold_traffic`].
pub type TrafficGuard = tokio::sync::OwnedMutexGuard<()>;

/// What one app should have, and what exists of it as the caches know it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// What the snapshot was taken for: rendered from the app's spec.
    pub desired: Desired,
    /// Services, task definitions, schedules and their runs, scalable
    /// targets.
    pub observed: Observed,
    /// Target groups, listener rules and records.
    pub traffic: ObservedTraffic,
}

/// ECS, traffic and schedules of one installation.
pub struct Aws {
    ecs: Ecs,
    /// `None` when no listener is configured: no traffic is observed or
    /// changed.
    traffic: Option<Traffic>,
    /// `None` without EventBridge Scheduler: no schedule is observed or
    /// changed.
    schedules: Option<Scheduler>,
    /// The apps' log group; `None`: stopped tasks' last lines are not read.
    logs: Option<Logs>,
    /// CloudWatch alarms Ferry owns (`alarms: default`); `None`: none is
    /// observed or changed.
    alarms: Option<crate::Alarms>,
    /// The controller's settings: the installation (`owner`), and what an
    /// app's spec is rendered with.
    settings: Settings,
    /// Rule priorities and the rule quota are shared by every app on a
    /// load balancer: an app's traffic is decided and changed under this
    /// lock, and the inventory is not listed while it is held (a listing
    /// taken before a write and stored after it would forget the write).
    traffic_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Aws {
    pub fn new(ecs: Ecs, settings: Settings) -> Self {
        Self {
            ecs,
            traffic: None,
            schedules: None,
            logs: None,
            alarms: None,
            settings,
            traffic_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Observes and changes load balancers and DNS through `traffic`.
    pub fn with_traffic(mut self, traffic: Option<Traffic>) -> Self {
        self.traffic = traffic;
        self
    }

    /// Observes and changes scheduled processes' schedules through
    /// `schedules`.
    pub fn with_schedules(mut self, schedules: Option<Scheduler>) -> Self {
        self.schedules = schedules;
        self
    }

    /// Reads the last lines of stopped tasks from `logs` (the apps' log
    /// group).
    pub fn with_logs(mut self, logs: Option<Logs>) -> Self {
        self.logs = logs;
        self
    }

    /// Observes and changes the alarms Ferry owns through `alarms`.
    pub fn with_alarms(mut self, alarms: Option<crate::Alarms>) -> Self {
        self.alarms = alarms;
        self
    }

    /// Waits for the traffic lock. A reconcile whose decision changes
    /// traffic takes it, decides again from the inventory as it is under
    /// the lock, and hands it to [`Aws::execute`]; ECS work never waits
    /// for it.
    pub async fn hold_traffic(&self) -> TrafficGuard {
        self.traffic_lock.clone().lock_owned().await
    }

    /// Deregisters revisions the apps' families no longer use; see
    /// [`Ecs::retire_task_definitions`]. Returns how many.
    pub async fn retire_task_definitions(
        &self,
        apps: &std::collections::BTreeSet<String>,
        keep: usize,
        max: usize,
    ) -> crate::Result<usize> {
        self.ecs
            .retire_task_definitions(apps, &self.settings.owner, keep, max)
            .await
    }

    /// Deletes dead letters whose failures status now records; see
    /// [`Scheduler::delete_dead_letters`]. Returns how many.
    pub async fn delete_dead_letters(&self, messages: &[String]) -> crate::Result<usize> {
        match &self.schedules {
            Some(scheduler) => scheduler.delete_dead_letters(messages).await,
            None => Ok(0),
        }
    }
}
