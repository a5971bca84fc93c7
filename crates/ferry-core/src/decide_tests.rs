use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use time::macros::datetime;

use super::*;
use crate::model::status::{ConditionReason, DEGRADED, READY};
use crate::plan::Action;
use crate::render::render_app;
use crate::testing::{app_strategy, execute, settings};
use crate::Desired;
use crate::ServiceUpdate;

fn an_app() -> ferry_manifest::App {
    app_strategy()
        .new_tree(&mut TestRunner::deterministic())
        .expect("an app")
        .current()
}

fn decide_on(
    app: AppRef<'_>,
    spec: &ferry_manifest::App,
    observed: &Observed,
    previous: Option<&AppStatus>,
) -> Decision {
    decide(Input {
        app,
        spec,
        settings: &settings(),
        observed,
        observed_traffic: &ObservedTraffic::default(),
        previous,
        now: datetime!(2026-12-01 10:00 UTC),
    })
}

fn app_ref(name: &str, generation: u64, deleting: bool) -> AppRef<'_> {
    AppRef {
        name,
        generation,
        deleting,
        restart: None,
    }
}

/// A new app, and the decision on its first generation with nothing
/// observed yet.
fn first_apply() -> (ferry_manifest::App, Desired, Decision) {
    let app = an_app();
    let desired = render_app(&app, &settings());
    let decision = decide_on(
        app_ref(&app.name, 1, false),
        &app,
        &Observed::default(),
        None,
    );
    (app, desired, decision)
}

/// The forced services of a plan, by name.
fn forced(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::UpdateService(ServiceUpdate {
                name,
                force_new_deployment: true,
                ..
            }) => Some(name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_restart_forces_a_new_deployment_once_and_only_of_its_processes() {
    let (app, desired, first) = first_apply();
    let running = execute(&Observed::default(), &first.plan.actions);
    let settled = decide_on(
        app_ref(&app.name, 1, false),
        &app,
        &running,
        Some(&first.status),
    );
    let all = Restart {
        generation: 2,
        processes: Vec::new(),
    };
    let restart = |restart: &Restart, previous: &AppStatus| {
        decide_on(
            AppRef {
                restart: Some(restart),
                ..app_ref(&app.name, 2, false)
            },
            &app,
            &running,
            Some(previous),
        )
    };
    let every: Vec<String> = desired
        .processes
        .iter()
        .map(|p| p.service.name.clone())
        .collect();
    let decision = restart(&all, &settled.status);
    assert_eq!(
        forced(&decision.plan),
        every,
        "every process, nothing else changed"
    );
    assert!(decision
        .plan
        .actions
        .iter()
        .all(|a| matches!(a, Action::UpdateService(_))));
    assert!(decision.corrections.is_empty(), "a restart is not drift");
    // Acted on: the status now observes generation 2, so never again.
    assert_eq!(decision.status.observed_generation, 2);
    assert!(forced(&restart(&all, &decision.status).plan).is_empty());
    // Only the processes asked for.
    let one = &desired.processes[0];
    let only = Restart {
        generation: 2,
        processes: vec![one.process.clone()],
    };
    assert_eq!(
        forced(&restart(&only, &settled.status).plan),
        vec![one.service.name.clone()]
    );
    // A service still to be created starts fresh anyway.
    let before_creation = decide_on(
        AppRef {
            restart: Some(&all),
            ..app_ref(&app.name, 2, false)
        },
        &app,
        &Observed::default(),
        None,
    );
    assert!(forced(&before_creation.plan).is_empty());
}

#[test]
fn a_new_app_is_created_and_looked_at_again_soon() {
    let (_, _, decision) = first_apply();
    assert!(!decision.plan.actions.is_empty());
    assert!(decision.corrections.is_empty(), "nothing existed: no drift");
    assert!(!decision.finalize);
    assert_eq!(decision.look_again, LookAgain::After(PROGRESS_REQUEUE));
    assert_eq!(decision.status.observed_generation, 1);
    assert!(decision.status_changed());
}

#[test]
fn a_failure_keeps_the_observed_generation_and_asks_for_backoff() {
    let (_, _, decision) = first_apply();
    let error = LastError {
        operation: "ecs:CreateService".into(),
        message: "boom".into(),
        time: "2026-12-01T10:00:00Z".into(),
    };
    let failed = decision.failed(1, error);
    assert_eq!(failed.status.observed_generation, 0);
    assert_eq!(failed.look_again, LookAgain::Backoff);
    let degraded = failed.status.condition(DEGRADED).expect("Degraded");
    assert_eq!(degraded.reason, ConditionReason::ReconcileError);
    assert_eq!(
        failed.status.condition(READY).map(|c| c.status),
        Some(ConditionStatus::False)
    );
}

#[test]
fn a_deleted_app_is_finalized_once_nothing_of_it_is_left() {
    let (app, _, created) = first_apply();
    let running = execute(&Observed::default(), &created.plan.actions);
    let teardown = decide_on(app_ref(&app.name, 2, true), &app, &running, None);
    assert!(!teardown.finalize, "its services still run");
    assert!(!teardown.plan.actions.is_empty());
    let mut gone = running;
    for _ in 0..3 {
        let next = decide_on(app_ref(&app.name, 2, true), &app, &gone, None);
        if next.finalize {
            return;
        }
        gone = execute(&gone, &next.plan.actions);
    }
    panic!("never finalized");
}

#[test]
fn a_newer_generation_supersedes_an_unfinished_one() {
    let (app, _, first) = first_apply();
    let running = execute(&Observed::default(), &first.plan.actions);
    let second = decide_on(
        app_ref(&app.name, 2, false),
        &app,
        &running,
        Some(&first.status),
    );
    assert!(second.release_outcomes.contains(&ReleaseChange {
        version: 1,
        outcome: ReleaseOutcome::Superseded,
        reason: None,
    }));
}

/// A role outside `--app-role-path` blocks every process and changes
/// nothing, not even what the app has already; status says why.
#[test]
fn a_role_outside_the_app_role_path_changes_nothing_and_degrades() {
    let (mut app, _, first) = first_apply();
    let observed = execute(&Observed::default(), &first.plan.actions);
    app.image = "acme:changed".into();
    app.processes.entry("web".into()).or_default();
    app.role = Some("arn:aws:iam::123456789012:role/admin".into());
    let decision = decide_on(app_ref(&app.name, 2, false), &app, &observed, None);
    assert!(
        decision.plan.actions.is_empty(),
        "{:?}",
        decision.plan.actions
    );
    let blocked: Vec<&str> = decision
        .plan
        .blockers
        .iter()
        .map(|b| b.process.as_str())
        .collect();
    let processes: Vec<&str> = app.processes.keys().map(String::as_str).collect();
    assert_eq!(blocked, processes);
    let degraded = decision.status.condition(DEGRADED).expect("Degraded");
    assert_eq!(
        degraded.reason,
        ConditionReason::Blocked(crate::plan::BlockerReason::RoleOutsidePath)
    );
    assert!(
        degraded.message.contains("/ferry-apps/"),
        "{}",
        degraded.message
    );
    // Under the path, the same change goes ahead.
    app.role = Some("arn:aws:iam::123456789012:role/ferry-apps/acme".into());
    let decision = decide_on(app_ref(&app.name, 3, false), &app, &observed, None);
    assert!(decision.plan.blockers.is_empty());
    assert!(!decision.plan.actions.is_empty());
}
