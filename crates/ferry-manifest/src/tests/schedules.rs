//! Scheduled processes (issue 13): `schedule` and `timezone`, and the
//! service fields a scheduled process refuses, each at its key.

use super::*;

/// `worker` (line 24) scheduled: its memory stays on line 25.
fn scheduled(extra: &str) -> String {
    edit(&[(25, &format!("      memory: 3072\n{extra}"))])
}

#[test]
fn a_scheduled_process_resolves_with_its_expression_and_time_zone() {
    let loaded = parse_ok(&scheduled(
        "      schedule: \"cron(0 3 * * ? *)\"\n      timezone: Europe/Berlin",
    ));
    let worker = &loaded.app.processes["worker"];
    assert_eq!(
        worker.schedule,
        Some(Schedule {
            expression: "cron(0 3 * * ? *)".into(),
            timezone: "Europe/Berlin".into()
        })
    );
    assert_eq!(loaded.app.processes["web"].schedule, None);
    let rate = parse_ok(&scheduled("      schedule: rate(15 minutes)"));
    assert_eq!(
        rate.app.processes["worker"].schedule,
        Some(Schedule {
            expression: "rate(15 minutes)".into(),
            timezone: "UTC".into()
        })
    );
}

#[test]
fn an_invalid_expression_is_located_and_names_the_valid_forms() {
    for (expression, why) in [
        ("rate(1 minutes)", "singular unit"),
        ("\"cron(0 3 * * *)\"", "six fields"),
        ("\"cron(0 3 * * * *)\"", "must be `?`"),
        ("daily", "not a schedule expression"),
    ] {
        assert_one_error(
            &scheduled(&format!("      schedule: {expression}")),
            26,
            17,
            "spec.processes.worker.schedule",
            &[
                why,
                "`rate(value unit)`",
                "`cron(minutes hours day-of-month month day-of-week year)`",
                "`at(yyyy-mm-ddThh:mm:ss)`",
            ],
        );
    }
}

#[test]
fn a_schedule_must_be_a_string() {
    let errors = errors(&scheduled("      schedule: 15"));
    assert_eq!(errors.len(), 1, "{}", Diagnostics(errors.clone()));
    assert_eq!(errors[0].path, "spec.processes.worker.schedule");
}

#[test]
fn an_unknown_time_zone_is_located_with_a_hint() {
    assert_one_error(
        &scheduled("      schedule: rate(1 hour)\n      timezone: europe/berlin"),
        27,
        17,
        "spec.processes.worker.timezone",
        &[
            "unknown time zone `europe/berlin`",
            "did you mean `Europe/Berlin`?",
            "IANA",
        ],
    );
    assert_one_error(
        &scheduled("      schedule: rate(1 hour)\n      timezone: CEST"),
        27,
        17,
        "spec.processes.worker.timezone",
        &["unknown time zone `CEST`"],
    );
}

#[test]
fn a_time_zone_without_a_schedule_is_refused() {
    assert_one_error(
        &scheduled("      timezone: UTC"),
        26,
        7,
        "spec.processes.worker.timezone",
        &["has none", "add `schedule`"],
    );
}

#[test]
fn scale_port_and_the_service_fields_are_refused_at_their_keys() {
    for (field, line) in [
        ("scale: 2", "scale"),
        ("port: 8080", "port"),
        ("healthCheck: {path: /}", "healthCheck"),
        ("drainTimeout: 10", "drainTimeout"),
        ("healthCheckGracePeriod: 10", "healthCheckGracePeriod"),
        ("minHealthyPercent: 50", "minHealthyPercent"),
        ("maxPercent: 150", "maxPercent"),
        ("rollback: false", "rollback"),
        ("autoscaling: {min: 1, max: 3, cpu: 50}", "autoscaling"),
        ("progressDeadline: 10m", "progressDeadline"),
    ] {
        assert_one_error(
            &scheduled(&format!("      schedule: rate(1 hour)\n      {field}")),
            27,
            7,
            &format!("spec.processes.worker.{line}"),
            &[
                &format!("`{line}` cannot be set on a scheduled process"),
                "has no ECS service",
            ],
        );
    }
}

#[test]
fn every_problem_of_a_scheduled_process_is_reported_at_once() {
    let errors = errors(&scheduled(
        "      schedule: rate(0 days)\n      timezone: Nowhere\n      scale: 3\n      port: 80",
    ));
    let paths: Vec<&str> = errors.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.processes.worker.schedule",
            "spec.processes.worker.timezone",
            "spec.processes.worker.scale",
            "spec.processes.worker.port",
        ],
        "{}",
        Diagnostics(errors.clone())
    );
}

#[test]
fn stored_processes_without_a_schedule_still_read() {
    let stored = r#"{"command":[],"scale":1,"cpu":256,"memory":512}"#;
    let process: Process = serde_json::from_str(stored).expect("reads");
    assert_eq!(process.schedule, None);
    assert!(!serde_json::to_string(&process)
        .expect("writes")
        .contains("schedule"));
}
