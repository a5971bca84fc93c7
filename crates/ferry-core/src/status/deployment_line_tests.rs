use time::macros::datetime;

use super::*;
use crate::model::deployments::{HookDetail, HookStatus};
use crate::model::status::rfc3339;

const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

fn view(stage: LifecycleStage, weight: Option<u32>, bake: Option<u32>) -> DeploymentView {
    DeploymentView {
        arn: "sd-1".into(),
        strategy: "canary".into(),
        status: ServiceDeploymentState::InProgress,
        stage: Some(stage),
        since: rfc3339(NOW),
        production_weight_tenths: weight,
        bake_minutes: bake,
        awaiting: None,
        rolled_back: None,
    }
}

fn at(secs: i64) -> OffsetDateTime {
    NOW + Duration::seconds(secs)
}

#[test]
fn a_canary_step_bakes_for_what_remains() {
    let canary = view(LifecycleStage::ProductionTrafficShift, Some(100), Some(2));
    assert_eq!(
        deployment_line(&canary, at(20)),
        "canary 10 %, baking 1m40s left"
    );
    assert_eq!(
        deployment_line(&canary, at(600)),
        "canary 10 %, baking 0s left"
    );
    let linear = DeploymentView {
        strategy: "linear".into(),
        ..view(LifecycleStage::ProductionTrafficShift, Some(300), Some(2))
    };
    assert_eq!(deployment_line(&linear, NOW), "linear 30 %, baking 2m left");
    let small = view(LifecycleStage::ProductionTrafficShift, Some(25), Some(10));
    assert_eq!(
        deployment_line(&small, at(60)),
        "canary 2.5 %, baking 9m left"
    );
}

#[test]
fn each_stage_says_what_ecs_is_doing() {
    let line = |stage, weight, bake| deployment_line(&view(stage, weight, bake), NOW);
    assert_eq!(
        line(LifecycleStage::ScaleUp, Some(0), None),
        "scaling up the new revision"
    );
    assert_eq!(
        deployment_line(
            &DeploymentView {
                stage: None,
                ..view(LifecycleStage::ScaleUp, None, None)
            },
            NOW
        ),
        "scaling up the new revision"
    );
    assert_eq!(
        line(LifecycleStage::PostTestTrafficShift, Some(0), None),
        "test traffic on the new revision"
    );
    assert_eq!(
        line(LifecycleStage::ProductionTrafficShift, Some(1000), None),
        "all traffic on the new revision"
    );
    assert_eq!(
        line(LifecycleStage::PreProductionTrafficShift, Some(0), None),
        "shifting production traffic"
    );
    assert_eq!(
        line(LifecycleStage::BakeTime, Some(1000), Some(5)),
        "all traffic on the new revision, baking 5m left"
    );
    assert_eq!(
        deployment_line(
            &view(LifecycleStage::BakeTime, Some(1000), Some(5)),
            at(120)
        ),
        "all traffic on the new revision, baking 3m left"
    );
    assert_eq!(
        line(LifecycleStage::CleanUp, Some(1000), None),
        "cleaning up the old revision"
    );
}

#[test]
fn an_approval_says_when_it_expires_and_what_then() {
    let mut waiting = view(LifecycleStage::PostTestTrafficShift, Some(0), None);
    waiting.awaiting = Some(HookDetail {
        hook_id: "hook-1".into(),
        target_type: "PAUSE".into(),
        status: HookStatus::AwaitingAction,
        expires_at: Some(rfc3339(at(52 * 60))),
        timeout_action: Some("ROLLBACK".into()),
    });
    assert_eq!(
        deployment_line(&waiting, NOW),
        "waiting for approval (expires in 52m, then rollback)"
    );
    if let Some(hook) = waiting.awaiting.as_mut() {
        hook.expires_at = Some(rfc3339(at(65 * 60 + 30)));
        hook.timeout_action = None;
    }
    assert_eq!(
        deployment_line(&waiting, NOW),
        "waiting for approval (expires in 1h5m)"
    );
    if let Some(hook) = waiting.awaiting.as_mut() {
        hook.expires_at = None;
    }
    assert_eq!(deployment_line(&waiting, NOW), "waiting for approval");
}

#[test]
fn the_end_of_a_deployment_is_its_verdict() {
    let mut done = view(LifecycleStage::CleanUp, Some(1000), None);
    done.status = ServiceDeploymentState::Successful;
    assert_eq!(deployment_line(&done, NOW), "completed");
    let mut rolled_back = view(LifecycleStage::BakeTime, Some(1000), Some(5));
    rolled_back.status = ServiceDeploymentState::RollbackSuccessful;
    rolled_back.rolled_back = Some("alarm web-5xx".into());
    assert_eq!(
        deployment_line(&rolled_back, NOW),
        "rolled back: alarm web-5xx"
    );
    rolled_back.status = ServiceDeploymentState::RollbackInProgress;
    assert_eq!(
        deployment_line(&rolled_back, NOW),
        "rolling back: alarm web-5xx"
    );
}

#[test]
fn durations_are_compact() {
    let secs = |s| compact(Duration::seconds(s));
    assert_eq!(secs(40), "40s");
    assert_eq!(secs(100), "1m40s");
    assert_eq!(secs(52 * 60), "52m");
    assert_eq!(secs(3600 + 5 * 60 + 59), "1h5m");
    assert_eq!(secs(2 * 3600), "2h");
    assert_eq!(secs(0), "0s");
    assert_eq!(secs(-30), "0s");
}
