use proptest::prelude::*;
use time::macros::datetime;

use super::*;
use crate::model::observed::DeploymentStatus;

const CREATED: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

fn primary(id: &str, running: u32, created_at: Option<OffsetDateTime>) -> ObservedDeployment {
    ObservedDeployment {
        id: id.into(),
        status: DeploymentStatus::Primary,
        task_definition_arn: "td:2".into(),
        desired_count: 4,
        running_count: running,
        pending_count: 0,
        failed_tasks: 0,
        rollout_state: None,
        rollout_state_reason: None,
        created_at: created_at.map(rfc3339),
    }
}

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

#[test]
fn the_deadline_counts_from_the_deployments_creation() {
    let new = primary("ecs-svc/1", 0, Some(CREATED));
    let early = track(None, &new, 2, 600, CREATED + secs(599));
    assert!(!early.exceeded);
    assert_eq!(early.progress.since, rfc3339(CREATED));
    assert_eq!(early.progress.deadline, rfc3339(CREATED + secs(600)));
    let late = track(None, &new, 2, 600, CREATED + secs(600));
    assert!(
        late.exceeded,
        "a controller that looks first late still judges"
    );
}

#[test]
fn without_a_creation_time_the_deadline_counts_from_the_first_look() {
    let new = primary("ecs-svc/1", 0, None);
    let now = CREATED + secs(5000);
    let first = track(None, &new, 2, 600, now);
    assert!(!first.exceeded);
    assert_eq!(first.progress.since, rfc3339(now));
}

#[test]
fn a_new_task_running_or_an_old_one_gone_is_progress_once() {
    let start = track(None, &primary("d", 0, Some(CREATED)), 2, 600, CREATED);
    let up = track(
        Some(&start.progress),
        &primary("d", 1, Some(CREATED)),
        2,
        600,
        CREATED + secs(300),
    );
    assert_eq!(up.progress.since, rfc3339(CREATED + secs(300)));
    assert_eq!(up.progress.new_running, 1);
    // The task crashes, and another starts: the mark was reached before.
    let crashed = track(
        Some(&up.progress),
        &primary("d", 0, Some(CREATED)),
        2,
        600,
        CREATED + secs(400),
    );
    let again = track(
        Some(&crashed.progress),
        &primary("d", 1, Some(CREATED)),
        2,
        600,
        CREATED + secs(500),
    );
    assert_eq!(again.progress.since, rfc3339(CREATED + secs(300)));
    assert_eq!(again.progress.new_running, 1);
    let drained = track(
        Some(&again.progress),
        &primary("d", 1, Some(CREATED)),
        1,
        600,
        CREATED + secs(800),
    );
    assert_eq!(drained.progress.since, rfc3339(CREATED + secs(800)));
    assert_eq!(drained.progress.old_running, 1);
}

#[test]
fn another_deployment_starts_afresh() {
    let old = track(None, &primary("d1", 3, Some(CREATED)), 0, 600, CREATED);
    let later = CREATED + secs(3600);
    let next = track(
        Some(&old.progress),
        &primary("d2", 0, Some(later)),
        3,
        600,
        later,
    );
    assert_eq!(next.progress.deployment, "d2");
    assert_eq!(next.progress.new_running, 0);
    assert_eq!(next.progress.since, rfc3339(later));
    assert!(!next.exceeded);
}

proptest! {
    /// Along any series of looks, the deadline is exceeded exactly when no
    /// progress (a new high of new tasks, a new low of old ones) happened
    /// within the deadline of the last progress or the creation; the marks
    /// only move one way.
    #[test]
    fn exceeded_iff_no_progress_within_the_deadline(
        deadline in 10u32..900,
        looks in prop::collection::vec((1i64..400, 0u32..6, 0u32..6), 1..20),
    ) {
        let mut previous: Option<RolloutProgress> = None;
        let mut now = CREATED;
        let (mut last_progress, mut high, mut low) = (CREATED, None::<u32>, None::<u32>);
        for (step, new_running, old_running) in looks {
            now += secs(step);
            let progressed = high.is_some_and(|h| new_running > h)
                || low.is_some_and(|l| old_running < l);
            if progressed {
                last_progress = now;
            }
            high = Some(high.map_or(new_running, |h| h.max(new_running)));
            low = Some(low.map_or(old_running, |l| l.min(old_running)));
            let tracked = track(
                previous.as_ref(),
                &primary("d", new_running, Some(CREATED)),
                old_running,
                deadline,
                now,
            );
            prop_assert_eq!(
                tracked.exceeded,
                now >= last_progress + secs(i64::from(deadline))
            );
            if let Some(before) = &previous {
                prop_assert!(tracked.progress.new_running >= before.new_running);
                prop_assert!(tracked.progress.old_running <= before.old_running);
                prop_assert!(tracked.progress.since >= before.since);
            }
            previous = Some(tracked.progress);
        }
    }
}
