//! `autoscaling` (issue 13): its shape, its rules, and what it resolves to.
//! Every error names the file, line, column and field, and what would be
//! valid.

use super::*;

/// `VALID` with `autoscaling` on `web` (which has a port, line 20) or on
/// `worker` (which has none, line 25).
fn web_with(autoscaling: &str) -> String {
    edit(&[(
        21,
        &format!("      healthCheck: {{path: /health}}\n      autoscaling: {autoscaling}"),
    )])
}

fn worker_with(autoscaling: &str) -> String {
    edit(&[(
        25,
        &format!("      memory: 3072\n      autoscaling: {autoscaling}"),
    )])
}

#[test]
fn autoscaling_resolves_with_every_target() {
    let loaded = parse_ok(&web_with(
        "{min: 2, max: 20, cpu: 60, memory: 70, requestsPerTarget: 500}",
    ));
    let web = &loaded.app.processes["web"];
    assert_eq!(web.scale, 2, "scale stays the initial count");
    assert_eq!(
        web.autoscaling,
        Some(Autoscaling {
            min: 2,
            max: 20,
            cpu: Some(60),
            memory: Some(70),
            requests_per_target: Some(500),
        })
    );
    let loaded = parse_ok(&worker_with("{min: 0, max: 1000, memory: 1}"));
    let worker = &loaded.app.processes["worker"].autoscaling;
    assert_eq!(
        worker.map(|a| (a.min, a.max, a.cpu, a.memory)),
        Some((0, 1000, None, Some(1)))
    );
    assert_eq!(loaded.app.processes["admin"].autoscaling, None);
}

#[test]
fn a_stored_process_without_autoscaling_reads_and_writes_without_it() {
    let old = r#"{"command":[],"scale":1,"cpu":256,"memory":512}"#;
    let process: Process = serde_json::from_str(old).expect("old spec reads");
    assert_eq!(process.autoscaling, None);
    assert_eq!(serde_json::to_string(&process).expect("serialize"), old);
    let scaled = Process {
        autoscaling: Some(Autoscaling {
            min: 1,
            max: 3,
            cpu: Some(50),
            memory: None,
            requests_per_target: None,
        }),
        ..process
    };
    let json = serde_json::to_string(&scaled).expect("serialize");
    assert!(
        json.ends_with(r#""autoscaling":{"min":1,"max":3,"cpu":50}}"#),
        "{json}"
    );
    assert_eq!(
        serde_json::from_str::<Process>(&json).expect("round trip"),
        scaled
    );
}

#[test]
fn clamp_moves_a_count_into_the_range() {
    let a = Autoscaling {
        min: 2,
        max: 5,
        cpu: Some(50),
        memory: None,
        requests_per_target: None,
    };
    assert_eq!((a.clamp(0), a.clamp(3), a.clamp(9)), (2, 3, 5));
}

/// Each rule, with where its error is and what it says.
#[test]
fn each_rule_has_a_located_error_that_says_what_is_valid() {
    // Line 22 is the `autoscaling` line of `web_with`: its key is at column
    // 7 (where a problem with the mapping as a whole is reported), its
    // value starts at column 20.
    let cases: [(&str, usize, &str, &[&str]); 9] = [
        (
            "{min: -1, max: 3, cpu: 50}",
            26,
            "spec.processes.web.autoscaling.min",
            &["invalid min -1", "from 0 to 1000"],
        ),
        (
            "{min: 1, max: 1001, cpu: 50}",
            34,
            "spec.processes.web.autoscaling.max",
            &["invalid max 1001", "from 0 to 1000"],
        ),
        (
            "{min: 5, max: 3, cpu: 50}",
            34,
            "spec.processes.web.autoscaling.max",
            &["max 3 is below min 5", "at least 5"],
        ),
        (
            "{min: 1, max: 3}",
            7,
            "spec.processes.web.autoscaling",
            &[
                "at least one target",
                "`cpu`",
                "`memory`",
                "`requestsPerTarget`",
            ],
        ),
        (
            "{min: 1, max: 3, cpu: 0}",
            42,
            "spec.processes.web.autoscaling.cpu",
            &["invalid cpu 0", "from 1 to 100", "percent"],
        ),
        (
            "{min: 1, max: 3, cpu: 101}",
            42,
            "spec.processes.web.autoscaling.cpu",
            &["invalid cpu 101", "from 1 to 100"],
        ),
        (
            "{min: 1, max: 3, memory: 250}",
            45,
            "spec.processes.web.autoscaling.memory",
            &["invalid memory 250", "from 1 to 100"],
        ),
        (
            "{min: 1, max: 3, requestsPerTarget: 0}",
            56,
            "spec.processes.web.autoscaling.requestsPerTarget",
            &["invalid requestsPerTarget 0", "from 1 to 1000000"],
        ),
        (
            "{min: 1, max: 3, cpu: 50, target: 3}",
            46,
            "spec.processes.web.autoscaling.target",
            &["unknown field `target`", "`requestsPerTarget`"],
        ),
    ];
    for (autoscaling, column, path, contains) in cases {
        assert_one_error(&web_with(autoscaling), 22, column, path, contains);
    }
}

#[test]
fn requests_per_target_needs_a_port() {
    assert_one_error(
        &worker_with("{min: 1, max: 3, requestsPerTarget: 100}"),
        26,
        37,
        "spec.processes.worker.autoscaling.requestsPerTarget",
        &[
            "requestsPerTarget needs a `port`",
            "set `spec.processes.worker.port`",
            "track `cpu` or `memory` instead",
        ],
    );
}

#[test]
fn min_and_max_are_required_and_integers() {
    let missing = errors(&web_with("{max: 3, cpu: 50}"));
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].path, "spec.processes.web.autoscaling.min");
    assert!(
        missing[0].message.contains("missing required field `min`"),
        "{}",
        missing[0]
    );
    let wrong = errors(&web_with("{min: 1, max: ten, cpu: 50.5}"));
    let paths: Vec<&str> = wrong.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.processes.web.autoscaling.max",
            "spec.processes.web.autoscaling.cpu"
        ],
        "{wrong:?}"
    );
    let scalar = errors(&web_with("60"));
    assert_eq!(scalar.len(), 1, "{scalar:?}");
    assert!(
        scalar[0]
            .message
            .contains("expected a mapping with `min`, `max`"),
        "{}",
        scalar[0]
    );
}

#[test]
fn every_autoscaling_problem_is_reported_in_one_run() {
    let text = edit(&[
        (
            21,
            "      healthCheck: {path: /health}\n      autoscaling: {min: 9, max: 2, cpu: 0}",
        ),
        (
            25,
            "      memory: 3072\n      autoscaling: {min: 1, max: 2, requestsPerTarget: 10}",
        ),
    ]);
    let found: Vec<String> = errors(&text).into_iter().map(|d| d.path).collect();
    assert_eq!(
        found,
        [
            "spec.processes.web.autoscaling.max",
            "spec.processes.web.autoscaling.cpu",
            "spec.processes.worker.autoscaling.requestsPerTarget",
        ]
    );
}
