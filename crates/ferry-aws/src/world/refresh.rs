//! The reads that keep the caches current: full listings, named reads of
//! known services, the progress of settling rollouts, and what a snapshot
//! found missing. Every read goes through the paced call layer; a term
//! decides when each is made.

use std::collections::{BTreeMap, BTreeSet};

use tracing::warn;

use super::{Aws, TrafficGuard};
use crate::ecs::Missing;
use crate::Result;

impl Aws {
    /// Reads what a snapshot found missing. `held` is the traffic lock if
    /// the caller holds it (then the inventory is read under it, not locked
    /// again). Returns the ECS and Auto Scaling calls made.
    pub async fn fill(&self, missing: &Missing, held: Option<&TrafficGuard>) -> Result<usize> {
        let calls = self.ecs.fill(missing).await?;
        if missing.traffic {
            match held {
                Some(_) => self.refresh_traffic_inventory().await?,
                None => self.refresh_traffic().await?,
            }
        }
        if missing.alarms {
            self.refresh_alarms().await?;
        }
        Ok(calls)
    }

    /// Lists every service of the cluster (ListServices, then
    /// DescribeServices 10 at a time), then reads the scalable targets, the
    /// traffic inventory and the schedules. Returns the ECS read calls
    /// made.
    pub async fn refresh_all(&self) -> Result<usize> {
        let reads = self.ecs.refresh_all().await?;
        self.refresh_others().await?;
        Ok(reads)
    }

    /// Reads the named services again (10 per DescribeServices call), then
    /// the scalable targets, the traffic inventory and the schedules.
    /// Returns the ECS read calls made.
    pub async fn refresh_services(&self, names: &[String]) -> Result<usize> {
        let reads = self.ecs.refresh(names).await?;
        self.refresh_others().await?;
        Ok(reads)
    }

    /// Lists the installation's task-definition families, so that a
    /// revision registered before a crash is reused and hygiene knows every
    /// revision. Returns the calls made.
    pub async fn load_task_definition_families(&self) -> Result<usize> {
        self.ecs
            .load_task_definition_families(&self.settings.owner)
            .await
    }

    /// The scalable targets, the traffic inventory and the schedules.
    async fn refresh_others(&self) -> Result<()> {
        // A failure is logged: the next snapshot that needs the targets
        // reads them again, and that app's reconcile fails if it cannot.
        if let Err(err) = self.ecs.refresh_autoscaling().await {
            warn!(error = %err, "reading the scalable targets failed");
        }
        self.refresh_traffic().await?;
        self.refresh_schedules().await?;
        // Like the scalable targets: logged, and read again by the
        // snapshot of an app that wants alarms.
        if let Err(err) = self.refresh_alarms().await {
            warn!(error = %err, "reading the alarms failed");
        }
        Ok(())
    }

    /// Lists the installation's alarms again (DescribeAlarms by prefix,
    /// tags once per alarm); nothing without a CloudWatch client.
    async fn refresh_alarms(&self) -> Result<()> {
        if let Some(alarms) = &self.alarms {
            alarms.refresh().await?;
        }
        Ok(())
    }

    /// Loads the traffic inventory again, never while an app changes
    /// traffic: under the traffic lock.
    async fn refresh_traffic(&self) -> Result<()> {
        let _held = self.traffic_lock.lock().await;
        self.refresh_traffic_inventory().await
    }

    /// Loads the traffic inventory again; the caller holds the traffic
    /// lock (the lock is not reentrant: taking it again would wait
    /// forever).
    async fn refresh_traffic_inventory(&self) -> Result<()> {
        if let Some(traffic) = &self.traffic {
            traffic.refresh().await?;
        }
        Ok(())
    }

    /// Lists the schedule group, reads the schedules that changed, and
    /// tells the ECS cache which revisions the schedules run.
    async fn refresh_schedules(&self) -> Result<()> {
        if let Some(scheduler) = &self.schedules {
            scheduler.refresh().await?;
            self.ecs
                .note_scheduled_revisions(scheduler.task_definition_arns());
        }
        Ok(())
    }

    /// Reads what became of the listed schedules' runs: their dead
    /// letters and tasks (the controller's, never the CLI's: it has
    /// neither queue nor run reader). Failures are logged. Returns the
    /// calls made.
    pub async fn read_schedule_runs(&self) -> usize {
        match &self.schedules {
            Some(scheduler) => scheduler.read_runs().await,
            None => 0,
        }
    }

    /// The installation's services whose rollout is still settling, read
    /// again (10 per call, across all apps). Returns how many services
    /// settle, and the reads made or the error.
    pub async fn read_progress(&self) -> (usize, Result<usize>) {
        let settling = self.ecs.settling(&self.settings.owner);
        if settling.is_empty() {
            return (0, Ok(0));
        }
        (settling.len(), self.ecs.refresh(&settling).await)
    }

    /// Reads the stopped tasks of the installation's settling services
    /// (one cluster-wide sweep, DescribeTasks only for what is new) and the
    /// last lines of the newest failed one per service; see
    /// [`Ecs::read_stopped_tasks`](crate::Ecs::read_stopped_tasks). No
    /// call when nothing settles. Returns the calls made.
    pub async fn read_stopped_tasks(&self) -> Result<crate::ecs::StopReadCalls> {
        self.ecs
            .read_stopped_tasks(&self.settings.owner, self.logs.as_ref())
            .await
    }

    /// Reads the current service deployment of each settling service with
    /// a strategy other than rolling (20 per call, across apps), until it
    /// is final and once after; see
    /// [`Ecs::read_service_deployments`](crate::Ecs::read_service_deployments).
    /// No call when none settles. Returns the calls made.
    pub async fn read_service_deployments(&self) -> Result<usize> {
        self.ecs
            .read_service_deployments(&self.settings.owner)
            .await
    }

    /// Names of the cached services tagged for this installation, by app.
    pub fn owned_services(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.ecs.owned_services(&self.settings.owner)
    }
}
