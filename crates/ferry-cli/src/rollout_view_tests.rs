use ferry_core::model::deployments::{
    HookDetail, HookStatus, LifecycleStage, RevisionSummary, ServiceDeploymentState,
};
use time::macros::datetime;

use super::*;
use crate::layout::tests::{assert_fits, pipe, terminal_80};
use crate::output::Output;

const NOW: OffsetDateTime = datetime!(2026-12-06 10:08:00 UTC);

fn awaiting_approval() -> DeploymentView {
    DeploymentView {
        arn: "arn:aws:ecs:eu-west-1:1:service-deployment/ferry/shop_web/dep2".into(),
        strategy: "blueGreen".into(),
        status: ServiceDeploymentState::InProgress,
        stage: Some(LifecycleStage::PostTestTrafficShift),
        since: "2026-12-06T10:05:00Z".into(),
        production_weight_tenths: Some(0),
        bake_minutes: None,
        awaiting: Some(HookDetail {
            hook_id: "hook-1".into(),
            target_type: "PAUSE".into(),
            status: HookStatus::AwaitingAction,
            expires_at: Some("2026-12-06T11:00:00Z".into()),
            timeout_action: Some("ROLLBACK".into()),
        }),
        rolled_back: None,
    }
}

fn rolled_back_by_an_alarm() -> ObservedServiceDeployment {
    ObservedServiceDeployment {
        arn: "arn:aws:ecs:eu-west-1:1:service-deployment/ferry/shop_web/dep1".into(),
        service_arn: "arn:aws:ecs:eu-west-1:1:service/ferry/shop_web".into(),
        status: ServiceDeploymentState::RollbackSuccessful,
        status_reason: Some("a reason ECS gives in many words ".repeat(5)),
        lifecycle_stage: Some(LifecycleStage::BakeTime),
        target: Some(RevisionSummary {
            arn: "arn:aws:ecs:eu-west-1:1:service-revision/ferry/shop_web/5412".into(),
            requested_tasks: 2,
            running_tasks: 0,
            pending_tasks: 0,
            production_weight_tenths: None,
            test_weight_tenths: None,
        }),
        sources: Vec::new(),
        rollback_reason: None,
        hooks: Vec::new(),
        triggered_alarms: vec!["web-5xx".into()],
        created_at: Some("2026-12-06T09:00:00Z".into()),
        updated_at: None,
        finished_at: None,
    }
}

fn report() -> RolloutReport {
    RolloutReport::new(
        "shop",
        "web",
        "blueGreen",
        Some(awaiting_approval()),
        vec![rolled_back_by_an_alarm()],
        NOW,
    )
}

#[test]
fn an_awaited_approval_says_its_expiry_and_the_command_that_continues() {
    let shown = render(&report(), &pipe());
    assert!(
        shown.contains("Stage:       waiting for approval (expires in 52m, then rollback)"),
        "{shown}"
    );
    assert!(
        shown.contains("ferry rollout continue shop -p web (or abort)"),
        "{shown}"
    );
    assert!(shown.contains("alarm web-5xx"), "{shown}");
    assert!(shown.contains("ROLLBACK_SUCCESSFUL"), "{shown}");
}

#[test]
fn every_line_fits_an_80_column_terminal() {
    assert_fits(&render(&report(), &terminal_80()), 80);
}

#[test]
fn yaml_holds_the_line_the_view_and_the_history() {
    let Some(format) = Output::Yaml.structured() else {
        panic!("yaml is structured");
    };
    let yaml = format.document(&report()).expect("yaml");
    let back: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("parses");
    assert_eq!(back["process"], "web");
    assert_eq!(
        back["line"],
        "waiting for approval (expires in 52m, then rollback)"
    );
    assert_eq!(back["deployment"]["awaiting"]["hookId"], "hook-1");
    assert_eq!(back["history"][0]["triggeredAlarms"][0], "web-5xx");
}
