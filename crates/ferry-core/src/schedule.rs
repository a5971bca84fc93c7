//! Scheduled processes: a process with `schedule` has no ECS service; an
//! EventBridge Scheduler schedule runs its task definition instead.
//!
//! Render, observe (the types), plan and status of schedules, pure. The
//! schedule lives in this installation's schedule group
//! ([`names::schedule_group`]). Schedules carry no tags (only groups do),
//! so a schedule is Ferry's for an app when it is in the group, has the
//! app's derived name, and its target's task tags (the ownership tags
//! every task it starts gets) say so.
//!
//! Guarantees, covered by property tests: a plan on converged schedules is
//! empty; executing a plan converges; no action names a schedule that is
//! not Ferry's for this app; a task definition is registered only when no
//! revision of the family has the desired content.

use std::collections::BTreeMap;

use ferry_manifest::App;
use serde::{Deserialize, Serialize};

use crate::blocker::{Blocker, BlockerReason};
use crate::names::{self, Ownership};
use crate::observed::Observed;
use crate::plan::{Action, TaskDefinitionRef};
use crate::render::{self, NetworkSpec, Settings, TaskDefinitionSpec};
use crate::schedule_runs::{last_run, merge_failures, FailedInvocation, ScheduledRun};

/// The fields of a schedule Ferry manages, besides its task definition.
/// The target is ECS RunTask on the cluster, Fargate, with awsvpc
/// networking, the ownership tags on every task, and no flexible window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSpec {
    pub name: String,
    pub group: String,
    pub expression: String,
    pub timezone: String,
    /// The ECS cluster's name; the target is its ARN.
    pub cluster: String,
    /// The role EventBridge Scheduler assumes to call RunTask; `None` when
    /// the controller has none configured (then nothing is planned).
    pub role_arn: Option<String>,
    pub network: NetworkSpec,
    /// Put on each task the schedule starts.
    pub tags: BTreeMap<String, String>,
    /// The SQS queue Scheduler sends the invocations it gave up on to
    /// (`--schedule-dlq-arn`); `None`: failures are not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_arn: Option<String>,
}

/// How often and for how long Scheduler retries an invocation that failed
/// before it gives up (and sends the event to the dead-letter queue)
/// ([API_RetryPolicy](https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_seconds: u32,
}

/// The retry policy of every schedule Ferry makes: 2 retries within 5
/// minutes. Scheduler's default (185 retries over 24 hours, per
/// API_RetryPolicy) would report a failed run a day later, long after the
/// next run is due. What makes RunTask fail is mostly lasting (a refused
/// parameter, a missing task definition, a missing permission), and what
/// passes (throttling, capacity) has usually passed within minutes; two
/// retries cover a blip, and a failure shows in status within about five
/// minutes. A run that never happens is not made up for later: the next
/// scheduled time is the next chance.
pub const RETRY_POLICY: RetryPolicy = RetryPolicy {
    maximum_retry_attempts: 2,
    maximum_event_age_seconds: 300,
};

/// The ECS task group (`EcsParameters.Group`) of every task a schedule
/// starts. It tells scheduled runs apart from `ferry run` tasks (group
/// `family:<family>`, ECS's default) and services' tasks (`service:<name>`).
pub const RUN_GROUP: &str = "ferry:schedule";

/// Everything a scheduled process should be in AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredSchedule {
    pub process: String,
    pub task_definition: TaskDefinitionSpec,
    pub schedule: ScheduleSpec,
}

impl DesiredSchedule {
    /// Tags for the process's task definitions: the same as its tasks'.
    pub fn task_definition_tags(&self) -> &BTreeMap<String, String> {
        &self.schedule.tags
    }
}

/// A schedule in this installation's group, normalised into the rendered
/// form by the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSchedule {
    pub name: String,
    pub group: String,
    pub expression: String,
    pub timezone: String,
    /// `ENABLED` or `DISABLED`, as Scheduler reports it.
    pub state: String,
    /// The cluster name of an ECS target; `None` for any other target.
    pub cluster: Option<String>,
    pub role_arn: Option<String>,
    pub task_definition_arn: Option<String>,
    /// The target's task definition, described; `None` if it could not be.
    pub task_definition: Option<TaskDefinitionSpec>,
    pub network: Option<NetworkSpec>,
    /// The target's task tags.
    pub tags: BTreeMap<String, String>,
    /// The tags are in the shape an earlier Ferry wrote (`{"key": K,
    /// "value": V}` maps, which Scheduler reads as duplicate tags, so
    /// every run fails); `tags` holds what they meant. Never matches.
    pub legacy_tags: bool,
    /// Fargate launch type, and the flexible window off.
    pub fargate: bool,
    pub window_off: bool,
    /// The target's dead-letter queue.
    pub dead_letter_arn: Option<String>,
    /// The target's retry policy, when it has one.
    pub retry_policy: Option<RetryPolicy>,
    /// The ECS task group of the tasks it starts (`EcsParameters.Group`).
    pub run_group: Option<String>,
}

/// The state a schedule Ferry makes is in.
pub const ENABLED: &str = "ENABLED";

impl ObservedSchedule {
    /// The schedule a Create or UpdateSchedule of `spec` running
    /// `task_definition_arn` makes, until it is read back.
    pub fn written(spec: &ScheduleSpec, task_definition_arn: String) -> Self {
        Self {
            name: spec.name.clone(),
            group: spec.group.clone(),
            expression: spec.expression.clone(),
            timezone: spec.timezone.clone(),
            state: ENABLED.to_owned(),
            cluster: Some(spec.cluster.clone()),
            role_arn: spec.role_arn.clone(),
            task_definition_arn: Some(task_definition_arn),
            task_definition: None,
            network: Some(spec.network.clone()),
            tags: spec.tags.clone(),
            legacy_tags: false,
            fargate: true,
            window_off: true,
            dead_letter_arn: spec.dead_letter_arn.clone(),
            retry_policy: Some(RETRY_POLICY),
            run_group: Some(RUN_GROUP.to_owned()),
        }
    }

    /// Whether everything but the task definition is as `spec` wants it.
    pub fn matches(&self, spec: &ScheduleSpec) -> bool {
        self.expression == spec.expression
            && self.timezone == spec.timezone
            && self.state == ENABLED
            && self.cluster.as_deref() == Some(spec.cluster.as_str())
            && self.role_arn == spec.role_arn
            && self.network.as_ref() == Some(&spec.network)
            && self.tags == spec.tags
            && !self.legacy_tags
            && self.fargate
            && self.window_off
            && self.dead_letter_arn == spec.dead_letter_arn
            && self.retry_policy == Some(RETRY_POLICY)
            && self.run_group.as_deref() == Some(RUN_GROUP)
    }
}

/// Renders the scheduled processes of `app`, in process-name order.
pub fn render_schedules(app: &App, settings: &Settings) -> Vec<DesiredSchedule> {
    render::render_all(app, settings)
        .into_iter()
        .filter_map(|rendered| {
            let process = rendered.process.clone();
            let schedule = app.processes.get(&process)?.schedule.as_ref()?;
            Some(DesiredSchedule {
                schedule: ScheduleSpec {
                    name: names::schedule_name(&app.name, &process),
                    group: names::schedule_group(&settings.owner),
                    expression: schedule.expression.clone(),
                    timezone: schedule.timezone.clone(),
                    cluster: settings.cluster.clone(),
                    role_arn: settings.scheduler_role_arn.clone(),
                    network: rendered.service.network.clone(),
                    tags: rendered.service.tags.clone(),
                    dead_letter_arn: settings.schedule_dlq_arn.clone(),
                },
                process,
                task_definition: rendered.task_definition,
            })
        })
        .collect()
}

/// Whose a schedule in the group is, from `app`'s point of view: by its
/// target's task tags.
pub fn ownership(schedule: &ObservedSchedule, owner: &str, app: &str) -> Ownership {
    names::ownership(&schedule.tags, owner, app)
}

/// What a plan for the schedules of one app holds: registrations come
/// first in the whole plan, deletions last.
#[derive(Debug, Default)]
pub struct SchedulePlan {
    pub registers: Vec<Action>,
    pub changes: Vec<Action>,
    pub deletes: Vec<Action>,
    pub blockers: Vec<Blocker>,
}

/// Plans the schedules of one app. `desired` is empty for an app being
/// deleted: then every schedule it owns is deleted.
pub fn plan_schedules(
    app: &str,
    owner: &str,
    desired: &[DesiredSchedule],
    observed: &Observed,
) -> SchedulePlan {
    let mut plan = SchedulePlan::default();
    for process in desired {
        let spec = &process.schedule;
        if spec.role_arn.is_none() {
            plan.blockers.push(Blocker {
                process: process.process.clone(),
                reason: BlockerReason::NoSchedulerRole,
                message: format!(
                    "process {} has a schedule, but the controller has no role for EventBridge \
                     Scheduler to run tasks with; start it with --scheduler-role-arn \
                     (FERRY_SCHEDULER_ROLE_ARN)",
                    process.process
                ),
            });
            continue;
        }
        let current = observed.schedules.get(&spec.name);
        if let Some(current) = current {
            let whose = match ownership(current, owner, app) {
                Ownership::Ours => None,
                Ownership::OtherApp(other) => Some(format!("Ferry app {other}")),
                Ownership::Foreign => Some("something other than Ferry".to_owned()),
            };
            if let Some(whose) = whose {
                plan.blockers.push(Blocker {
                    process: process.process.clone(),
                    reason: BlockerReason::NameConflict,
                    message: format!(
                        "schedule {} in group {} exists and its tasks belong to {whose}; Ferry \
                         leaves it untouched",
                        spec.name, spec.group
                    ),
                });
                continue;
            }
        }
        let runs_desired = current.and_then(|c| {
            (c.task_definition.as_ref() == Some(&process.task_definition))
                .then(|| c.task_definition_arn.clone())
                .flatten()
        });
        let task_definition = match runs_desired {
            Some(arn) => TaskDefinitionRef::Existing(arn),
            None => {
                match crate::plan::reusable_revision(app, owner, &process.task_definition, observed)
                {
                    Some(arn) => TaskDefinitionRef::Existing(arn),
                    None => {
                        plan.registers.push(Action::RegisterTaskDefinition {
                            spec: process.task_definition.clone(),
                            tags: process.task_definition_tags().clone(),
                        });
                        TaskDefinitionRef::Registered(process.task_definition.family.clone())
                    }
                }
            }
        };
        match current {
            None => plan.changes.push(Action::CreateSchedule {
                schedule: spec.clone(),
                task_definition,
            }),
            Some(current) => {
                let same_revision = matches!(
                    &task_definition,
                    TaskDefinitionRef::Existing(arn)
                        if current.task_definition_arn.as_deref() == Some(arn.as_str())
                );
                if !same_revision || !current.matches(spec) {
                    plan.changes.push(Action::UpdateSchedule {
                        schedule: spec.clone(),
                        task_definition,
                    });
                }
            }
        }
    }
    for schedule in observed.schedules.values() {
        let wanted = desired.iter().any(|d| d.schedule.name == schedule.name);
        if wanted || ownership(schedule, owner, app) != Ownership::Ours {
            continue;
        }
        plan.deletes.push(Action::DeleteSchedule {
            name: schedule.name.clone(),
            group: schedule.group.clone(),
        });
    }
    plan
}

/// A schedule as `ferry status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleStatus {
    pub name: String,
    pub group: String,
    pub expression: String,
    pub timezone: String,
    /// `ENABLED` or `DISABLED` as observed; `PENDING` before it exists.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// Whether invocations Scheduler gives up on are reported here: only
    /// with a dead-letter queue (`--schedule-dlq-arn`).
    #[serde(default)]
    pub failures_reported: bool,
    /// The invocations Scheduler gave up on, newest first, at most
    /// [`MAX_FAILED_INVOCATIONS`](crate::schedule_runs::MAX_FAILED_INVOCATIONS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_invocations: Vec<FailedInvocation>,
    /// The newest task the schedule started, while ECS still lists it
    /// (stopped tasks for about an hour), else the last one seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<ScheduledRun>,
}

/// The status of each scheduled process: what exists where it does, what
/// is wanted otherwise; its failed invocations (those shown before with
/// those received since, bounded) and its last run (the one seen now, else
/// the one shown before).
pub fn status(
    desired: &[DesiredSchedule],
    observed: &Observed,
    previous: Option<&BTreeMap<String, ScheduleStatus>>,
) -> BTreeMap<String, ScheduleStatus> {
    desired
        .iter()
        .map(|d| {
            let current = observed.schedules.get(&d.schedule.name);
            let (name, group, expression, timezone, state, task_definition) = match current {
                Some(c) => (
                    c.name.clone(),
                    c.group.clone(),
                    c.expression.clone(),
                    c.timezone.clone(),
                    c.state.clone(),
                    c.task_definition_arn.clone(),
                ),
                None => (
                    d.schedule.name.clone(),
                    d.schedule.group.clone(),
                    d.schedule.expression.clone(),
                    d.schedule.timezone.clone(),
                    "PENDING".to_owned(),
                    None,
                ),
            };
            // Only what was shown for this same schedule carries over.
            let before = previous
                .and_then(|p| p.get(&d.process))
                .filter(|p| p.name == name && p.group == group);
            let runs = observed.schedule_runs.get(&d.schedule.name);
            let failed_invocations = merge_failures(
                before.map_or(&[][..], |b| &b.failed_invocations),
                runs.map_or(&[][..], |r| &r.failures),
            );
            let last_run = runs
                .and_then(|r| last_run(&r.runs))
                .or_else(|| before.and_then(|b| b.last_run.clone()));
            let status = ScheduleStatus {
                name,
                group,
                expression,
                timezone,
                state,
                task_definition,
                failures_reported: d.schedule.dead_letter_arn.is_some(),
                failed_invocations,
                last_run,
            };
            (d.process.clone(), status)
        })
        .collect()
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
