use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use time::macros::datetime;

use super::*;
use crate::plan::plan;
use crate::render::render;
use crate::testing::{app_strategy, execute, settings, OWNER};

fn an_app() -> ferry_manifest::App {
    let mut runner = TestRunner::deterministic();
    app_strategy()
        .new_tree(&mut runner)
        .expect("an app")
        .current()
}

struct Case {
    app: ferry_manifest::App,
    desired: Vec<DesiredProcess>,
}

impl Case {
    fn new() -> Self {
        let app = an_app();
        let desired = render(&app, &settings());
        Self { app, desired }
    }

    fn derive(
        &self,
        generation: u64,
        observed: &Observed,
        error: Option<LastError>,
        previous: Option<&AppStatus>,
        corrections: &[String],
        now: OffsetDateTime,
    ) -> (AppStatus, Plan) {
        let plan = plan(&self.app.name, OWNER, &self.desired, observed);
        let status = derive(StatusInput {
            app: &self.app.name,
            generation,
            desired: &self.desired,
            scheduled: self
                .app
                .processes
                .values()
                .filter(|p| p.schedule.is_some())
                .count(),
            observed,
            plan: &plan,
            error,
            previous,
            corrections,
            endpoints: &BTreeMap::new(),
            crash_loop_stops: crate::DEFAULT_CRASH_LOOP_STOPS,
            now,
        });
        (status, plan)
    }
}

/// A status of `generation` in which `process` rolls out `new`.
pub(crate) fn status_with(generation: u64, process: &str, new: Option<&str>) -> AppStatus {
    AppStatus {
        name: "acme".into(),
        generation,
        observed_generation: generation,
        release: generation,
        conditions: Vec::new(),
        processes: BTreeMap::from([(
            process.to_owned(),
            ProcessStatus {
                desired: 2,
                running: 0,
                pending: 0,
                task_definition: new.map(str::to_owned),
                rollout: Some(RolloutStatus::InProgress),
                rollout_reason: None,
                new_task_definition: new.map(str::to_owned),
                old_task_definitions: Vec::new(),
                failed_tasks: 0,
                endpoints: Vec::new(),
                autoscaling: None,
                last_failure: None,
                crashed_tasks: 0,
                progress: None,
                deployment: None,
            },
        )]),
        endpoints: Vec::new(),
        events: Vec::new(),
        last_error: None,
        last_reconciled: String::new(),
        failure: None,
        succeeded: None,
        schedules: BTreeMap::new(),
    }
}

/// What ECS shows once every service's rollout has finished.
fn completed(mut observed: Observed) -> Observed {
    for service in observed.services.values_mut() {
        service.running_count = service.desired_count;
        service.pending_count = 0;
        service.deployments = vec![crate::observed::ObservedDeployment {
            id: format!("ecs-svc/{}", service.name),
            status: DeploymentStatus::Primary,
            task_definition_arn: service.task_definition_arn.clone(),
            desired_count: service.desired_count,
            running_count: service.desired_count,
            pending_count: 0,
            failed_tasks: 0,
            rollout_state: Some(EcsRolloutState::Completed),
            rollout_state_reason: None,
            created_at: None,
        }];
    }
    observed
}

fn status_of(status: &AppStatus, type_: ConditionType) -> &Condition {
    status.condition(type_).expect("every condition is present")
}

const T1: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
const T2: OffsetDateTime = datetime!(2026-11-23 10:05 UTC);
const T3: OffsetDateTime = datetime!(2026-11-23 10:10 UTC);

#[test]
fn ready_only_once_the_latest_generation_converged() {
    let case = Case::new();
    let empty = Observed::default();
    let (first, first_plan) = case.derive(1, &empty, None, None, &[], T1);
    assert_eq!(status_of(&first, READY).status, ConditionStatus::False);
    assert_eq!(status_of(&first, PROGRESSING).status, ConditionStatus::True);
    assert_eq!(first.observed_generation, 1, "the whole plan ran");

    let converged = completed(execute(&empty, &first_plan.actions));
    let (second, _) = case.derive(1, &converged, None, Some(&first), &[], T2);
    assert_eq!(status_of(&second, READY).status, ConditionStatus::True);
    assert_eq!(status_of(&second, READY).last_transition_time, rfc3339(T2));
    assert_eq!(status_of(&second, DEGRADED).status, ConditionStatus::False);
    assert_eq!(
        status_of(&second, DEGRADED).last_transition_time,
        rfc3339(T1),
        "unchanged conditions keep their transition time"
    );
    for process in &case.desired {
        let p = &second.processes[&process.process];
        assert_eq!(p.desired, process.service.desired_count);
        assert!(p.task_definition.is_some());
    }

    let (newer, _) = case.derive(2, &converged, None, Some(&second), &[], T3);
    assert_eq!(newer.generation, 2);
    assert_eq!(newer.observed_generation, 2);
}

#[test]
fn ready_counts_scheduled_processes_with_the_services() {
    let mut app = an_app();
    let total = app.processes.len();
    let first = app.processes.values_mut().next().expect("a process");
    first.port = None;
    first.schedule = Some(ferry_manifest::Schedule {
        expression: "rate(1 hour)".into(),
        timezone: "UTC".into(),
    });
    let desired = render(&app, &settings());
    assert_eq!(
        desired.len(),
        total - 1,
        "a scheduled process has no service"
    );
    let case = Case { app, desired };
    let empty = Observed::default();
    let (first, plan) = case.derive(1, &empty, None, None, &[], T1);
    let converged = completed(execute(&empty, &plan.actions));
    let (second, _) = case.derive(1, &converged, None, Some(&first), &[], T2);
    let ready = status_of(&second, READY);
    assert_eq!(ready.status, ConditionStatus::True);
    assert_eq!(
        ready.message,
        format!("all {total} process(es) match the spec")
    );
}

#[test]
fn a_failure_keeps_the_observed_generation_and_names_the_call() {
    let case = Case::new();
    let empty = Observed::default();
    let (first, plan) = case.derive(1, &empty, None, None, &[], T1);
    let converged = completed(execute(&empty, &plan.actions));
    let (ready, _) = case.derive(1, &converged, None, Some(&first), &[], T2);
    let error = LastError {
        operation: "ecs:UpdateService".into(),
        message: "AccessDeniedException: no".into(),
        time: rfc3339(T3),
    };
    let (failed, _) = case.derive(2, &converged, Some(error), Some(&ready), &[], T3);
    assert_eq!(failed.observed_generation, 1);
    assert_eq!(status_of(&failed, READY).status, ConditionStatus::False);
    let degraded = status_of(&failed, DEGRADED);
    assert_eq!(degraded.status, ConditionStatus::True);
    assert_eq!(degraded.reason, ConditionReason::ReconcileError);
    assert!(degraded.message.contains("ecs:UpdateService"));
    assert_eq!(
        failed.last_error.as_ref().map(|e| e.operation.as_str()),
        Some("ecs:UpdateService")
    );
}

#[test]
fn a_steady_state_status_is_the_same_as_the_last() {
    let case = Case::new();
    let empty = Observed::default();
    let (first, plan) = case.derive(1, &empty, None, None, &[], T1);
    let converged = completed(execute(&empty, &plan.actions));
    let (second, _) = case.derive(1, &converged, None, Some(&first), &[], T2);
    let (third, _) = case.derive(1, &converged, None, Some(&second), &[], T3);
    assert!(third.same_as(&second), "nothing to write");
    assert_ne!(third.last_reconciled, second.last_reconciled);
}

#[test]
fn drift_is_a_plan_for_a_generation_already_acted_on() {
    let case = Case::new();
    let empty = Observed::default();
    let (first, plan) = case.derive(1, &empty, None, None, &[], T1);
    let converged = completed(execute(&empty, &plan.actions));
    let (ready, _) = case.derive(1, &converged, None, Some(&first), &[], T2);

    let mut edited = converged.clone();
    let service = edited.services.values_mut().next().expect("a service");
    // Out of any autoscaling range too: corrected either way.
    service.desired_count += 1000;
    let drifted = crate::plan::plan(&case.app.name, OWNER, &case.desired, &edited);
    assert!(drift(Some(&ready), 1, &drifted, false));
    assert!(
        !drift(Some(&ready), 2, &drifted, false),
        "a new generation is not drift"
    );
    assert!(!drift(None, 1, &drifted, false), "nothing known before");
    assert!(!drift(Some(&ready), 1, &drifted, true), "deleting");
    assert!(
        !drift(Some(&ready), 1, &Plan::default(), false),
        "nothing to undo"
    );

    let corrections: Vec<String> = drifted.actions.iter().map(ToString::to_string).collect();
    let (reported, _) = case.derive(1, &edited, None, Some(&ready), &corrections, T3);
    assert!(reported.events[0]
        .message
        .starts_with("(ferry) corrected drift: update service"));
    assert_eq!(reported.events[0].created_at, rfc3339(T3));
    let (later, _) = case.derive(1, &converged, None, Some(&reported), &[], T3);
    assert_eq!(later.events, reported.events, "events are kept");
}
