use std::collections::BTreeMap;

use super::*;
use crate::observed::{ObservedDeployment, ObservedTaskDefinition, ServiceStatus};
use crate::render::render;
use crate::testing::settings;

pub(crate) fn process() -> DesiredProcess {
    let mut processes = BTreeMap::new();
    processes.insert(
        "web".to_owned(),
        ferry_manifest::Process {
            command: Vec::new(),
            scale: 2,
            cpu: 256,
            memory: 512,
            ..Default::default()
        },
    );
    let app = ferry_manifest::App {
        name: "acme".into(),
        image: "acme:2".into(),
        env: BTreeMap::new(),
        secrets: BTreeMap::new(),
        domains: Vec::new(),
        processes,
        ..Default::default()
    };
    render(&app, &settings()).remove(0)
}

pub(crate) fn deployment(status: &str, td: &str, state: &str, running: u32) -> ObservedDeployment {
    ObservedDeployment {
        id: format!("ecs-svc/{td}"),
        status: DeploymentStatus::from_ecs(status).expect("an ECS deployment status"),
        task_definition_arn: td.into(),
        desired_count: 2,
        running_count: running,
        pending_count: 0,
        failed_tasks: u32::from(state == "FAILED") * 3,
        rollout_state: EcsRolloutState::from_ecs(state),
        rollout_state_reason: (state == "FAILED")
            .then(|| "ECS deployment circuit breaker: tasks failed to start.".into()),
        created_at: None,
    }
}

pub(crate) fn observed(process: &DesiredProcess, deployments: Vec<ObservedDeployment>) -> Observed {
    let mut observed = Observed::default();
    observed.latest_task_definitions.insert(
        process.task_definition.family.clone(),
        ObservedTaskDefinition {
            arn: "td:2".into(),
            spec: process.task_definition.clone(),
            tags: BTreeMap::new(),
        },
    );
    let primary = deployments
        .iter()
        .find(|d| d.status == DeploymentStatus::Primary)
        .map(|d| d.task_definition_arn.clone())
        .unwrap_or_default();
    observed.services.insert(
        process.service.name.clone(),
        ObservedService {
            name: process.service.name.clone(),
            arn: "svc".into(),
            status: ServiceStatus::Active,
            tags: BTreeMap::new(),
            desired_count: 2,
            running_count: deployments.iter().map(|d| d.running_count).sum(),
            pending_count: 0,
            task_definition: (primary == "td:2").then(|| process.task_definition.clone()),
            task_definition_arn: primary,
            network: None,
            load_balancers: Vec::new(),
            health_check_grace_period: None,
            deployment: None,
            capacity_provider_strategy: Vec::new(),
            enable_execute_command: false,
            deployments,
            events: Vec::new(),
            current_deployment: None,
        },
    );
    observed
}

/// The default crash-loop threshold, at a time no deadline of the tests'
/// deployments (which have no `createdAt`) is measured from.
pub(crate) fn judging() -> Judging {
    Judging {
        crash_loop_stops: crate::DEFAULT_CRASH_LOOP_STOPS,
        now: time::macros::datetime!(2026-12-01 10:00 UTC),
    }
}

fn state(observed: &Observed, previous: Option<&AppStatus>) -> RolloutState {
    let p = process();
    assess(3, std::slice::from_ref(&p), observed, previous, judging())["web"]
        .state
        .clone()
}

#[test]
fn a_rollout_completes_when_only_the_wanted_revision_runs_at_the_desired_count() {
    let p = process();
    let rolling = observed(
        &p,
        vec![
            deployment("PRIMARY", "td:2", "IN_PROGRESS", 1),
            deployment("ACTIVE", "td:1", "COMPLETED", 1),
        ],
    );
    assert_eq!(state(&rolling, None), RolloutState::InProgress);
    let done = observed(&p, vec![deployment("PRIMARY", "td:2", "COMPLETED", 2)]);
    assert_eq!(state(&done, None), RolloutState::Completed);
    let short = observed(&p, vec![deployment("PRIMARY", "td:2", "COMPLETED", 1)]);
    assert_eq!(
        state(&short, None),
        RolloutState::InProgress,
        "not at the desired count"
    );
}

#[test]
fn a_failed_deployment_of_the_wanted_revision_is_a_failure() {
    let p = process();
    let rolling_back = observed(
        &p,
        vec![
            deployment("PRIMARY", "td:1", "IN_PROGRESS", 1),
            deployment("ACTIVE", "td:2", "FAILED", 0),
        ],
    );
    assert!(
        matches!(state(&rolling_back, None), RolloutState::Failed { reason } if reason.to_string().contains("circuit breaker"))
    );
}

#[test]
fn a_rollback_seen_only_afterwards_is_a_failure_and_failures_stick() {
    let p = process();
    let rolling = observed(&p, vec![deployment("PRIMARY", "td:2", "IN_PROGRESS", 0)]);
    let mut previous = crate::report::tests::status_with(3, "web", Some("td:2"));
    let rolled_back = observed(&p, vec![deployment("PRIMARY", "td:1", "COMPLETED", 2)]);
    assert!(matches!(
        state(&rolled_back, Some(&previous)),
        RolloutState::Failed { .. }
    ));
    // After a completed rollout, another PRIMARY is drift, not failure.
    let mut completed = crate::report::tests::status_with(3, "web", Some("td:2"));
    if let Some(p) = completed.processes.get_mut("web") {
        p.rollout = Some(RolloutStatus::Completed);
    }
    assert_eq!(
        state(&rolled_back, Some(&completed)),
        RolloutState::InProgress
    );
    // Not for an older generation's status.
    previous.generation = 2;
    assert_eq!(
        state(&rolled_back, Some(&previous)),
        RolloutState::InProgress
    );
    assert_eq!(state(&rolling, None), RolloutState::InProgress);

    let mut failed = crate::report::tests::status_with(3, "web", Some("td:2"));
    failed.failure = Some(crate::status::RolloutFailure {
        generation: 3,
        process: "web".into(),
        task_definition: "td:2".into(),
        reason: RolloutFailureReason::Ecs("tasks failed to start".into()),
        events: Vec::new(),
        last_failure: None,
    });
    let done = observed(&p, vec![deployment("PRIMARY", "td:2", "COMPLETED", 2)]);
    assert!(
        matches!(state(&done, Some(&failed)), RolloutState::Failed { .. }),
        "sticky"
    );
}

#[test]
fn failure_events_come_first() {
    let p = process();
    let mut seen = observed(&p, vec![deployment("PRIMARY", "td:1", "COMPLETED", 2)]);
    let messages = [
        "(service acme_web) has reached a steady state.",
        "(service acme_web) (deployment ecs-svc/2) deployment completed.",
        "(service acme_web) rolling back to deployment ecs-svc/1.",
        "(service acme_web) has started 2 tasks.",
        "(service acme_web) has started 1 tasks.",
        "(service acme_web) has started 1 tasks again.",
        "(service acme_web) (deployment ecs-svc/3) deployment failed: tasks failed to start.",
    ];
    if let Some(service) = seen.services.values_mut().next() {
        service.events = messages
            .iter()
            .enumerate()
            .map(|(i, m)| crate::observed::ServiceEvent {
                id: i.to_string(),
                created_at: String::new(),
                message: (*m).to_owned(),
            })
            .collect();
    }
    let rollout = &assess(3, std::slice::from_ref(&p), &seen, None, judging())["web"];
    assert_eq!(rollout.events.len(), FAILURE_EVENTS);
    assert!(
        rollout.events[0].contains("rolling back"),
        "{:?}",
        rollout.events
    );
    assert!(
        rollout.events[1].contains("deployment failed"),
        "{:?}",
        rollout.events
    );
    assert!(rollout.events[2].contains("steady state"));
}

/// A new capacity or ECS Exec is a forced deployment of the revision the
/// service already runs: it is followed to the end like any other, and
/// the circuit breaker's verdict on it is a failure all the same.
#[test]
fn a_forced_deployment_of_the_same_revision_is_followed_and_judged() {
    let p = process();
    let forced = observed(
        &p,
        vec![
            deployment("PRIMARY", "td:2", "IN_PROGRESS", 1),
            deployment("ACTIVE", "td:2", "COMPLETED", 1),
        ],
    );
    assert_eq!(
        state(&forced, None),
        RolloutState::InProgress,
        "the old tasks still run"
    );
    let failed = observed(
        &p,
        vec![
            deployment("PRIMARY", "td:2", "IN_PROGRESS", 2),
            deployment("ACTIVE", "td:2", "FAILED", 0),
        ],
    );
    assert!(matches!(state(&failed, None), RolloutState::Failed { .. }));
    let done = observed(&p, vec![deployment("PRIMARY", "td:2", "COMPLETED", 2)]);
    assert_eq!(state(&done, None), RolloutState::Completed);
}

/// What `assess` judges of `web` at `now`, with `previous` and stopped
/// tasks of the new deployment.
fn judged_at(
    observed: &Observed,
    previous: Option<&AppStatus>,
    now: OffsetDateTime,
) -> ProcessRollout {
    let p = process();
    let judging = Judging { now, ..judging() };
    assess(3, std::slice::from_ref(&p), observed, previous, judging)
        .remove("web")
        .expect("web")
}

#[test]
fn a_rollout_ecs_completed_is_complete_once_its_tasks_ran_a_while_without_a_crash() {
    use crate::status::failures::tests::crash;
    use time::macros::datetime;
    let p = process();
    let t0 = datetime!(2026-12-01 10:00 UTC);
    let rolling = observed(
        &p,
        vec![
            deployment("PRIMARY", "td:2", "IN_PROGRESS", 1),
            deployment("ACTIVE", "td:1", "COMPLETED", 1),
        ],
    );
    let seen = judged_at(&rolling, None, t0);
    assert_eq!(seen.state, RolloutState::InProgress);
    let mut before = crate::report::tests::status_with(3, "web", Some("td:2"));
    if let Some(web) = before.processes.get_mut("web") {
        web.progress = seen.progress.clone();
    }

    // ECS completes it at t0 + 4 s: the count is reached then (progress).
    let done = observed(&p, vec![deployment("PRIMARY", "td:2", "COMPLETED", 2)]);
    let at = |secs: i64| t0 + time::Duration::seconds(secs);
    let window = i64::from(MIN_STABLE_SECS);
    let first = judged_at(&done, Some(&before), at(4));
    assert_eq!(first.state, RolloutState::InProgress, "not stable yet");
    let progress = first
        .progress
        .clone()
        .expect("progress tracked in the window");
    if let Some(web) = before.processes.get_mut("web") {
        web.progress = Some(progress);
    }
    assert_eq!(
        judged_at(&done, Some(&before), at(4 + window - 1)).state,
        RolloutState::InProgress
    );
    assert_eq!(
        judged_at(&done, Some(&before), at(4 + window)).state,
        RolloutState::Completed,
        "stable for the window"
    );

    // A crash in the window starts it again from the crash.
    let mut crashed = done.clone();
    let mut task = crash("c1");
    task.deployment_id = "ecs-svc/td:2".into();
    task.stopped_at = Some(crate::model::status::rfc3339(at(8)));
    crashed
        .stopped_tasks
        .insert(p.service.name.clone(), vec![task]);
    let judged = judged_at(&crashed, Some(&before), at(4 + window));
    assert_eq!(
        judged.state,
        RolloutState::InProgress,
        "a crash in the window"
    );
    assert_eq!(judged.crashed_tasks, 1);
    assert_eq!(
        judged_at(&crashed, Some(&before), at(8 + window)).state,
        RolloutState::Completed
    );

    // A service found complete (no rollout seen) is complete at once.
    assert_eq!(judged_at(&done, None, at(4)).state, RolloutState::Completed);
}
