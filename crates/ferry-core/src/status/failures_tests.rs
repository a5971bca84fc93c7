use proptest::prelude::*;

use super::*;
use crate::model::observed::ObservedDeployment;
use crate::model::stops::{StoppedContainer, TASK_FAILED_TO_START};
use crate::status::rollout::tests::{deployment, observed, process};

/// The id the rollout tests give the deployment of `td:2`.
const NEW: &str = "ecs-svc/td:2";

/// A task of the deployment of `td:2` that stopped with `code` and
/// `reason`, after it ran when `ran`.
pub(crate) fn stopped(id: &str, code: &str, reason: &str, ran: bool) -> StoppedTask {
    StoppedTask {
        task_arn: format!("arn:aws:ecs:us-east-1:123456789012:task/cluster/{id}"),
        deployment_id: NEW.into(),
        task_definition_arn: "td:2".into(),
        started_at: ran.then(|| "2026-12-01T09:59:00Z".into()),
        stopped_at: Some("2026-12-01T10:00:00Z".into()),
        stop_code: Some(code.into()),
        stopped_reason: Some(reason.into()),
        containers: vec![StoppedContainer {
            name: "worker".into(),
            exit_code: ran.then_some(1),
            reason: None,
        }],
        log_container: None,
        log_tail: None,
    }
}

pub(crate) fn crash(id: &str) -> StoppedTask {
    stopped(
        id,
        ESSENTIAL_CONTAINER_EXITED,
        "Essential container in task exited",
        true,
    )
}

/// `web`'s service with `deployments` (see the rollout tests).
fn service(deployments: Vec<ObservedDeployment>) -> ObservedService {
    let web = process();
    observed(&web, deployments)
        .services
        .remove(&web.service.name)
        .expect("web's service")
}

fn rolling_out() -> ObservedDeployment {
    deployment("PRIMARY", "td:2", "IN_PROGRESS", 0)
}

#[test]
fn stops_on_purpose_are_not_failures() {
    for code in [
        USER_INITIATED,
        SPOT_INTERRUPTION,
        TERMINATION_NOTICE,
        INFRASTRUCTURE_HEALTH,
    ] {
        assert!(!is_failure(&stopped("a", code, "whatever", true)), "{code}");
    }
    let scale_in = stopped(
        "a",
        SERVICE_SCHEDULER_INITIATED,
        "Scaling activity initiated by (deployment ecs-svc/new)",
        true,
    );
    assert!(!is_failure(&scale_in));
}

#[test]
fn health_check_stops_and_tasks_that_never_started_are_failures_but_not_crashes() {
    let elb = stopped(
        "a",
        SERVICE_SCHEDULER_INITIATED,
        "Task failed ELB health checks in (target-group arn:tg)",
        true,
    );
    let container = stopped(
        "b",
        SERVICE_SCHEDULER_INITIATED,
        "Task failed container health checks",
        true,
    );
    let pull = stopped(
        "c",
        TASK_FAILED_TO_START,
        "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
        false,
    );
    for task in [&elb, &container, &pull] {
        assert!(is_failure(task), "{:?}", task.stopped_reason);
        assert!(!is_crash(task), "{:?}", task.stopped_reason);
    }
}

#[test]
fn a_crash_is_an_exit_of_a_task_that_ran() {
    assert!(is_crash(&crash("a")));
    let never_ran = stopped(
        "a",
        ESSENTIAL_CONTAINER_EXITED,
        "Essential container in task exited",
        false,
    );
    assert!(is_failure(&never_ran));
    assert!(!is_crash(&never_ran), "no startedAt: it never ran");
}

#[test]
fn the_last_failure_prefers_the_container_reason_and_keeps_the_log_tail() {
    let mut oom = crash("0a1b2c3d4e5f");
    oom.containers = vec![
        StoppedContainer {
            name: "log-router".into(),
            exit_code: Some(0),
            reason: None,
        },
        StoppedContainer {
            name: "worker".into(),
            exit_code: Some(137),
            reason: Some("OutOfMemoryError: Container killed due to memory usage".into()),
        },
    ];
    oom.log_tail = Some(vec!["allocating".into()]);
    let last = last_failure(&oom);
    assert_eq!(last.task, "0a1b2c3d4e5f");
    assert_eq!(
        last.reason,
        "OutOfMemoryError: Container killed due to memory usage"
    );
    assert_eq!(last.container.as_deref(), Some("worker"));
    assert_eq!(last.exit_code, Some(137));
    assert_eq!(last.log_tail, ["allocating"]);

    let pull = stopped(
        "c",
        TASK_FAILED_TO_START,
        "CannotPullContainerError: x",
        false,
    );
    assert_eq!(last_failure(&pull).reason, "CannotPullContainerError: x");
}

#[test]
fn only_the_tasks_of_deployments_running_the_wanted_revision_count() {
    let service = service(vec![
        rolling_out(),
        deployment("ACTIVE", "td:1", "COMPLETED", 2),
    ]);
    let mut old = crash("old");
    old.deployment_id = "ecs-svc/td:1".into();
    let stops = [
        old,
        crash("c2"),
        stopped("u", USER_INITIATED, "stopped by a person", true),
        crash("c1"),
    ];
    let failures = of_process(&service, "td:2", &stops);
    assert_eq!(failures.crashed_tasks, 2);
    assert_eq!(
        failures.last_failure.map(|f| f.task).as_deref(),
        Some("c2"),
        "the newest failure of the new deployment"
    );
}

#[test]
fn the_last_failure_is_the_newest_whose_lines_were_read() {
    let service = service(vec![rolling_out()]);
    let mut read = crash("c1");
    read.log_tail = Some(vec!["fatal: exiting with code 1".into()]);
    // c2 stopped moments ago: its lines are not read yet.
    let failures = of_process(&service, "td:2", &[crash("c2"), read.clone()]);
    let last = failures.last_failure.expect("a failure");
    assert_eq!(
        (last.task.as_str(), last.log_tail.as_slice()),
        ("c1", &["fatal: exiting with code 1".to_owned()][..]),
        "a task with its own lines"
    );
    // A task that never ran has no lines to wait for.
    let pull = stopped("p", TASK_FAILED_TO_START, "CannotPullContainerError", false);
    let failures = of_process(&service, "td:2", &[pull, read]);
    assert_eq!(failures.last_failure.map(|f| f.task).as_deref(), Some("p"));
    // None read yet: the newest.
    let failures = of_process(&service, "td:2", &[crash("c2"), crash("c1")]);
    assert_eq!(failures.last_failure.map(|f| f.task).as_deref(), Some("c2"));
}

fn any_stop() -> impl Strategy<Value = StoppedTask> {
    let codes = prop::sample::select(vec![
        ESSENTIAL_CONTAINER_EXITED,
        TASK_FAILED_TO_START,
        USER_INITIATED,
        SERVICE_SCHEDULER_INITIATED,
        SPOT_INTERRUPTION,
        TERMINATION_NOTICE,
    ]);
    let reasons = prop::sample::select(vec![
        "Essential container in task exited",
        "Task failed ELB health checks in (target-group arn:tg)",
        "Scaling activity initiated by (deployment ecs-svc/new)",
        "CannotPullContainerError: x",
    ]);
    ("[a-f0-9]{8}", codes, reasons, any::<bool>())
        .prop_map(|(id, code, reason, ran)| stopped(&id, code, reason, ran))
}

proptest! {
    /// The crash count never goes down while the observation only gains
    /// stopped tasks, and stops on purpose never count.
    #[test]
    fn the_crash_count_only_grows_and_deliberate_stops_never_count(
        older in prop::collection::vec(any_stop(), 0..12),
        newer in prop::collection::vec(any_stop(), 0..12),
    ) {
        let service = service(vec![rolling_out()]);
        let before = of_process(&service, "td:2", &older);
        let all: Vec<StoppedTask> = newer.iter().chain(&older).cloned().collect();
        let after = of_process(&service, "td:2", &all);
        prop_assert!(after.crashed_tasks >= before.crashed_tasks);

        let deliberate: Vec<StoppedTask> = all.iter().filter(|t| !is_failure(t)).cloned().collect();
        let with_deliberate: Vec<StoppedTask> = deliberate.iter().chain(&older).cloned().collect();
        prop_assert_eq!(
            of_process(&service, "td:2", &with_deliberate).crashed_tasks,
            before.crashed_tasks
        );
        for task in &deliberate {
            prop_assert!(!is_crash(task));
        }
    }
}
