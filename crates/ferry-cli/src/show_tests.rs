use super::*;

pub(crate) fn condition(
    type_: status::ConditionType,
    status: &str,
    reason: &str,
    message: &str,
) -> Condition {
    let status = match status {
        "True" => ConditionStatus::True,
        "False" => ConditionStatus::False,
        _ => ConditionStatus::Unknown,
    };
    Condition {
        type_,
        status,
        reason: reason.into(),
        message: message.into(),
        last_transition_time: "2026-11-23T11:00:00Z".into(),
    }
}

pub(crate) fn with(conditions: Vec<Condition>) -> AppStatus {
    AppStatus {
        name: "acme".into(),
        generation: 1,
        observed_generation: 1,
        release: 1,
        conditions,
        processes: Default::default(),
        endpoints: Vec::new(),
        events: Vec::new(),
        last_error: None,
        last_reconciled: String::new(),
        failure: None,
        succeeded: None,
        schedules: Default::default(),
    }
}

#[test]
fn the_explanation_puts_degraded_first() {
    let degraded = with(vec![
        condition(
            status::READY,
            "False",
            "Degraded",
            "see the Degraded condition",
        ),
        condition(
            status::DEGRADED,
            "True",
            "NameConflict",
            "web: service acme_web belongs to someone else",
        ),
    ]);
    assert_eq!(
        explanation(&degraded).as_deref(),
        Some("NameConflict: web: service acme_web belongs to someone else")
    );
    let converging = with(vec![
        condition(status::READY, "False", "Converging", "2 change(s) applied"),
        condition(status::DEGRADED, "False", "AsExpected", ""),
    ]);
    assert_eq!(
        explanation(&converging).as_deref(),
        Some("Converging: 2 change(s) applied")
    );
    let fine = with(vec![
        condition(
            status::READY,
            "True",
            "Converged",
            "all 1 process(es) match the spec",
        ),
        condition(status::DEGRADED, "False", "AsExpected", ""),
    ]);
    assert_eq!(explanation(&fine), None);
}

#[test]
fn outcomes_show_the_reason_of_failures_only() {
    let mut release = Release {
        app: "acme".into(),
        version: 3,
        spec: ferry_manifest::App {
            name: "acme".into(),
            image: "acme:1".into(),
            env: Default::default(),
            secrets: Default::default(),
            domains: Vec::new(),
            processes: Default::default(),
            ..Default::default()
        },
        message: String::new(),
        user: "me".into(),
        git: None,
        created_at: String::new(),
        manifest: None,
        outcome: None,
        outcome_reason: Some("ignored while undecided".into()),
    };
    assert_eq!(outcome_cell(&release), "-");
    release.outcome = Some(ReleaseOutcome::Succeeded);
    assert_eq!(outcome_cell(&release), "succeeded");
    release.outcome = Some(ReleaseOutcome::Superseded);
    assert_eq!(outcome_cell(&release), "superseded");
    release.outcome = Some(ReleaseOutcome::Failed);
    release.outcome_reason = Some(format!("circuit breaker\n{}", "x".repeat(100)));
    let cell = outcome_cell(&release);
    assert!(cell.starts_with("failed: circuit breaker x"), "{cell}");
    assert_eq!(cell.chars().count(), 60);
    release.outcome_reason = None;
    assert_eq!(outcome_cell(&release), "failed");
}

#[test]
fn images_lose_their_registry_then_their_path_then_their_end() {
    assert_eq!(image_cell("acme/shop:1"), "acme/shop:1");
    assert_eq!(
        image_cell("123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/shop:1.2.3"),
        "acme/shop:1.2.3"
    );
    assert_eq!(
        image_cell("registry.example.com:5000/a-longer-organisation/team/shop:2026-11-23"),
        "shop:2026-11-23"
    );
    let digest = format!("acme/shop@sha256:{}", "f".repeat(64));
    let cell = image_cell(&digest);
    assert!(cell.starts_with("shop@sha256:ff"), "{cell}");
    assert!(cell.ends_with('…'), "{cell}");
    assert_eq!(cell.chars().count(), IMAGE_WIDTH);
}

#[test]
fn long_messages_are_shortened_on_a_character_boundary() {
    assert_eq!(shorten("short", 10), "short");
    assert_eq!(shorten("ééééééééééé", 5), "éééé…");
}

#[test]
fn autoscaled_processes_show_their_range() {
    let mut p = status::ProcessStatus {
        desired: 5,
        running: 4,
        pending: 1,
        task_definition: None,
        rollout: None,
        rollout_reason: None,
        new_task_definition: None,
        old_task_definitions: Vec::new(),
        failed_tasks: 0,
        endpoints: Vec::new(),
        autoscaling: None,
        last_failure: None,
        crashed_tasks: 0,
        progress: None,
    };
    assert_eq!(
        (process_cell(&p), scaling_cell(&p)),
        ("4/5".into(), "-".into())
    );
    p.autoscaling = Some(status::ScalingStatus {
        min: 2,
        max: 20,
        current: 5,
    });
    assert_eq!(
        (process_cell(&p), scaling_cell(&p)),
        ("4/5 (2..20)".into(), "2..20".into())
    );
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
