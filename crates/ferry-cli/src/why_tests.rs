use ferry_core::observed::ServiceEvent;
use ferry_core::status::{LastFailure, RolloutFailure, RolloutFailureReason, RolloutProgress};
use time::macros::datetime;

use super::*;
use crate::show::tests::{condition, process, with};

/// When the fixtures are looked at.
pub(crate) const NOW: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

/// The worker's crash, as status shows it.
pub(crate) fn crash() -> LastFailure {
    LastFailure {
        task: "7f1a3b28c0de4f0096b1a2e3d4c5b6a7".into(),
        stopped_at: Some("2026-12-06T11:59:30Z".into()),
        stop_code: Some("EssentialContainerExited".into()),
        reason: "Essential container in task exited".into(),
        container: Some("worker".into()),
        exit_code: Some(1),
        log_tail: vec![
            "booting worker".into(),
            "Traceback (most recent call last):".into(),
            "  File \"/app/worker.py\", line 3, in <module>".into(),
            "    url = os.environ['DATABASE_URL']".into(),
            "KeyError: 'DATABASE_URL'".into(),
        ],
    }
}

/// App acme whose worker crashed three times: its rollout of generation
/// 2 failed with TasksStopping; web runs as before.
pub(crate) fn crashing_worker() -> AppStatus {
    let mut status = with(vec![
        condition(
            status::READY,
            "False",
            "Degraded",
            "see the Degraded condition",
        ),
        condition(
            status::PROGRESSING,
            "False",
            "TasksStopping",
            "worker: the rollout of generation 2 failed",
        ),
        condition(
            status::DEGRADED,
            "True",
            "TasksStopping",
            "worker: 3 new tasks stopped after they ran (a crash loop)",
        ),
    ]);
    for c in &mut status.conditions {
        // When the third crash was seen.
        c.last_transition_time = "2026-12-06T11:59:30Z".into();
    }
    status.generation = 2;
    status.observed_generation = 2;
    status.release = 2;
    let mut web = process(2, 2);
    web.rollout = Some(RolloutStatus::Completed);
    web.task_definition =
        Some("arn:aws:ecs:us-east-1:123456789012:task-definition/acme_web:1".into());
    let mut worker = process(1, 0);
    worker.rollout = Some(RolloutStatus::Failed);
    worker.task_definition =
        Some("arn:aws:ecs:us-east-1:123456789012:task-definition/acme_worker:2".into());
    worker.last_failure = Some(crash());
    worker.crashed_tasks = 3;
    status.processes = [("web".to_owned(), web), ("worker".to_owned(), worker)].into();
    status.failure = Some(RolloutFailure {
        generation: 2,
        process: "worker".into(),
        task_definition: "arn:aws:ecs:us-east-1:123456789012:task-definition/acme_worker:2".into(),
        reason: RolloutFailureReason::TasksStopping { stops: 3 },
        events: Vec::new(),
        last_failure: Some(crash()),
    });
    status.events = (0..5)
        .map(|n| ServiceEvent {
            id: format!("e{n}"),
            created_at: format!("2026-12-06T11:5{}:00Z", 4 - n),
            message: format!("(service acme_worker) has started 1 tasks: (task {n}a{n}b{n}c)."),
        })
        .collect();
    status
}

fn texts(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .map(|l| format!("{}{}{}", " ".repeat(l.indent), l.text, l.suffix))
        .collect()
}

#[test]
fn a_crash_loop_says_why_with_the_last_words_of_the_task() {
    assert_eq!(
        texts(&why(&crashing_worker(), NOW)),
        [
            "Degraded since 30s ago: TasksStopping: worker: 3 new tasks stopped after they ran (a crash loop)",
            "rollout of generation 2 failed: TasksStopping: worker (acme_worker:2): 3 new tasks stopped after they ran (a crash loop)",
            "worker: task 7f1a3b28: essential container worker exited with code 1: \"KeyError: 'DATABASE_URL'\"",
            "    booting worker",
            "    Traceback (most recent call last):",
            "      File \"/app/worker.py\", line 3, in <module>",
            "        url = os.environ['DATABASE_URL']",
            "    KeyError: 'DATABASE_URL'",
            "worker: 3 new tasks crashed after they ran",
        ]
    );
}

#[test]
fn a_wait_explains_its_failure_without_the_condition_it_already_named() {
    let details = texts(&failure_details(&crashing_worker()));
    assert!(details[0].starts_with("rollout of generation 2 failed: TasksStopping"));
    assert_eq!(details.len(), 8, "{details:#?}");
    assert!(details.iter().all(|l| !l.starts_with("Degraded")));
}

#[test]
fn the_failed_rollouts_last_failure_stands_in_for_the_processs() {
    let mut status = crashing_worker();
    if let Some(worker) = status.processes.get_mut("worker") {
        worker.last_failure = None;
        worker.crashed_tasks = 0;
    }
    let details = texts(&failure_details(&status));
    assert_eq!(details.len(), 7, "{details:#?}");
    assert!(
        details[1].starts_with("worker: task 7f1a3b28"),
        "{details:#?}"
    );
}

#[test]
fn a_rollout_in_progress_counts_down_to_its_deadline() {
    let mut status = with(Vec::new());
    let mut web = process(2, 1);
    web.rollout = Some(RolloutStatus::InProgress);
    web.progress = Some(RolloutProgress {
        deployment: "ecs-svc/1".into(),
        since: "2026-12-06T11:57:50Z".into(),
        deadline: "2026-12-06T12:07:50Z".into(),
        new_running: 1,
        old_running: 1,
    });
    status.processes = [("web".to_owned(), web)].into();
    assert_eq!(
        texts(&why(&status, NOW)),
        ["web: no progress for 2m10s; deadline in 7m50s"]
    );
    let later = NOW + time::Duration::seconds(600);
    let passed = why(&status, later);
    assert_eq!(
        texts(&passed),
        ["web: no progress for 12m10s; deadline passed 2m10s ago"]
    );
    assert_eq!(passed[0].tone, Tone::Bad);
    // Once the rollout is over, its deadline is no news.
    if let Some(web) = status.processes.get_mut("web") {
        web.rollout = Some(RolloutStatus::Completed);
    }
    assert!(why(&status, NOW).is_empty());
}

#[test]
fn repeated_events_are_one_line_with_a_count() {
    assert_eq!(
        texts(&events(&crashing_worker(), NOW)),
        ["  6m  (service acme_worker) has started 1 tasks: (task 0a0b0c). (×5)"]
    );
}

#[test]
fn a_cut_event_keeps_its_count() {
    let lines = events(&crashing_worker(), NOW);
    let shown = lines[0].render(&crate::layout::tests::terminal_40(), 2);
    assert_eq!(shown.chars().count(), 40, "{shown}");
    assert!(shown.ends_with("… (×5)"), "{shown}");
}
