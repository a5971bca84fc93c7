//! The Scheduler requests Ferry sends and the answers it reads back: a
//! schedule's target as Ferry writes it, and a schedule as GetSchedule
//! describes it, in the same (rendered) form, so that what Ferry wrote
//! reads back as converged.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::types as sch;
use ferry_core::schedule::{self, ObservedSchedule, ScheduleSpec};
use ferry_core::task::{sorted_strategy, CapacityProviderItem};
use ferry_core::{NetworkSpec, TaskDefinitionRef};

use crate::{Error, Result};

pub(super) fn built<T, E: std::fmt::Display>(
    result: std::result::Result<T, E>,
    what: &'static str,
) -> Result<T> {
    result.map_err(|e| Error::Build {
        what,
        message: e.to_string(),
    })
}

/// A schedule as GetSchedule returned it, in the rendered form: the read
/// side of [`target`] (the two agree: see the round-trip test).
pub(super) fn observed(name: &str, group: &str, out: &GetScheduleOutput) -> ObservedSchedule {
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
        capacity_provider_strategy: sorted_strategy(
            ecs.map(|e| e.capacity_provider_strategy())
                .unwrap_or_default()
                .iter()
                .map(|item| CapacityProviderItem {
                    capacity_provider: item.capacity_provider().to_owned(),
                    base: u32::try_from(item.base()).unwrap_or(0),
                    weight: u32::try_from(item.weight()).unwrap_or(0),
                })
                .collect(),
        ),
        enable_execute_command: ecs
            .and_then(|e| e.enable_execute_command())
            .unwrap_or(false),
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

pub(super) fn target(schedule: &ScheduleSpec, task_definition_arn: &str) -> Result<sch::Target> {
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
    let strategy = schedule
        .capacity_provider_strategy
        .iter()
        .map(|item| {
            built(
                sch::CapacityProviderStrategyItem::builder()
                    .capacity_provider(&item.capacity_provider)
                    .base(to_i32(item.base))
                    .weight(to_i32(item.weight))
                    .build(),
                "Scheduler capacity provider strategy",
            )
        })
        .collect::<Result<Vec<_>>>()?;
    // A launch type or a strategy, never both: "If a
    // capacityProviderStrategy is specified, the launchType parameter must
    // be omitted"
    // (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_EcsParameters.html).
    let (launch_type, strategy) = if strategy.is_empty() {
        (Some(sch::LaunchType::Fargate), None)
    } else {
        (None, Some(strategy))
    };
    let ecs = built(
        sch::EcsParameters::builder()
            .task_definition_arn(task_definition_arn)
            .task_count(1)
            .set_launch_type(launch_type)
            .set_capacity_provider_strategy(strategy)
            // Sent only when on, so a schedule without exec is written as
            // before it existed.
            .set_enable_execute_command(schedule.enable_execute_command.then_some(true))
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

pub(super) fn resolve(
    reference: &TaskDefinitionRef,
    registered: &BTreeMap<String, String>,
) -> Result<String> {
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
#[path = "requests_tests.rs"]
mod tests;
