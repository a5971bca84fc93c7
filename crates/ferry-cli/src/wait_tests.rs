use ferry_core::status;

use super::*;
use crate::layout::tests::pipe;
use crate::show::tests::{condition, with};
use crate::why::tests::crashing_worker;

fn acme(generation: u64) -> Applied {
    Applied {
        name: "acme".into(),
        generation,
        changed: true,
    }
}

/// The cause a verdict failed with, or why it did not fail.
fn cause(verdict: Verdict) -> Result<String, Verdict> {
    match verdict {
        Verdict::Failed(failure) => Ok(failure.cause),
        other => Err(other),
    }
}

#[test]
fn the_awaited_generation_is_ready_failed_or_pending() {
    let applied = Applied {
        name: "acme".into(),
        generation: 2,
        changed: true,
    };
    assert_eq!(verdict(&applied, None), Verdict::Pending);
    let ready = |observed| {
        let mut status = with(vec![condition(status::READY, "True", "Converged", "")]);
        status.observed_generation = observed;
        status
    };
    // Ready for an older generation is not Ready for this one.
    assert_eq!(verdict(&applied, Some(&ready(1))), Verdict::Pending);
    assert_eq!(verdict(&applied, Some(&ready(2))), Verdict::Ready(2));
    assert_eq!(verdict(&applied, Some(&ready(3))), Verdict::Ready(3));

    let mut failed = with(vec![
        condition(status::READY, "False", "Degraded", ""),
        condition(status::DEGRADED, "True", "RolloutFailed", "circuit breaker"),
    ]);
    failed.observed_generation = 2;
    failed.failure = Some(status::RolloutFailure {
        generation: 2,
        process: "web".into(),
        task_definition: "acme_web:2".into(),
        reason: "circuit breaker".into(),
        events: Vec::new(),
        last_failure: None,
    });
    assert_eq!(
        cause(verdict(&applied, Some(&failed))),
        Ok("app/acme generation 2: RolloutFailed: circuit breaker".into())
    );
    // A failure of an earlier generation does not fail this one.
    if let Some(failure) = failed.failure.as_mut() {
        failure.generation = 1;
    }
    failed.conditions.pop();
    assert_eq!(verdict(&applied, Some(&failed)), Verdict::Pending);
}

#[test]
fn a_crash_loop_or_a_deadline_fails_the_wait_as_soon_as_status_says_so() {
    let mut status = crashing_worker();
    // Degraded says so before the sticky failure is written.
    status.failure = None;
    assert_eq!(
        cause(verdict(&acme(2), Some(&status))),
        Ok(
            "app/acme generation 2: TasksStopping: worker: 3 new tasks stopped after they ran \
             (a crash loop)"
                .into()
        )
    );
    if let Some(degraded) = status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == status::DEGRADED)
    {
        degraded.reason = ConditionReason::ProgressDeadlineExceeded;
        degraded.message = "web: no progress within the progress deadline of 600s".into();
    }
    assert!(cause(verdict(&acme(2), Some(&status))).is_ok());
    // Not yet for a generation the controller has not acted on.
    assert_eq!(verdict(&acme(3), Some(&status)), Verdict::Pending);
}

#[test]
fn a_failure_held_for_an_older_generation_does_not_fail_a_newer_one() {
    let mut status = crashing_worker();
    status.observed_generation = 3;
    if let Some(failure) = status.failure.as_mut() {
        failure.generation = 2;
    }
    assert_eq!(verdict(&acme(3), Some(&status)), Verdict::Pending);
}

#[test]
fn a_failed_wait_prints_its_cause_then_each_last_failure_with_its_log() {
    let Verdict::Failed(failure) = verdict(&acme(2), Some(&crashing_worker())) else {
        panic!("the crash loop fails the wait");
    };
    let err = anyhow::Error::new(WaitFailed {
        failures: vec![failure],
    })
    .context("the apply is stored, but waiting for it failed");
    assert_eq!(
        crate::report::one_line(&err),
        "the apply is stored, but waiting for it failed: app/acme generation 2: TasksStopping: \
         worker: 3 new tasks stopped after they ran (a crash loop)"
    );
    let details = crate::report::details(&err, &pipe());
    assert_eq!(
        details,
        [
            "  rollout of generation 2 failed: TasksStopping: worker (acme_worker:2): 3 new tasks stopped after they ran (a crash loop)",
            "  worker: task 7f1a3b28: essential container worker exited with code 1: \"KeyError: 'DATABASE_URL'\"",
            "      booting worker",
            "      Traceback (most recent call last):",
            "        File \"/app/worker.py\", line 3, in <module>",
            "          url = os.environ['DATABASE_URL']",
            "      KeyError: 'DATABASE_URL'",
            "  worker: 3 new tasks crashed after they ran",
        ]
    );
    assert!(crate::report::details(&anyhow::anyhow!("other"), &pipe()).is_empty());
}

#[test]
fn a_failure_without_its_failed_task_is_held_a_little_for_it() {
    let failure = |explained| Failure {
        cause: "app/acme generation 2: RolloutFailed".into(),
        details: Vec::new(),
        explained,
    };
    let mut unexplained = Unexplained::default();
    let start = Instant::now();
    assert!(
        !unexplained.hold("acme", &failure(true), start),
        "explained: at once"
    );
    assert!(unexplained.hold("acme", &failure(false), start));
    assert!(unexplained.hold("acme", &failure(false), start + EXPLAIN_GRACE / 2));
    assert!(
        !unexplained.hold("acme", &failure(false), start + EXPLAIN_GRACE),
        "never longer than the grace"
    );
    // A task that ran, its lines not read yet: held for them.
    let mut unread = crashing_worker();
    for process in unread.processes.values_mut() {
        if let Some(last) = process.last_failure.as_mut() {
            last.log_tail.clear();
        }
    }
    if let Some(last) = unread
        .failure
        .as_mut()
        .and_then(|f| f.last_failure.as_mut())
    {
        last.log_tail.clear();
    }
    let judged = verdict(&acme(unread.generation), Some(&unread));
    assert!(
        matches!(&judged, Verdict::Failed(f) if !f.explained),
        "{judged:?}"
    );
    // The crash loop the why tests show names its task: explained.
    let crashing = crashing_worker();
    let judged = verdict(&acme(crashing.generation), Some(&crashing));
    assert!(
        matches!(&judged, Verdict::Failed(f) if f.explained),
        "{judged:?}"
    );
}

#[test]
fn a_deployment_adds_its_stage_to_the_progress_line_but_a_countdown_is_no_new_step() {
    use crate::show::tests::process;
    use crate::status_view::tests::canary_view;
    use crate::why::tests::NOW;
    let mut web = process(2, 2);
    web.rollout = Some(status::RolloutStatus::InProgress);
    web.deployment = Some(canary_view());
    assert_eq!(
        progress_line(&web, NOW),
        "IN_PROGRESS 2/2 running - canary 10 %, baking 1m40s left"
    );
    let step = progress_step(&web);
    let later = NOW + time::Duration::seconds(30);
    assert_ne!(progress_line(&web, later), progress_line(&web, NOW));
    assert_eq!(progress_step(&web), step, "the same step 30 s later");
    if let Some(view) = web.deployment.as_mut() {
        view.production_weight_tenths = Some(1000);
    }
    assert_ne!(progress_step(&web), step, "a shift is a new step");

    // Rolled back: the reason is said once.
    if let Some(view) = web.deployment.as_mut() {
        view.rolled_back = Some("alarm web-5xx".into());
        view.status = ferry_core::model::deployments::ServiceDeploymentState::RollbackSuccessful;
    }
    web.rollout = Some(status::RolloutStatus::Failed);
    web.rollout_reason = Some(status::RolloutFailureReason::DeploymentRolledBack {
        cause: "alarm web-5xx".into(),
    });
    assert_eq!(
        progress_line(&web, NOW),
        "FAILED 2/2 running: rolled back: alarm web-5xx"
    );
}

#[test]
fn a_rollback_by_an_alarm_fails_the_wait_at_once_with_its_cause() {
    let mut rolled_back = with(vec![
        condition(status::READY, "False", "Degraded", ""),
        condition(
            status::DEGRADED,
            "True",
            "RolloutFailed",
            "web: rolled back: alarm web-5xx",
        ),
    ]);
    rolled_back.observed_generation = 2;
    rolled_back.failure = Some(status::RolloutFailure {
        generation: 2,
        process: "web".into(),
        task_definition: "acme_web:2".into(),
        reason: "rolled back: alarm web-5xx".into(),
        events: Vec::new(),
        last_failure: None,
    });
    let Verdict::Failed(failure) = verdict(&acme(2), Some(&rolled_back)) else {
        panic!("a rollback fails the wait");
    };
    assert!(
        failure.cause.contains("rolled back: alarm web-5xx"),
        "{}",
        failure.cause
    );
    assert!(failure.explained, "no failed task is awaited for an alarm");
    // ECS's own reason, without an alarm, may be a crash: its task's
    // lines are waited for a little, as for the circuit breaker's.
    if let Some(f) = rolled_back.failure.as_mut() {
        f.reason = "rolled back: stopped".into();
    }
    let Verdict::Failed(failure) = verdict(&acme(2), Some(&rolled_back)) else {
        panic!("still failed");
    };
    assert!(!failure.explained);
}
