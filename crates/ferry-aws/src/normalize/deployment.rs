//! A service's `deploymentConfiguration` and its load balancers'
//! `advancedConfiguration`, read back into the form Ferry renders, so that
//! what Ferry wrote (see `ecs::strategy`) reads back equal.

use aws_sdk_ecs::types as ecs;
use ferry_core::model::desired::PauseHook;
use ferry_core::traffic::{target_group_name_from_arn, AdvancedLink};
use ferry_core::DeploymentSpec;
use ferry_manifest::{ApprovalStage, RolloutStrategy, TimeoutAction};

use crate::resolve::unknown_rule;

/// ECS's defaults where it leaves a field out: `canaryPercent` 5 and
/// `canaryBakeTimeInMinutes` 10
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html>),
/// `stepPercent` 10 and `stepBakeTimeInMinutes` 6
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html>),
/// a hook's timeout 1440 minutes with ROLLBACK
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHookTimeoutConfiguration.html>).
const CANARY_PERCENT_TENTHS: u32 = 50;
const CANARY_BAKE_MINUTES: u32 = 10;
const LINEAR_STEP_TENTHS: u32 = 100;
const LINEAR_BAKE_MINUTES: u32 = 6;
const HOOK_TIMEOUT_MINUTES: u32 = 1440;

fn minutes(n: Option<i32>, default: u32) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(default)
}

fn tenths(percent: Option<f64>, default: u32) -> u32 {
    match percent {
        // Percentages are multiples of 0.1: rounding undoes the double.
        Some(p) if p.is_finite() && p >= 0.0 => (p * 10.0).round() as u32,
        _ => default,
    }
}

/// `None` when ECS leaves out a field Ferry always sets (the percents,
/// the circuit breaker) or describes what Ferry never writes (a strategy
/// it does not know, a hook that is not a PAUSE at one of the approval
/// stages): then no rendered spec equals it and the service is updated.
/// A service without `strategy` (created before strategies existed) is
/// rolling; for rolling, the bake time is read as 0, as rendered (ECS
/// ignores it there).
pub(crate) fn deployment(d: &ecs::DeploymentConfiguration) -> Option<DeploymentSpec> {
    let strategy = match d.strategy() {
        None | Some(ecs::DeploymentStrategy::Rolling) => RolloutStrategy::Rolling,
        Some(ecs::DeploymentStrategy::BlueGreen) => RolloutStrategy::BlueGreen,
        Some(ecs::DeploymentStrategy::Canary) => {
            let c = d.canary_configuration();
            RolloutStrategy::Canary {
                percent_tenths: tenths(c.and_then(|c| c.canary_percent()), CANARY_PERCENT_TENTHS),
                step_bake_minutes: minutes(
                    c.and_then(|c| c.canary_bake_time_in_minutes()),
                    CANARY_BAKE_MINUTES,
                ),
            }
        }
        Some(ecs::DeploymentStrategy::Linear) => {
            let l = d.linear_configuration();
            RolloutStrategy::Linear {
                step_tenths: tenths(l.and_then(|l| l.step_percent()), LINEAR_STEP_TENTHS),
                step_bake_minutes: minutes(
                    l.and_then(|l| l.step_bake_time_in_minutes()),
                    LINEAR_BAKE_MINUTES,
                ),
            }
        }
        Some(_) => return None,
    };
    let shifts = strategy.shifts_traffic();
    // Alarms that do not roll back are not Ferry's shape: read as none, so
    // a spec that names alarms differs and is written again.
    let mut alarms: Vec<String> = d
        .alarms()
        .filter(|a| a.enable() && a.rollback())
        .map(|a| a.alarm_names().to_vec())
        .unwrap_or_default();
    alarms.sort();
    alarms.dedup();
    let mut pause_hooks = Vec::new();
    if shifts {
        for hook in d.lifecycle_hooks() {
            if hook.target_type() != Some(&ecs::DeploymentLifecycleHookTargetType::Pause) {
                return None;
            }
            let timeout = hook.timeout_configuration();
            let on_timeout = match timeout.and_then(|t| t.action()) {
                None | Some(ecs::DeploymentLifecycleHookAction::Rollback) => {
                    TimeoutAction::Rollback
                }
                Some(ecs::DeploymentLifecycleHookAction::Continue) => TimeoutAction::Continue,
                Some(_) => return None,
            };
            for stage in hook.lifecycle_stages() {
                let stage = match stage {
                    ecs::DeploymentLifecycleHookStage::PostTestTrafficShift => {
                        ApprovalStage::AfterTestTraffic
                    }
                    ecs::DeploymentLifecycleHookStage::PreProductionTrafficShift => {
                        ApprovalStage::BeforeProductionTraffic
                    }
                    _ => return None,
                };
                pause_hooks.push(PauseHook {
                    stage,
                    timeout_minutes: minutes(
                        timeout.and_then(|t| t.timeout_in_minutes()),
                        HOOK_TIMEOUT_MINUTES,
                    ),
                    on_timeout,
                });
            }
        }
    }
    // ECS always reports the percents of a rolling service; for the other
    // strategies they are not what shifts traffic, and one it leaves out
    // reads as the rendered default rather than as drift.
    let percent = |value: Option<i32>, default: u32| match value {
        Some(v) => u32::try_from(v).ok(),
        None if shifts => Some(default),
        None => None,
    };
    let defaults = DeploymentSpec::default();
    Some(DeploymentSpec {
        min_healthy_percent: percent(d.minimum_healthy_percent(), defaults.min_healthy_percent)?,
        max_percent: percent(d.maximum_percent(), defaults.max_percent)?,
        rollback: d.deployment_circuit_breaker()?.rollback(),
        strategy,
        bake_minutes: if shifts {
            minutes(d.bake_time_in_minutes(), 0)
        } else {
            0
        },
        alarms,
        pause_hooks,
    })
}

/// A load balancer's `advancedConfiguration`: the alternate group by name
/// (from its ARN) and the rules as [`unknown_rule`] references, which the
/// snapshot names through the rules inventory (`Traffic::name_rules`).
/// `None` when it lacks a field Ferry always sets.
pub(crate) fn advanced(a: &ecs::AdvancedConfiguration) -> Option<AdvancedLink> {
    Some(AdvancedLink {
        alternate_target_group: target_group_name_from_arn(a.alternate_target_group_arn()?)
            .to_owned(),
        production_rule: unknown_rule(a.production_listener_rule()?),
        test_rule: unknown_rule(a.test_listener_rule()?),
        role_arn: a.role_arn()?.to_owned(),
    })
}
