use time::macros::datetime;

use super::*;
use crate::model::deployments::{HookDetail, HookStatus, RevisionSummary, ServiceDeploymentState};
use crate::model::desired::DesiredProcess;
use crate::status::rollout::tests::{deployment, observed, process};

pub(crate) const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);
pub(crate) const SD: &str = "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/acme-web/sd1";

/// `web` as a canary of 10 % with a 2-minute step bake and a 5-minute
/// final bake.
pub(crate) fn canary() -> DesiredProcess {
    let mut p = process();
    p.service.deployment.strategy = RolloutStrategy::Canary {
        percent_tenths: 100,
        step_bake_minutes: 2,
    };
    p.service.deployment.bake_minutes = 5;
    p
}

/// A service deployment `SD` in `status` at `stage`, the target revision
/// at `weight` (tenths) of production traffic.
pub(crate) fn service_deployment(
    status: ServiceDeploymentState,
    stage: Option<LifecycleStage>,
    weight: Option<u32>,
) -> ObservedServiceDeployment {
    ObservedServiceDeployment {
        arn: SD.into(),
        service_arn: "svc".into(),
        status,
        status_reason: None,
        lifecycle_stage: stage,
        target: Some(RevisionSummary {
            arn: "rev-2".into(),
            requested_tasks: 2,
            running_tasks: 2,
            pending_tasks: 0,
            production_weight_tenths: weight,
            test_weight_tenths: None,
        }),
        sources: Vec::new(),
        rollback_reason: None,
        hooks: Vec::new(),
        triggered_alarms: Vec::new(),
        created_at: None,
        updated_at: None,
        finished_at: None,
    }
}

/// What the adapter observes of `p`: its service runs `primary` (PRIMARY,
/// in `state`, with 2 tasks) beside `old` (ACTIVE, 1 task, if any), its
/// current service deployment is `SD`, described as `described`.
pub(crate) fn seen(
    p: &DesiredProcess,
    primary: &str,
    state: &str,
    old: Option<&str>,
    described: Option<ObservedServiceDeployment>,
) -> Observed {
    let mut deployments = vec![deployment("PRIMARY", primary, state, 2)];
    deployments.extend(old.map(|td| deployment("ACTIVE", td, "COMPLETED", 1)));
    let mut observed = observed(p, deployments);
    if let Some(service) = observed.services.get_mut(&p.service.name) {
        service.current_deployment = Some(SD.into());
    }
    if let Some(described) = described {
        observed
            .service_deployments
            .insert(p.service.name.clone(), described);
    }
    observed
}

#[test]
fn the_verdict_is_ecss_status() {
    use ServiceDeploymentState::*;
    for status in ServiceDeploymentState::ALL {
        let judged = verdict(&service_deployment(status, None, None));
        match status {
            Pending | InProgress => assert_eq!(judged, Verdict::InProgress),
            Successful => assert_eq!(judged, Verdict::Successful),
            _ => assert!(
                matches!(judged, Verdict::RolledBack { .. }),
                "{status:?}: {judged:?}"
            ),
        }
        assert_eq!(
            ServiceDeploymentState::from_ecs(status.as_ecs()),
            Some(status)
        );
    }
}

#[test]
fn the_cause_of_a_rollback_is_the_alarms_then_ecss_reasons() {
    let mut d = service_deployment(ServiceDeploymentState::RollbackSuccessful, None, None);
    assert_eq!(rollback_cause(&d), "stopped");
    d.status_reason = Some("Service deployment\n stopped by user.".into());
    assert_eq!(rollback_cause(&d), "Service deployment stopped by user.");
    d.rollback_reason = Some("Lifecycle hook timed out".into());
    assert_eq!(rollback_cause(&d), "Lifecycle hook timed out");
    d.rollback_reason = Some("  ".into());
    assert_eq!(
        rollback_cause(&d),
        "Service deployment stopped by user.",
        "a blank reason says nothing"
    );
    d.triggered_alarms = vec!["web-5xx".into(), "web-latency".into()];
    assert_eq!(rollback_cause(&d), "alarm web-5xx, web-latency");
}

fn before(status: Option<&ProcessStatus>, same_generation: bool) -> Before<'_> {
    Before {
        status,
        same_generation,
    }
}

#[test]
fn the_current_deployment_is_this_rollouts_while_primary_runs_the_wanted_revision() {
    let p = canary();
    let deploying = service_deployment(
        ServiceDeploymentState::InProgress,
        Some(LifecycleStage::ScaleUp),
        Some(0),
    );
    let ours = seen(
        &p,
        "td:2",
        "IN_PROGRESS",
        Some("td:1"),
        Some(deploying.clone()),
    );
    let service = &ours.services[&p.service.name];
    assert!(of_rollout(&ours, service, "td:2", before(None, false)).is_some());
    assert!(
        of_rollout(&ours, service, "td:3", before(None, false)).is_none(),
        "another revision's"
    );
    // An older description than the current deployment is not it.
    let mut stale = ours.clone();
    if let Some(s) = stale.services.get_mut(&p.service.name) {
        s.current_deployment = Some("sd-newer".into());
    }
    let service = &stale.services[&p.service.name];
    assert!(of_rollout(&stale, service, "td:2", before(None, false)).is_none());
    assert!(current(&stale, service).is_none());
}

#[test]
fn a_finished_rollback_is_this_rollouts_only_if_ferry_saw_it_rolling_out() {
    let p = canary();
    let rolled_back = service_deployment(
        ServiceDeploymentState::RollbackSuccessful,
        Some(LifecycleStage::CleanUp),
        Some(0),
    );
    // ECS pointed PRIMARY back at the source revision, td:1.
    let after = seen(&p, "td:1", "COMPLETED", None, Some(rolled_back));
    let service = &after.services[&p.service.name];
    let mut rolling_out = crate::report::tests::status_with(3, "web", Some("td:2"));
    let web = rolling_out.processes.remove("web").expect("web");
    assert!(of_rollout(&after, service, "td:2", before(Some(&web), true)).is_some());
    assert!(
        of_rollout(&after, service, "td:2", before(Some(&web), false)).is_none(),
        "another generation's"
    );
    // Rolling back, PRIMARY already back at the source revision.
    let mut rolling_back = after.clone();
    for d in rolling_back.service_deployments.values_mut() {
        d.status = ServiceDeploymentState::RollbackInProgress;
    }
    let service = &rolling_back.services[&p.service.name];
    assert!(of_rollout(&rolling_back, service, "td:2", before(Some(&web), true)).is_some());
    assert!(of_rollout(&rolling_back, service, "td:2", before(None, false)).is_none());
    // A later generation asking for the source revision again.
    assert!(
        of_rollout(&after, service, "td:1", before(None, false)).is_none(),
        "the rollback of td:2 is not td:1's"
    );
}

#[test]
fn a_deployment_followed_before_stays_followed_for_its_generation() {
    let p = canary();
    let rolled_back = service_deployment(ServiceDeploymentState::RollbackSuccessful, None, None);
    let after = seen(&p, "td:1", "COMPLETED", None, Some(rolled_back.clone()));
    let service = &after.services[&p.service.name];
    let mut failed = crate::report::tests::status_with(3, "web", Some("td:1"));
    let mut web = failed.processes.remove("web").expect("web");
    web.rollout = Some(RolloutStatus::Failed);
    web.deployment = Some(view(&p.service.deployment, &rolled_back, None, NOW));
    assert!(of_rollout(&after, service, "td:2", before(Some(&web), true)).is_some());
    assert!(of_rollout(&after, service, "td:2", before(Some(&web), false)).is_none());
}

#[test]
fn a_bake_lasts_the_step_bake_at_a_partial_weight_and_the_bake_at_the_end() {
    let canary = canary().service.deployment;
    let bake = |stage, weight| {
        view(
            &canary,
            &service_deployment(ServiceDeploymentState::InProgress, Some(stage), weight),
            None,
            NOW,
        )
        .bake_minutes
    };
    assert_eq!(
        bake(LifecycleStage::ProductionTrafficShift, Some(100)),
        Some(2)
    );
    assert_eq!(
        bake(LifecycleStage::ProductionTrafficShift, Some(1000)),
        None
    );
    assert_eq!(bake(LifecycleStage::ProductionTrafficShift, Some(0)), None);
    assert_eq!(bake(LifecycleStage::ProductionTrafficShift, None), None);
    assert_eq!(bake(LifecycleStage::BakeTime, Some(1000)), Some(5));
    assert_eq!(bake(LifecycleStage::ScaleUp, Some(0)), None);
    let mut blue_green = canary.clone();
    blue_green.strategy = RolloutStrategy::BlueGreen;
    let d = service_deployment(
        ServiceDeploymentState::InProgress,
        Some(LifecycleStage::ProductionTrafficShift),
        Some(500),
    );
    assert_eq!(view(&blue_green, &d, None, NOW).bake_minutes, None);
    assert_eq!(view(&blue_green, &d, None, NOW).strategy, "blueGreen");
}

#[test]
fn a_view_shows_the_hook_awaiting_and_the_rollback() {
    let p = canary();
    let mut d = service_deployment(
        ServiceDeploymentState::InProgress,
        Some(LifecycleStage::PostTestTrafficShift),
        Some(0),
    );
    let hook = |status| HookDetail {
        hook_id: "h".into(),
        target_type: "PAUSE".into(),
        status,
        expires_at: None,
        timeout_action: None,
    };
    d.hooks = vec![
        hook(HookStatus::Succeeded),
        hook(HookStatus::AwaitingAction),
    ];
    let shown = view(&p.service.deployment, &d, None, NOW);
    assert_eq!(shown.awaiting, Some(hook(HookStatus::AwaitingAction)));
    assert_eq!(shown.rolled_back, None);
    d.status = ServiceDeploymentState::RollbackInProgress;
    d.triggered_alarms = vec!["web-5xx".into()];
    let shown = view(&p.service.deployment, &d, None, NOW);
    assert_eq!(shown.rolled_back.as_deref(), Some("alarm web-5xx"));
}
