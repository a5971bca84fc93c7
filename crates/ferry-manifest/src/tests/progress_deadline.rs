//! `progressDeadline` (issue 22): whole seconds or a duration, within its
//! bounds, resolved into seconds; a stored spec without it reads as it
//! was written.

use super::*;

/// `worker` (line 24) with `progressDeadline: VALUE` on line 26.
fn with_deadline(value: &str) -> String {
    edit(&[(
        25,
        &format!("      memory: 3072\n      progressDeadline: {value}"),
    )])
}

fn worker_deadline(text: &str) -> Option<u32> {
    parse_ok(text).app.processes["worker"].progress_deadline
}

#[test]
fn seconds_and_durations_resolve_to_seconds() {
    for (written, seconds) in [
        ("600", 600),
        ("'600'", 600),
        ("90s", 90),
        ("10m", 600),
        ("1h", 3600),
        ("1h30m", 5400),
        ("10", 10),
        ("24h", 86_400),
    ] {
        assert_eq!(
            worker_deadline(&with_deadline(written)),
            Some(seconds),
            "{written}"
        );
    }
    assert_eq!(worker_deadline(VALID), None, "unset: the default applies");
}

#[test]
fn a_deadline_out_of_bounds_is_located_with_the_bounds() {
    for written in ["9", "5s", "86401", "25h"] {
        assert_one_error(
            &with_deadline(written),
            26,
            25,
            "spec.processes.worker.progressDeadline",
            &[
                &format!("invalid progressDeadline `{written}`"),
                "from 10s to 86400s",
            ],
        );
    }
}

#[test]
fn what_is_not_a_duration_is_located_with_the_forms() {
    for written in ["10 minutes", "1m1h", "1.5h", "-5", "10d", "''"] {
        assert_one_error(
            &with_deadline(written),
            26,
            25,
            "spec.processes.worker.progressDeadline",
            &["invalid progressDeadline", "90s, 10m, 1h, 1h30m"],
        );
    }
}

#[test]
fn stored_processes_without_a_deadline_read_and_write_as_before() {
    let stored = r#"{"command":[],"scale":1,"cpu":256,"memory":512}"#;
    let process: Process = serde_json::from_str(stored).expect("reads");
    assert_eq!(process.progress_deadline, None);
    assert_eq!(serde_json::to_string(&process).expect("writes"), stored);
}
