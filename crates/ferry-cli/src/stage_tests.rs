use ferry_core::model::deployments::{HookDetail, HookStatus};
use time::macros::datetime;

use super::*;

fn view(stage: LifecycleStage) -> DeploymentView {
    DeploymentView {
        arn: "arn:aws:ecs:eu-west-1:1:service-deployment/c/shop-web/abc".into(),
        strategy: "canary".into(),
        status: ServiceDeploymentState::InProgress,
        stage: Some(stage),
        since: "2026-12-06T10:00:00Z".into(),
        production_weight_tenths: None,
        bake_minutes: None,
        awaiting: None,
        rolled_back: None,
    }
}

const NOW: OffsetDateTime = datetime!(2026-12-06 10:00:20 UTC);

#[test]
fn a_canary_step_says_its_weight_and_what_remains_of_its_bake() {
    let mut canary = view(LifecycleStage::ProductionTrafficShift);
    canary.production_weight_tenths = Some(100);
    canary.bake_minutes = Some(2);
    assert_eq!(
        deployment_line(&canary, NOW),
        "canary 10 %, baking 1m40s left"
    );
    canary.production_weight_tenths = Some(125);
    assert_eq!(
        deployment_line(&canary, NOW),
        "canary 12.5 %, baking 1m40s left"
    );
}

#[test]
fn an_approval_says_when_it_expires_and_what_then() {
    let mut waiting = view(LifecycleStage::PostTestTrafficShift);
    waiting.awaiting = Some(HookDetail {
        hook_id: "h1".into(),
        target_type: "PAUSE".into(),
        status: HookStatus::AwaitingAction,
        expires_at: Some("2026-12-06T10:52:20Z".into()),
        timeout_action: Some("ROLLBACK".into()),
    });
    assert_eq!(
        deployment_line(&waiting, NOW),
        "waiting for approval (expires in 52m0s, then rollback)"
    );
}

#[test]
fn a_rollback_names_its_cause_before_anything_else() {
    let mut rolled = view(LifecycleStage::BakeTime);
    rolled.status = ServiceDeploymentState::RollbackInProgress;
    rolled.rolled_back = Some("alarm web-5xx".into());
    rolled.bake_minutes = Some(5);
    assert_eq!(deployment_line(&rolled, NOW), "rolled back: alarm web-5xx");
}

#[test]
fn each_stage_reads_as_what_happens_to_the_new_revision() {
    assert_eq!(
        deployment_line(&view(LifecycleStage::ScaleUp), NOW),
        "scaling up the new revision"
    );
    assert_eq!(
        deployment_line(&view(LifecycleStage::TestTrafficShift), NOW),
        "test traffic on the new revision"
    );
    let mut baking = view(LifecycleStage::BakeTime);
    baking.bake_minutes = Some(3);
    baking.since = "2026-12-06T10:00:20Z".into();
    assert_eq!(
        deployment_line(&baking, NOW),
        "all traffic on the new revision, baking 3m0s left"
    );
    assert_eq!(
        deployment_line(&view(LifecycleStage::CleanUp), NOW),
        "cleaning up the old revision"
    );
    let mut done = view(LifecycleStage::CleanUp);
    done.status = ServiceDeploymentState::Successful;
    assert_eq!(deployment_line(&done, NOW), "completed");
}
