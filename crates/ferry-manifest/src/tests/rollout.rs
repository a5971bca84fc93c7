//! `rollout:` (issue 23): ECS's strategies with their parameters, the
//! defaults filled in, and every rule located at its key or value.

use super::*;

/// `admin` (port 9090) with `rollout:` on line 24 and `body`'s lines from
/// line 25, each at column 9.
fn admin_rollout(body: &[&str]) -> String {
    let body: String = body
        .iter()
        .map(|line| format!("\n        {line}"))
        .collect();
    edit(&[(23, &format!("      port: 9090\n      rollout:{body}"))])
}

/// `worker` (no port) with `rollout:` on line 26 and `body` from line 27.
fn worker_rollout(body: &[&str]) -> String {
    let body: String = body
        .iter()
        .map(|line| format!("\n        {line}"))
        .collect();
    edit(&[(25, &format!("      memory: 3072\n      rollout:{body}"))])
}

fn admin(text: &str) -> Option<Rollout> {
    parse_ok(text).app.processes["admin"].rollout.clone()
}

#[test]
fn each_strategy_resolves_with_its_defaults() {
    let rolling = Rollout {
        strategy: RolloutStrategy::Rolling,
        bake_minutes: 0,
        alarms: RolloutAlarms::None,
        approval: None,
    };
    let cases = [
        ("rolling", rolling.strategy),
        ("blueGreen", RolloutStrategy::BlueGreen),
        (
            "canary",
            RolloutStrategy::Canary {
                percent_tenths: 50,
                step_bake_minutes: 10,
            },
        ),
        (
            "linear",
            RolloutStrategy::Linear {
                step_tenths: 100,
                step_bake_minutes: 6,
            },
        ),
    ];
    for (word, strategy) in cases {
        let bake_minutes = if word == "rolling" { 0 } else { 5 };
        assert_eq!(
            admin(&admin_rollout(&[&format!("strategy: {word}")])),
            Some(Rollout {
                strategy,
                bake_minutes,
                ..rolling.clone()
            }),
            "{word}"
        );
    }
    assert_eq!(admin(VALID), None, "no rollout: a rolling update");
    assert_eq!(
        admin(&admin_rollout(&["alarms: [b, a]"])),
        Some(Rollout {
            alarms: RolloutAlarms::Named(vec!["a".into(), "b".into()]),
            ..rolling
        }),
        "no strategy: rolling, with alarms"
    );
}

#[test]
fn every_parameter_written_is_resolved() {
    let canary = admin_rollout(&[
        "strategy: canary",
        "canaryPercent: 12.5",
        "stepBake: 2m",
        "bake: 1h",
        "alarms: default",
        "approval: afterTestTraffic",
        "approvalTimeout: 90m",
        "onApprovalTimeout: continue",
    ]);
    assert_eq!(
        admin(&canary),
        Some(Rollout {
            strategy: RolloutStrategy::Canary {
                percent_tenths: 125,
                step_bake_minutes: 2
            },
            bake_minutes: 60,
            alarms: RolloutAlarms::Default,
            approval: Some(Approval {
                stage: ApprovalStage::AfterTestTraffic,
                timeout_minutes: 90,
                on_timeout: TimeoutAction::Continue,
            }),
        })
    );
    let linear = admin_rollout(&[
        "strategy: linear",
        "stepPercent: 3",
        "stepBake: 0",
        "bake: '0'",
        "approval: beforeProductionTraffic",
    ]);
    assert_eq!(
        admin(&linear),
        Some(Rollout {
            strategy: RolloutStrategy::Linear {
                step_tenths: 30,
                step_bake_minutes: 0
            },
            bake_minutes: 0,
            alarms: RolloutAlarms::None,
            approval: Some(Approval {
                stage: ApprovalStage::BeforeProductionTraffic,
                timeout_minutes: 1440,
                on_timeout: TimeoutAction::Rollback,
            }),
        })
    );
}

#[test]
fn a_strategy_that_shifts_traffic_needs_a_port() {
    for word in ["blueGreen", "canary", "linear"] {
        assert_one_error(
            &worker_rollout(&[&format!("strategy: {word}")]),
            27,
            9,
            "spec.processes.worker.rollout.strategy",
            &["needs a `port`", "strategy: rolling"],
        );
    }
    assert_eq!(
        parse_ok(&worker_rollout(&["strategy: rolling"]))
            .app
            .processes["worker"]
            .rollout
            .as_ref()
            .map(|r| r.strategy),
        Some(RolloutStrategy::Rolling)
    );
}

#[test]
fn default_alarms_need_a_port_and_named_ones_do_not() {
    assert_one_error(
        &worker_rollout(&["alarms: default"]),
        27,
        9,
        "spec.processes.worker.rollout.alarms",
        &["`alarms: default` needs a `port`"],
    );
    parse_ok(&worker_rollout(&["alarms: [queue-depth]"]));
}

#[test]
fn an_unknown_strategy_is_located_with_the_choices() {
    assert_one_error(
        &admin_rollout(&["strategy: bluegreen"]),
        25,
        19,
        "spec.processes.admin.rollout.strategy",
        &[
            "invalid strategy `bluegreen`",
            "`canary`",
            "did you mean `blueGreen`?",
        ],
    );
}

#[test]
fn a_key_for_other_strategies_is_refused_at_the_key_naming_them() {
    for (strategy, line, field, names) in [
        (
            "canary",
            "stepPercent: 10",
            "stepPercent",
            "strategy linear",
        ),
        (
            "linear",
            "canaryPercent: 10",
            "canaryPercent",
            "strategy canary",
        ),
        ("blueGreen", "stepBake: 2m", "stepBake", "canary or linear"),
        ("rolling", "bake: 2m", "bake", "blueGreen, canary or linear"),
        (
            "rolling",
            "approval: afterTestTraffic",
            "approval",
            "blueGreen, canary or linear",
        ),
    ] {
        assert_one_error(
            &admin_rollout(&[&format!("strategy: {strategy}"), line]),
            26,
            9,
            &format!("spec.processes.admin.rollout.{field}"),
            &[&format!("does not apply to strategy `{strategy}`"), names],
        );
    }
}

#[test]
fn approval_settings_need_an_approval() {
    for (line, field) in [
        ("approvalTimeout: 1h", "approvalTimeout"),
        ("onApprovalTimeout: continue", "onApprovalTimeout"),
    ] {
        assert_one_error(
            &admin_rollout(&["strategy: blueGreen", line]),
            26,
            9,
            &format!("spec.processes.admin.rollout.{field}"),
            &["only with `approval`"],
        );
    }
}

#[test]
fn percentages_out_of_range_or_finer_than_a_tenth_are_refused() {
    for (strategy, field, value, bounds) in [
        ("canary", "canaryPercent", "0", "from 0.1 to 100"),
        ("canary", "canaryPercent", "100.1", "from 0.1 to 100"),
        ("canary", "canaryPercent", "0.05", "from 0.1 to 100"),
        ("canary", "canaryPercent", "five", "from 0.1 to 100"),
        ("linear", "stepPercent", "2.9", "from 3 to 100"),
        ("linear", "stepPercent", "101", "from 3 to 100"),
    ] {
        assert_one_error(
            &admin_rollout(&[
                &format!("strategy: {strategy}"),
                &format!("{field}: {value}"),
            ]),
            26,
            11 + field.len(),
            &format!("spec.processes.admin.rollout.{field}"),
            &[
                &format!("invalid {field} `{value}`"),
                bounds,
                "steps of 0.1",
            ],
        );
    }
}

#[test]
fn bake_times_are_whole_minutes_within_a_day() {
    for (field, value, says) in [
        ("bake", "90s", "ECS takes whole minutes"),
        ("bake", "61", "ECS takes whole minutes"),
        ("stepBake", "25h", "from 0m to 1440m"),
        ("bake", "ten minutes", "write whole minutes"),
        ("approvalTimeout", "0", "from 1m to 1440m"),
        ("approvalTimeout", "30s", "ECS takes whole minutes"),
    ] {
        let mut body = vec!["strategy: canary", "approval: afterTestTraffic"];
        let line = format!("{field}: {value}");
        body.push(&line);
        assert_one_error(
            &admin_rollout(&body),
            27,
            11 + field.len(),
            &format!("spec.processes.admin.rollout.{field}"),
            &[&format!("invalid {field}"), says],
        );
    }
    let minutes = admin_rollout(&["strategy: blueGreen", "bake: 120"]);
    assert_eq!(
        admin(&minutes).map(|r| r.bake_minutes),
        Some(2),
        "seconds: 2 minutes"
    );
}

#[test]
fn alarm_names_follow_cloudwatch_and_are_named_once() {
    let long = "a".repeat(256);
    for (alarms, column, says) in [
        ("[a, b, a]", 24, "named twice"),
        (&format!("[{long}]") as &str, 18, "1 to 255 characters"),
        ("['']", 18, "1 to 255 characters"),
        ("[\"a\\tb\"]", 18, "control characters"),
    ] {
        let errors = errors(&admin_rollout(&[&format!("alarms: {alarms}")]));
        assert_eq!(errors.len(), 1, "{alarms}: {}", Diagnostics(errors.clone()));
        assert_eq!(
            (errors[0].line, errors[0].column),
            (25, column),
            "{}",
            errors[0]
        );
        assert!(errors[0].message.contains(says), "{}", errors[0]);
    }
    assert_one_error(
        &admin_rollout(&["alarms: all"]),
        25,
        17,
        "spec.processes.admin.rollout.alarms",
        &["invalid alarms `all`", "`default`"],
    );
}

#[test]
fn approval_words_are_checked() {
    assert_one_error(
        &admin_rollout(&["strategy: canary", "approval: afterTest"]),
        26,
        19,
        "spec.processes.admin.rollout.approval",
        &["invalid approval `afterTest`", "`afterTestTraffic`"],
    );
    assert_one_error(
        &admin_rollout(&[
            "strategy: canary",
            "approval: afterTestTraffic",
            "onApprovalTimeout: abort",
        ]),
        27,
        28,
        "spec.processes.admin.rollout.onApprovalTimeout",
        &["`rollback`, `continue`"],
    );
}

#[test]
fn a_scheduled_process_refuses_a_rollout() {
    let text = edit(&[(
        25,
        "      memory: 3072\n      schedule: rate(1 hour)\n      rollout: {strategy: rolling}",
    )]);
    assert_one_error(
        &text,
        27,
        7,
        "spec.processes.worker.rollout",
        &["cannot be set on a scheduled process"],
    );
}

#[test]
fn stored_processes_without_a_rollout_read_and_write_as_before() {
    let stored = r#"{"command":[],"scale":1,"cpu":256,"memory":512}"#;
    let process: Process = serde_json::from_str(stored).expect("reads");
    assert_eq!(process.rollout, None);
    assert_eq!(serde_json::to_string(&process).expect("writes"), stored);
}
