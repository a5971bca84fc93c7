//! The Scheduler executor: creates the installation's schedule group when
//! the first schedule needs it, and runs schedule actions, recording each
//! answer in the cache with the sequence number taken when it was sent.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use aws_sdk_scheduler::types as sch;
use ferry_core::names;
use ferry_core::schedule::{ObservedSchedule, ScheduleSpec};
use ferry_core::Action;

use super::requests::{built, resolve, target};
use super::{CachedSchedule, Scheduler, SCHEDULER};
use crate::cache::Seq;
use crate::{Error, Result};
use ferry_call::Bucket;

impl Scheduler {
    /// Creates the group, tagged as this installation's, if it does not
    /// exist; refuses one that exists without the tag.
    async fn ensure_group(&self) -> Result<()> {
        if self.group_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let found = self
            .caller
            .call(
                SCHEDULER,
                "GetScheduleGroup",
                Bucket::SchedulerGroups,
                &self.group,
                || self.client.get_schedule_group().name(&self.group).send(),
            )
            .await;
        match found {
            Ok(group) => {
                let arn = group.arn().unwrap_or_default().to_owned();
                let tags = self
                    .caller
                    .call(
                        SCHEDULER,
                        "ListTagsForResource",
                        Bucket::SchedulerGroups,
                        &self.group,
                        || {
                            self.client
                                .list_tags_for_resource()
                                .resource_arn(&arn)
                                .send()
                        },
                    )
                    .await?;
                let ours = tags
                    .tags()
                    .iter()
                    .any(|t| t.key() == names::TAG_MANAGED_BY && t.value() == self.owner);
                if !ours {
                    return Err(Error::Build {
                        what: "schedule group",
                        message: format!(
                            "schedule group {} exists without the tag {}={}; Ferry keeps its \
                             schedules only in a group it owns",
                            self.group,
                            names::TAG_MANAGED_BY,
                            self.owner
                        ),
                    });
                }
            }
            Err(err) if err.code() == Some("ResourceNotFoundException") => {
                let tag = built(
                    sch::Tag::builder()
                        .key(names::TAG_MANAGED_BY)
                        .value(&self.owner)
                        .build(),
                    "Scheduler tag",
                )?;
                let created = self
                    .caller
                    .call(
                        SCHEDULER,
                        "CreateScheduleGroup",
                        Bucket::SchedulerGroups,
                        &self.group,
                        || {
                            self.client
                                .create_schedule_group()
                                .name(&self.group)
                                .tags(tag.clone())
                                .send()
                        },
                    )
                    .await;
                match created {
                    Ok(_) => {}
                    // Another replica, or an earlier answer lost: check it next time.
                    Err(err) if err.code() == Some("ConflictException") => return Ok(()),
                    Err(err) => return Err(err),
                }
            }
            Err(err) => return Err(err),
        }
        self.group_ready.store(true, Ordering::Release);
        Ok(())
    }

    /// Executes one schedule action; `registered` carries the revisions
    /// registered earlier in the same plan. Other actions are refused. A
    /// failure marks the cache not ready (see [`Scheduler::is_ready`]).
    pub async fn execute(
        &self,
        action: &Action,
        registered: &BTreeMap<String, String>,
    ) -> Result<()> {
        let result = self.execute_schedule(action, registered).await;
        if result.is_err() {
            self.schedules.invalidate();
        }
        result
    }

    async fn execute_schedule(
        &self,
        action: &Action,
        registered: &BTreeMap<String, String>,
    ) -> Result<()> {
        // Taken before any request of the action is sent.
        let seq = self.schedules.begin();
        match action {
            Action::CreateSchedule {
                schedule,
                task_definition,
            }
            | Action::UpdateSchedule {
                schedule,
                task_definition,
            } => {
                let arn = resolve(task_definition, registered)?;
                let target = target(schedule, &arn)?;
                let window = built(
                    sch::FlexibleTimeWindow::builder()
                        .mode(sch::FlexibleTimeWindowMode::Off)
                        .build(),
                    "Scheduler flexible time window",
                )?;
                let create = matches!(action, Action::CreateSchedule { .. });
                if create {
                    self.ensure_group().await?;
                    let request = self
                        .client
                        .create_schedule()
                        .name(&schedule.name)
                        .group_name(&schedule.group)
                        .schedule_expression(&schedule.expression)
                        .schedule_expression_timezone(&schedule.timezone)
                        .flexible_time_window(window)
                        .state(sch::ScheduleState::Enabled)
                        .target(target);
                    self.caller
                        .call(
                            SCHEDULER,
                            "CreateSchedule",
                            Bucket::SchedulerSchedules,
                            &schedule.name,
                            || request.clone().send(),
                        )
                        .await?;
                } else {
                    let request = self
                        .client
                        .update_schedule()
                        .name(&schedule.name)
                        .group_name(&schedule.group)
                        .schedule_expression(&schedule.expression)
                        .schedule_expression_timezone(&schedule.timezone)
                        .flexible_time_window(window)
                        .state(sch::ScheduleState::Enabled)
                        .target(target);
                    self.caller
                        .call(
                            SCHEDULER,
                            "UpdateSchedule",
                            Bucket::SchedulerSchedules,
                            &schedule.name,
                            || request.clone().send(),
                        )
                        .await?;
                }
                self.remember(seq, schedule, &arn);
            }
            Action::DeleteSchedule { name, group } => {
                let result = self
                    .caller
                    .call(
                        SCHEDULER,
                        "DeleteSchedule",
                        Bucket::SchedulerSchedules,
                        name,
                        || {
                            self.client
                                .delete_schedule()
                                .name(name)
                                .group_name(group)
                                .send()
                        },
                    )
                    .await;
                match result {
                    Ok(_) => {}
                    Err(err) if err.code() == Some("ResourceNotFoundException") => {}
                    Err(err) => return Err(err),
                }
                self.schedules.remove(seq, name);
            }
            other => {
                return Err(Error::Build {
                    what: "Scheduler request",
                    message: format!("not a schedule action: {other}"),
                })
            }
        }
        Ok(())
    }

    /// Records what a write made, until the next listing reads it back.
    fn remember(&self, seq: Seq, spec: &ScheduleSpec, task_definition_arn: &str) {
        let schedule = ObservedSchedule::written(spec, task_definition_arn.to_owned());
        let cached = CachedSchedule {
            modified: None,
            schedule,
        };
        self.schedules.put(seq, spec.name.clone(), cached);
    }
}

#[cfg(test)]
#[path = "execute_tests.rs"]
mod tests;
