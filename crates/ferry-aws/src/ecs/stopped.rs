//! The stopped tasks of the installation's settling services, as a cache
//! that the controller's progress tick keeps current and snapshots read:
//! why a rollout's tasks stopped, and the last lines the newest failed
//! one wrote.
//!
//! **Reading** ([`StoppedTasks::read_tick`], once per progress tick, after the
//! settling services were read again):
//! - nothing settles: no call at all;
//! - else ONE cluster-wide ListTasks(`desiredStatus=STOPPED`) sweep, 100
//!   per page (ECS lists a stopped task for about an hour after it
//!   stopped: "Stopped tasks appear in the returned results for at least
//!   one hour",
//!   <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html>);
//! - DescribeTasks, 100 per call, only for the listed tasks never
//!   described, or described before their `lastStatus` was STOPPED (a task
//!   whose desired status is STOPPED may still be deprovisioning; a
//!   STOPPED description is final, the task's last state,
//!   <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html>):
//!   ⌈T/100⌉ calls for T tasks stopped since the last tick;
//! - ONE GetLogEvents per service per tick at most, for the newest
//!   STOPPED task that ran and failed and whose lines were not read yet;
//!   older unread ones of the same service are never read (status shows
//!   the last failure), so there is at most one log read per failed task.
//!
//! **Which tasks.** Those whose ECS `group` is `service:NAME` (ECS sets it
//! so for a service's tasks) for a settling service of this installation
//! (its `ferry:managed-by` tag, in the service cache).
//!
//! **Memory.** Per service at most [`MAX_STOPPED_PER_DEPLOYMENT`] tasks
//! per deployment, newest first, kept while the service settles even
//! after ECS stops listing them, and for [`FORGET_AFTER`] after it last
//! settled (a rolled-back service settles at once; its failure stays
//! visible to the reconciles that follow). The ARNs already described are
//! kept only while ECS lists them, so that set is bounded by an hour's
//! stopped tasks of the cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_ecs::types as ecs;
use ferry_core::model::stops::{
    telling_container, StoppedContainer, StoppedTask, LOG_TAIL_LINES, MAX_STOPPED_PER_DEPLOYMENT,
};
use ferry_core::names;
use tracing::debug;

use super::tasks::DESCRIBE_TASKS_BATCH;
use super::Ecs;
use crate::Result;

/// How long a service's stopped tasks are kept after it last settled.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// How long after a task is first seen STOPPED its log tail is read. A line
/// is not readable the moment the container prints it: the awslogs driver
/// ships lines in batches and CloudWatch Logs ingests them seconds later
/// (`ingestionTime`,
/// <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_OutputLogEvent.html>;
/// readers that stop at the task's stop lose its last lines, as
/// apache/airflow#21573 found), and the last lines are the ones that say
/// why. The tail is read once, so it is read late enough.
pub const LOG_SETTLE: Duration = Duration::from_secs(5);

/// The last status ECS gives a task: its description is final.
const STOPPED: &str = "STOPPED";

/// A task as one DescribeTasks answer showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DescribedStop {
    /// The ECS task group: `service:NAME` for a service's tasks.
    pub group: Option<String>,
    pub last_status: String,
    /// When it stopped (or, before it did, was created), Unix
    /// milliseconds: the cache's order, newest first.
    pub stopped_ms: i64,
    pub task: StoppedTask,
}

/// The reads the cache makes, behind a trait so that the tests count them
/// against a fake; [`super::Ecs`] makes them through the paced caller.
pub(crate) trait StopReads {
    /// Every ARN ECS lists as stopped in the cluster; returns them and the
    /// calls made (one per page of 100).
    async fn list_stopped(&self) -> Result<(Vec<String>, usize)>;
    /// ONE DescribeTasks call for at most [`DESCRIBE_TASKS_BATCH`] ARNs.
    async fn describe(&self, batch: &[String]) -> Result<Vec<DescribedStop>>;
    /// ONE GetLogEvents call for the last lines of `stream`; `None`
    /// without a log group (no call made).
    async fn log_tail(&self, stream: &str) -> Option<Result<Vec<String>>>;
}

/// The calls one [`StoppedTasks::read_tick`] made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopReadCalls {
    /// ListTasks and DescribeTasks.
    pub ecs: usize,
    /// GetLogEvents.
    pub logs: usize,
}

/// One kept stopped task.
#[derive(Debug, Clone)]
struct Kept {
    task: StoppedTask,
    stopped_ms: i64,
    /// Its description is final (STOPPED).
    done: bool,
    /// When it was first described STOPPED, by this process's clock.
    done_at: Option<Instant>,
    /// Its log was read, or will never be (an older failure, or no
    /// container to read).
    log_settled: bool,
}

#[derive(Debug)]
struct ServiceStops {
    /// Newest first.
    tasks: Vec<Kept>,
    last_settling: Instant,
}

#[derive(Debug, Default)]
struct State {
    /// Every ARN described, listed by the last sweep: whether its
    /// description is final.
    described: BTreeMap<String, bool>,
    services: BTreeMap<String, ServiceStops>,
}

/// The cache; see the module's documentation.
#[derive(Debug, Default)]
pub(crate) struct StoppedTasks {
    state: Mutex<State>,
}

/// A log read to make: the service, the task, the stream.
struct TailRead {
    service: String,
    task_arn: String,
    stream: String,
}

impl StoppedTasks {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update leaves the state whole, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One progress tick's read for `settling` (service name to its
    /// `ferry:app`) at `now`; see the module's documentation. A failing
    /// listing or description ends the read with its error, recording
    /// nothing of this tick's descriptions (the next tick describes them
    /// again; the calls already made are not in the error); a failing log
    /// read leaves that task with an empty tail, never read again.
    pub(crate) async fn read_tick(
        &self,
        reads: &impl StopReads,
        settling: &BTreeMap<String, String>,
        now: Instant,
    ) -> Result<StopReadCalls> {
        self.forget(settling, now);
        let mut calls = StopReadCalls::default();
        if settling.is_empty() {
            return Ok(calls);
        }
        let (listed, made) = reads.list_stopped().await?;
        calls.ecs += made;
        let wanted: Vec<String> = {
            let state = self.state();
            listed
                .iter()
                .filter(|arn| state.described.get(*arn) != Some(&true))
                .cloned()
                .collect()
        };
        let mut described = Vec::new();
        for batch in wanted.chunks(DESCRIBE_TASKS_BATCH) {
            described.extend(reads.describe(batch).await?);
            calls.ecs += 1;
        }
        self.record(&listed, described, settling, now);
        for tail in self.tails_to_read(settling, now) {
            let lines = match reads.log_tail(&tail.stream).await {
                None => continue,
                Some(result) => {
                    calls.logs += 1;
                    result.unwrap_or_else(|err| {
                        debug!(stream = %tail.stream, error = %err, "no log tail for a stopped task");
                        Vec::new()
                    })
                }
            };
            self.set_tail(&tail, lines);
        }
        Ok(calls)
    }

    /// The kept stopped tasks of `service`, newest first.
    pub(crate) fn of(&self, service: &str) -> Vec<StoppedTask> {
        self.state()
            .services
            .get(service)
            .map(|s| s.tasks.iter().map(|k| k.task.clone()).collect())
            .unwrap_or_default()
    }

    /// Marks the settling services as settling at `now`, and forgets the
    /// tasks of those that have not been settling for [`FORGET_AFTER`].
    fn forget(&self, settling: &BTreeMap<String, String>, now: Instant) {
        let mut state = self.state();
        for (name, stops) in state.services.iter_mut() {
            if settling.contains_key(name) {
                stops.last_settling = now;
            }
        }
        state
            .services
            .retain(|_, stops| now.saturating_duration_since(stops.last_settling) < FORGET_AFTER);
    }

    /// Records a sweep: what was described, and which ARNs ECS still lists.
    fn record(
        &self,
        listed: &[String],
        described: Vec<DescribedStop>,
        settling: &BTreeMap<String, String>,
        now: Instant,
    ) {
        let mut state = self.state();
        let listed: BTreeSet<&String> = listed.iter().collect();
        state.described.retain(|arn, _| listed.contains(arn));
        for stop in described {
            let done = stop.last_status == STOPPED;
            state.described.insert(stop.task.task_arn.clone(), done);
            let Some(service) = stop
                .group
                .as_deref()
                .and_then(|g| g.strip_prefix("service:"))
                .filter(|name| settling.contains_key(*name))
            else {
                continue;
            };
            let stops = state
                .services
                .entry(service.to_owned())
                .or_insert_with(|| ServiceStops {
                    tasks: Vec::new(),
                    last_settling: now,
                });
            stops
                .tasks
                .retain(|k| k.task.task_arn != stop.task.task_arn);
            stops.tasks.push(Kept {
                log_settled: !ran_and_failed(&stop.task),
                task: stop.task,
                stopped_ms: stop.stopped_ms,
                done,
                done_at: done.then_some(now),
            });
            keep_newest(&mut stops.tasks);
        }
    }

    /// Per settling service with an app, the newest finished task that
    /// ran and failed, whose lines are unread and that has been STOPPED for
    /// [`LOG_SETTLE`] at `now`; the older unread ones of the service are
    /// then settled unread, the newer ones wait for their turn (so a crash
    /// loop faster than the settle time still gets a tail read each tick).
    fn tails_to_read(&self, settling: &BTreeMap<String, String>, now: Instant) -> Vec<TailRead> {
        let mut state = self.state();
        let mut tails = Vec::new();
        for (service, app) in settling {
            let Some(stops) = state.services.get_mut(service) else {
                continue;
            };
            // Newer ones first: skip those whose last lines may not be
            // readable yet.
            let mut unread = stops
                .tasks
                .iter_mut()
                .filter(|k| k.done && !k.log_settled)
                .skip_while(|k| {
                    k.done_at
                        .is_none_or(|at| now.saturating_duration_since(at) < LOG_SETTLE)
                });
            let Some(newest) = unread.next() else {
                continue;
            };
            newest.log_settled = true;
            if let Some(container) = &newest.task.log_container {
                tails.push(TailRead {
                    service: service.clone(),
                    task_arn: newest.task.task_arn.clone(),
                    stream: crate::logs::stream_name(app, container, newest.task.task_id()),
                });
            }
            unread.for_each(|k| k.log_settled = true);
        }
        tails
    }

    fn set_tail(&self, tail: &TailRead, lines: Vec<String>) {
        let mut state = self.state();
        let kept = state.services.get_mut(&tail.service).and_then(|s| {
            s.tasks
                .iter_mut()
                .find(|k| k.task.task_arn == tail.task_arn)
        });
        if let Some(kept) = kept {
            kept.task.log_tail = Some(lines);
        }
    }
}

/// Sorts newest first and keeps at most [`MAX_STOPPED_PER_DEPLOYMENT`]
/// per deployment.
fn keep_newest(tasks: &mut Vec<Kept>) {
    tasks.sort_by_key(|k| std::cmp::Reverse(k.stopped_ms));
    let mut per_deployment: BTreeMap<String, usize> = BTreeMap::new();
    tasks.retain(|k| {
        let count = per_deployment
            .entry(k.task.deployment_id.clone())
            .or_default();
        *count += 1;
        *count <= MAX_STOPPED_PER_DEPLOYMENT
    });
}

/// A task whose log is worth a read: it ran (so a container wrote lines)
/// and its stop is a failure by the rule status judges with.
fn ran_and_failed(task: &StoppedTask) -> bool {
    task.started_at.is_some() && ferry_core::status::failures::is_failure(task)
}

/// The container whose log tells most (the rule status shows it by).
fn log_container(containers: &[StoppedContainer]) -> Option<String> {
    telling_container(containers).map(|c| c.name.clone())
}

/// A task as DescribeTasks shows it
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html>):
/// `startedBy` is the deployment id for a service's tasks, times are RFC
/// 3339.
pub(crate) fn described_stop(task: &ecs::Task) -> DescribedStop {
    let time = |t: Option<&aws_smithy_types::DateTime>| {
        t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
    };
    let containers: Vec<StoppedContainer> = task
        .containers()
        .iter()
        .map(|c| StoppedContainer {
            name: c.name().unwrap_or_default().to_owned(),
            exit_code: c.exit_code(),
            reason: c.reason().map(str::to_owned),
        })
        .collect();
    let stopped_ms = task
        .stopped_at()
        .or(task.created_at())
        .and_then(|t| t.to_millis().ok())
        .unwrap_or_default();
    DescribedStop {
        group: task.group().map(str::to_owned),
        last_status: task.last_status().unwrap_or_default().to_owned(),
        stopped_ms,
        task: StoppedTask {
            task_arn: task.task_arn().unwrap_or_default().to_owned(),
            deployment_id: task.started_by().unwrap_or_default().to_owned(),
            task_definition_arn: task.task_definition_arn().unwrap_or_default().to_owned(),
            started_at: time(task.started_at()),
            stopped_at: time(task.stopped_at()),
            stop_code: task.stop_code().map(|c| c.as_str().to_owned()),
            stopped_reason: task.stopped_reason().map(str::to_owned),
            log_container: log_container(&containers),
            containers,
            log_tail: None,
        },
    }
}

/// The reads through the paced caller: ListTasks and DescribeTasks in
/// [`Bucket::TaskReads`](ferry_call::Bucket::TaskReads), GetLogEvents in
/// [`Bucket::LogsTailReads`](ferry_call::Bucket::LogsTailReads).
struct PacedReads<'a> {
    ecs: &'a Ecs,
    logs: Option<&'a crate::Logs>,
}

impl StopReads for PacedReads<'_> {
    async fn list_stopped(&self) -> Result<(Vec<String>, usize)> {
        super::tasks::list_cluster_tasks(
            &self.ecs.client,
            &self.ecs.caller,
            &self.ecs.cluster,
            super::tasks::TasksOf::Cluster,
            ecs::DesiredStatus::Stopped,
        )
        .await
    }

    async fn describe(&self, batch: &[String]) -> Result<Vec<DescribedStop>> {
        let (tasks, _) = super::tasks::describe_tasks_as(
            &self.ecs.client,
            &self.ecs.caller,
            &self.ecs.cluster,
            batch,
            described_stop,
        )
        .await?;
        Ok(tasks)
    }

    async fn log_tail(&self, stream: &str) -> Option<Result<Vec<String>>> {
        let logs = self.logs?;
        Some(logs.stream_tail(stream, LOG_TAIL_LINES).await)
    }
}

impl Ecs {
    /// One progress tick's read of the stopped tasks of the services of
    /// `owner` that settle (see the module's documentation), their log
    /// tails read through `logs` (none without). Returns the calls made.
    pub async fn read_stopped_tasks(
        &self,
        owner: &str,
        logs: Option<&crate::Logs>,
    ) -> Result<StopReadCalls> {
        let settling: BTreeMap<String, String> = self
            .settling(owner)
            .into_iter()
            .filter_map(|name| {
                let app = self.services.get(&name)?.tags.get(names::TAG_APP)?.clone();
                Some((name, app))
            })
            .collect();
        let reads = PacedReads { ecs: self, logs };
        self.stopped
            .read_tick(&reads, &settling, Instant::now())
            .await
    }

    /// The kept stopped tasks of `service`, newest first: no call.
    pub(crate) fn stopped_tasks_of(&self, service: &str) -> Vec<StoppedTask> {
        self.stopped.of(service)
    }
}

#[cfg(test)]
#[path = "stopped_tests.rs"]
mod tests;
