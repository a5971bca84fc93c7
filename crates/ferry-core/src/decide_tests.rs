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

/// Ferry's own judgements of a rollout, through the whole decision.
mod judging {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use time::Duration;

    use super::*;
    use crate::model::observed::{DeploymentStatus, EcsRolloutState, ObservedDeployment};
    use crate::model::status::RolloutFailureReason;
    use crate::model::stops::{
        StoppedContainer, StoppedTask, ESSENTIAL_CONTAINER_EXITED, USER_INITIATED,
    };

    const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    /// An app with one process, `web`, two tasks, no port.
    fn web_app() -> ferry_manifest::App {
        let web = ferry_manifest::Process {
            scale: 2,
            cpu: 256,
            memory: 512,
            ..Default::default()
        };
        ferry_manifest::App {
            name: "acme".into(),
            image: "acme:2".into(),
            processes: BTreeMap::from([("web".to_owned(), web)]),
            ..Default::default()
        }
    }

    fn decide_at(
        spec: &ferry_manifest::App,
        generation: u64,
        observed: &Observed,
        previous: Option<&AppStatus>,
        now: OffsetDateTime,
    ) -> Decision {
        decide(Input {
            app: app_ref(&spec.name, generation, false),
            spec,
            settings: &settings(),
            observed,
            observed_traffic: &ObservedTraffic::default(),
            previous,
            now,
        })
    }

    /// What exists once the first plan ran: `web`'s service, rolling out
    /// its first deployment (created at `created`) with `running` tasks.
    fn rolling_out(spec: &ferry_manifest::App, created: OffsetDateTime, running: u32) -> Observed {
        let first = decide_at(spec, 1, &Observed::default(), None, created);
        let mut observed = execute(&Observed::default(), &first.plan.actions);
        for service in observed.services.values_mut() {
            service.running_count = running;
            service.deployments = vec![ObservedDeployment {
                id: "ecs-svc/new".into(),
                status: DeploymentStatus::Primary,
                task_definition_arn: service.task_definition_arn.clone(),
                desired_count: service.desired_count,
                running_count: running,
                pending_count: 0,
                failed_tasks: 0,
                rollout_state: Some(EcsRolloutState::InProgress),
                rollout_state_reason: None,
                created_at: Some(crate::model::status::rfc3339(created)),
            }];
        }
        observed
    }

    fn service_name(observed: &Observed) -> String {
        observed
            .services
            .keys()
            .next()
            .cloned()
            .expect("web's service")
    }

    /// A task of the new deployment that stopped: a crash of `web` with
    /// its last log lines, or a stop on purpose.
    fn stop(observed: &Observed, n: usize, crashed: bool) -> StoppedTask {
        let service = &observed.services[&service_name(observed)];
        StoppedTask {
            task_arn: format!("arn:aws:ecs:us-east-1:123456789012:task/c/{n:08}cafe"),
            deployment_id: "ecs-svc/new".into(),
            task_definition_arn: service.task_definition_arn.clone(),
            started_at: Some("2026-12-01T09:58:00Z".into()),
            stopped_at: Some(format!("2026-12-01T09:59:{n:02}Z")),
            stop_code: Some(
                if crashed {
                    ESSENTIAL_CONTAINER_EXITED
                } else {
                    USER_INITIATED
                }
                .into(),
            ),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![StoppedContainer {
                name: "web".into(),
                exit_code: Some(1),
                reason: None,
            }],
            log_container: Some("web".into()),
            log_tail: Some(vec!["booting".into(), "KeyError: 'DATABASE_URL'".into()]),
        }
    }

    /// `observed` with `crashes` crashes and `deliberate` stops on purpose
    /// of the new deployment, newest first.
    fn with_stops(mut observed: Observed, crashes: usize, deliberate: usize) -> Observed {
        let stops: Vec<StoppedTask> = (0..crashes)
            .map(|n| stop(&observed, n, true))
            .chain((0..deliberate).map(|n| stop(&observed, 30 + n, false)))
            .rev()
            .collect();
        observed
            .stopped_tasks
            .insert(service_name(&observed), stops);
        observed
    }

    #[test]
    fn a_crash_loop_degrades_holds_back_and_fails_the_release_with_the_log_line() {
        let spec = web_app();
        let mut observed = with_stops(rolling_out(&spec, NOW, 0), 3, 0);
        // Drift the planner would correct, held back once the rollout failed.
        let name = service_name(&observed);
        observed.services.get_mut(&name).expect("web").desired_count = 1;
        let decision = decide_at(&spec, 1, &observed, None, NOW);

        let degraded = decision.status.condition(DEGRADED).expect("Degraded");
        assert_eq!(degraded.status, ConditionStatus::True);
        assert_eq!(degraded.reason, ConditionReason::TasksStopping);
        assert_eq!(
            degraded.message,
            "process web: 3 new tasks stopped after they ran (a crash loop); Ferry will not \
             retry this generation, apply a new one or roll back."
        );
        let progressing = decision.status.condition(PROGRESSING).expect("Progressing");
        assert_eq!(progressing.status, ConditionStatus::False);
        assert_eq!(progressing.reason, ConditionReason::TasksStopping);
        assert!(decision.plan.actions.is_empty());
        assert_eq!(decision.held_back, 1);

        let web = &decision.status.processes["web"];
        assert_eq!(web.crashed_tasks, 3);
        let last = web.last_failure.as_ref().expect("the last failure");
        assert_eq!(last.task, "00000002cafe", "the newest crash");
        assert_eq!(
            decision.release_outcomes,
            [ReleaseChange {
                version: 1,
                outcome: ReleaseOutcome::Failed,
                reason: Some(
                    "web: 3 new tasks stopped after they ran (a crash loop); task 00000002: \
                     essential container web exited with code 1: \"KeyError: 'DATABASE_URL'\""
                        .into()
                ),
            }]
        );
    }

    #[test]
    fn ecs_judges_first_and_the_message_is_one_sentence_without_events() {
        let spec = web_app();
        let mut observed = with_stops(rolling_out(&spec, NOW, 0), 3, 0);
        let name = service_name(&observed);
        let service = observed.services.get_mut(&name).expect("web");
        service.deployments[0].rollout_state = Some(EcsRolloutState::Failed);
        service.deployments[0].rollout_state_reason =
            Some("ECS deployment circuit breaker:\ntasks failed to start.".into());
        service.events = (0..5)
            .map(|n| crate::model::observed::ServiceEvent {
                id: n.to_string(),
                created_at: "2026-12-01T09:00:00Z".into(),
                message: format!("(service acme-web) deployment failed: task {n} failed"),
            })
            .collect();
        let td = service.task_definition_arn.clone();
        let decision = decide_at(&spec, 1, &observed, None, NOW);
        let degraded = decision.status.condition(DEGRADED).expect("Degraded");
        assert_eq!(degraded.reason, ConditionReason::RolloutFailed);
        assert_eq!(
            degraded.message,
            format!(
                "process web: the rollout of {td} failed: ECS deployment circuit breaker: tasks \
                 failed to start; Ferry will not retry this generation, apply a new one or roll back."
            )
        );
        let failure = decision.status.failure.as_ref().expect("failed");
        assert_eq!(failure.events.len(), 5, "the events are kept apart");
        assert!(failure.last_failure.is_some());
    }

    #[test]
    fn a_log_tail_read_after_the_failure_joins_its_record() {
        let spec = web_app();
        let read = with_stops(rolling_out(&spec, NOW, 0), 3, 0);
        let mut unread = read.clone();
        for task in unread.stopped_tasks.values_mut().flatten() {
            task.log_tail = None;
        }
        let failed = decide_at(&spec, 1, &unread, None, NOW);
        let record = |d: &Decision| {
            d.status
                .failure
                .as_ref()
                .and_then(|f| f.last_failure.as_ref())
                .map(|l| l.log_tail.clone())
        };
        assert_eq!(record(&failed), Some(Vec::new()));
        let later = decide_at(&spec, 1, &read, Some(&failed.status), NOW);
        assert_eq!(
            record(&later),
            Some(vec![
                "booting".to_owned(),
                "KeyError: 'DATABASE_URL'".to_owned()
            ])
        );
        let reasons: Vec<&str> = later
            .release_outcomes
            .iter()
            .filter_map(|o| o.reason.as_deref())
            .collect();
        assert_eq!(reasons.len(), 1, "the release's reason is recorded again");
        assert!(
            reasons[0].ends_with("\"KeyError: 'DATABASE_URL'\""),
            "{reasons:?}"
        );
        let settled = decide_at(&spec, 1, &read, Some(&later.status), NOW);
        assert!(settled.release_outcomes.is_empty(), "and then no more");
    }

    #[test]
    fn fewer_crashes_show_why_while_the_rollout_goes_on() {
        let spec = web_app();
        let observed = with_stops(rolling_out(&spec, NOW, 0), 2, 3);
        let decision = decide_at(&spec, 1, &observed, None, NOW);
        assert_eq!(
            decision
                .status
                .condition(PROGRESSING)
                .map(|c| c.reason.clone()),
            Some(ConditionReason::RolloutInProgress)
        );
        let web = &decision.status.processes["web"];
        assert_eq!(web.crashed_tasks, 2, "stops on purpose do not count");
        assert!(
            web.last_failure.is_some(),
            "shown before anything is judged"
        );
        let progress = web.progress.as_ref().expect("in progress");
        assert_eq!(progress.deployment, "ecs-svc/new");
        assert!(decision.release_outcomes.is_empty());
    }

    #[test]
    fn no_progress_within_the_deadline_degrades() {
        let spec = web_app();
        let created = NOW - Duration::seconds(600);
        let observed = rolling_out(&spec, created, 0);
        let on_time = decide_at(&spec, 1, &observed, None, NOW - Duration::seconds(1));
        assert!(on_time.status.failure.is_none());
        let late = decide_at(&spec, 1, &observed, Some(&on_time.status), NOW);
        let degraded = late.status.condition(DEGRADED).expect("Degraded");
        assert_eq!(degraded.reason, ConditionReason::ProgressDeadlineExceeded);
        assert_eq!(
            degraded.message,
            "process web: no progress within the progress deadline of 600s; Ferry will not \
             retry this generation, apply a new one or roll back."
        );
        assert!(late.status.processes["web"].progress.is_none());
        assert_eq!(
            late.status.failure.as_ref().map(|f| &f.reason),
            Some(&RolloutFailureReason::ProgressDeadlineExceeded { deadline_secs: 600 })
        );
    }

    #[test]
    fn progress_moves_the_deadline() {
        let spec = web_app();
        let created = NOW - Duration::seconds(600);
        let first = decide_at(
            &spec,
            1,
            &rolling_out(&spec, created, 0),
            None,
            created + Duration::seconds(60),
        );
        let one_up = created + Duration::seconds(300);
        let running = rolling_out(&spec, created, 1);
        let progressed = decide_at(&spec, 1, &running, Some(&first.status), one_up);
        let at_first_deadline = decide_at(&spec, 1, &running, Some(&progressed.status), NOW);
        assert!(at_first_deadline.status.failure.is_none());
        assert_eq!(
            at_first_deadline.status.processes["web"]
                .progress
                .as_ref()
                .map(|p| p.since.as_str()),
            Some(crate::model::status::rfc3339(one_up).as_str())
        );
    }

    #[test]
    fn a_failure_sticks_to_its_generation_and_a_new_one_starts_clean() {
        let spec = web_app();
        let crashing = with_stops(rolling_out(&spec, NOW, 0), 3, 0);
        let failed = decide_at(&spec, 1, &crashing, None, NOW);
        // ECS replaced the tasks; the adapter no longer reads the stops.
        let mut quiet = rolling_out(&spec, NOW, 2);
        let later = NOW + Duration::seconds(30);
        let again = decide_at(&spec, 1, &quiet, Some(&failed.status), later);
        assert_eq!(again.status.failure, failed.status.failure);
        assert_eq!(again.status.conditions, failed.status.conditions);
        assert_eq!(
            again.status.processes["web"].last_failure, failed.status.processes["web"].last_failure,
            "the last failure stays with its generation"
        );
        assert_eq!(again.status.processes["web"].crashed_tasks, 3);
        assert!(again.release_outcomes.is_empty(), "recorded once");

        for service in quiet.services.values_mut() {
            service.deployments[0].rollout_state = Some(EcsRolloutState::Completed);
        }
        // Done: a crash the adapter still holds is no longer news.
        let done = with_stops(quiet, 1, 0);
        let next = decide_at(&spec, 2, &done, Some(&again.status), later);
        assert!(next.status.failure.is_none());
        assert!(next.status.processes["web"].last_failure.is_none());
        assert_eq!(next.status.processes["web"].crashed_tasks, 0);
        assert_eq!(
            next.status.condition(DEGRADED).map(|c| c.status),
            Some(ConditionStatus::False)
        );
    }

    proptest! {
        /// Deciding again on the same observation, with the status just
        /// derived and a later time that crosses no deadline, changes no
        /// condition: no flapping.
        #[test]
        fn the_status_is_a_fixed_point(
            crashes in 0usize..5,
            deliberate in 0usize..3,
            running in 0u32..3,
            age in 0i64..1200,
            wait in 0i64..1200,
        ) {
            let spec = web_app();
            let created = NOW - Duration::seconds(age);
            let observed = with_stops(rolling_out(&spec, created, running), crashes, deliberate);
            let first = decide_at(&spec, 1, &observed, None, NOW);
            let mut later = NOW + Duration::seconds(wait);
            if let Some(progress) = &first.status.processes["web"].progress {
                let deadline = OffsetDateTime::parse(
                    &progress.deadline,
                    &time::format_description::well_known::Rfc3339,
                )
                .expect("an RFC 3339 deadline");
                if later >= deadline {
                    later = NOW;
                }
            }
            let second = decide_at(&spec, 1, &observed, Some(&first.status), later);
            prop_assert_eq!(&second.status.conditions, &first.status.conditions);
            prop_assert_eq!(&second.status.failure, &first.status.failure);
            prop_assert_eq!(&second.status.processes, &first.status.processes);
        }

        /// Whatever is observed after a crash loop failed generation 1,
        /// generation 1 stays failed for the same reason; generation 2,
        /// on an observation ECS and Ferry find nothing wrong with, is
        /// clean.
        #[test]
        fn a_failure_sticks_to_its_generation_only(
            crashes in 0usize..3,
            deliberate in 0usize..3,
            running in 0u32..3,
            completed: bool,
            wait in 0i64..500,
        ) {
            let spec = web_app();
            let failed = decide_at(
                &spec,
                1,
                &with_stops(rolling_out(&spec, NOW, 0), 3, 0),
                None,
                NOW,
            );
            let mut later = with_stops(rolling_out(&spec, NOW, running), crashes, deliberate);
            if completed {
                for service in later.services.values_mut() {
                    service.deployments[0].rollout_state = Some(EcsRolloutState::Completed);
                }
            }
            let now = NOW + Duration::seconds(wait);
            let same = decide_at(&spec, 1, &later, Some(&failed.status), now);
            prop_assert_eq!(&same.status.failure, &failed.status.failure);
            prop_assert_eq!(
                same.status.condition(DEGRADED).map(|c| c.reason.clone()),
                Some(ConditionReason::TasksStopping)
            );
            prop_assert!(same.plan.actions.is_empty());
            let next = decide_at(&spec, 2, &later, Some(&same.status), now);
            prop_assert!(next.status.failure.is_none());
            prop_assert_eq!(
                next.status.condition(DEGRADED).map(|c| c.status),
                Some(ConditionStatus::False)
            );
        }
    }
}
