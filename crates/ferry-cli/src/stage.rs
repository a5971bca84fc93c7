//! The one line a person reads about a blue/green, canary or linear
//! deployment: what `status`, every `--wait` and `ferry rollout status`
//! print.
//!
//! A stand-in with the signature of `ferry_core::status::deployment_line`,
//! which the core part writes; at merge this file goes and its callers
//! call ferry-core's.

use ferry_core::model::deployments::{DeploymentView, LifecycleStage, ServiceDeploymentState};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::human;

/// "canary 10 %, baking 1m40s left", "waiting for approval (expires in
/// 52m, then rollback)", "rolled back: alarm web-5xx", ... as of `now`.
/// What remains of a bake is counted from `view.since` (when the
/// controller first saw this stage at this weight), so it is as exact as
/// the controller's last look.
pub fn deployment_line(view: &DeploymentView, now: OffsetDateTime) -> String {
    if let Some(cause) = &view.rolled_back {
        return format!("rolled back: {cause}");
    }
    if view.status.is_rollback() {
        return "rolled back".to_owned();
    }
    if view.status == ServiceDeploymentState::Successful {
        return "completed".to_owned();
    }
    if let Some(hook) = &view.awaiting {
        let expiry = hook
            .expires_at
            .as_deref()
            .and_then(|at| seconds_until(at, now))
            .map(|left| format!(" (expires in {}", human::clock(left)));
        let then = hook
            .timeout_action
            .as_deref()
            .map(|action| format!(", then {}", action.to_lowercase()))
            .unwrap_or_default();
        return match expiry {
            Some(expiry) => format!("waiting for approval{expiry}{then})"),
            None => "waiting for approval".to_owned(),
        };
    }
    let baking = view.bake_minutes.map(|minutes| {
        let elapsed = seconds_until(&view.since, now).map_or(0, |s| -s);
        format!(
            ", baking {} left",
            human::clock(i64::from(minutes) * 60 - elapsed)
        )
    });
    let baking = baking.unwrap_or_default();
    match view.stage {
        None | Some(LifecycleStage::ReconcileService) => "starting".to_owned(),
        Some(stage) if stage.is_scaling_up() => "scaling up the new revision".to_owned(),
        Some(LifecycleStage::TestTrafficShift | LifecycleStage::PostTestTrafficShift) => {
            "test traffic on the new revision".to_owned()
        }
        Some(LifecycleStage::PreProductionTrafficShift) => {
            "about to shift production traffic".to_owned()
        }
        Some(LifecycleStage::ProductionTrafficShift) => match view.production_weight_tenths {
            Some(weight) if weight < 1000 => {
                format!("{} {} %{baking}", view.strategy, percent(weight))
            }
            _ => "shifting production traffic".to_owned(),
        },
        Some(LifecycleStage::PostProductionTrafficShift | LifecycleStage::BakeTime) => {
            format!("all traffic on the new revision{baking}")
        }
        Some(_) => "cleaning up the old revision".to_owned(),
    }
}

/// Tenths of a percent as a person writes them: `10`, `12.5`.
pub fn percent(tenths: u32) -> String {
    if tenths % 10 == 0 {
        (tenths / 10).to_string()
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// Seconds from `now` to an RFC 3339 time (negative when it is past);
/// `None` when it does not parse.
fn seconds_until(rfc3339: &str, now: OffsetDateTime) -> Option<i64> {
    let at = OffsetDateTime::parse(rfc3339, &Rfc3339).ok()?;
    Some((at - now).whole_seconds())
}

#[cfg(test)]
#[path = "stage_tests.rs"]
mod tests;
