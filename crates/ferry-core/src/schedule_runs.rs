//! What became of a scheduled process's runs: the invocations EventBridge
//! Scheduler could not make (its dead-letter events), and the last task a
//! schedule started. Pure: the adapters hand in what they read, these
//! functions decide what status shows and how much of it.
//!
//! **Dead-letter events.** When a schedule cannot invoke its target, after
//! the retries its `RetryPolicy` allows, Scheduler sends a message to the
//! target's dead-letter queue whose message attributes say why: the
//! Scheduler user guide, "Configuring a dead-letter queue"
//! (<https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html>),
//! "Retrieve the dead-letter event", lists `ERROR_CODE`, `ERROR_MESSAGE`,
//! `EXECUTION_ID`, `EXHAUSTED_RETRY_CONDITION`, `IS_PAYLOAD_TRUNCATED`,
//! `RETRY_ATTEMPTS`, `SCHEDULED_TIME`, `SCHEDULE_ARN` and `TARGET_ARN`, all
//! of data type String. [`dead_letter`] reads them; every one but
//! `SCHEDULE_ARN` may be missing, as nothing promises each is always sent.
//!
//! **Guarantees.** Status keeps at most [`MAX_FAILED_INVOCATIONS`] failures
//! per process, newest first, each once however often its message is
//! delivered ([`merge_failures`]); the last run is the newest task started
//! ([`last_run`]).

use std::collections::BTreeMap;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use crate::model::runs::{DeadLetter, FailedInvocation, ObservedRuns, ScheduledRun};

/// How many failed invocations status keeps per scheduled process: enough
/// to tell one bad night from a pattern, few enough that a schedule failing
/// every minute does not grow the status item (DynamoDB items are bounded).
pub const MAX_FAILED_INVOCATIONS: usize = 5;

/// Longest error message kept: Scheduler passes on the target's message,
/// whose length nothing bounds.
pub const MAX_ERROR_MESSAGE: usize = 512;

/// The group and name of `arn:PARTITION:scheduler:REGION:ACCOUNT:schedule/GROUP/NAME`.
pub fn schedule_of(arn: &str) -> Option<(String, String)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("scheduler")) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let resource = parts.nth(2)?;
    let rest = resource.strip_prefix("schedule/")?;
    let (group, name) = rest.split_once('/')?;
    (!group.is_empty() && !name.is_empty() && !name.contains('/'))
        .then(|| (group.to_owned(), name.to_owned()))
}

/// Reads a dead-letter event from its message attributes (name to string
/// value). `None` when it names no schedule: not a Scheduler dead letter.
pub fn dead_letter(message_id: &str, attributes: &BTreeMap<String, String>) -> Option<DeadLetter> {
    let (group, schedule) = schedule_of(attributes.get("SCHEDULE_ARN")?)?;
    let text = |name: &str| attributes.get(name).filter(|v| !v.is_empty()).cloned();
    let mut message = text("ERROR_MESSAGE").unwrap_or_default();
    if let Some((cut, _)) = message.char_indices().nth(MAX_ERROR_MESSAGE) {
        message.truncate(cut);
    }
    Some(DeadLetter {
        group,
        schedule,
        failure: FailedInvocation {
            id: text("EXECUTION_ID").unwrap_or_else(|| message_id.to_owned()),
            scheduled_time: text("SCHEDULED_TIME"),
            error_code: text("ERROR_CODE").unwrap_or_else(|| "Unknown".to_owned()),
            error_message: message,
            retry_attempts: text("RETRY_ATTEMPTS").and_then(|v| v.parse().ok()),
            exhausted_retry_condition: text("EXHAUSTED_RETRY_CONDITION"),
        },
    })
}

fn instant(time: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(time?, &Rfc3339).ok()
}

/// The failures status shows: those it showed before and the new ones,
/// each id once (the newer copy wins), newest scheduled time first (those
/// without a readable time last, in the order given), at most
/// [`MAX_FAILED_INVOCATIONS`].
pub fn merge_failures(
    previous: &[FailedInvocation],
    new: &[FailedInvocation],
) -> Vec<FailedInvocation> {
    let mut merged: Vec<FailedInvocation> = Vec::new();
    for failure in new.iter().chain(previous) {
        if !merged.iter().any(|f| f.id == failure.id) {
            merged.push(failure.clone());
        }
    }
    // Stable: equal times keep new-before-previous.
    merged.sort_by_key(|f| std::cmp::Reverse(instant(f.scheduled_time.as_deref())));
    merged.truncate(MAX_FAILED_INVOCATIONS);
    merged
}

/// The newest run: the latest start time (a run without one is older than
/// any with one; among equals, the later in `runs`).
pub fn last_run(runs: &[ScheduledRun]) -> Option<ScheduledRun> {
    runs.iter()
        .enumerate()
        .max_by_key(|(i, r)| (instant(r.started_at.as_deref()), *i))
        .map(|(_, r)| r.clone())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn failure(id: &str, time: Option<&str>) -> FailedInvocation {
        FailedInvocation {
            id: id.into(),
            scheduled_time: time.map(Into::into),
            error_code: "InvalidParameterException".into(),
            error_message: "Multiple tags contain the same key.".into(),
            retry_attempts: Some(2),
            exhausted_retry_condition: Some("MaximumRetryAttempts".into()),
        }
    }

    fn run(arn: &str, started: Option<&str>) -> ScheduledRun {
        ScheduledRun {
            task_arn: arn.into(),
            started_at: started.map(Into::into),
            last_status: "STOPPED".into(),
            exit_code: Some(0),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: None,
        }
    }

    #[test]
    fn schedule_arns_name_group_and_schedule() {
        assert_eq!(
            schedule_of(
                "arn:aws:scheduler:us-east-1:123456789012:schedule/ferry-ferry/shop_nightly"
            ),
            Some(("ferry-ferry".into(), "shop_nightly".into()))
        );
        assert_eq!(
            schedule_of("arn:aws-cn:scheduler:cn-north-1:123456789012:schedule/g/n"),
            Some(("g".into(), "n".into()))
        );
        for bad in [
            "",
            "arn:aws:scheduler:us-east-1:123456789012:schedule-group/g",
            "arn:aws:ecs:us-east-1:123456789012:schedule/g/n",
            "arn:aws:scheduler:us-east-1:123456789012:schedule/g",
            "arn:aws:scheduler:us-east-1:123456789012:schedule/g/n/x",
            "arn:aws:scheduler:us-east-1:123456789012:schedule//n",
        ] {
            assert_eq!(schedule_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn dead_letters_read_the_documented_attributes() {
        let attributes: BTreeMap<String, String> = [
            ("ERROR_CODE", "InvalidParameterException"),
            ("ERROR_MESSAGE", "Multiple tags contain the same key."),
            ("EXECUTION_ID", "d32c5kddcf5bb8c3"),
            ("EXHAUSTED_RETRY_CONDITION", "MaximumRetryAttempts"),
            ("IS_PAYLOAD_TRUNCATED", "false"),
            ("RETRY_ATTEMPTS", "2"),
            ("SCHEDULED_TIME", "2026-12-06T03:00:00Z"),
            (
                "SCHEDULE_ARN",
                "arn:aws:scheduler:us-east-1:123456789012:schedule/ferry-ferry/shop_nightly",
            ),
            (
                "TARGET_ARN",
                "arn:aws:ecs:us-east-1:123456789012:cluster/apps",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let letter = dead_letter("m-1", &attributes).expect("a dead letter");
        assert_eq!(letter.group, "ferry-ferry");
        assert_eq!(letter.schedule, "shop_nightly");
        assert_eq!(
            letter.failure,
            FailedInvocation {
                id: "d32c5kddcf5bb8c3".into(),
                scheduled_time: Some("2026-12-06T03:00:00Z".into()),
                error_code: "InvalidParameterException".into(),
                error_message: "Multiple tags contain the same key.".into(),
                retry_attempts: Some(2),
                exhausted_retry_condition: Some("MaximumRetryAttempts".into()),
            }
        );
    }

    #[test]
    fn a_dead_letter_needs_only_its_schedule() {
        let mut attributes = BTreeMap::new();
        assert_eq!(dead_letter("m-1", &attributes), None);
        attributes.insert(
            "SCHEDULE_ARN".to_owned(),
            "arn:aws:scheduler:us-east-1:123456789012:schedule/g/n".to_owned(),
        );
        attributes.insert("RETRY_ATTEMPTS".to_owned(), "many".to_owned());
        attributes.insert(
            "ERROR_MESSAGE".to_owned(),
            "é".repeat(2 * MAX_ERROR_MESSAGE),
        );
        let letter = dead_letter("m-1", &attributes).expect("a dead letter");
        assert_eq!(letter.failure.id, "m-1", "the message id stands in");
        assert_eq!(letter.failure.error_code, "Unknown");
        assert_eq!(letter.failure.retry_attempts, None);
        assert_eq!(
            letter.failure.error_message.chars().count(),
            MAX_ERROR_MESSAGE
        );
    }

    #[test]
    fn merging_keeps_each_failure_once_newest_first() {
        let previous = vec![
            failure("b", Some("2026-12-06T02:00:00Z")),
            failure("a", Some("2026-12-06T01:00:00Z")),
        ];
        let mut again = failure("b", Some("2026-12-06T02:00:00Z"));
        again.retry_attempts = Some(1);
        let new = vec![failure("c", Some("2026-12-06T03:00:00Z")), again.clone()];
        let merged = merge_failures(&previous, &new);
        let ids: Vec<&str> = merged.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "a"]);
        assert_eq!(merged[1], again, "the newer copy wins");
    }

    #[test]
    fn runs_pick_the_newest_start() {
        assert_eq!(last_run(&[]), None);
        let runs = [
            run("arn:t/1", Some("2026-12-06T01:00:00Z")),
            run("arn:t/3", None),
            run("arn:t/2", Some("2026-12-06T01:00:00.5+00:00")),
        ];
        assert_eq!(
            last_run(&runs).map(|r| r.task_id().to_owned()),
            Some("2".into())
        );
    }

    #[test]
    fn outcomes_say_how_a_run_ended() {
        let mut r = run("arn:aws:ecs:r:1:task/c/abc", None);
        assert_eq!(r.task_id(), "abc");
        assert_eq!(r.outcome(), "exit 0");
        r.exit_code = None;
        r.stop_code = Some("TaskFailedToStart".into());
        r.stopped_reason = Some("CannotPullContainerError".into());
        assert_eq!(r.outcome(), "TaskFailedToStart: CannotPullContainerError");
        r.stop_code = None;
        r.stopped_reason = None;
        r.last_status = "RUNNING".into();
        assert_eq!(r.outcome(), "RUNNING");
    }

    fn failures() -> impl Strategy<Value = Vec<FailedInvocation>> {
        prop::collection::vec(
            (0u8..12, prop::option::of(0u32..86_400)).prop_map(|(id, secs)| {
                let time = secs.map(|s| {
                    let t = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(i64::from(s));
                    t.format(&Rfc3339).unwrap_or_default()
                });
                failure(&id.to_string(), time.as_deref())
            }),
            0..12,
        )
    }

    proptest! {
        /// Bounded, each id once, sorted, and nothing invented; a failure
        /// in `new` is never lost unless MAX newer ones displace it.
        #[test]
        fn merging_is_bounded_unique_and_sorted(previous in failures(), new in failures()) {
            let merged = merge_failures(&previous, &new);
            prop_assert!(merged.len() <= MAX_FAILED_INVOCATIONS);
            let mut ids: Vec<&str> = merged.iter().map(|f| f.id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            prop_assert_eq!(ids.len(), merged.len());
            for f in &merged {
                prop_assert!(new.contains(f) || previous.contains(f));
            }
            let times: Vec<_> = merged.iter().map(|f| instant(f.scheduled_time.as_deref())).collect();
            prop_assert!(times.windows(2).all(|w| w[0] >= w[1]));
            // The first copy of each id in `new` is the one merged.
            let firsts = new.iter().enumerate().filter(|(i, f)| !new[..*i].iter().any(|g| g.id == f.id));
            for (_, f) in firsts {
                let shown = merged.iter().any(|m| m.id == f.id);
                let newer = merged.iter().filter(|m| {
                    instant(m.scheduled_time.as_deref()) >= instant(f.scheduled_time.as_deref())
                }).count();
                prop_assert!(shown || newer >= MAX_FAILED_INVOCATIONS);
            }
            // Merging again changes nothing: a message delivered twice.
            prop_assert_eq!(merge_failures(&merged, &new), merged);
        }
    }
}
