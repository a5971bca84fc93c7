use std::ffi::OsStr;

use super::*;
use crate::layout::tests::{assert_fits, pipe, strip_ansi, terminal_80};
use crate::show::tests::process;
use crate::why::tests::{crashing_worker, NOW};

/// The crashing worker's status with a condition message of 300
/// characters and a log line of 200: what must fit 80 columns.
fn wordy() -> AppStatus {
    let mut status = crashing_worker();
    if let Some(degraded) = status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == status::DEGRADED)
    {
        degraded.message = format!("worker: {}", "a crash loop of many words ".repeat(11))
            .chars()
            .take(300)
            .collect();
    }
    if let Some(worker) = status.processes.get_mut("worker") {
        if let Some(failure) = worker.last_failure.as_mut() {
            failure
                .log_tail
                .push(format!("ValueError: {}", "x".repeat(188)));
        }
    }
    status
}

#[test]
fn every_line_fits_an_80_column_terminal() {
    let shown = render(&wordy(), false, &terminal_80(), NOW);
    assert_fits(&shown, 80);
    assert!(shown.contains("Why:"), "{shown}");
}

#[test]
fn a_pipe_gets_whole_lines() {
    let status = wordy();
    let shown = render(&status, false, &pipe(), NOW);
    let message = &status
        .condition(status::DEGRADED)
        .expect("degraded")
        .message;
    assert_eq!(message.chars().count(), 300);
    assert!(
        shown.lines().any(|line| line.contains(message.as_str())),
        "{shown}"
    );
    assert!(shown.contains(&"x".repeat(188)), "{shown}");
}

#[test]
fn the_status_of_a_crash_loop_reads_top_down() {
    let shown = render(&crashing_worker(), false, &pipe(), NOW);
    let at = |text: &str| {
        shown
            .find(text)
            .unwrap_or_else(|| panic!("no {text:?} in\n{shown}"))
    };
    assert!(at("Conditions:") < at("Why:"));
    assert!(at("Why:") < at("Processes:"));
    assert!(at("Processes:") < at("Events:"));
    assert!(shown.contains(
        "\n  worker: task 7f1a3b28: essential container worker exited with code 1: \"KeyError: 'DATABASE_URL'\"\n      booting worker\n"
    ), "{shown}");
    assert!(shown.contains("(×5)"), "{shown}");
    // Events have a section of their own, not a condition's message nor
    // the Why section.
    let above_events = &shown[..at("Events:")];
    assert!(!above_events.contains("has started"), "{above_events}");
}

#[test]
fn colour_only_where_the_layout_says() {
    let coloured = render(&crashing_worker(), false, &terminal_80(), NOW);
    let (conditions, why) = coloured.split_once("Why:").expect("a Why section");
    assert!(conditions.contains('\x1b'), "the statuses: {conditions}");
    assert!(why.contains("\x1b[31m"), "the failure lines: {why}");
    let no_color = Layout::decide(true, Some(80), Some(OsStr::new("1")));
    for layout in [no_color, pipe()] {
        let shown = render(&crashing_worker(), false, &layout, NOW);
        assert!(!shown.contains('\x1b'), "{shown:?}");
    }
    // Colour changes nothing else.
    assert_eq!(
        strip_ansi(&coloured),
        render(&crashing_worker(), false, &no_color, NOW)
    );
}

#[test]
fn autoscaled_processes_show_their_range() {
    let mut p = process(5, 4);
    assert_eq!(scaling_cell(&p), "-");
    p.autoscaling = Some(status::ScalingStatus {
        min: 2,
        max: 20,
        current: 5,
    });
    assert_eq!(scaling_cell(&p), "2..20");
}

#[test]
fn schedule_lines_show_the_last_run_and_each_failure() {
    use ferry_core::schedule::ScheduleStatus;
    use ferry_core::schedule_runs::{FailedInvocation, ScheduledRun};
    let status = ScheduleStatus {
        name: "shop_nightly".into(),
        group: "ferry-ferry".into(),
        expression: "rate(1 minute)".into(),
        timezone: "UTC".into(),
        state: "ENABLED".into(),
        task_definition: None,
        failures_reported: true,
        failed_invocations: vec![FailedInvocation {
            id: "e".into(),
            scheduled_time: Some("2026-12-06T03:00:00Z".into()),
            error_code: "ClientException".into(),
            error_message: "Unable to find task definition.".into(),
            retry_attempts: Some(2),
            exhausted_retry_condition: Some("MaximumRetryAttempts".into()),
        }],
        last_run: Some(ScheduledRun {
            task_arn: "arn:aws:ecs:us-east-1:1:task/c/abc".into(),
            started_at: Some("2026-12-06T02:00:00Z".into()),
            last_status: "STOPPED".into(),
            exit_code: Some(3),
            stop_code: None,
            stopped_reason: None,
        }),
    };
    let mut schedules = std::collections::BTreeMap::from([("nightly".to_owned(), status)]);
    assert_eq!(
        schedule_runs(&schedules),
        [
            "  nightly: last run abc at 2026-12-06T02:00:00Z: exit 3",
            "  nightly: run due 2026-12-06T03:00:00Z failed after 2 retries: ClientException: Unable to find task definition.",
        ]
    );
    let s = schedules.get_mut("nightly").expect("nightly");
    s.failures_reported = false;
    s.failed_invocations.clear();
    s.last_run = None;
    assert_eq!(
        schedule_runs(&schedules),
        [
            "  nightly: no run seen yet",
            "  nightly: failed runs are not reported (the controller has no --schedule-dlq-arn)",
        ]
    );
}

/// A canary deployment at 10 % with 1m40s of its 2m step bake left at
/// [`NOW`].
pub(crate) fn canary_view() -> ferry_core::model::deployments::DeploymentView {
    use ferry_core::model::deployments::{DeploymentView, LifecycleStage, ServiceDeploymentState};
    DeploymentView {
        arn: "arn:aws:ecs:eu-west-1:1:service-deployment/ferry/acme_web/dep1".into(),
        strategy: "canary".into(),
        status: ServiceDeploymentState::InProgress,
        stage: Some(LifecycleStage::ProductionTrafficShift),
        since: "2026-12-06T11:59:40Z".into(),
        production_weight_tenths: Some(100),
        bake_minutes: Some(2),
        awaiting: None,
        rolled_back: None,
    }
}

#[test]
fn a_canary_shows_its_stage_under_the_processes() {
    let mut status = crashing_worker();
    let mut web = process(2, 2);
    web.deployment = Some(canary_view());
    status.processes.insert("web".into(), web);
    let shown = render(&status, false, &pipe(), NOW);
    assert!(
        shown.contains("\n  web: canary 10 %, baking 1m40s left\n"),
        "{shown}"
    );
    assert!(!shown.contains("  worker: canary"), "{shown}");
    assert_fits(&render(&status, false, &terminal_80(), NOW), 80);
}
