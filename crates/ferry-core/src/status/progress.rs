//! The progress deadline of a rollout (Kubernetes' `progressDeadlineSeconds`,
//! per process): a rollout that makes no progress within the process's
//! `progressDeadline` has failed.
//!
//! Progress is the new deployment running more tasks than the most seen
//! so far (`newRunning`, a high-water mark), or the older deployments
//! running fewer than the fewest seen so far (`oldRunning`, a low-water
//! mark). Both marks move one way only, so a task that starts, crashes
//! and starts again is progress once, not each time.
//!
//! `since` starts at the deployment's `createdAt` (DescribeServices'
//! deployment field,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html>),
//! so a controller that restarts mid-rollout keeps counting, or at the
//! first look when ECS gives none; it moves to `now` on progress. Time is
//! passed in: nothing here reads a clock.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::model::observed::ObservedDeployment;
use crate::model::status::{rfc3339, RolloutProgress};

/// Where a rollout stands against its progress deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub progress: RolloutProgress,
    /// `now` is at or past the deadline.
    pub exceeded: bool,
}

fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// The progress of the rollout of `new` (the deployment rolling out),
/// with older deployments running `old_running` tasks, given what the
/// status before saw (`previous`, ignored unless about the same
/// deployment) and a deadline of `deadline_secs` without progress.
pub fn track(
    previous: Option<&RolloutProgress>,
    new: &ObservedDeployment,
    old_running: u32,
    deadline_secs: u32,
    now: OffsetDateTime,
) -> Tracked {
    let seen = previous
        .filter(|p| p.deployment == new.id)
        .and_then(|p| Some((p, parse(&p.since)?)));
    let (since, new_running, old_running) = match seen {
        Some((before, since)) => {
            let progressed =
                new.running_count > before.new_running || old_running < before.old_running;
            (
                if progressed { now } else { since },
                before.new_running.max(new.running_count),
                before.old_running.min(old_running),
            )
        }
        None => (
            new.created_at.as_deref().and_then(parse).unwrap_or(now),
            new.running_count,
            old_running,
        ),
    };
    let deadline = since + Duration::seconds(i64::from(deadline_secs));
    Tracked {
        progress: RolloutProgress {
            deployment: new.id.clone(),
            since: rfc3339(since),
            deadline: rfc3339(deadline),
            new_running,
            old_running,
        },
        exceeded: now >= deadline,
    }
}

#[cfg(test)]
#[path = "progress_tests.rs"]
mod tests;
