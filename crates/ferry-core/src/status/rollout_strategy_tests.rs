//! Rollouts under ECS's blue/green, canary and linear strategies: judged by
//! ECS's service deployment ([`crate::status::deployment`]).

use proptest::prelude::*;
use time::Duration;

use super::*;
use crate::model::deployments::{
    LifecycleStage, ObservedServiceDeployment, ServiceDeploymentState,
};
use crate::model::status::RolloutFailure;
use crate::status::deployment::tests::{canary, seen, service_deployment, NOW, SD};

const GENERATION: u64 = 3;

fn assess_web(
    p: &DesiredProcess,
    observed: &Observed,
    previous: Option<&AppStatus>,
    now: OffsetDateTime,
) -> ProcessRollout {
    let judging = Judging {
        now,
        ..super::tests::judging()
    };
    assess(
        GENERATION,
        std::slice::from_ref(p),
        observed,
        previous,
        judging,
    )
    .remove("web")
    .expect("web")
}

/// The status the controller writes after judging `rollout` (what
/// `report::derive` keeps of it for the next judgement).
fn written(rollout: &ProcessRollout, previous: Option<&AppStatus>) -> AppStatus {
    let mut status =
        crate::report::tests::status_with(GENERATION, "web", rollout.primary.as_deref());
    if let Some(web) = status.processes.get_mut("web") {
        web.rollout = Some(match &rollout.state {
            RolloutState::Completed => RolloutStatus::Completed,
            RolloutState::InProgress => RolloutStatus::InProgress,
            RolloutState::Failed { .. } => RolloutStatus::Failed,
        });
        web.progress = rollout.progress.clone();
        web.deployment = rollout.deployment.clone();
    }
    status.failure = previous
        .and_then(|p| p.failure.clone())
        .or_else(|| match &rollout.state {
            RolloutState::Failed { reason } => Some(RolloutFailure {
                generation: GENERATION,
                process: "web".into(),
                task_definition: rollout.wanted.clone().unwrap_or_default(),
                reason: reason.clone(),
                events: Vec::new(),
                last_failure: None,
            }),
            _ => None,
        });
    status
}

fn in_stage(stage: LifecycleStage, weight: u32) -> ObservedServiceDeployment {
    service_deployment(
        ServiceDeploymentState::InProgress,
        Some(stage),
        Some(weight),
    )
}

#[test]
fn a_canary_is_in_progress_until_ecs_says_successful_then_complete_at_once() {
    let p = canary();
    let baking = seen(
        &p,
        "td:2",
        "COMPLETED",
        None,
        Some(in_stage(LifecycleStage::BakeTime, 1000)),
    );
    // deployments[] look complete (one PRIMARY at the count), ECS bakes.
    let judged = assess_web(&p, &baking, None, NOW);
    assert_eq!(judged.state, RolloutState::InProgress);
    let shown = judged.deployment.clone().expect("a view");
    assert_eq!(shown.stage, Some(LifecycleStage::BakeTime));
    assert_eq!(shown.bake_minutes, Some(5));

    let before = written(&judged, None);
    let done = seen(
        &p,
        "td:2",
        "COMPLETED",
        None,
        Some(service_deployment(
            ServiceDeploymentState::Successful,
            Some(LifecycleStage::CleanUp),
            Some(1000),
        )),
    );
    // A scale-out after ECS finished is still to come.
    let mut short = done.clone();
    for service in short.services.values_mut() {
        service.running_count = 1;
    }
    let judged = assess_web(&p, &short, Some(&before), NOW + Duration::seconds(1));
    assert_eq!(judged.state, RolloutState::InProgress);
    // No stable window: ECS's bake was the window.
    let judged = assess_web(&p, &done, Some(&before), NOW + Duration::seconds(1));
    assert_eq!(judged.state, RolloutState::Completed);
    assert!(
        judged.deployment.is_some(),
        "shown until the next deployment"
    );
}

#[test]
fn until_ecss_deployment_is_described_a_rollout_it_runs_is_not_complete() {
    let p = canary();
    let judged = assess_web(
        &p,
        &seen(
            &p,
            "td:2",
            "IN_PROGRESS",
            Some("td:1"),
            Some(in_stage(LifecycleStage::BakeTime, 1000)),
        ),
        None,
        NOW,
    );
    let before = written(&judged, None);
    // The adapter holds no description of the current deployment now.
    let undescribed = seen(&p, "td:2", "COMPLETED", None, None);
    let judged = assess_web(&p, &undescribed, Some(&before), NOW);
    assert_eq!(judged.state, RolloutState::InProgress);
    assert_eq!(
        judged.deployment, before.processes["web"].deployment,
        "the view Ferry last showed is kept"
    );
    // Found complete with nothing followed (a controller that starts on a
    // settled service): complete.
    assert_eq!(
        assess_web(&p, &undescribed, None, NOW).state,
        RolloutState::Completed
    );
}

#[test]
fn a_rollback_by_ecs_fails_the_rollout_with_its_cause_and_sticks() {
    let p = canary();
    let shifting = seen(
        &p,
        "td:2",
        "IN_PROGRESS",
        Some("td:1"),
        Some(in_stage(LifecycleStage::ProductionTrafficShift, 100)),
    );
    let judged = assess_web(&p, &shifting, None, NOW);
    assert_eq!(judged.state, RolloutState::InProgress);
    let before = written(&judged, None);

    let mut rolling_back = service_deployment(
        ServiceDeploymentState::RollbackInProgress,
        Some(LifecycleStage::ProductionTrafficShift),
        Some(0),
    );
    rolling_back.triggered_alarms = vec!["web-5xx".into()];
    let alarmed = seen(&p, "td:1", "IN_PROGRESS", Some("td:2"), Some(rolling_back));
    let judged = assess_web(&p, &alarmed, Some(&before), NOW);
    let RolloutState::Failed { reason } = &judged.state else {
        panic!("{:?}", judged.state);
    };
    assert_eq!(reason.to_string(), "rolled back: alarm web-5xx");
    assert_eq!(
        reason.condition_reason(),
        crate::model::status::ConditionReason::RolloutFailed
    );
    let failed = written(&judged, Some(&before));

    // Whatever ECS says next of it, the generation stays failed, and its
    // deployment stays shown.
    for next in [
        ServiceDeploymentState::RollbackSuccessful,
        ServiceDeploymentState::Successful,
        ServiceDeploymentState::InProgress,
    ] {
        let later = seen(
            &p,
            "td:1",
            "COMPLETED",
            None,
            Some(service_deployment(next, None, None)),
        );
        let judged = assess_web(&p, &later, Some(&failed), NOW);
        assert!(
            matches!(judged.state, RolloutState::Failed { .. }),
            "{next:?}: {:?}",
            judged.state
        );
        assert!(judged.deployment.is_some(), "{next:?}");
    }
}

#[test]
fn ecs_back_on_the_old_revision_before_its_deployment_is_read_again_is_a_rollback() {
    let p = canary();
    let shifting = seen(
        &p,
        "td:2",
        "IN_PROGRESS",
        Some("td:1"),
        Some(in_stage(LifecycleStage::ProductionTrafficShift, 100)),
    );
    let before = written(&assess_web(&p, &shifting, None, NOW), None);

    // DescribeServices shows ECS back on td:1; the service deployment read
    // is a tick behind and still says the canary shifts.
    let stale = seen(
        &p,
        "td:1",
        "IN_PROGRESS",
        Some("td:2"),
        Some(in_stage(LifecycleStage::ProductionTrafficShift, 100)),
    );
    let judged = assess_web(&p, &stale, Some(&before), NOW);
    let RolloutState::Failed { reason } = &judged.state else {
        panic!(
            "judged in progress, which would push td:2 again: {:?}",
            judged.state
        );
    };
    assert!(
        matches!(reason, RolloutFailureReason::DeploymentRolledBack { .. }),
        "{reason:?}"
    );
    let failed = written(&judged, Some(&before));

    // The next read names the alarm: the cause grows exact, the state
    // stays failed.
    let mut rolled_back = service_deployment(
        ServiceDeploymentState::RollbackSuccessful,
        Some(LifecycleStage::ProductionTrafficShift),
        Some(0),
    );
    rolled_back.triggered_alarms = vec!["web-5xx".into()];
    let read = seen(&p, "td:1", "COMPLETED", None, Some(rolled_back));
    let judged = assess_web(&p, &read, Some(&failed), NOW);
    let RolloutState::Failed { reason } = &judged.state else {
        panic!("{:?}", judged.state);
    };
    assert_eq!(reason.to_string(), "rolled back: alarm web-5xx");
}

#[test]
fn a_later_generation_back_on_the_source_revision_completes() {
    let p = canary();
    let mut after = seen(
        &p,
        "td:1",
        "COMPLETED",
        None,
        Some(service_deployment(
            ServiceDeploymentState::RollbackSuccessful,
            Some(LifecycleStage::CleanUp),
            Some(0),
        )),
    );
    // The new generation wants td:1 again.
    for td in after.latest_task_definitions.values_mut() {
        td.arn = "td:1".into();
    }
    let mut failed = crate::report::tests::status_with(GENERATION - 1, "web", Some("td:2"));
    failed.failure = Some(RolloutFailure {
        generation: GENERATION - 1,
        process: "web".into(),
        task_definition: "td:2".into(),
        reason: RolloutFailureReason::DeploymentRolledBack {
            cause: "alarm web-5xx".into(),
        },
        events: Vec::new(),
        last_failure: None,
    });
    if let Some(web) = failed.processes.get_mut("web") {
        web.deployment = after
            .service_deployments
            .values()
            .next()
            .map(|d| crate::status::deployment::view(&p.service.deployment, d, None, NOW));
    }
    let judged = assess_web(&p, &after, Some(&failed), NOW);
    assert_eq!(judged.state, RolloutState::Completed);
    assert_eq!(
        judged.deployment, None,
        "the rollback of the generation before is not shown"
    );

    // Seen while the rolled-back revision's tasks still drain: in
    // progress, then complete, never failed.
    let mut draining = after.clone();
    for service in draining.services.values_mut() {
        service
            .deployments
            .push(super::tests::deployment("ACTIVE", "td:2", "COMPLETED", 1));
    }
    let judged = assess_web(&p, &draining, Some(&failed), NOW);
    assert_eq!(judged.state, RolloutState::InProgress);
    let mut seen_draining = written(&judged, None);
    seen_draining.generation = GENERATION;
    let judged = assess_web(&p, &draining, Some(&seen_draining), NOW);
    assert_eq!(
        judged.state,
        RolloutState::InProgress,
        "not this rollout's rollback"
    );
    let judged = assess_web(&p, &after, Some(&written(&judged, None)), NOW);
    assert_eq!(judged.state, RolloutState::Completed);
}

/// `web` deploying since long ago (its PRIMARY created an hour before
/// `NOW`), with ECS's service deployment at `stage`.
fn stalled_at(p: &DesiredProcess, stage: LifecycleStage) -> Observed {
    let mut observed = seen(
        p,
        "td:2",
        "IN_PROGRESS",
        Some("td:1"),
        Some(in_stage(stage, 0)),
    );
    for service in observed.services.values_mut() {
        for d in &mut service.deployments {
            d.created_at = Some(crate::model::status::rfc3339(NOW - Duration::hours(1)));
        }
    }
    observed
}

#[test]
fn the_progress_deadline_runs_only_while_the_new_revision_scales_up() {
    let p = canary();
    assert!(
        matches!(
            assess_web(&p, &stalled_at(&p, LifecycleStage::ScaleUp), None, NOW).state,
            RolloutState::Failed {
                reason: RolloutFailureReason::ProgressDeadlineExceeded { .. }
            }
        ),
        "scaling up for an hour"
    );
    for stage in [
        LifecycleStage::PostTestTrafficShift,
        LifecycleStage::ProductionTrafficShift,
        LifecycleStage::BakeTime,
    ] {
        assert_eq!(
            assess_web(&p, &stalled_at(&p, stage), None, NOW).state,
            RolloutState::InProgress,
            "{stage:?}"
        );
    }
}

fn any_status() -> impl Strategy<Value = ServiceDeploymentState> {
    prop::sample::select(ServiceDeploymentState::ALL.to_vec())
}

fn any_stage() -> impl Strategy<Value = Option<LifecycleStage>> {
    prop::option::of(prop::sample::select(LifecycleStage::ALL.to_vec()))
}

fn any_weight() -> impl Strategy<Value = Option<u32>> {
    prop::option::of(prop::sample::select(vec![0_u32, 50, 100, 300, 1000]))
}

/// A service deployment and what `deployments[]` show beside it.
fn any_observation() -> impl Strategy<Value = (ObservedServiceDeployment, bool, bool)> {
    (
        any_status(),
        any_stage(),
        any_weight(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(status, stage, weight, primary_wanted, old_left)| {
            (
                service_deployment(status, stage, weight),
                primary_wanted,
                old_left,
            )
        })
}

fn observe(
    p: &DesiredProcess,
    (d, primary_wanted, old_left): &(ObservedServiceDeployment, bool, bool),
) -> Observed {
    seen(
        p,
        if *primary_wanted { "td:2" } else { "td:1" },
        "COMPLETED",
        old_left.then_some("td:1"),
        Some(d.clone()),
    )
}

proptest! {
    /// The same observation judged again, with the status it produced,
    /// gives the same judgement: no flapping.
    #[test]
    fn judging_is_a_fixed_point_of_repeated_observations(
        seen_before in prop::collection::vec(any_observation(), 0..4),
        now_one in any_observation(),
        repeats in 1_usize..4,
    ) {
        let p = canary();
        let mut previous: Option<AppStatus> = None;
        let mut now = NOW;
        for observation in &seen_before {
            let judged = assess_web(&p, &observe(&p, observation), previous.as_ref(), now);
            previous = Some(written(&judged, previous.as_ref()));
            now += Duration::seconds(2);
        }
        let observed = observe(&p, &now_one);
        let first = assess_web(&p, &observed, previous.as_ref(), now);
        previous = Some(written(&first, previous.as_ref()));
        for _ in 0..repeats {
            now += Duration::seconds(2);
            let again = assess_web(&p, &observed, previous.as_ref(), now);
            prop_assert_eq!(&again.state, &first.state);
            prop_assert_eq!(&again.deployment, &first.deployment);
            previous = Some(written(&again, previous.as_ref()));
        }
    }

    /// Once ECS rolled this rollout back, the generation stays failed
    /// whatever ECS reports next of its deployment.
    #[test]
    fn a_rolled_back_deployment_stays_failed_for_its_generation(
        rollback in any_status().prop_filter("a rollback", |s| s.is_rollback()),
        next in prop::collection::vec(any_observation(), 1..6),
    ) {
        let p = canary();
        let deploying = seen(&p, "td:2", "IN_PROGRESS", Some("td:1"),
            Some(in_stage(LifecycleStage::ScaleUp, 0)));
        let judged = assess_web(&p, &deploying, None, NOW);
        let mut previous = written(&judged, None);
        let rolled_back = seen(&p, "td:2", "IN_PROGRESS", Some("td:1"),
            Some(service_deployment(rollback, None, None)));
        let judged = assess_web(&p, &rolled_back, Some(&previous), NOW);
        prop_assert!(matches!(judged.state, RolloutState::Failed { .. }), "{:?}", judged.state);
        previous = written(&judged, Some(&previous));
        for observation in &next {
            let judged = assess_web(&p, &observe(&p, observation), Some(&previous), NOW);
            prop_assert!(matches!(judged.state, RolloutState::Failed { .. }), "{:?}", judged.state);
            previous = written(&judged, Some(&previous));
        }
    }

    /// However long a deployment waits outside scaling up, its deadline
    /// never fires.
    #[test]
    fn the_deadline_never_fires_outside_scaling_up(
        stage in prop::sample::select(LifecycleStage::ALL.to_vec())
            .prop_filter("not scaling up", |s| !s.is_scaling_up()),
        hours in 1_i64..100,
    ) {
        let p = canary();
        let judged = assess_web(&p, &stalled_at(&p, stage), None, NOW + Duration::hours(hours));
        prop_assert_eq!(judged.state, RolloutState::InProgress);
    }

    /// `since` moves only when the stage or the production weight changes.
    #[test]
    fn since_moves_only_when_the_stage_or_the_weight_changes(
        steps in prop::collection::vec((any_stage(), any_weight()), 1..8),
    ) {
        let p = canary();
        let mut previous: Option<AppStatus> = None;
        let mut shown: Option<crate::model::deployments::DeploymentView> = None;
        for (i, (stage, weight)) in steps.into_iter().enumerate() {
            let now = NOW + Duration::seconds(10 * i64::try_from(i).unwrap_or(0));
            let observed = seen(&p, "td:2", "IN_PROGRESS", Some("td:1"),
                Some(service_deployment(ServiceDeploymentState::InProgress, stage, weight)));
            let judged = assess_web(&p, &observed, previous.as_ref(), now);
            let view = judged.deployment.clone();
            prop_assert!(view.is_some());
            if let (Some(before), Some(view)) = (&shown, &view) {
                let same = before.stage == view.stage
                    && before.production_weight_tenths == view.production_weight_tenths;
                prop_assert_eq!(same, before.since == view.since);
            }
            prop_assert_eq!(view.as_ref().map(|v| v.arn.as_str()), Some(SD));
            shown = view;
            previous = Some(written(&judged, previous.as_ref()));
        }
    }
}

/// What status reports of a rollback: the failure record (which marks the
/// release failed and holds the generation back), one sentence in
/// `Degraded` with `RolloutFailed`, and the deployment shown.
#[test]
fn status_reports_a_rollback_as_a_failed_rollout_and_shows_the_deployment() {
    use crate::model::status::{ConditionReason, ConditionStatus, DEGRADED};
    use crate::status::report::{derive, StatusInput};
    let p = canary();
    let mut rolled_back = service_deployment(
        ServiceDeploymentState::RollbackInProgress,
        Some(LifecycleStage::BakeTime),
        Some(1000),
    );
    rolled_back.triggered_alarms = vec!["web-5xx".into()];
    let observed = seen(&p, "td:2", "IN_PROGRESS", Some("td:1"), Some(rolled_back));
    let status = derive(StatusInput {
        app: "acme",
        generation: GENERATION,
        desired: std::slice::from_ref(&p),
        scheduled: 0,
        observed: &observed,
        plan: &crate::model::action::Plan::default(),
        error: None,
        previous: None,
        corrections: &[],
        endpoints: &std::collections::BTreeMap::new(),
        crash_loop_stops: crate::DEFAULT_CRASH_LOOP_STOPS,
        now: NOW,
    });
    let failure = status.failure.as_ref().expect("a failure record");
    assert_eq!(failure.reason.to_string(), "rolled back: alarm web-5xx");
    let degraded = status.condition(DEGRADED).expect("Degraded");
    assert_eq!(degraded.status, ConditionStatus::True);
    assert_eq!(degraded.reason, ConditionReason::RolloutFailed);
    assert_eq!(
        degraded.message,
        "process web: the rollout of td:2 failed: rolled back: alarm web-5xx; \
         Ferry will not retry this generation, apply a new one or roll back."
    );
    let shown = status.processes["web"].deployment.as_ref().expect("shown");
    assert_eq!(
        crate::status::deployment_line(shown, NOW),
        "rolling back: alarm web-5xx"
    );
}
