//! Plans the schedules of one app.
//!
//! Render, observe (the types), plan and status of schedules, pure. The
//! schedule lives in this installation's schedule group
//! ([`crate::names::schedule_group`]). Schedules carry no tags (only groups do),
//! so a schedule is Ferry's for an app when it is in the group, has the
//! app's derived name, and its target's task tags (the ownership tags
//! every task it starts gets) say so.
//!
//! Guarantees, covered by property tests: a plan on converged schedules is
//! empty; executing a plan converges; no action names a schedule that is
//! not Ferry's for this app; a task definition is registered only when no

use super::ecs::reusable_revision;
use crate::model::action::{Action, TaskDefinitionRef};
use crate::model::blocker::{Blocker, BlockerReason};
use crate::model::desired::DesiredSchedule;
use crate::model::observed::{Observed, ObservedSchedule};
use crate::model::ownership::{self, Ownership};

/// Whose a schedule in the group is, from `app`'s point of view: by its
/// target's task tags.
pub fn ownership(schedule: &ObservedSchedule, owner: &str, app: &str) -> Ownership {
    ownership::ownership(&schedule.tags, owner, app)
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
            None => match reusable_revision(app, owner, &process.task_definition, observed) {
                Some(arn) => TaskDefinitionRef::Existing(arn),
                None => {
                    plan.registers.push(Action::RegisterTaskDefinition {
                        spec: process.task_definition.clone(),
                        tags: process.task_definition_tags().clone(),
                    });
                    TaskDefinitionRef::Registered(process.task_definition.family.clone())
                }
            },
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

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
