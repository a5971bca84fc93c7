//! The narrow interfaces the reconciler needs of the world, so that it can
//! be tested with in-memory fakes: the cluster (ECS through its shared
//! cache), the load balancers and DNS, and where status goes.
//!
//! The production implementations delegate to [`ferry_aws::Ecs`],
//! [`ferry_aws::Traffic`] and [`ferry_store::Store`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;

use ferry_core::schedule_runs::ObservedRuns;
use ferry_core::traffic::{DesiredTraffic, ObservedTraffic, TrafficAction};
use ferry_core::{
    Action, AppStatus, DesiredProcess, DesiredSchedule, Observed, ObservedSchedule, ReleaseOutcome,
    Settings,
};
use ferry_store::Fence;

/// Turns a target group name into its ARN, as the traffic inventory knows it.
pub type TargetGroups<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// ECS, through the shared cache of the cluster's services.
pub trait Cluster: Send + Sync + 'static {
    /// Reads every service of the cluster; returns the reads made.
    fn refresh_all(&self) -> impl Future<Output = ferry_aws::Result<usize>> + Send;
    /// Reads the named services again; returns the reads made.
    fn refresh(&self, names: &[String]) -> impl Future<Output = ferry_aws::Result<usize>> + Send;
    /// Reads the scalable targets and policies of the cluster's services;
    /// returns the calls made. Without autoscaling there is nothing to read.
    fn refresh_autoscaling(&self) -> impl Future<Output = ferry_aws::Result<usize>> + Send {
        async { Ok(0) }
    }
    /// Loads the latest revision of every task-definition family of the
    /// installation `owner`.
    fn load_task_definition_families(
        &self,
        owner: &str,
    ) -> impl Future<Output = ferry_aws::Result<usize>> + Send;
    /// Deregisters unused revisions of the apps' families; see
    /// [`ferry_aws::Ecs::retire_task_definitions`]. Returns how many.
    fn retire_task_definitions(
        &self,
        apps: &BTreeSet<String>,
        owner: &str,
        keep: usize,
        max: usize,
    ) -> impl Future<Output = ferry_aws::Result<usize>> + Send;
    /// Cached services of this installation that are still changing.
    fn settling(&self, owner: &str) -> Vec<String>;
    /// Cached services of this installation, by app.
    fn owned_services(&self, owner: &str) -> BTreeMap<String, BTreeSet<String>>;
    /// One app's slice of the cache.
    fn observe(
        &self,
        app: &str,
        owner: &str,
        desired: &[DesiredProcess],
    ) -> impl Future<Output = ferry_aws::Result<Observed>> + Send;
    /// Executes one ECS action; see [`ferry_aws::Ecs::execute`].
    fn execute(
        &self,
        action: &Action,
        registered: &mut BTreeMap<String, String>,
        target_groups: TargetGroups<'_>,
    ) -> impl Future<Output = ferry_aws::Result<()>> + Send;
    /// Fills in the task definitions an app's schedules run; see
    /// [`ferry_aws::Ecs::observe_schedule_targets`]. Does nothing by
    /// default (a cluster without scheduled processes).
    fn observe_schedule_targets(
        &self,
        desired: &[DesiredSchedule],
        observed: &mut Observed,
    ) -> impl Future<Output = ferry_aws::Result<()>> + Send {
        let _ = (desired, observed);
        async { Ok(()) }
    }
}

/// EventBridge Scheduler, through its shared cache of the group.
pub trait Schedules: Send + Sync + 'static {
    /// Lists the group and reads the schedules that changed, then what
    /// became of their runs.
    fn refresh(&self) -> impl Future<Output = ferry_aws::Result<usize>> + Send;
    /// One app's slice of the cache.
    fn observe(&self, app: &str, desired: &[DesiredSchedule])
        -> BTreeMap<String, ObservedSchedule>;
    /// Executes one schedule action; see [`ferry_aws::Scheduler::execute`].
    fn execute(
        &self,
        action: &Action,
        registered: &BTreeMap<String, String>,
    ) -> impl Future<Output = ferry_aws::Result<()>> + Send;
    /// What became of those schedules' runs, from the caches; see
    /// [`ferry_aws::Scheduler::observe_runs`]. Nothing by default.
    fn observe_runs(
        &self,
        schedules: &BTreeMap<String, ObservedSchedule>,
    ) -> BTreeMap<String, ObservedRuns> {
        let _ = schedules;
        BTreeMap::new()
    }
    /// Deletes the dead letters status now records; see
    /// [`ferry_aws::Scheduler::delete_dead_letters`].
    fn delete_dead_letters(
        &self,
        messages: &[String],
    ) -> impl Future<Output = ferry_aws::Result<usize>> + Send {
        let _ = messages;
        async { Ok(0) }
    }
}

impl Schedules for ferry_aws::Scheduler {
    async fn refresh(&self) -> ferry_aws::Result<usize> {
        let calls = ferry_aws::Scheduler::refresh(self).await?;
        Ok(calls + ferry_aws::Scheduler::read_runs(self).await)
    }

    fn observe(
        &self,
        app: &str,
        desired: &[DesiredSchedule],
    ) -> BTreeMap<String, ObservedSchedule> {
        ferry_aws::Scheduler::observe(self, app, desired)
    }

    async fn execute(
        &self,
        action: &Action,
        registered: &BTreeMap<String, String>,
    ) -> ferry_aws::Result<()> {
        ferry_aws::Scheduler::execute(self, action, registered).await
    }

    fn observe_runs(
        &self,
        schedules: &BTreeMap<String, ObservedSchedule>,
    ) -> BTreeMap<String, ObservedRuns> {
        ferry_aws::Scheduler::observe_runs(self, schedules)
    }

    async fn delete_dead_letters(&self, messages: &[String]) -> ferry_aws::Result<usize> {
        ferry_aws::Scheduler::delete_dead_letters(self, messages).await
    }
}

/// Load balancers and DNS, through their inventory.
pub trait Network: Send + Sync + 'static {
    fn refresh(&self) -> impl Future<Output = ferry_aws::Result<()>> + Send;
    fn observe(
        &self,
        app: &str,
        desired: &DesiredTraffic,
    ) -> impl Future<Output = ferry_aws::Result<ObservedTraffic>> + Send;
    fn execute(&self, change: &TrafficAction)
        -> impl Future<Output = ferry_aws::Result<()>> + Send;
    fn target_group_arn(&self, name: &str) -> Option<String>;
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

impl Cluster for ferry_aws::Ecs {
    async fn refresh_all(&self) -> ferry_aws::Result<usize> {
        ferry_aws::Ecs::refresh_all(self).await
    }

    async fn refresh(&self, names: &[String]) -> ferry_aws::Result<usize> {
        ferry_aws::Ecs::refresh(self, names).await
    }

    async fn refresh_autoscaling(&self) -> ferry_aws::Result<usize> {
        ferry_aws::Ecs::refresh_autoscaling(self).await
    }

    async fn retire_task_definitions(
        &self,
        apps: &BTreeSet<String>,
        owner: &str,
        keep: usize,
        max: usize,
    ) -> ferry_aws::Result<usize> {
        ferry_aws::Ecs::retire_task_definitions(self, apps, owner, keep, max).await
    }

    async fn load_task_definition_families(&self, owner: &str) -> ferry_aws::Result<usize> {
        ferry_aws::Ecs::load_task_definition_families(self, owner).await
    }

    fn settling(&self, owner: &str) -> Vec<String> {
        ferry_aws::Ecs::settling(self, owner)
    }

    fn owned_services(&self, owner: &str) -> BTreeMap<String, BTreeSet<String>> {
        ferry_aws::Ecs::owned_services(self, owner)
    }

    async fn observe(
        &self,
        app: &str,
        owner: &str,
        desired: &[DesiredProcess],
    ) -> ferry_aws::Result<Observed> {
        ferry_aws::Ecs::observe(self, app, owner, desired).await
    }

    async fn execute(
        &self,
        action: &Action,
        registered: &mut BTreeMap<String, String>,
        target_groups: TargetGroups<'_>,
    ) -> ferry_aws::Result<()> {
        ferry_aws::Ecs::execute(self, action, registered, target_groups).await
    }

    async fn observe_schedule_targets(
        &self,
        desired: &[DesiredSchedule],
        observed: &mut Observed,
    ) -> ferry_aws::Result<()> {
        ferry_aws::Ecs::observe_schedule_targets(self, desired, observed).await
    }
}

impl Network for ferry_aws::Traffic {
    async fn refresh(&self) -> ferry_aws::Result<()> {
        ferry_aws::Traffic::refresh(self).await
    }

    async fn observe(
        &self,
        app: &str,
        desired: &DesiredTraffic,
    ) -> ferry_aws::Result<ObservedTraffic> {
        ferry_aws::Traffic::observe(self, app, desired).await
    }

    async fn execute(&self, change: &TrafficAction) -> ferry_aws::Result<()> {
        ferry_aws::Traffic::execute(self, change).await
    }

    fn target_group_arn(&self, name: &str) -> Option<String> {
        ferry_aws::Traffic::target_group_arn(self, name)
    }
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
