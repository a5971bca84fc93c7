//! One app's snapshot of the caches.

use ferry_core::traffic::ObservedTraffic;
use ferry_core::{Desired, Observed};
use ferry_manifest::App;

use super::{Aws, Snapshot, TrafficGuard};
use crate::ecs::Missing;
use crate::{Error, Result};

/// How many times [`Aws::observe`] reads what the caches lack before it
/// gives up: a write failing in between can invalidate an inventory again.
const FILL_ATTEMPTS: usize = 3;

impl Aws {
    /// What exists of `app`, which should have `desired`, from the caches
    /// alone: synchronous, no AWS call. `Err` names what the caches lack
    /// ([`Missing`]).
    pub fn snapshot(
        &self,
        app: &str,
        desired: &Desired,
    ) -> std::result::Result<(Observed, ObservedTraffic), Missing> {
        let (schedules, runs) = match &self.schedules {
            Some(scheduler) => {
                let schedules = scheduler.observe(app, &desired.schedules);
                let runs = scheduler.observe_runs(&schedules);
                (schedules, runs)
            }
            None => Default::default(),
        };
        let observed = self
            .ecs
            .snapshot(app, &self.settings.owner, desired, schedules);
        let traffic = match &self.traffic {
            Some(traffic) => traffic.snapshot(app, &desired.traffic),
            None => Some(ObservedTraffic::default()),
        };
        let alarms = match &self.alarms {
            Some(alarms) => alarms.snapshot(app, &desired.alarms),
            None => Some(Default::default()),
        };
        match (observed, traffic, alarms) {
            (Ok(mut observed), Some(traffic), Some(alarms)) => {
                observed.schedule_runs = runs;
                observed.alarms = alarms;
                if let Some(adapter) = &self.traffic {
                    adapter.name_rules(observed.services.values_mut());
                }
                Ok((observed, traffic))
            }
            (observed, traffic, alarms) => {
                let mut missing = observed.err().unwrap_or_default();
                missing.traffic = traffic.is_none();
                missing.alarms = alarms.is_none();
                Err(missing)
            }
        }
    }

    /// What `spec` should have (nothing, once it is being deleted), and
    /// [`Aws::snapshot`] of what exists of it, after reading what the
    /// caches lack (rare: a revision nobody has described yet, a family
    /// whose latest revision is in doubt, an inventory a failed write
    /// invalidated). Those reads are paced like every other, on behalf of
    /// the app. `held` is the traffic lock, if the caller holds it.
    pub async fn observe(
        &self,
        spec: &App,
        deleting: bool,
        held: Option<&TrafficGuard>,
    ) -> Result<Snapshot> {
        let app = spec.name.as_str();
        let desired = ferry_core::render::desired(spec, deleting, &self.settings);
        let mut missing = Missing::default();
        for _ in 0..FILL_ATTEMPTS {
            match self.snapshot(app, &desired) {
                Ok((observed, traffic)) => {
                    return Ok(Snapshot {
                        desired,
                        observed,
                        traffic,
                    })
                }
                Err(lacking) => missing = lacking,
            }
            self.fill(&missing, held).await?;
        }
        Err(Error::Build {
            what: "snapshot",
            message: format!(
                "the caches still lack what app {app} needs after reading it \
                 {FILL_ATTEMPTS} times: {missing:?}"
            ),
        })
    }
}
