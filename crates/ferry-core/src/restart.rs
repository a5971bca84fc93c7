//! `ferry restart`: a new deployment of the spec as it is, through ECS's
//! force-new-deployment, so that tasks pick up rotated secrets (ECS reads
//! `valueFrom` secrets only when a task starts).
//!
//! A restart is a generation of its own (a release with the same spec),
//! carrying the processes to restart. It is pending until the controller
//! has acted on its generation (`observedGeneration` has reached it); the
//! reconcile that acts adds `forceNewDeployment` to each process's
//! UpdateService. Delivery is at least once: a controller that dies after
//! the UpdateService and before writing status restarts once more.

use serde::{Deserialize, Serialize};

use crate::model::action::{Action, Plan};
use crate::model::desired::DesiredProcess;
use crate::model::observed::{Observed, ServiceStatus};
use crate::model::status::AppStatus;

/// A restart asked for at `generation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Restart {
    pub generation: u64,
    /// The processes to restart; empty means all of them.
    #[serde(default)]
    pub processes: Vec<String>,
}

impl Restart {
    /// Whether the controller has yet to act on it.
    pub fn is_pending(&self, previous: Option<&AppStatus>) -> bool {
        previous.is_none_or(|p| p.observed_generation < self.generation)
    }

    fn covers(&self, process: &str) -> bool {
        self.processes.is_empty() || self.processes.iter().any(|p| p == process)
    }
}

/// Adds a new deployment for every process `restart` covers whose service
/// runs: to the UpdateService the plan has for it, or as an UpdateService
/// of its own. A service about to be created starts fresh anyway.
pub fn force_new_deployments(
    plan: &mut Plan,
    restart: &Restart,
    desired: &[DesiredProcess],
    observed: &Observed,
) {
    for process in desired.iter().filter(|p| restart.covers(&p.process)) {
        let name = &process.service.name;
        let runs = observed
            .services
            .get(name)
            .is_some_and(|s| s.status == ServiceStatus::Active);
        if !runs {
            continue;
        }
        let planned = plan.actions.iter_mut().find_map(|action| match action {
            Action::UpdateService(update) if update.name == *name => {
                Some(&mut update.force_new_deployment)
            }
            _ => None,
        });
        match planned {
            Some(force) => *force = true,
            None => plan
                .actions
                .push(Action::new_deployment(name.clone(), None, None)),
        }
    }
}
