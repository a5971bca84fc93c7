//! The EventBridge Scheduler adapter: the schedules of scheduled processes,
//! in this installation's schedule group, as a shared cache, and the
//! executor of schedule actions.
//!
//! **Observation.** One ListSchedules per 100 schedules of the group per
//! resync ([`Scheduler::refresh`]); GetSchedule only for a schedule whose
//! `LastModificationDate` differs from the one cached (new, or changed
//! since it was last read: by Ferry's own writes, which leave the date
//! unknown, or by someone else). ListSchedules does not return the
//! expression or the target, so a changed schedule has to be read once;
//! an unchanged one never is again. Reconciles read the cache
//! ([`Scheduler::observe`]) and make no Scheduler call.
//!
//! **Runs.** With [`Scheduler::with_dead_letters`], the same refresh reads
//! the schedules' dead-letter queue ([`crate::dead_letters`]); with
//! [`Scheduler::with_runs`], the tasks the schedules started
//! ([`crate::runs`]), both read by [`Scheduler::read_runs`] after each
//! refresh. Either failing is logged and leaves the schedules themselves
//! observed: status then shows what was read last.
//! [`Scheduler::observe_runs`] reads both caches.
//!
//! **Ownership.** Schedules carry no tags (only groups do). The group is
//! Ferry's: created by it, tagged `ferry:managed-by`, and refused if it
//! exists without that tag. Within it, the planner judges a schedule by
//! the tags its target puts on tasks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::types as sch;
use aws_sdk_scheduler::Client;
use aws_smithy_types::DateTime;
use ferry_core::names;
use ferry_core::schedule::{self, ObservedSchedule, ScheduleSpec};
use ferry_core::schedule_runs::ObservedRuns;
use ferry_core::{Action, DesiredSchedule, NetworkSpec, TaskDefinitionRef};
use tracing::warn;

use crate::dead_letters::DeadLetters;
use crate::runs::ScheduledRuns;
use crate::{Error, Result};
use ferry_call::{Bucket, Caller};

/// The service name calls are counted by (a name of its own: the
/// permission test reads each crate's service constants by name).
const SCHEDULER: &str = "scheduler";
/// The largest page ListSchedules returns.
const LIST_PAGE: i32 = 100;

pub struct Scheduler {
    client: Client,
    caller: Caller,
    owner: String,
    group: String,
    cache: Mutex<Cache>,
    dead_letters: Option<DeadLetters>,
    runs: Option<ScheduledRuns>,
}

#[derive(Default)]
struct Cache {
    /// By name: the schedule and the modification date it was read at
    /// (`None` after Ferry's own write: read it again at the next listing).
    schedules: BTreeMap<String, (Option<DateTime>, ObservedSchedule)>,
    /// Whether the group is known to exist and be ours.
    group_ready: bool,
}

fn built<T, E: std::fmt::Display>(
    result: std::result::Result<T, E>,
    what: &'static str,
) -> Result<T> {
    result.map_err(|e| Error::Build {
        what,
        message: e.to_string(),
    })
}

impl Scheduler {
    /// The adapter for `owner`'s group ([`names::schedule_group`]).
    pub fn new(client: Client, caller: Caller, owner: impl Into<String>) -> Self {
        let owner = owner.into();
        Self {
            client,
            caller,
            group: names::schedule_group(&owner),
            owner,
            cache: Mutex::new(Cache::default()),
            dead_letters: None,
            runs: None,
        }
    }

    /// Reads the schedules' dead-letter queue at each refresh.
    pub fn with_dead_letters(mut self, dead_letters: DeadLetters) -> Self {
        self.dead_letters = Some(dead_letters);
        self
    }

    /// Reads the tasks the schedules started at each refresh.
    pub fn with_runs(mut self, runs: ScheduledRuns) -> Self {
        self.runs = Some(runs);
        self
    }

    /// What became of the runs of `schedules` (an app's, from
    /// [`Scheduler::observe`]), from the caches: no AWS call.
    pub fn observe_runs(
        &self,
        schedules: &BTreeMap<String, ObservedSchedule>,
    ) -> BTreeMap<String, ObservedRuns> {
        schedules
            .values()
            .map(|s| {
                let (failures, dead_letter_messages) = self
                    .dead_letters
                    .as_ref()
                    .map(|d| d.for_schedule(&s.name))
                    .unwrap_or_default();
                let runs = match (&self.runs, s.task_definition_arn.as_deref()) {
                    (Some(runs), Some(arn)) => {
                        crate::runs::family_of(arn).map_or_else(Vec::new, |f| runs.runs(f))
                    }
                    _ => Vec::new(),
                };
                let observed = ObservedRuns {
                    failures,
                    dead_letter_messages,
                    runs,
                };
                (s.name.clone(), observed)
            })
            .collect()
    }

    /// Deletes dead letters whose failures status now records (message
    /// ids from [`ObservedRuns::dead_letter_messages`]). Returns the calls.
    pub async fn delete_dead_letters(&self, messages: &[String]) -> Result<usize> {
        match &self.dead_letters {
            Some(dead_letters) => dead_letters.delete_received(messages).await,
            None => Ok(0),
        }
    }

    /// Reads the dead-letter queue and the schedules' tasks, for the
    /// schedules the last [`Scheduler::refresh`] listed; a failure is logged
    /// and the caches keep what they had. Returns the calls made. Apart
    /// from `refresh` so that `ferry diff`, which lists schedules, never
    /// touches the queue.
    pub async fn read_runs(&self) -> usize {
        let (names, families): (BTreeSet<String>, BTreeSet<String>) = {
            let cache = self.cache();
            let names = cache.schedules.keys().cloned().collect();
            let families = cache
                .schedules
                .values()
                .filter(|(_, s)| s.tags.get(names::TAG_MANAGED_BY) == Some(&self.owner))
                .filter_map(|(_, s)| s.task_definition_arn.as_deref())
                .filter_map(crate::runs::family_of)
                .map(str::to_owned)
                .collect();
            (names, families)
        };
        let mut calls = 0;
        if let Some(dead_letters) = &self.dead_letters {
            match dead_letters.receive(&names).await {
                Ok(n) => calls += n,
                Err(err) => warn!(error = %err, "reading the schedules' dead-letter queue failed"),
            }
        }
        if let Some(runs) = &self.runs {
            match runs.read(&families).await {
                Ok(n) => calls += n,
                Err(err) => warn!(error = %err, "reading the scheduled runs failed"),
            }
        }
        calls
    }

    /// The task definitions the cached schedules run: in use, so never
    /// retired by task-definition hygiene.
    pub fn task_definition_arns(&self) -> Vec<String> {
        self.cache()
            .schedules
            .values()
            .filter_map(|(_, s)| s.task_definition_arn.clone())
            .collect()
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lists the group and reads the schedules that changed. Returns the
    /// number of Scheduler calls made.
    pub async fn refresh(&self) -> Result<usize> {
        let mut summaries: Vec<(String, Option<DateTime>)> = Vec::new();
        let mut token: Option<String> = None;
        let mut calls = 0;
        loop {
            let result = self
                .caller
                .call(
                    SCHEDULER,
                    "ListSchedules",
                    Bucket::SchedulerSchedules,
                    &self.group,
                    || {
                        self.client
                            .list_schedules()
                            .group_name(&self.group)
                            .max_results(LIST_PAGE)
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await;
            calls += 1;
            let out = match result {
                Ok(out) => out,
                // No group yet: no schedules.
                Err(err) if err.code() == Some("ResourceNotFoundException") => break,
                Err(err) => return Err(err),
            };
            for summary in out.schedules() {
                if let Some(name) = summary.name() {
                    summaries.push((name.to_owned(), summary.last_modification_date().cloned()));
                }
            }
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        let stale: Vec<String> = {
            let cache = self.cache();
            summaries
                .iter()
                .filter(|(name, modified)| {
                    cache
                        .schedules
                        .get(name)
                        .is_none_or(|(seen, _)| seen.is_none() || seen != modified)
                })
                .map(|(name, _)| name.clone())
                .collect()
        };
        let mut read = HashMap::new();
        for name in stale {
            calls += 1;
            if let Some(found) = self.get(&name).await? {
                read.insert(name, found);
            }
        }
        {
            let mut cache = self.cache();
            let listed: BTreeMap<String, Option<DateTime>> = summaries.into_iter().collect();
            cache.schedules.retain(|name, _| listed.contains_key(name));
            for (name, (modified, schedule)) in read {
                cache.schedules.insert(name, (modified, schedule));
            }
        }
        Ok(calls)
    }

    async fn get(&self, name: &str) -> Result<Option<(Option<DateTime>, ObservedSchedule)>> {
        let result = self
            .caller
            .call(
                SCHEDULER,
                "GetSchedule",
                Bucket::SchedulerSchedules,
                name,
                || {
                    self.client
                        .get_schedule()
                        .name(name)
                        .group_name(&self.group)
                        .send()
                },
            )
            .await;
        let out = match result {
            Ok(out) => out,
            Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
            Err(err) => return Err(err),
        };
        let observed = observed(name, &self.group, &out);
        Ok(Some((out.last_modification_date().cloned(), observed)))
    }

    /// The cached schedules of one app: those it should have and those
    /// named for it (`{app}_...`: app names have no `_`).
    pub fn observe(
        &self,
        app: &str,
        desired: &[DesiredSchedule],
    ) -> BTreeMap<String, ObservedSchedule> {
        let prefix = format!("{app}_");
        self.cache()
            .schedules
            .iter()
            .filter(|(name, _)| {
                name.starts_with(&prefix) || desired.iter().any(|d| &d.schedule.name == *name)
            })
            .map(|(name, (_, schedule))| (name.clone(), schedule.clone()))
            .collect()
    }

    /// Creates the group, tagged as this installation's, if it does not
    /// exist; refuses one that exists without the tag.
    async fn ensure_group(&self) -> Result<()> {
        if self.cache().group_ready {
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
        self.cache().group_ready = true;
        Ok(())
    }

    /// Executes one schedule action; `registered` carries the revisions
    /// registered earlier in the same plan. Other actions are refused.
    pub async fn execute(
        &self,
        action: &Action,
        registered: &BTreeMap<String, String>,
    ) -> Result<()> {
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
                self.remember(schedule, &arn);
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
                self.cache().schedules.remove(name);
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
    fn remember(&self, spec: &ScheduleSpec, task_definition_arn: &str) {
        let observed = ObservedSchedule::written(spec, task_definition_arn.to_owned());
        self.cache()
            .schedules
            .insert(spec.name.clone(), (None, observed));
    }
}

/// A schedule as GetSchedule returned it, in the rendered form: the read
/// side of [`target`] (the two agree: see the round-trip test).
fn observed(name: &str, group: &str, out: &GetScheduleOutput) -> ObservedSchedule {
    let target = out.target();
    let ecs = target.and_then(|t| t.ecs_parameters());
    let vpc = ecs
        .and_then(|e| e.network_configuration())
        .and_then(|n| n.awsvpc_configuration());
    let (tags, legacy_tags) = ecs.map(|e| tags_from(e.tags())).unwrap_or_default();
    ObservedSchedule {
        name: name.to_owned(),
        group: group.to_owned(),
        expression: out.schedule_expression().unwrap_or_default().to_owned(),
        timezone: out
            .schedule_expression_timezone()
            .unwrap_or(default_timezone())
            .to_owned(),
        state: out
            .state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        cluster: target.and_then(|t| cluster_name(t.arn())),
        role_arn: target.map(|t| t.role_arn().to_owned()),
        task_definition_arn: ecs.map(|e| e.task_definition_arn().to_owned()),
        task_definition: None,
        network: vpc.map(|v| {
            let mut subnets = v.subnets().to_vec();
            subnets.sort();
            let mut groups = v.security_groups().to_vec();
            groups.sort();
            NetworkSpec {
                subnets,
                security_groups: groups,
                assign_public_ip: v.assign_public_ip() == Some(&sch::AssignPublicIp::Enabled),
            }
        }),
        tags,
        legacy_tags,
        fargate: ecs.and_then(|e| e.launch_type()) == Some(&sch::LaunchType::Fargate),
        window_off: out.flexible_time_window().map(|w| w.mode())
            == Some(&sch::FlexibleTimeWindowMode::Off),
        dead_letter_arn: target
            .and_then(|t| t.dead_letter_config())
            .and_then(|d| d.arn())
            .map(str::to_owned),
        retry_policy: target.and_then(|t| t.retry_policy()).and_then(|r| {
            Some(schedule::RetryPolicy {
                maximum_retry_attempts: u32::try_from(r.maximum_retry_attempts()?).ok()?,
                maximum_event_age_seconds: u32::try_from(r.maximum_event_age_in_seconds()?).ok()?,
            })
        }),
        run_group: ecs.and_then(|e| e.group()).map(str::to_owned),
    }
}

fn default_timezone() -> &'static str {
    // Scheduler's default when a schedule has no timezone.
    "UTC"
}

/// `arn:...:cluster/NAME` to NAME.
fn cluster_name(arn: &str) -> Option<String> {
    let (_, resource) = arn.split_once(":cluster/")?;
    Some(resource.to_owned())
}

/// The cluster's ARN, from a task definition ARN of the same account and
/// Region (`arn:aws:ecs:REGION:ACCOUNT:task-definition/...`).
fn cluster_arn(task_definition_arn: &str, cluster: &str) -> Result<String> {
    match task_definition_arn.split_once(":task-definition/") {
        Some((prefix, _)) => Ok(format!("{prefix}:cluster/{cluster}")),
        None => Err(Error::Build {
            what: "schedule target",
            message: format!("{task_definition_arn} is not a task definition ARN"),
        }),
    }
}

/// ECS tags as Scheduler takes them: `EcsParameters.Tags` is "an array of
/// string-to-string maps" in which each map's entries are tags
/// (<https://docs.aws.amazon.com/scheduler/latest/APIReference/API_EcsParameters.html>),
/// so each tag goes as its own one-entry map `{K: V}`. The shape of an ECS
/// tag (`{"key": K, "value": V}`) would be read as two tags literally named
/// `key` and `value`, and with more than one such map every RunTask fails
/// with `InvalidParameterException: Multiple tags contain the same key.`
/// (hashicorp/terraform-provider-aws#32259, #45629).
fn tags_to(tags: &BTreeMap<String, String>) -> Vec<HashMap<String, String>> {
    tags.iter()
        .map(|(k, v)| HashMap::from([(k.clone(), v.clone())]))
        .collect()
}

/// The tags a schedule's tasks get, read back as Scheduler reads them
/// (every entry of every map is a tag), and whether they are in the shape
/// Ferry wrote before it sent them right ([`legacy_tags`]).
fn tags_from(tags: &[HashMap<String, String>]) -> (BTreeMap<String, String>, bool) {
    if let Some(legacy) = legacy_tags(tags) {
        return (legacy, true);
    }
    let read = tags
        .iter()
        .flat_map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect();
    (read, false)
}

/// The tags a schedule written by an earlier Ferry meant: more than one map,
/// each exactly `{"key": K, "value": V}`. AWS reads them as duplicate tags
/// and every run fails, but the meaning is what tells whose schedule it is:
/// read this way, Ferry recognises its own schedule and rewrites it instead
/// of reporting a name conflict forever. One such map alone is two valid
/// tags (`key` and `value`), and is read as AWS reads it.
fn legacy_tags(tags: &[HashMap<String, String>]) -> Option<BTreeMap<String, String>> {
    if tags.len() < 2 {
        return None;
    }
    tags.iter()
        .map(|map| {
            (map.len() == 2)
                .then(|| Some((map.get("key")?.clone(), map.get("value")?.clone())))
                .flatten()
        })
        .collect()
}

fn target(schedule: &ScheduleSpec, task_definition_arn: &str) -> Result<sch::Target> {
    let role = schedule.role_arn.clone().ok_or_else(|| Error::Build {
        what: "schedule target",
        message: "no --scheduler-role-arn is configured".to_owned(),
    })?;
    let vpc = built(
        sch::AwsVpcConfiguration::builder()
            .set_subnets(Some(schedule.network.subnets.clone()))
            .set_security_groups(Some(schedule.network.security_groups.clone()))
            .assign_public_ip(if schedule.network.assign_public_ip {
                sch::AssignPublicIp::Enabled
            } else {
                sch::AssignPublicIp::Disabled
            })
            .build(),
        "Scheduler awsvpc configuration",
    )?;
    let ecs = built(
        sch::EcsParameters::builder()
            .task_definition_arn(task_definition_arn)
            .task_count(1)
            .launch_type(sch::LaunchType::Fargate)
            .network_configuration(
                sch::NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc)
                    .build(),
            )
            .set_tags(Some(tags_to(&schedule.tags)))
            .group(schedule::RUN_GROUP)
            .build(),
        "Scheduler ECS parameters",
    )?;
    // Explicit, never Scheduler's default of 185 retries over 24 hours:
    // see `schedule::RETRY_POLICY` for why these values.
    let retry = sch::RetryPolicy::builder()
        .maximum_retry_attempts(to_i32(schedule::RETRY_POLICY.maximum_retry_attempts))
        .maximum_event_age_in_seconds(to_i32(schedule::RETRY_POLICY.maximum_event_age_seconds))
        .build();
    let dead_letters = schedule
        .dead_letter_arn
        .as_ref()
        .map(|arn| sch::DeadLetterConfig::builder().arn(arn).build());
    built(
        sch::Target::builder()
            .arn(cluster_arn(task_definition_arn, &schedule.cluster)?)
            .role_arn(role)
            .ecs_parameters(ecs)
            .retry_policy(retry)
            .set_dead_letter_config(dead_letters)
            .build(),
        "Scheduler target",
    )
}

fn to_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn resolve(reference: &TaskDefinitionRef, registered: &BTreeMap<String, String>) -> Result<String> {
    match reference {
        TaskDefinitionRef::Existing(arn) => Ok(arn.clone()),
        TaskDefinitionRef::Registered(family) => {
            registered.get(family).cloned().ok_or_else(|| Error::Build {
                what: "schedule target",
                message: format!("no revision of {family} was registered earlier in the plan"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_arn_comes_from_the_task_definition_arn() {
        assert_eq!(
            cluster_arn(
                "arn:aws:ecs:eu-central-1:123456789012:task-definition/acme_nightly:3",
                "apps"
            )
            .ok(),
            Some("arn:aws:ecs:eu-central-1:123456789012:cluster/apps".to_owned())
        );
        assert!(cluster_arn("acme_nightly:3", "apps").is_err());
        assert_eq!(
            cluster_name("arn:aws:ecs:eu-central-1:123456789012:cluster/apps").as_deref(),
            Some("apps")
        );
    }

    #[test]
    fn each_tag_goes_as_its_own_map_and_reads_back() {
        let tags = names::ownership_tags("ferry", "acme", Some("nightly"));
        let sent = tags_to(&tags);
        assert_eq!(sent.len(), tags.len());
        for (map, (k, v)) in sent.iter().zip(&tags) {
            assert_eq!(map.len(), 1);
            assert_eq!(map.get(k), Some(v));
        }
        assert_eq!(tags_from(&sent), (tags, false));
    }

    #[test]
    fn maps_are_read_as_aws_reads_them_and_the_old_shape_is_recognised() {
        // Several entries in one map are several tags.
        let one = vec![HashMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ])];
        let (read, legacy) = tags_from(&one);
        assert!(!legacy);
        assert_eq!(read.len(), 2);
        // One {"key", "value"} map alone is two tags named key and value.
        let single = vec![HashMap::from([
            ("key".to_owned(), "ferry:app".to_owned()),
            ("value".to_owned(), "acme".to_owned()),
        ])];
        let (read, legacy) = tags_from(&single);
        assert!(!legacy);
        assert_eq!(read.get("key").map(String::as_str), Some("ferry:app"));
        // What Ferry used to send: its meaning, flagged so it is rewritten.
        let tags = names::ownership_tags("ferry", "acme", Some("nightly"));
        let old: Vec<HashMap<String, String>> = tags
            .iter()
            .map(|(k, v)| {
                HashMap::from([
                    ("key".to_owned(), k.clone()),
                    ("value".to_owned(), v.clone()),
                ])
            })
            .collect();
        assert_eq!(tags_from(&old), (tags, true));
    }

    fn spec(dead_letter_arn: Option<&str>) -> ScheduleSpec {
        ScheduleSpec {
            name: "acme_nightly".into(),
            group: "ferry-ferry".into(),
            expression: "cron(0 3 * * ? *)".into(),
            timezone: "Europe/Berlin".into(),
            cluster: "apps".into(),
            role_arn: Some("arn:aws:iam::123456789012:role/scheduler".into()),
            network: NetworkSpec {
                subnets: vec!["subnet-a".into(), "subnet-b".into()],
                security_groups: vec!["sg-1".into()],
                assign_public_ip: false,
            },
            tags: names::ownership_tags("ferry", "acme", Some("nightly")),
            dead_letter_arn: dead_letter_arn.map(Into::into),
        }
    }

    /// What Ferry sends is what it reads back as converged: otherwise every
    /// resync would update the schedule again.
    #[test]
    fn a_written_target_reads_back_as_converged() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/acme_nightly:3";
        for queue in [
            None,
            Some("arn:aws:sqs:us-east-1:123456789012:ferry-ferry-schedule-dlq"),
        ] {
            let spec = spec(queue);
            let target = target(&spec, arn).expect("target");
            let ecs = target.ecs_parameters().expect("ECS parameters");
            assert_eq!(ecs.group(), Some(schedule::RUN_GROUP));
            let retry = target.retry_policy().expect("retry policy");
            assert_eq!(retry.maximum_retry_attempts(), Some(2));
            assert_eq!(retry.maximum_event_age_in_seconds(), Some(300));
            assert_eq!(
                target.dead_letter_config().and_then(|d| d.arn()),
                queue,
                "a dead-letter queue only with --schedule-dlq-arn"
            );
            let out = GetScheduleOutput::builder()
                .schedule_expression(&spec.expression)
                .schedule_expression_timezone(&spec.timezone)
                .state(sch::ScheduleState::Enabled)
                .flexible_time_window(
                    sch::FlexibleTimeWindow::builder()
                        .mode(sch::FlexibleTimeWindowMode::Off)
                        .build()
                        .expect("window"),
                )
                .target(target)
                .build();
            let read = observed(&spec.name, &spec.group, &out);
            assert!(read.matches(&spec), "{read:?}");
            assert_eq!(read.task_definition_arn.as_deref(), Some(arn));
            assert_eq!(read, ObservedSchedule::written(&spec, arn.to_owned()));
            // Another queue, or none, is drift.
            let mut other = spec.clone();
            other.dead_letter_arn = Some("arn:aws:sqs:us-east-1:123456789012:other".into());
            assert!(!read.matches(&other));
        }
    }
}
