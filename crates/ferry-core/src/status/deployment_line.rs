//! The one line a person reads about a blue/green, canary or linear
//! deployment: what `ferry status`, `apply --wait` and `ferry rollout
//! status` print.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::model::deployments::{DeploymentView, LifecycleStage, ServiceDeploymentState};

/// Where `view` stands at `now`, in a few words: "canary 10 %, baking
/// 1m40s left", "waiting for approval (expires in 52m, then rollback)",
/// "rolled back: alarm web-5xx", "completed".
///
/// What remains of a bake is measured from `view.since` (when Ferry first
/// saw the stage at its weight), so it can read a little longer than ECS's
/// own timer; it never goes below zero.
pub fn deployment_line(view: &DeploymentView, now: OffsetDateTime) -> String {
    if let Some(cause) = &view.rolled_back {
        let verb = if view.status.is_final() {
            "rolled back"
        } else {
            "rolling back"
        };
        return format!("{verb}: {cause}");
    }
    if view.status == ServiceDeploymentState::Successful {
        return "completed".to_owned();
    }
    if let Some(hook) = &view.awaiting {
        let expires = hook
            .expires_at
            .as_deref()
            .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok())
            .map(|at| format!("expires in {}", compact(at - now)));
        let then = hook
            .timeout_action
            .as_deref()
            .map(|action| format!("then {}", action.to_ascii_lowercase()));
        let details: Vec<String> = [expires, then].into_iter().flatten().collect();
        return if details.is_empty() {
            "waiting for approval".to_owned()
        } else {
            format!("waiting for approval ({})", details.join(", "))
        };
    }
    let partial = view
        .production_weight_tenths
        .filter(|w| *w > 0 && *w < 1000);
    let what = match view.stage {
        None
        | Some(
            LifecycleStage::ReconcileService
            | LifecycleStage::PreScaleUp
            | LifecycleStage::ScaleUp
            | LifecycleStage::PostScaleUp,
        ) => "scaling up the new revision".to_owned(),
        Some(LifecycleStage::TestTrafficShift | LifecycleStage::PostTestTrafficShift) => {
            "test traffic on the new revision".to_owned()
        }
        Some(
            LifecycleStage::PreProductionTrafficShift | LifecycleStage::ProductionTrafficShift,
        ) => match (partial, view.production_weight_tenths) {
            (Some(weight), _) => format!("{} {} %", view.strategy, percent(weight)),
            (None, Some(1000)) => "all traffic on the new revision".to_owned(),
            (None, _) => "shifting production traffic".to_owned(),
        },
        Some(LifecycleStage::PostProductionTrafficShift | LifecycleStage::BakeTime) => {
            "all traffic on the new revision".to_owned()
        }
        Some(LifecycleStage::CleanUp) => "cleaning up the old revision".to_owned(),
    };
    match view.bake_minutes {
        Some(minutes) => format!("{what}, baking {} left", remaining(view, minutes, now)),
        None => what,
    }
}

/// What remains of a bake of `minutes` begun at `view.since`, at `now`.
fn remaining(view: &DeploymentView, minutes: u32, now: OffsetDateTime) -> String {
    let bake = Duration::minutes(i64::from(minutes));
    let left =
        OffsetDateTime::parse(&view.since, &Rfc3339).map_or(bake, |since| since + bake - now);
    compact(left)
}

/// Tenths of a percent as a person writes them: `10`, `2.5`.
pub fn percent(tenths: u32) -> String {
    if tenths % 10 == 0 {
        (tenths / 10).to_string()
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// A duration in its two largest units, zeros left out: `1m40s`, `52m`,
/// `1h5m`, `40s`; a negative one is `0s`.
pub fn compact(duration: Duration) -> String {
    let secs = duration.whole_seconds().max(0);
    let (hours, minutes, seconds) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let parts = if hours > 0 {
        [(hours, "h"), (minutes, "m")]
    } else if minutes > 0 {
        [(minutes, "m"), (seconds, "s")]
    } else {
        return format!("{seconds}s");
    };
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect()
}

#[cfg(test)]
#[path = "deployment_line_tests.rs"]
mod tests;
