//! The parts of Create/UpdateService that choose ECS's deployment
//! strategy: `deploymentConfiguration`'s strategy fields and each load
//! balancer's `advancedConfiguration`. Read back in
//! [`crate::normalize::deployment`].

use ferry_core::model::desired::PauseHook;
use ferry_core::traffic::AdvancedLink;
use ferry_core::DeploymentSpec;
use ferry_manifest::{ApprovalStage, RolloutStrategy, TimeoutAction};

use super::requests::count;
use super::*;
use crate::resolve::Resolve;

/// ECS's word for a strategy.
pub(crate) fn strategy_name(strategy: &RolloutStrategy) -> ecs::DeploymentStrategy {
    match strategy {
        RolloutStrategy::Rolling => ecs::DeploymentStrategy::Rolling,
        RolloutStrategy::BlueGreen => ecs::DeploymentStrategy::BlueGreen,
        RolloutStrategy::Canary { .. } => ecs::DeploymentStrategy::Canary,
        RolloutStrategy::Linear { .. } => ecs::DeploymentStrategy::Linear,
    }
}

/// A percentage in tenths as ECS takes it (a double, `canaryPercent`
/// 0.1-100, `stepPercent` 3-100).
pub(crate) fn percent(tenths: u32) -> f64 {
    f64::from(tenths) / 10.0
}

/// `strategy` always (so a switch back to rolling is said, not implied);
/// for the other strategies `bakeTimeInMinutes`, the canary or linear
/// configuration and the PAUSE hooks; `alarms` only when names are given
/// (decision of issue 23: no alarms block otherwise). Fields from
/// <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html>.
pub(super) fn with_strategy(
    builder: ecs::builders::DeploymentConfigurationBuilder,
    spec: &DeploymentSpec,
) -> Result<ecs::builders::DeploymentConfigurationBuilder> {
    let mut builder = builder.strategy(strategy_name(&spec.strategy));
    if spec.strategy.shifts_traffic() {
        builder = builder
            .bake_time_in_minutes(count(spec.bake_minutes))
            .set_lifecycle_hooks(Some(spec.pause_hooks.iter().map(pause_hook).collect()));
    }
    match spec.strategy {
        RolloutStrategy::Canary {
            percent_tenths,
            step_bake_minutes,
        } => {
            builder = builder.canary_configuration(
                ecs::CanaryConfiguration::builder()
                    .canary_percent(percent(percent_tenths))
                    .canary_bake_time_in_minutes(count(step_bake_minutes))
                    .build(),
            );
        }
        RolloutStrategy::Linear {
            step_tenths,
            step_bake_minutes,
        } => {
            builder = builder.linear_configuration(
                ecs::LinearConfiguration::builder()
                    .step_percent(percent(step_tenths))
                    .step_bake_time_in_minutes(count(step_bake_minutes))
                    .build(),
            );
        }
        RolloutStrategy::Rolling | RolloutStrategy::BlueGreen => {}
    }
    if !spec.alarms.is_empty() {
        builder = builder.alarms(built(
            ecs::DeploymentAlarms::builder()
                .set_alarm_names(Some(spec.alarms.clone()))
                .enable(true)
                .rollback(true)
                .build(),
            "deployment alarms",
        )?);
    }
    Ok(builder)
}

/// ECS's stage of an approval.
pub(crate) fn hook_stage(stage: ApprovalStage) -> ecs::DeploymentLifecycleHookStage {
    match stage {
        ApprovalStage::AfterTestTraffic => ecs::DeploymentLifecycleHookStage::PostTestTrafficShift,
        ApprovalStage::BeforeProductionTraffic => {
            ecs::DeploymentLifecycleHookStage::PreProductionTrafficShift
        }
    }
}

/// ECS's action when a hook times out.
pub(crate) fn hook_action(action: TimeoutAction) -> ecs::DeploymentLifecycleHookAction {
    match action {
        TimeoutAction::Rollback => ecs::DeploymentLifecycleHookAction::Rollback,
        TimeoutAction::Continue => ecs::DeploymentLifecycleHookAction::Continue,
    }
}

/// A PAUSE hook: ECS waits at its stage for `ContinueServiceDeployment`
/// or the timeout
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHook.html>).
fn pause_hook(hook: &PauseHook) -> ecs::DeploymentLifecycleHook {
    ecs::DeploymentLifecycleHook::builder()
        .target_type(ecs::DeploymentLifecycleHookTargetType::Pause)
        .lifecycle_stages(hook_stage(hook.stage))
        .timeout_configuration(
            ecs::DeploymentLifecycleHookTimeoutConfiguration::builder()
                .timeout_in_minutes(count(hook.timeout_minutes))
                .action(hook_action(hook.on_timeout))
                .build(),
        )
        .build()
}

/// A link's `advancedConfiguration`, its ARNs resolved now (a group or a
/// rule created earlier in the same plan resolves). `None` for a link
/// without one: UpdateService replaces the whole `loadBalancers` list, so
/// a link sent without it drops what was there — how a switch back to
/// rolling clears it
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html>,
/// `loadBalancers`).
pub(super) fn advanced_configuration(
    advanced: &AdvancedLink,
    resolve: Resolve<'_>,
) -> Result<ecs::AdvancedConfiguration> {
    let unknown = |what: String| Error::Build {
        what: "service request",
        message: format!("{what} is not known; it is created before the service"),
    };
    let alternate = (resolve.target_group)(&advanced.alternate_target_group)
        .ok_or_else(|| unknown(format!("target group {}", advanced.alternate_target_group)))?;
    let rule = |r: &ferry_core::traffic::RuleRef| {
        (resolve.rule)(r).ok_or_else(|| unknown(format!("rule {} of {}", r.key, r.listener_arn)))
    };
    Ok(ecs::AdvancedConfiguration::builder()
        .alternate_target_group_arn(alternate)
        .production_listener_rule(rule(&advanced.production_rule)?)
        .test_listener_rule(rule(&advanced.test_rule)?)
        .role_arn(&advanced.role_arn)
        .build())
}

#[cfg(test)]
#[path = "strategy_tests.rs"]
mod tests;
