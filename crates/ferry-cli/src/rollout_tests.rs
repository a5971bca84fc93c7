use std::cell::RefCell;

use ferry_core::model::deployments::{
    HookDetail, HookStatus, LifecycleStage, ServiceDeploymentState,
};
use ferry_manifest::{Process, Rollout, RolloutAlarms, RolloutStrategy};

use super::*;

const ARN: &str = "arn:aws:ecs:eu-west-1:1:service-deployment/ferry/shop_web/dep1";

fn app(processes: &[(&str, RolloutStrategy)]) -> App {
    App {
        name: "shop".into(),
        processes: processes
            .iter()
            .map(|(name, strategy)| {
                let process = Process {
                    port: Some(8080),
                    rollout: Some(Rollout {
                        strategy: *strategy,
                        bake_minutes: 5,
                        alarms: RolloutAlarms::None,
                        approval: None,
                    }),
                    ..Default::default()
                };
                ((*name).to_owned(), process)
            })
            .collect(),
        ..Default::default()
    }
}

const CANARY: RolloutStrategy = RolloutStrategy::Canary {
    percent_tenths: 50,
    step_bake_minutes: 10,
};

#[test]
fn the_only_progressive_process_needs_no_flag() {
    let shop = app(&[("web", CANARY), ("worker", RolloutStrategy::Rolling)]);
    assert_eq!(pick_process(&shop, None).expect("picked"), "web");
    assert_eq!(pick_process(&shop, Some("web")).expect("picked"), "web");
}

#[test]
fn a_rolling_process_is_refused_with_a_pointer_to_rollback() {
    let shop = app(&[("web", CANARY), ("worker", RolloutStrategy::Rolling)]);
    let err = pick_process(&shop, Some("worker")).expect_err("rolling");
    let text = err.to_string();
    assert!(text.contains("rolls out with `rolling`"), "{text}");
    assert!(text.contains("ferry rollback shop"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    let all_rolling = app(&[("web", RolloutStrategy::Rolling)]);
    let err = pick_process(&all_rolling, None).expect_err("none progressive");
    assert!(err.to_string().contains("no process with"), "{err}");
}

#[test]
fn several_progressive_processes_need_the_flag_and_are_listed() {
    let shop = app(&[("api", RolloutStrategy::BlueGreen), ("web", CANARY)]);
    let err = pick_process(&shop, None).expect_err("ambiguous");
    assert!(
        err.to_string().contains("(api, web); choose one with -p"),
        "{err}"
    );
    let err = pick_process(&shop, Some("nope")).expect_err("unknown");
    assert!(err.to_string().contains("has no process nope"), "{err}");
}

/// ECS as the rollout commands see it: one service's current deployment,
/// and every call made.
#[derive(Default)]
struct FakeEcs {
    current: Option<String>,
    deployments: Vec<ObservedServiceDeployment>,
    calls: RefCell<Vec<String>>,
}

impl ServiceDeployments for FakeEcs {
    async fn current(&self, service: &str) -> anyhow::Result<Option<String>> {
        self.calls
            .borrow_mut()
            .push(format!("DescribeServices {service}"));
        Ok(self.current.clone())
    }
    async fn describe(&self, arns: &[String]) -> anyhow::Result<Vec<ObservedServiceDeployment>> {
        self.calls
            .borrow_mut()
            .push(format!("DescribeServiceDeployments {}", arns.len()));
        Ok(self
            .deployments
            .iter()
            .filter(|d| arns.contains(&d.arn))
            .cloned()
            .collect())
    }
    async fn recent(&self, service: &str) -> anyhow::Result<Vec<Listed>> {
        self.calls
            .borrow_mut()
            .push(format!("ListServiceDeployments {service}"));
        Ok(self
            .deployments
            .iter()
            .map(|d| Listed {
                arn: d.arn.clone(),
                created_at: d.created_at.clone(),
            })
            .collect())
    }
    async fn continue_hook(&self, deployment: &str, hook_id: &str) -> anyhow::Result<()> {
        self.calls.borrow_mut().push(format!(
            "ContinueServiceDeployment {} {hook_id}",
            short_id(deployment)
        ));
        Ok(())
    }
    async fn roll_back(&self, deployment: &str) -> anyhow::Result<()> {
        self.calls.borrow_mut().push(format!(
            "StopServiceDeployment {} ROLLBACK",
            short_id(deployment)
        ));
        Ok(())
    }
}

fn deployment(
    arn: &str,
    status: ServiceDeploymentState,
    stage: LifecycleStage,
) -> ObservedServiceDeployment {
    ObservedServiceDeployment {
        arn: arn.into(),
        service_arn: "arn:aws:ecs:eu-west-1:1:service/ferry/shop_web".into(),
        status,
        status_reason: None,
        lifecycle_stage: Some(stage),
        target: None,
        sources: Vec::new(),
        rollback_reason: None,
        hooks: Vec::new(),
        triggered_alarms: Vec::new(),
        created_at: Some("2026-12-06T10:00:00Z".into()),
        updated_at: None,
        finished_at: None,
    }
}

fn hook(status: HookStatus) -> HookDetail {
    HookDetail {
        hook_id: "hook-1".into(),
        target_type: "PAUSE".into(),
        status,
        expires_at: Some("2026-12-06T11:00:00Z".into()),
        timeout_action: Some("ROLLBACK".into()),
    }
}

fn ecs_with(d: ObservedServiceDeployment) -> FakeEcs {
    FakeEcs {
        current: Some(d.arn.clone()),
        deployments: vec![d],
        ..Default::default()
    }
}

fn calls(ecs: &FakeEcs) -> Vec<String> {
    ecs.calls.borrow().clone()
}

#[tokio::test]
async fn continue_acts_on_the_awaiting_hook() {
    let mut waiting = deployment(
        ARN,
        ServiceDeploymentState::InProgress,
        LifecycleStage::PostTestTrafficShift,
    );
    waiting.hooks = vec![hook(HookStatus::Succeeded), {
        let mut awaiting = hook(HookStatus::AwaitingAction);
        awaiting.hook_id = "hook-2".into();
        awaiting
    }];
    let ecs = ecs_with(waiting);
    let line = continue_deployment(&ecs, "shop", "web")
        .await
        .expect("continued");
    assert_eq!(
        line,
        "continued shop/web: deployment dep1 goes on to production traffic"
    );
    assert_eq!(
        calls(&ecs),
        [
            "DescribeServices shop_web",
            "DescribeServiceDeployments 1",
            "ContinueServiceDeployment dep1 hook-2"
        ]
    );
}

#[tokio::test]
async fn continue_without_an_awaited_approval_says_the_stage_and_calls_nothing() {
    let mut baking = deployment(
        ARN,
        ServiceDeploymentState::InProgress,
        LifecycleStage::BakeTime,
    );
    baking.hooks = vec![hook(HookStatus::Succeeded)];
    let ecs = ecs_with(baking);
    let err = continue_deployment(&ecs, "shop", "web")
        .await
        .expect_err("nothing awaited");
    assert_eq!(
        err.to_string(),
        "shop/web awaits no approval: deployment dep1 is IN_PROGRESS in BAKE_TIME"
    );
    assert!(!calls(&ecs).iter().any(|c| c.starts_with("Continue")));
}

#[tokio::test]
async fn nothing_in_progress_is_refused_by_continue_and_abort() {
    let none = FakeEcs::default();
    let err = abort_deployment(&none, "shop", "web")
        .await
        .expect_err("none");
    assert_eq!(err.to_string(), "shop/web has no deployment in progress");
    let done = ecs_with(deployment(
        ARN,
        ServiceDeploymentState::Successful,
        LifecycleStage::CleanUp,
    ));
    let err = continue_deployment(&done, "shop", "web")
        .await
        .expect_err("final");
    assert_eq!(
        err.to_string(),
        "shop/web has no deployment in progress: its last deployment dep1 is SUCCESSFUL"
    );
    let err = abort_deployment(&done, "shop", "web")
        .await
        .expect_err("final");
    assert!(err.to_string().contains("is SUCCESSFUL"), "{err}");
    assert!(!calls(&done).iter().any(|c| c.starts_with("Stop")));
}

#[tokio::test]
async fn abort_rolls_back_a_deployment_in_progress_once() {
    let ecs = ecs_with(deployment(
        ARN,
        ServiceDeploymentState::InProgress,
        LifecycleStage::ProductionTrafficShift,
    ));
    let line = abort_deployment(&ecs, "shop", "web")
        .await
        .expect("aborted");
    assert_eq!(
        line,
        "aborted shop/web: ECS rolls deployment dep1 back to the previous revision"
    );
    assert_eq!(
        calls(&ecs).last().map(String::as_str),
        Some("StopServiceDeployment dep1 ROLLBACK")
    );
    let rolling_back = ecs_with(deployment(
        ARN,
        ServiceDeploymentState::RollbackInProgress,
        LifecycleStage::ProductionTrafficShift,
    ));
    let err = abort_deployment(&rolling_back, "shop", "web")
        .await
        .expect_err("already");
    assert_eq!(
        err.to_string(),
        "shop/web: deployment dep1 is already ROLLBACK_IN_PROGRESS in PRODUCTION_TRAFFIC_SHIFT"
    );
}

#[tokio::test]
async fn history_is_the_newest_few_newest_first() {
    let at = |n: usize| {
        let mut d = deployment(
            &format!("arn:aws:ecs:eu-west-1:1:service-deployment/ferry/shop_web/d{n}"),
            ServiceDeploymentState::Successful,
            LifecycleStage::CleanUp,
        );
        d.created_at = Some(format!("2026-12-{:02}T10:00:00Z", n + 1));
        d
    };
    // Listed oldest first, one more than is shown.
    let ecs = FakeEcs {
        deployments: (0..=HISTORY).map(at).collect(),
        ..Default::default()
    };
    let found = history(&ecs, "shop", "web").await.expect("history");
    let ids: Vec<&str> = found.iter().map(|d| short_id(&d.arn)).collect();
    assert_eq!(ids, ["d5", "d4", "d3", "d2", "d1"]);
    assert_eq!(
        calls(&ecs),
        [
            "ListServiceDeployments shop_web",
            "DescribeServiceDeployments 5"
        ]
    );
}
