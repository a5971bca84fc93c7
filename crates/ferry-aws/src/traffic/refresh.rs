//! The traffic inventory's complete listings: target groups of the VPC
//! (with their tags, and the deregistration delay of Ferry's), rules of
//! Ferry's listeners (with their tags), and records of Ferry's zones.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_route53 as route53;
use ferry_core::names;
use ferry_core::traffic::{
    AliasTarget, HealthCheckSpec, ObservedName, ObservedRule, ObservedTargetGroup, Zone,
};

use super::inventory::dns;
use super::requests::DEREGISTRATION_DELAY;
use super::{Traffic, ELB, ROUTE53};
use crate::paginate::{next_token, paginate, Page};
use crate::Result;
use ferry_call::Bucket;

/// DescribeTags takes at most 20 resources.
const TAGS_PER_CALL: usize = 20;

impl Traffic {
    /// Loads the whole inventory again: target groups, their tags and (once
    /// per group of Ferry's) deregistration delay, then each listener's
    /// rules and their tags, then each zone's records. Applied only once
    /// all is read, each part as a complete listing sent when its first
    /// call was: a write sent since then keeps what its answer recorded.
    pub async fn refresh(&self) -> Result<()> {
        let previous_delays: BTreeMap<String, u32> = self.inventory.groups.read(|groups| {
            groups
                .values()
                .filter_map(|g| Some((g.arn.clone(), g.deregistration_delay?)))
                .collect()
        });
        let groups_seq = self.inventory.groups.begin();
        let mut groups = self.list_target_groups().await?;
        let arns: Vec<String> = groups.values().map(|g| g.arn.clone()).collect();
        let mut tags = self.tags(&arns).await?;
        for group in groups.values_mut() {
            group.tags = tags.remove(&group.arn).unwrap_or_default();
            group.deregistration_delay = previous_delays.get(&group.arn).copied();
        }
        // Attributes only of Ferry's groups, and only the first time.
        for group in groups.values_mut() {
            if group.deregistration_delay.is_none()
                && group.tags.get(names::TAG_MANAGED_BY) == Some(&self.owner)
            {
                group.deregistration_delay = self.deregistration_delay(&group.arn).await?;
            }
        }
        let rules_seq = self.inventory.rules.begin();
        let mut rules = Vec::new();
        for edge in [&self.settings.internal, &self.settings.public]
            .into_iter()
            .flatten()
        {
            // The test listener's rules too: the test rules of
            // blue/green, canary and linear processes live there.
            for listener in edge.listener_arns.iter().chain(&edge.test_listener_arn) {
                rules.extend(self.list_rules(listener).await?);
            }
        }
        let rule_arns: Vec<String> = rules
            .iter()
            .filter(|r| r.priority.is_some())
            .map(|r| r.arn.clone())
            .collect();
        let mut rule_tags = self.tags(&rule_arns).await?;
        for rule in &mut rules {
            rule.tags = rule_tags.remove(&rule.arn).unwrap_or_default();
        }
        let records_seq = self.inventory.records.begin();
        let mut records = Vec::new();
        let zones: Vec<&Zone> = self
            .settings
            .internal_zone
            .iter()
            .chain(&self.settings.public_zones)
            .collect();
        for zone in zones {
            let names = self.list_records(&zone.id).await?;
            records.extend(
                names
                    .into_iter()
                    .map(|(name, observed)| ((zone.id.clone(), name), observed)),
            );
        }
        self.inventory.groups.apply_listing(groups_seq, groups);
        self.inventory
            .rules
            .apply_listing(rules_seq, rules.into_iter().map(|r| (r.arn.clone(), r)));
        self.inventory.records.apply_listing(records_seq, records);
        Ok(())
    }

    /// Every target group of the VPC, by name, 400 per DescribeTargetGroups
    /// call, without tags or deregistration delay.
    async fn list_target_groups(&self) -> Result<BTreeMap<String, ObservedTargetGroup>> {
        let vpc_id = self.settings.vpc_id.as_str();
        let (groups, _) = paginate(|marker: Option<String>| async move {
            let out = self
                .caller
                .call(ELB, "DescribeTargetGroups", Bucket::ElbReads, "*", || {
                    self.elb
                        .describe_target_groups()
                        .page_size(400)
                        .set_marker(marker.clone())
                        .send()
                })
                .await?;
            let groups = out
                .target_groups()
                .iter()
                .filter(|group| group.vpc_id() == Some(vpc_id))
                .filter_map(|group| observed_target_group(group, vpc_id))
                .collect();
            Ok(Page::new(groups, next_token(out.next_marker())))
        })
        .await?;
        Ok(groups.into_iter().map(|g| (g.name.clone(), g)).collect())
    }

    async fn deregistration_delay(&self, arn: &str) -> Result<Option<u32>> {
        let out = self
            .caller
            .call(
                ELB,
                "DescribeTargetGroupAttributes",
                Bucket::ElbReads,
                arn,
                || {
                    self.elb
                        .describe_target_group_attributes()
                        .target_group_arn(arn)
                        .send()
                },
            )
            .await?;
        Ok(out
            .attributes()
            .iter()
            .find(|a| a.key() == Some(DEREGISTRATION_DELAY))
            .and_then(|a| a.value())
            .and_then(|v| v.parse().ok()))
    }

    async fn tags(&self, arns: &[String]) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let mut all = BTreeMap::new();
        for chunk in arns.chunks(TAGS_PER_CALL) {
            let out = self
                .caller
                .call(ELB, "DescribeTags", Bucket::ElbReads, &chunk[0], || {
                    self.elb
                        .describe_tags()
                        .set_resource_arns(Some(chunk.to_vec()))
                        .send()
                })
                .await?;
            for description in out.tag_descriptions() {
                let Some(arn) = description.resource_arn() else {
                    continue;
                };
                let tags = description
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_owned(),
                            t.value().unwrap_or_default().to_owned(),
                        ))
                    })
                    .collect();
                all.insert(arn.to_owned(), tags);
            }
        }
        Ok(all)
    }

    /// Every rule of `listener`, 400 per DescribeRules call, without tags.
    async fn list_rules(&self, listener: &str) -> Result<Vec<ObservedRule>> {
        let (rules, _) = paginate(|marker: Option<String>| async move {
            let out = self
                .caller
                .call(ELB, "DescribeRules", Bucket::ElbReads, listener, || {
                    self.elb
                        .describe_rules()
                        .listener_arn(listener)
                        .page_size(400)
                        .set_marker(marker.clone())
                        .send()
                })
                .await?;
            let rules = out
                .rules()
                .iter()
                .filter_map(|rule| observed_rule(rule, listener))
                .collect();
            Ok(Page::new(rules, next_token(out.next_marker())))
        })
        .await?;
        Ok(rules)
    }

    /// Every record of `zone`, 300 per ListResourceRecordSets call, by name.
    async fn list_records(&self, zone: &str) -> Result<BTreeMap<String, ObservedName>> {
        let mut names: BTreeMap<String, ObservedName> = BTreeMap::new();
        type Start = (String, route53::types::RrType);
        crate::paginate::for_each_page(
            |start: Option<Start>| async move {
                let (name, kind) = start.unzip();
                let out = self
                    .caller
                    .call(
                        ROUTE53,
                        "ListResourceRecordSets",
                        Bucket::Route53,
                        zone,
                        || {
                            self.route53
                                .list_resource_record_sets()
                                .hosted_zone_id(zone)
                                .set_start_record_name(name.clone())
                                .set_start_record_type(kind.clone())
                                .max_items(300)
                                .send()
                        },
                    )
                    .await?;
                let next = match (
                    out.is_truncated(),
                    out.next_record_name(),
                    out.next_record_type(),
                ) {
                    (true, Some(name), Some(kind)) => Some((name.to_owned(), kind.clone())),
                    _ => None,
                };
                Ok(Page::new(out.resource_record_sets, next))
            },
            |set| record(&mut names, &set),
        )
        .await?;
        // A zone's own SOA and NS records are not names an app can claim,
        // but they are "other" records at the apex: keep them, so that a
        // domain equal to a zone apex is reported, never overwritten.
        Ok(names)
    }
}

/// A target group of the VPC as DescribeTargetGroups describes it.
fn observed_target_group(
    group: &aws_sdk_elasticloadbalancingv2::types::TargetGroup,
    vpc_id: &str,
) -> Option<ObservedTargetGroup> {
    let (Some(arn), Some(name)) = (group.target_group_arn(), group.target_group_name()) else {
        return None;
    };
    let count = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
    Some(ObservedTargetGroup {
        arn: arn.to_owned(),
        name: name.to_owned(),
        port: group
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0),
        vpc_id: vpc_id.to_owned(),
        health_check: HealthCheckSpec {
            path: group.health_check_path().unwrap_or("/").to_owned(),
            interval: count(group.health_check_interval_seconds()),
            timeout: count(group.health_check_timeout_seconds()),
            healthy_threshold: count(group.healthy_threshold_count()),
            unhealthy_threshold: count(group.unhealthy_threshold_count()),
            matcher: group
                .matcher()
                .and_then(|m| m.http_code())
                .unwrap_or_default()
                .to_owned(),
        },
        deregistration_delay: None,
        tags: BTreeMap::new(),
    })
}

/// A rule of `listener` as DescribeRules describes it: its hosts
/// (lowercase, sorted, once each) and every target group it forwards to.
fn observed_rule(
    rule: &aws_sdk_elasticloadbalancingv2::types::Rule,
    listener: &str,
) -> Option<ObservedRule> {
    let arn = rule.rule_arn()?;
    let mut hosts: Vec<String> = rule
        .conditions()
        .iter()
        .filter(|c| c.field() == Some("host-header"))
        .flat_map(|c| {
            let configured = c.host_header_config().map(|h| h.values().to_vec());
            configured.unwrap_or_else(|| c.values().to_vec())
        })
        .map(|h| h.to_ascii_lowercase())
        .collect();
    hosts.sort();
    hosts.dedup();
    let target_group_arns: Vec<String> = rule
        .actions()
        .iter()
        .flat_map(|a| {
            let direct = a.target_group_arn().map(str::to_owned);
            let weighted = a
                .forward_config()
                .map(|f| {
                    f.target_groups()
                        .iter()
                        .filter_map(|t| t.target_group_arn().map(str::to_owned))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            direct.into_iter().chain(weighted)
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let priority = if rule.is_default() == Some(true) {
        None
    } else {
        rule.priority().and_then(|p| p.parse().ok())
    };
    Some(ObservedRule {
        arn: arn.to_owned(),
        listener_arn: listener.to_owned(),
        priority,
        hosts,
        target_group_arns,
        weights: forward_weights(rule),
        tags: BTreeMap::new(),
    })
}

/// The weight of each target group a rule's forward actions name in a
/// `ForwardConfig` (ELBv2 may report one for a plain forward too; a
/// pair's weights are ECS's to shift). A weight left out reads as 1, the
/// default weight of a forward's target group
/// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupTuple.html>).
pub(super) fn forward_weights(
    rule: &aws_sdk_elasticloadbalancingv2::types::Rule,
) -> BTreeMap<String, u32> {
    rule.actions()
        .iter()
        .filter_map(|a| a.forward_config())
        .flat_map(|f| f.target_groups())
        .filter_map(|t| {
            let weight = t.weight().map_or(1, |w| u32::try_from(w).unwrap_or(0));
            Some((t.target_group_arn()?.to_owned(), weight))
        })
        .collect()
}

/// Adds what one record set says to the observation of its name.
fn record(names: &mut BTreeMap<String, ObservedName>, set: &route53::types::ResourceRecordSet) {
    let entry = names.entry(dns(set.name())).or_default();
    match (set.r#type(), set.alias_target()) {
        (route53::types::RrType::A, Some(alias)) => {
            entry.alias = Some(AliasTarget {
                dns_name: dns(alias.dns_name()),
                zone_id: alias.hosted_zone_id().to_owned(),
            });
        }
        (route53::types::RrType::Txt, _) => {
            entry.txt.extend(
                set.resource_records()
                    .iter()
                    .map(|r| r.value().trim_matches('"').to_owned()),
            );
        }
        (other, _) => entry.other.push(other.as_str().to_owned()),
    }
}
