//! The two narrow interfaces the reconciler needs, so that it can be
//! tested with in-memory fakes: the world it observes and changes (AWS,
//! through ferry-aws's caches), and the store where status goes.
//!
//! The production implementations delegate to [`ferry_aws::Aws`] and
//! [`ferry_store::Store`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;

use ferry_aws::{Snapshot, Stopped, TrafficGuard};
use ferry_core::{AppStatus, Plan, ReleaseOutcome, Settings};
use ferry_manifest::App;
use ferry_store::Fence;

/// AWS as the reconciler sees it. One reconcile calls [`World::observe`]
/// and then [`World::execute`]; a leadership term keeps the caches current
/// with the others.
pub trait World: Send + Sync + 'static {
    /// What an app should have and what exists of it, from the caches
    /// (reading only what they lack); see [`ferry_aws::Aws::observe`].
    /// `held`: the traffic lock, when the caller holds it.
    fn observe(
        &self,
        spec: &App,
        deleting: bool,
        held: Option<&TrafficGuard>,
    ) -> impl Future<Output = ferry_aws::Result<Snapshot>> + Send;
    /// Waits for the lock under which an app's traffic is decided and
    /// changed; see [`ferry_aws::Aws::hold_traffic`].
    fn hold_traffic(&self) -> impl Future<Output = TrafficGuard> + Send;
    /// Runs a plan's actions in order, stopping at the first failure.
    fn execute(
        &self,
        plan: &Plan,
        traffic: Option<TrafficGuard>,
    ) -> impl Future<Output = Result<(), Stopped>> + Send;
    /// Deletes dead letters whose failures status now records.
    fn delete_dead_letters(
        &self,
        messages: &[String],
    ) -> impl Future<Output = ferry_aws::Result<usize>> + Send;

    /// Lists the whole cluster and the other inventories; returns the ECS
    /// reads.
    fn refresh_all(&self) -> impl Future<Output = ferry_aws::Result<usize>> + Send;
    /// Reads the named services again and the other inventories; returns
    /// the ECS reads.
    fn refresh_services(
        &self,
        names: &[String],
    ) -> impl Future<Output = ferry_aws::Result<usize>> + Send;
    /// Lists the installation's task-definition families.
    fn load_task_definition_families(
        &self,
    ) -> impl Future<Output = ferry_aws::Result<usize>> + Send;
    /// Reads what became of the schedules' runs; returns the calls made.
    fn read_schedule_runs(&self) -> impl Future<Output = usize> + Send;
    /// Reads the settling services again: how many settle, and the reads.
    fn read_progress(&self) -> impl Future<Output = (usize, ferry_aws::Result<usize>)> + Send;
    /// Reads the settling services' stopped tasks and the newest failed
    /// one's last log lines (no call when nothing settles); returns the
    /// calls made. See [`ferry_aws::Aws::read_stopped_tasks`].
    fn read_stopped_tasks(
        &self,
    ) -> impl Future<Output = ferry_aws::Result<ferry_aws::ecs::StopReadCalls>> + Send;
    /// Reads the current service deployments of the settling services
    /// with a strategy other than rolling (no call when there is none);
    /// returns the calls made. See
    /// [`ferry_aws::Aws::read_service_deployments`].
    fn read_service_deployments(&self) -> impl Future<Output = ferry_aws::Result<usize>> + Send;
    /// Cached services of this installation, by app.
    fn owned_services(&self) -> BTreeMap<String, BTreeSet<String>>;
    /// Deregisters unused revisions of the apps' families; returns how
    /// many.
    fn retire_task_definitions(
        &self,
        apps: &BTreeSet<String>,
        keep: usize,
        max: usize,
    ) -> impl Future<Output = ferry_aws::Result<usize>> + Send;
}

impl World for ferry_aws::Aws {
    async fn observe(
        &self,
        spec: &App,
        deleting: bool,
        held: Option<&TrafficGuard>,
    ) -> ferry_aws::Result<Snapshot> {
        ferry_aws::Aws::observe(self, spec, deleting, held).await
    }

    async fn hold_traffic(&self) -> TrafficGuard {
        ferry_aws::Aws::hold_traffic(self).await
    }

    async fn execute(&self, plan: &Plan, traffic: Option<TrafficGuard>) -> Result<(), Stopped> {
        ferry_aws::Aws::execute(self, plan, traffic).await
    }

    async fn delete_dead_letters(&self, messages: &[String]) -> ferry_aws::Result<usize> {
        ferry_aws::Aws::delete_dead_letters(self, messages).await
    }

    async fn refresh_all(&self) -> ferry_aws::Result<usize> {
        ferry_aws::Aws::refresh_all(self).await
    }

    async fn read_schedule_runs(&self) -> usize {
        ferry_aws::Aws::read_schedule_runs(self).await
    }

    async fn refresh_services(&self, names: &[String]) -> ferry_aws::Result<usize> {
        ferry_aws::Aws::refresh_services(self, names).await
    }

    async fn load_task_definition_families(&self) -> ferry_aws::Result<usize> {
        ferry_aws::Aws::load_task_definition_families(self).await
    }

    async fn read_progress(&self) -> (usize, ferry_aws::Result<usize>) {
        ferry_aws::Aws::read_progress(self).await
    }

    async fn read_stopped_tasks(&self) -> ferry_aws::Result<ferry_aws::ecs::StopReadCalls> {
        ferry_aws::Aws::read_stopped_tasks(self).await
    }

    async fn read_service_deployments(&self) -> ferry_aws::Result<usize> {
        ferry_aws::Aws::read_service_deployments(self).await
    }

    fn owned_services(&self) -> BTreeMap<String, BTreeSet<String>> {
        ferry_aws::Aws::owned_services(self)
    }

    async fn retire_task_definitions(
        &self,
        apps: &BTreeSet<String>,
        keep: usize,
        max: usize,
    ) -> ferry_aws::Result<usize> {
        ferry_aws::Aws::retire_task_definitions(self, apps, keep, max).await
    }
}

/// Where the controller writes, every write fenced by the lease.
pub trait StatusStore: Send + Sync + 'static {
    fn list_statuses(
        &self,
    ) -> impl Future<Output = ferry_store::Result<HashMap<String, AppStatus>>> + Send;
    fn put_status(
        &self,
        status: &AppStatus,
        fence: &Fence,
    ) -> impl Future<Output = ferry_store::Result<()>> + Send;
    fn set_release_outcome(
        &self,
        app: &str,
        version: u64,
        outcome: ReleaseOutcome,
        reason: Option<&str>,
        fence: &Fence,
    ) -> impl Future<Output = ferry_store::Result<()>> + Send;
    /// Removes a deleted app's spec once its resources are gone.
    fn remove_app(
        &self,
        name: &str,
        generation: u64,
        fence: &Fence,
    ) -> impl Future<Output = ferry_store::Result<()>> + Send;
    fn put_controller_settings(
        &self,
        settings: &Settings,
        fence: &Fence,
    ) -> impl Future<Output = ferry_store::Result<()>> + Send;
}

impl StatusStore for ferry_store::Store {
    async fn list_statuses(&self) -> ferry_store::Result<HashMap<String, AppStatus>> {
        ferry_store::Store::list_statuses(self).await
    }

    async fn put_status(&self, status: &AppStatus, fence: &Fence) -> ferry_store::Result<()> {
        ferry_store::Store::put_status(self, status, fence).await
    }

    async fn set_release_outcome(
        &self,
        app: &str,
        version: u64,
        outcome: ReleaseOutcome,
        reason: Option<&str>,
        fence: &Fence,
    ) -> ferry_store::Result<()> {
        ferry_store::Store::set_release_outcome(self, app, version, outcome, reason, fence).await
    }

    async fn remove_app(
        &self,
        name: &str,
        generation: u64,
        fence: &Fence,
    ) -> ferry_store::Result<()> {
        ferry_store::Store::remove_app(self, name, generation, fence).await
    }

    async fn put_controller_settings(
        &self,
        settings: &Settings,
        fence: &Fence,
    ) -> ferry_store::Result<()> {
        ferry_store::Store::put_controller_settings(self, settings, fence).await
    }
}
