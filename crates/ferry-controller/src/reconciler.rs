//! Reconciles one app: observe, plan, act, report. Level-triggered: it
//! reads everything it needs each time and never needs to know why it was
//! called, so it is safe to repeat and to cancel at any await.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use ferry_aws::Ecs;
use ferry_core::names::{self, Ownership};
use ferry_core::status::{self, LastError, StatusInput};
use ferry_core::{AppStatus, ServiceStatus, Settings};
use ferry_store::{AppRecord, Store};
use time::OffsetDateTime;
use tracing::{info, warn};

/// What the caller should do after a reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing left to do: come back at the next resync.
    Converged,
    /// Changes were made or a rollout runs: look again soon.
    Requeue(Duration),
    /// The app's resources are gone and its spec was removed.
    Removed,
    /// Something failed; retry with backoff.
    Failed(String),
}

/// How soon an app is looked at again after Ferry changed it.
pub const PROGRESS_REQUEUE: Duration = Duration::from_secs(2);

pub struct Reconciler {
    pub store: Store,
    pub ecs: Ecs,
    pub settings: Settings,
    /// Service names seen tagged with each app by the last inventory, plus
    /// those created since: how services of removed processes are found.
    inventory: Mutex<BTreeMap<String, BTreeSet<String>>>,
    /// The status last written per app, so unchanged status is not written.
    written: Mutex<HashMap<String, AppStatus>>,
}

impl Reconciler {
    pub fn new(store: Store, ecs: Ecs, settings: Settings) -> Self {
        Self {
            store,
            ecs,
            settings,
            inventory: Mutex::new(BTreeMap::new()),
            written: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the inventory with a fresh listing of the cluster.
    pub async fn refresh_inventory(&self) -> Result<(), ferry_aws::Error> {
        let fresh = self.ecs.inventory(&self.settings.owner).await?;
        *lock(&self.inventory) = fresh;
        Ok(())
    }

    /// Apps that own services in the cluster, per the inventory.
    pub fn apps_with_services(&self) -> BTreeSet<String> {
        lock(&self.inventory).keys().cloned().collect()
    }

    /// Loads the statuses written before, so a restart does not rewrite them.
    pub async fn load_statuses(&self) -> Result<(), ferry_store::Error> {
        let statuses = self.store.list_statuses().await?;
        *lock(&self.written) = statuses;
        Ok(())
    }

    /// Reconciles one app.
    pub async fn reconcile(&self, app: &AppRecord) -> Outcome {
        let desired = if app.deleting {
            Vec::new()
        } else {
            ferry_core::render(&app.spec, &self.settings)
        };
        let known = lock(&self.inventory)
            .get(&app.name)
            .cloned()
            .unwrap_or_default();
        let observed = match self.ecs.observe(&desired, &known).await {
            Ok(observed) => observed,
            Err(err) => {
                let error = LastError {
                    operation: err.operation(),
                    message: err.to_string(),
                    time: status::rfc3339(OffsetDateTime::now_utc()),
                };
                self.report(
                    app,
                    &desired,
                    &Default::default(),
                    &Default::default(),
                    Some(error),
                )
                .await;
                return Outcome::Failed(err.to_string());
            }
        };
        let plan = ferry_core::plan(&app.name, &self.settings.owner, &desired, &observed);
        for blocker in &plan.blockers {
            warn!(process = %blocker.process, reason = %blocker.reason, "{}", blocker.message);
        }
        let result = self.ecs.execute(&plan).await;
        self.remember_services(&app.name, &plan);

        let error = result.as_ref().err().map(|failed| LastError {
            operation: failed.error.operation(),
            message: failed.error.to_string(),
            time: status::rfc3339(OffsetDateTime::now_utc()),
        });
        if let Err(failed) = &result {
            warn!(completed = failed.completed, error = %failed.error, "plan stopped");
        } else if !plan.actions.is_empty() {
            info!(actions = plan.actions.len(), "plan executed");
        }

        if app.deleting && result.is_ok() && plan.actions.is_empty() {
            let remaining = observed.services.values().any(|s| {
                s.status == ServiceStatus::Active
                    && names::ownership(&s.tags, &self.settings.owner, &app.name) == Ownership::Ours
            });
            if !remaining {
                return match self.store.remove_app(&app.name, app.generation).await {
                    Ok(()) => {
                        info!("all resources gone, app removed");
                        lock(&self.inventory).remove(&app.name);
                        lock(&self.written).remove(&app.name);
                        Outcome::Removed
                    }
                    Err(err) => Outcome::Failed(err.to_string()),
                };
            }
        }

        let failed = error.as_ref().map(|e| e.message.clone());
        let status = self.report(app, &desired, &observed, &plan, error).await;
        let progressing = status
            .condition(status::PROGRESSING)
            .is_some_and(|c| c.status == "True");
        match failed {
            Some(message) => Outcome::Failed(message),
            None if progressing => Outcome::Requeue(PROGRESS_REQUEUE),
            None => Outcome::Converged,
        }
    }

    /// Derives status and writes it if it changed. Returns it.
    async fn report(
        &self,
        app: &AppRecord,
        desired: &[ferry_core::DesiredProcess],
        observed: &ferry_core::Observed,
        plan: &ferry_core::Plan,
        error: Option<LastError>,
    ) -> AppStatus {
        let previous = lock(&self.written).get(&app.name).cloned();
        let status = status::derive(StatusInput {
            app: &app.name,
            generation: app.generation,
            desired,
            observed,
            plan,
            error,
            previous: previous.as_ref(),
            now: OffsetDateTime::now_utc(),
        });
        if previous.as_ref().is_some_and(|p| p.same_as(&status)) {
            return status;
        }
        match self.store.put_status(&status).await {
            Ok(()) => {
                lock(&self.written).insert(app.name.clone(), status.clone());
            }
            Err(err) => warn!(error = %err, "writing status failed"),
        }
        status
    }

    fn remember_services(&self, app: &str, plan: &ferry_core::Plan) {
        let mut inventory = lock(&self.inventory);
        for action in &plan.actions {
            match action {
                ferry_core::Action::CreateService { service, .. } => {
                    inventory
                        .entry(app.to_owned())
                        .or_default()
                        .insert(service.name.clone());
                }
                ferry_core::Action::DeleteService { name } => {
                    if let Some(names) = inventory.get_mut(app) {
                        names.remove(name);
                    }
                }
                _ => {}
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them half-updated.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
