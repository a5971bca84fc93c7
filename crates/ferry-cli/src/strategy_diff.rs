//! `ferry diff`'s account of a changed `rollout:`: one line per process
//! whose strategy, bakes, alarms or approval change, in words, beside the
//! text diff (which shows the keys, not what ECS will do with them).

use ferry_manifest::{App, ApprovalStage, Rollout, RolloutAlarms, RolloutStrategy, TimeoutAction};

use ferry_core::status::percent;

/// `web: rollout rolling -> canary 5 % (step bake 10m), bake 5m: ...`,
/// for each process of both specs whose resolved rollout differs.
pub fn changes(stored: &App, wanted: &App) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, process) in &wanted.processes {
        let Some(before) = stored.processes.get(name) else {
            continue;
        };
        if before.rollout == process.rollout {
            continue;
        }
        let from = describe(before.rollout.as_ref());
        let to = describe(process.rollout.as_ref());
        let switch =
            strategy(before.rollout.as_ref()).name() != strategy(process.rollout.as_ref()).name();
        let note = if switch {
            " (the same service is updated: no new service, no downtime)"
        } else {
            ""
        };
        lines.push(format!("{name}: rollout {from} -> {to}{note}"));
    }
    lines
}

fn strategy(rollout: Option<&Rollout>) -> RolloutStrategy {
    rollout.map_or(RolloutStrategy::Rolling, |r| r.strategy)
}

/// A resolved rollout in words: `canary 5 % (step bake 10m), bake 5m,
/// alarms default, approval afterTestTraffic (1440m, then rollback)`.
pub fn describe(rollout: Option<&Rollout>) -> String {
    let Some(rollout) = rollout else {
        return "rolling".to_owned();
    };
    let mut words = match rollout.strategy {
        RolloutStrategy::Rolling => "rolling".to_owned(),
        RolloutStrategy::BlueGreen => format!("blueGreen, bake {}m", rollout.bake_minutes),
        RolloutStrategy::Canary {
            percent_tenths,
            step_bake_minutes,
        } => format!(
            "canary {} % (step bake {step_bake_minutes}m), bake {}m",
            percent(percent_tenths),
            rollout.bake_minutes
        ),
        RolloutStrategy::Linear {
            step_tenths,
            step_bake_minutes,
        } => format!(
            "linear {} % a step (step bake {step_bake_minutes}m), bake {}m",
            percent(step_tenths),
            rollout.bake_minutes
        ),
    };
    match &rollout.alarms {
        RolloutAlarms::None => {}
        RolloutAlarms::Default => words.push_str(", alarms default"),
        RolloutAlarms::Named(names) => words.push_str(&format!(", alarms {}", names.join(", "))),
    }
    if let Some(approval) = &rollout.approval {
        let stage = match approval.stage {
            ApprovalStage::AfterTestTraffic => "afterTestTraffic",
            ApprovalStage::BeforeProductionTraffic => "beforeProductionTraffic",
        };
        let then = match approval.on_timeout {
            TimeoutAction::Rollback => "rollback",
            TimeoutAction::Continue => "continue",
        };
        words.push_str(&format!(
            ", approval {stage} ({}m, then {then})",
            approval.timeout_minutes
        ));
    }
    words
}

#[cfg(test)]
#[path = "strategy_diff_tests.rs"]
mod tests;
