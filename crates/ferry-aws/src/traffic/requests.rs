//! The requests the traffic executor sends, built from Ferry's specs:
//! ELBv2 tags, conditions and actions, and Route53 changes.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_route53 as route53;
use ferry_core::traffic::AliasTarget;

use crate::{Error, Result};

/// The target group attribute Ferry sets and reads.
pub(super) const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";
/// TTL of the ownership TXT records.
const TXT_TTL: i64 = 300;

/// A request part the SDK refused to build, as Ferry's error.
pub(super) fn build<T>(
    result: std::result::Result<T, aws_smithy_types::error::operation::BuildError>,
    what: &'static str,
) -> Result<T> {
    result.map_err(|e| Error::Build {
        what,
        message: e.to_string(),
    })
}

pub(super) fn seconds(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

pub(super) fn elb_tags(tags: &BTreeMap<String, String>) -> Vec<elb::types::Tag> {
    tags.iter()
        .map(|(k, v)| elb::types::Tag::builder().key(k).value(v).build())
        .collect()
}

pub(super) fn host_condition(hosts: &[String]) -> elb::types::RuleCondition {
    elb::types::RuleCondition::builder()
        .field("host-header")
        .host_header_config(
            elb::types::HostHeaderConditionConfig::builder()
                .set_values(Some(hosts.to_vec()))
                .build(),
        )
        .build()
}

pub(super) fn forward(target_group_arn: &str) -> elb::types::Action {
    elb::types::Action::builder()
        .r#type(elb::types::ActionTypeEnum::Forward)
        .target_group_arn(target_group_arn)
        .build()
}

/// The weight Ferry writes for the live group of a pair; the alternate
/// gets 0, so no request reaches a group that may have no tasks.
pub(super) const LIVE_WEIGHT: i32 = 100;

/// A forward to a pair of target groups (`live` at [`LIVE_WEIGHT`],
/// `alternate` at 0), as ECS requires of a blue/green, canary or linear
/// deployment's rules: a forward action whose `ForwardConfig` names both
/// groups, and no `TargetGroupArn`, which ELBv2 accepts beside a
/// `ForwardConfig` of one group only
/// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Action.html>;
/// the rules ECS shifts weights on,
/// <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html>).
pub(super) fn forward_pair(live_arn: &str, alternate_arn: &str) -> elb::types::Action {
    let group = |arn: &str, weight: i32| {
        elb::types::TargetGroupTuple::builder()
            .target_group_arn(arn)
            .weight(weight)
            .build()
    };
    elb::types::Action::builder()
        .r#type(elb::types::ActionTypeEnum::Forward)
        .forward_config(
            elb::types::ForwardActionConfig::builder()
                .target_groups(group(live_arn, LIVE_WEIGHT))
                .target_groups(group(alternate_arn, 0))
                .build(),
        )
        .build()
}

/// What a rule forwarding to `live` (and `alternate`, for a pair) reads
/// back as: its target group ARNs, sorted, and the weights Ferry wrote.
pub(super) fn forwarded(
    live_arn: &str,
    alternate_arn: Option<&str>,
) -> (Vec<String>, BTreeMap<String, u32>) {
    match alternate_arn {
        None => (vec![live_arn.to_owned()], BTreeMap::new()),
        Some(alternate) => {
            let weights = BTreeMap::from([
                (live_arn.to_owned(), LIVE_WEIGHT.unsigned_abs()),
                (alternate.to_owned(), 0),
            ]);
            (weights.keys().cloned().collect(), weights)
        }
    }
}

/// The forward action of a rule: to `live` alone, or to the pair.
pub(super) fn forward_to(live_arn: &str, alternate_arn: Option<&str>) -> elb::types::Action {
    match alternate_arn {
        None => forward(live_arn),
        Some(alternate) => forward_pair(live_arn, alternate),
    }
}

pub(super) fn alias_change(
    action: route53::types::ChangeAction,
    name: &str,
    alias: &AliasTarget,
) -> Result<route53::types::Change> {
    let target = build(
        route53::types::AliasTarget::builder()
            .hosted_zone_id(&alias.zone_id)
            .dns_name(&alias.dns_name)
            .evaluate_target_health(false)
            .build(),
        "AliasTarget",
    )?;
    let set = build(
        route53::types::ResourceRecordSet::builder()
            .name(name)
            .r#type(route53::types::RrType::A)
            .alias_target(target)
            .build(),
        "ResourceRecordSet",
    )?;
    build(
        route53::types::Change::builder()
            .action(action)
            .resource_record_set(set)
            .build(),
        "Change",
    )
}

pub(super) fn txt_change(
    action: route53::types::ChangeAction,
    name: &str,
    values: &[String],
) -> Result<route53::types::Change> {
    let mut set = route53::types::ResourceRecordSet::builder()
        .name(name)
        .r#type(route53::types::RrType::Txt)
        .ttl(TXT_TTL);
    for value in values {
        set = set.resource_records(build(
            route53::types::ResourceRecord::builder()
                .value(format!("\"{value}\""))
                .build(),
            "ResourceRecord",
        )?);
    }
    build(
        route53::types::Change::builder()
            .action(action)
            .resource_record_set(build(set.build(), "ResourceRecordSet")?)
            .build(),
        "Change",
    )
}

#[cfg(test)]
#[path = "requests_tests.rs"]
mod tests;
