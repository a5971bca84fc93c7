use std::collections::BTreeMap;

use ferry_manifest::{App, Schedule};
use proptest::prelude::*;

use super::*;
use crate::model::observed::ENABLED;
use crate::model::status::ScheduleState;
use crate::names;
use crate::plan::plan_app;
use crate::render::{render_app, Desired};
use crate::schedule_runs::{FailedInvocation, ObservedRuns, ScheduledRun};
use crate::status::schedule::status;
use crate::testing::{app_strategy, execute, settings, OWNER};
use crate::traffic::ObservedTraffic;

fn plan_all(desired: &Desired, observed: &Observed) -> crate::plan::Plan {
    plan_app(
        "acme",
        OWNER,
        &settings().traffic,
        desired,
        observed,
        &ObservedTraffic::default(),
    )
}

/// `app` with each process whose index is in `scheduled` given a schedule
/// (and no port: a scheduled process has none).
fn with_schedules(mut app: App, scheduled: &[bool], expression: &str) -> App {
    for (process, on) in app.processes.values_mut().zip(scheduled) {
        if *on {
            process.port = None;
            process.schedule = Some(Schedule {
                expression: expression.into(),
                timezone: "UTC".into(),
            });
        }
    }
    app
}

fn scheduled_app_strategy() -> impl Strategy<Value = App> {
    (
        app_strategy(),
        prop::collection::vec(any::<bool>(), 4),
        prop::sample::select(vec!["rate(1 hour)", "cron(0 3 * * ? *)"]),
    )
        .prop_map(|(app, scheduled, expression)| with_schedules(app, &scheduled, expression))
}

fn converge(app: &App) -> Observed {
    let desired = render_app(app, &settings());
    let plan = plan_all(&desired, &Observed::default());
    execute(&Observed::default(), &plan.actions)
}

/// A schedule in our group, named for `process`, that is not this app's.
fn foreign(process: &str, tags: BTreeMap<String, String>) -> ObservedSchedule {
    ObservedSchedule {
        name: names::schedule_name("acme", process),
        group: names::schedule_group(OWNER),
        expression: "rate(5 minutes)".into(),
        timezone: "UTC".into(),
        state: ENABLED.into(),
        cluster: Some("test".into()),
        role_arn: None,
        task_definition_arn: Some("foreign:1".into()),
        task_definition: None,
        network: None,
        tags,
        legacy_tags: false,
        fargate: true,
        window_off: true,
        capacity_provider_strategy: Vec::new(),
        enable_execute_command: false,
        dead_letter_arn: None,
        retry_policy: None,
        run_group: None,
    }
}

#[derive(Debug, Clone)]
enum Drift {
    Disable(usize),
    Expression(usize),
    Delete(usize),
    OtherRevision(usize),
    /// Written by an earlier Ferry: tags as `{"key", "value"}` maps.
    LegacyTags(usize),
    /// No dead-letter queue, no retry policy, no task group.
    NoDeadLetters(usize),
    Foreign(&'static str, bool),
}

fn drift_strategy() -> impl Strategy<Value = Drift> {
    let process = prop::sample::select(vec!["web", "worker", "api", "cron"]);
    prop_oneof![
        (0usize..4).prop_map(Drift::Disable),
        (0usize..4).prop_map(Drift::Expression),
        (0usize..4).prop_map(Drift::Delete),
        (0usize..4).prop_map(Drift::OtherRevision),
        (0usize..4).prop_map(Drift::LegacyTags),
        (0usize..4).prop_map(Drift::NoDeadLetters),
        (process, any::<bool>()).prop_map(|(p, other_app)| Drift::Foreign(p, other_app)),
    ]
}

fn apply_drift(observed: &mut Observed, drift: &Drift) {
    let names: Vec<String> = observed.schedules.keys().cloned().collect();
    let pick = |i: usize| (!names.is_empty()).then(|| names[i % names.len()].clone());
    match drift {
        Drift::Disable(i)
        | Drift::Expression(i)
        | Drift::OtherRevision(i)
        | Drift::LegacyTags(i)
        | Drift::NoDeadLetters(i) => {
            let Some(name) = pick(*i) else { return };
            let Some(s) = observed.schedules.get_mut(&name) else {
                return;
            };
            match drift {
                Drift::Disable(_) => s.state = "DISABLED".into(),
                Drift::Expression(_) => s.expression = "rate(7 days)".into(),
                Drift::LegacyTags(_) => s.legacy_tags = true,
                Drift::NoDeadLetters(_) => {
                    s.dead_letter_arn = None;
                    s.retry_policy = None;
                    s.run_group = None;
                }
                _ => {
                    if let Some(spec) = s.task_definition.as_mut() {
                        spec.image = "console-edit:latest".into();
                        s.task_definition_arn = Some(format!("{}:999", spec.family));
                    }
                }
            }
        }
        Drift::Delete(i) => {
            if let Some(name) = pick(*i) {
                observed.schedules.remove(&name);
            }
        }
        Drift::Foreign(process, other_app) => {
            let tags = if *other_app {
                names::ownership_tags(OWNER, "other", Some(process))
            } else {
                BTreeMap::new()
            };
            let schedule = foreign(process, tags);
            observed.schedules.insert(schedule.name.clone(), schedule);
        }
    }
}

fn is_ours(observed: &Observed, name: &str) -> bool {
    observed
        .schedules
        .get(name)
        .is_none_or(|s| ownership(s, OWNER, "acme") == Ownership::Ours)
}

proptest! {
    #[test]
    fn a_plan_on_converged_schedules_is_empty(app in scheduled_app_strategy()) {
        let observed = converge(&app);
        let desired = render_app(&app, &settings());
        let plan = plan_all(&desired, &observed);
        prop_assert!(plan.actions.is_empty(), "{:?}", plan.actions);
        prop_assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
        // No service for a scheduled process, a schedule for each.
        for (name, process) in &app.processes {
            let service = names::service_name("acme", name);
            let schedule = names::schedule_name("acme", name);
            prop_assert_eq!(observed.services.contains_key(&service), process.schedule.is_none());
            prop_assert_eq!(observed.schedules.contains_key(&schedule), process.schedule.is_some());
        }
    }

    #[test]
    fn executing_a_plan_converges_schedules(
        before in scheduled_app_strategy(),
        after in scheduled_app_strategy(),
        drifts in prop::collection::vec(drift_strategy(), 0..4),
    ) {
        let mut observed = converge(&before);
        for drift in &drifts {
            apply_drift(&mut observed, drift);
        }
        let desired = render_app(&after, &settings());
        let first = plan_all(&desired, &observed);
        let next = execute(&observed, &first.actions);
        let second = plan_all(&desired, &next);
        prop_assert!(second.actions.is_empty(), "second plan: {:?}", second.actions);
        for wanted in &desired.schedules {
            if first.blockers.iter().any(|b| b.process == wanted.process) {
                continue;
            }
            let schedule = &next.schedules[&wanted.schedule.name];
            prop_assert!(schedule.matches(&wanted.schedule));
            prop_assert_eq!(schedule.task_definition.as_ref(), Some(&wanted.task_definition));
        }
    }

    #[test]
    fn no_schedule_action_touches_what_is_not_ours(
        before in scheduled_app_strategy(),
        after in scheduled_app_strategy(),
        drifts in prop::collection::vec(drift_strategy(), 1..5),
    ) {
        let mut observed = converge(&before);
        for drift in &drifts {
            apply_drift(&mut observed, drift);
        }
        let desired = render_app(&after, &settings());
        for action in plan_all(&desired, &observed).actions {
            if let Action::CreateSchedule { schedule, .. } | Action::UpdateSchedule { schedule, .. } = &action {
                prop_assert!(is_ours(&observed, &schedule.name), "{action}");
            }
            if let Action::DeleteSchedule { name, .. } = &action {
                prop_assert!(observed.schedules.contains_key(name) && is_ours(&observed, name), "{action}");
            }
        }
    }
}

fn nightly(image: &str) -> App {
    let mut processes = BTreeMap::new();
    for (name, schedule) in [("web", None), ("nightly", Some("cron(0 3 * * ? *)"))] {
        processes.insert(
            name.to_owned(),
            ferry_manifest::Process {
                command: vec![],
                scale: 1,
                cpu: 256,
                memory: 512,
                schedule: schedule.map(|expression| Schedule {
                    expression: expression.into(),
                    timezone: "Europe/Berlin".into(),
                }),
                ..Default::default()
            },
        );
    }
    App {
        name: "acme".into(),
        image: image.into(),
        env: BTreeMap::new(),
        secrets: BTreeMap::new(),
        domains: Vec::new(),
        processes,
        ..Default::default()
    }
}

#[test]
fn a_scheduled_process_gets_a_task_definition_and_a_schedule_but_no_service() {
    let desired = render_app(&nightly("acme:1"), &settings());
    let plan = plan_all(&desired, &Observed::default());
    let lines: Vec<String> = plan.actions.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "register task definition ferry_acme_nightly (image acme:1)",
            "register task definition ferry_acme_web (image acme:1)",
            "create service acme_web (desired 1, task definition ferry_acme_web:<new revision>)",
            "create schedule acme_nightly (cron(0 3 * * ? *) Europe/Berlin, task definition \
             ferry_acme_nightly:<new revision>)",
        ]
    );
    let spec = &desired.schedules[0].schedule;
    assert_eq!(spec.group, "ferry-ferry");
    assert_eq!(spec.cluster, "test");
    assert_eq!(spec.network.subnets, ["subnet-a", "subnet-b"]);
    assert_eq!(
        spec.tags,
        names::ownership_tags(OWNER, "acme", Some("nightly"))
    );
}

#[test]
fn an_image_change_registers_a_revision_and_updates_the_schedule() {
    let observed = converge(&nightly("acme:1"));
    let desired = render_app(&nightly("acme:2"), &settings());
    let plan = plan_all(&desired, &observed);
    let kinds: Vec<&str> = plan
        .actions
        .iter()
        .map(|a| match a {
            Action::RegisterTaskDefinition { .. } => "register",
            Action::UpdateService(_) => "update service",
            Action::UpdateSchedule {
                task_definition: TaskDefinitionRef::Registered(_),
                ..
            } => "update schedule to the new revision",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "register",
            "register",
            "update service",
            "update schedule to the new revision"
        ]
    );
}

#[test]
fn removing_the_process_or_the_app_deletes_the_schedule() {
    let observed = converge(&nightly("acme:1"));
    let mut without = nightly("acme:1");
    without.processes.remove("nightly");
    let plan = plan_all(&render_app(&without, &settings()), &observed);
    assert_eq!(
        plan.actions,
        [Action::DeleteSchedule {
            name: "acme_nightly".into(),
            group: "ferry-ferry".into()
        }]
    );
    let deleting = Desired {
        processes: Vec::new(),
        traffic: Default::default(),
        schedules: Vec::new(),
        alarms: Vec::new(),
    };
    let plan = plan_all(&deleting, &observed);
    assert!(plan.actions.contains(&Action::DeleteSchedule {
        name: "acme_nightly".into(),
        group: "ferry-ferry".into()
    }));
}

#[test]
fn without_a_scheduler_role_a_scheduled_process_is_blocked_for_a_person() {
    let mut no_role = settings();
    no_role.scheduler_role_arn = None;
    let desired = render_app(&nightly("acme:1"), &no_role);
    let plan = plan_all(&desired, &Observed::default());
    assert!(plan
        .actions
        .iter()
        .all(|a| !matches!(a, Action::CreateSchedule { .. }) && a.target() != "acme_nightly"));
    assert_eq!(plan.blockers.len(), 1);
    assert_eq!(plan.blockers[0].reason, BlockerReason::NoSchedulerRole);
    assert!(plan.blockers[0].reason.needs_a_person());
    assert!(plan.blockers[0].message.contains("--scheduler-role-arn"));
}

#[test]
fn a_foreign_schedule_with_our_name_is_a_name_conflict_and_left_alone() {
    let mut observed = Observed::default();
    let schedule = foreign("nightly", BTreeMap::new());
    observed.schedules.insert(schedule.name.clone(), schedule);
    let plan = plan_all(&render_app(&nightly("acme:1"), &settings()), &observed);
    assert!(plan.actions.iter().all(|a| a.target() != "acme_nightly"));
    assert_eq!(plan.blockers[0].reason, BlockerReason::NameConflict);
    // And deleting the app leaves it too.
    let nothing = Desired {
        processes: Vec::new(),
        traffic: Default::default(),
        schedules: Vec::new(),
        alarms: Vec::new(),
    };
    assert!(plan_all(&nothing, &observed).actions.is_empty());
}

#[test]
fn status_shows_each_schedule_with_its_state() {
    let app = nightly("acme:1");
    let desired = render_app(&app, &settings());
    let pending = status(&desired.schedules, &Observed::default(), None);
    assert_eq!(pending["nightly"].state, ScheduleState::Pending);
    let observed = converge(&app);
    let shown = status(&desired.schedules, &observed, None);
    assert_eq!(shown["nightly"].state, ScheduleState::Enabled);
    assert_eq!(shown["nightly"].expression, "cron(0 3 * * ? *)");
    assert_eq!(shown["nightly"].timezone, "Europe/Berlin");
    assert_eq!(
        shown["nightly"].task_definition.as_deref(),
        Some("ferry_acme_nightly:1")
    );
}

fn failed(id: &str, time: &str) -> FailedInvocation {
    FailedInvocation {
        id: id.into(),
        scheduled_time: Some(time.into()),
        error_code: "ClientException".into(),
        error_message: "Unable to find task definition.".into(),
        retry_attempts: Some(2),
        exhausted_retry_condition: Some("MaximumRetryAttempts".into()),
    }
}

fn ran(id: &str, started: &str, exit_code: i32) -> ScheduledRun {
    ScheduledRun {
        task_arn: format!("arn:aws:ecs:us-east-1:123456789012:task/test/{id}"),
        started_at: Some(started.into()),
        last_status: "STOPPED".into(),
        exit_code: Some(exit_code),
        stop_code: Some("EssentialContainerExited".into()),
        stopped_reason: None,
    }
}

#[test]
fn status_keeps_failed_invocations_and_the_last_run() {
    let app = nightly("acme:1");
    let desired = render_app(&app, &settings());
    let mut observed = converge(&app);
    let name = desired.schedules[0].schedule.name.clone();
    observed.schedule_runs.insert(
        name.clone(),
        ObservedRuns {
            failures: vec![failed("e-2", "2026-12-06T03:00:00Z")],
            dead_letter_messages: vec!["m-2".into()],
            runs: vec![
                ran("old", "2026-12-05T03:00:00Z", 0),
                ran("new", "2026-12-06T03:00:01Z", 3),
            ],
        },
    );
    let mut before = status(&desired.schedules, &converge(&app), None);
    before
        .get_mut("nightly")
        .expect("nightly")
        .failed_invocations = vec![failed("e-1", "2026-12-05T03:00:00Z")];
    let shown = status(&desired.schedules, &observed, Some(&before));
    let nightly = &shown["nightly"];
    assert!(nightly.failures_reported);
    let ids: Vec<&str> = nightly
        .failed_invocations
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(ids, ["e-2", "e-1"]);
    let last = nightly.last_run.as_ref().expect("a last run");
    assert_eq!((last.task_id(), last.exit_code), ("new", Some(3)));

    // When ECS no longer lists the tasks, the last run shown stays.
    observed.schedule_runs.clear();
    let later = status(&desired.schedules, &observed, Some(&shown));
    assert_eq!(later["nightly"].last_run, nightly.last_run);
    assert_eq!(later["nightly"].failed_invocations.len(), 2);

    // What was shown for another schedule of the same process does not carry over.
    let mut renamed = shown.clone();
    renamed.get_mut("nightly").expect("nightly").name = "other".into();
    let fresh = status(&desired.schedules, &observed, Some(&renamed));
    assert!(fresh["nightly"].failed_invocations.is_empty());
    assert_eq!(fresh["nightly"].last_run, None);
}

#[test]
fn without_a_dead_letter_queue_status_says_failures_are_not_reported() {
    let app = nightly("acme:1");
    let mut no_queue = settings();
    no_queue.schedule_dlq_arn = None;
    let desired = render_app(&app, &no_queue);
    assert_eq!(desired.schedules[0].schedule.dead_letter_arn, None);
    let shown = status(&desired.schedules, &Observed::default(), None);
    assert!(!shown["nightly"].failures_reported);
    let json = serde_json::to_value(&shown["nightly"]).expect("json");
    assert_eq!(json["failuresReported"], false);
    assert!(json.get("failedInvocations").is_none());
}

#[test]
fn a_schedule_is_updated_until_it_has_the_queue_the_retry_policy_and_the_group() {
    let app = nightly("acme:1");
    let desired = render_app(&app, &settings());
    let mut observed = converge(&app);
    assert!(plan_all(&desired, &observed).actions.is_empty());
    for change in 0..4 {
        let mut drifted = observed.clone();
        let s = drifted.schedules.values_mut().next().expect("a schedule");
        match change {
            0 => s.dead_letter_arn = None,
            1 => s.retry_policy = None,
            2 => s.run_group = Some("family:acme_nightly".into()),
            _ => s.legacy_tags = true,
        }
        let plan = plan_all(&desired, &drifted);
        assert!(
            matches!(plan.actions.as_slice(), [Action::UpdateSchedule { .. }]),
            "change {change}: {:?}",
            plan.actions
        );
    }
    // Legacy tags still say whose it is: no name conflict.
    let s = observed.schedules.values_mut().next().expect("a schedule");
    s.legacy_tags = true;
    assert!(plan_all(&desired, &observed).blockers.is_empty());
}
