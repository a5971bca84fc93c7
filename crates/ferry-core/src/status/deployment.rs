//! ECS's own verdict on a blue/green, canary or linear rollout: the
//! service deployment (`DescribeServiceDeployments`) of the process's
//! service, and what status shows of it ([`DeploymentView`]).
//!
//! For these strategies ECS judges the rollout itself: it shifts traffic,
//! bakes, waits on PAUSE hooks, and rolls back on an alarm, a hook that
//! timed out, `StopServiceDeployment` or its circuit breaker
//! (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html>,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html>).
//! Its service deployment's `status` is the verdict: `SUCCESSFUL` once the
//! bake is over and the old revision cleaned up; `ROLLBACK_*`,
//! `STOP_REQUESTED` or `STOPPED` when the new revision did not take over.
//! The service's `deployments[]` can look complete long before (the new
//! revision runs all its tasks from `SCALE_UP` on), so Ferry never calls
//! such a rollout complete on their word while ECS is still deploying.

use time::OffsetDateTime;

use crate::model::deployments::{DeploymentView, LifecycleStage, ObservedServiceDeployment};
use crate::model::desired::DeploymentSpec;
use crate::model::observed::{DeploymentStatus, Observed, ObservedService};
use crate::model::status::{rfc3339, ProcessStatus, RolloutStatus};
use ferry_manifest::RolloutStrategy;

/// What a service deployment says of its rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `SUCCESSFUL`.
    Successful,
    /// Rolled back or stopped (or being so): `cause` as [`rollback_cause`].
    RolledBack { cause: String },
    /// Still deploying.
    InProgress,
}

/// ECS's verdict on `deployment`.
pub fn verdict(deployment: &ObservedServiceDeployment) -> Verdict {
    if deployment.status.is_rollback() {
        Verdict::RolledBack {
            cause: rollback_cause(deployment),
        }
    } else if deployment.status.is_final() {
        Verdict::Successful
    } else {
        Verdict::InProgress
    }
}

/// Why ECS rolled `deployment` back or stopped it: the alarms that fired
/// (`alarm web-5xx, web-latency`), else ECS's rollback reason, else its
/// status reason, else `stopped` (a stop ECS gave no reason for).
pub fn rollback_cause(deployment: &ObservedServiceDeployment) -> String {
    if !deployment.triggered_alarms.is_empty() {
        return format!("alarm {}", deployment.triggered_alarms.join(", "));
    }
    [&deployment.rollback_reason, &deployment.status_reason]
        .into_iter()
        .flatten()
        .map(|reason| reason.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|reason| !reason.is_empty())
        .unwrap_or_else(|| "stopped".to_owned())
}

/// What Ferry knew of a process before this reconcile.
#[derive(Debug, Clone, Copy)]
pub struct Before<'a> {
    /// The process's status written before, if any.
    pub status: Option<&'a ProcessStatus>,
    /// Whether that status is of the generation being judged.
    pub same_generation: bool,
}

impl Before<'_> {
    /// The status before, of this generation, showed `wanted` rolling out.
    fn saw_rolling_out(&self, wanted: &str) -> bool {
        self.same_generation
            && self.status.is_some_and(|s| {
                s.rollout == Some(RolloutStatus::InProgress)
                    && s.new_task_definition.as_deref() == Some(wanted)
            })
    }

    /// The status before, of this generation, showed `arn` as the
    /// process's deployment: Ferry matched it to this rollout already.
    fn followed(&self, arn: &str) -> bool {
        self.same_generation && self.view().is_some_and(|v| v.arn == arn)
    }

    fn view(&self) -> Option<&DeploymentView> {
        self.status.and_then(|s| s.deployment.as_ref())
    }
}

/// The service's current service deployment as the adapter described it:
/// the one whose ARN is the service's `currentServiceDeployment` (an older
/// description left from before a new deployment started is not it).
pub fn current<'a>(
    observed: &'a Observed,
    service: &ObservedService,
) -> Option<&'a ObservedServiceDeployment> {
    observed
        .service_deployments
        .get(&service.name)
        .filter(|d| service.current_deployment.as_deref() == Some(d.arn.as_str()))
}

/// The view the status before showed (`before`), kept while the service
/// is still on that deployment but the adapter holds no description of it
/// (it describes a deployment while it runs and once after): Ferry keeps
/// what it last knew rather than forget a deployment in flight.
pub fn kept_view<'a>(
    before: Option<&'a DeploymentView>,
    observed: &Observed,
    service: &ObservedService,
) -> Option<&'a DeploymentView> {
    before.filter(|view| {
        service.current_deployment.as_deref() == Some(view.arn.as_str())
            && current(observed, service).is_none()
    })
}

/// Whether ECS is still deploying `service`, as far as Ferry knows: its
/// current service deployment is not final, or, while it is not described,
/// the one Ferry last showed (`kept`, see [`kept_view`]) was not.
pub fn busy(observed: &Observed, service: &ObservedService, kept: Option<&DeploymentView>) -> bool {
    match current(observed, service) {
        Some(deployment) => !deployment.status.is_final(),
        None => kept.is_some_and(|view| !view.status.is_final()),
    }
}

/// The service deployment of the rollout of `wanted`, if the adapter
/// described it. A service deployment names service revisions, not task
/// definitions, so Ferry matches it through the service's current
/// deployment and its PRIMARY `deployments[]` entry (ECS points PRIMARY
/// at the target revision as soon as the deployment starts):
/// - it is the service's current service deployment ([`current`]), and
/// - the status before, of this generation, already showed it, or
/// - it is deploying or succeeded and the PRIMARY runs `wanted`, or
/// - it is rolling back (not yet final) and the PRIMARY runs `wanted` or
///   the status before saw `wanted` rolling out, or
/// - it rolled back (final), the PRIMARY runs another revision than
///   `wanted`, and the status before, of this generation, saw `wanted`
///   rolling out. A finished rollback points PRIMARY back at the source
///   revision: a generation that asks for that revision (again) must not
///   inherit the failure, neither at its first look nor once it saw the
///   source revision's tasks settle.
///
/// Caveat: a deployment started outside Ferry (a console update to
/// another revision) during a rollout, and rolled back, is taken for this
/// rollout's.
pub fn of_rollout<'a>(
    observed: &'a Observed,
    service: &ObservedService,
    wanted: &str,
    before: Before<'_>,
) -> Option<&'a ObservedServiceDeployment> {
    let deployment = current(observed, service)?;
    let primary_runs_wanted = service
        .deployments
        .iter()
        .any(|d| d.status == DeploymentStatus::Primary && d.task_definition_arn == wanted);
    let ours = before.followed(&deployment.arn)
        || match (
            deployment.status.is_rollback(),
            deployment.status.is_final(),
        ) {
            (false, _) => primary_runs_wanted,
            (true, false) => primary_runs_wanted || before.saw_rolling_out(wanted),
            (true, true) => !primary_runs_wanted && before.saw_rolling_out(wanted),
        };
    ours.then_some(deployment)
}

/// Minutes the bake of `stage` at `weight_tenths` lasts under `spec`: the
/// step bake while a canary or linear deployment holds a partial weight in
/// `PRODUCTION_TRAFFIC_SHIFT`, the final bake in `BAKE_TIME`; `None`
/// elsewhere.
fn bake_minutes(
    spec: &DeploymentSpec,
    stage: Option<LifecycleStage>,
    weight_tenths: Option<u32>,
) -> Option<u32> {
    match stage? {
        LifecycleStage::BakeTime => Some(spec.bake_minutes),
        LifecycleStage::ProductionTrafficShift
            if weight_tenths.is_some_and(|w| w > 0 && w < 1000) =>
        {
            match spec.strategy {
                RolloutStrategy::Canary {
                    step_bake_minutes, ..
                }
                | RolloutStrategy::Linear {
                    step_bake_minutes, ..
                } => Some(step_bake_minutes),
                RolloutStrategy::Rolling | RolloutStrategy::BlueGreen => None,
            }
        }
        _ => None,
    }
}

/// What status shows of `deployment`, deployed under `spec`. `since` is
/// kept from `before` (the view the status before showed) while it shows
/// the same deployment at the same stage and production weight, else it is
/// `now`: what remains of a bake is measured from it.
pub fn view(
    spec: &DeploymentSpec,
    deployment: &ObservedServiceDeployment,
    before: Option<&DeploymentView>,
    now: OffsetDateTime,
) -> DeploymentView {
    let stage = deployment.lifecycle_stage;
    let weight = deployment
        .target
        .as_ref()
        .and_then(|t| t.production_weight_tenths);
    let since = before
        .filter(|b| {
            b.arn == deployment.arn && b.stage == stage && b.production_weight_tenths == weight
        })
        .map_or_else(|| rfc3339(now), |b| b.since.clone());
    DeploymentView {
        arn: deployment.arn.clone(),
        strategy: spec.strategy.name().to_owned(),
        status: deployment.status,
        stage,
        since,
        production_weight_tenths: weight,
        bake_minutes: bake_minutes(spec, stage, weight),
        awaiting: deployment.awaiting_hook().cloned(),
        rolled_back: match verdict(deployment) {
            Verdict::RolledBack { cause } => Some(cause),
            _ => None,
        },
    }
}

#[cfg(test)]
#[path = "deployment_tests.rs"]
pub(crate) mod tests;
