//! Plans an app's traffic.
//!
//! Guarantees, each covered by the tests of `traffic_tests.rs` (which
//! cover traffic's names and render too):
//! - names are deterministic and fit AWS's limits (target groups: 32
//!   characters, letters, digits and `-`), and stay unique for long names
//!   ([`crate::names::traffic`]);
//! - a new rule takes the lowest priority free on its listener, so a
//!   priority held by anyone else is skipped, never taken;
//! - if an app's rules would exceed the rule quota of a load balancer, none
//!   of its traffic changes are made (`LoadBalancerFull`);
//! - nothing is changed or deleted without Ferry's ownership: target groups
//!   and rules by their tags, records by a TXT record at the same name;
//! - creations come before the services that use them, deletions after the
//!   services stopped using them: a rule never points at nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::blocker::{Blocker, BlockerReason};
use crate::model::ownership::{self, Ownership};
use crate::model::traffic::*;
use crate::names::traffic::{owner_record, target_group_name_from_arn};

/// An app's traffic plan: what runs before the ECS changes, what after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficPlan {
    pub before: Vec<TrafficAction>,
    pub after: Vec<TrafficAction>,
    pub blockers: Vec<Blocker>,
    /// True when nothing may change (the quota): services keep the load
    /// balancer link they have.
    pub frozen: bool,
    /// Target groups a rule of the app forwards to once `before` has run.
    /// A service links only these: ECS refuses a target group no load
    /// balancer forwards to.
    pub routed: BTreeSet<String>,
}

/// Plans an app's traffic. `settings` gives the load balancers' listeners
/// and the rule quota; `desired` is empty for an app being deleted.
pub fn plan(
    app: &str,
    owner: &str,
    settings: &TrafficSettings,
    desired: &DesiredTraffic,
    observed: &ObservedTraffic,
) -> TrafficPlan {
    let mut out = TrafficPlan {
        blockers: desired.blockers.clone(),
        ..TrafficPlan::default()
    };
    let ours =
        |tags: &BTreeMap<String, String>| ownership::ownership(tags, owner, app) == Ownership::Ours;

    // Target groups: create, fix in place, or report a squatter.
    let mut blocked_groups = BTreeSet::new();
    for spec in &desired.target_groups {
        match observed.target_groups.get(&spec.name) {
            None => out
                .before
                .push(TrafficAction::CreateTargetGroup { spec: spec.clone() }),
            Some(group) if !ours(&group.tags) => {
                blocked_groups.insert(spec.name.clone());
                out.blockers.push(Blocker {
                    process: spec.process.clone(),
                    reason: BlockerReason::NameConflict,
                    message: format!(
                        "target group {} exists and is not Ferry's for this app; Ferry leaves it untouched",
                        spec.name
                    ),
                });
            }
            Some(group) => {
                let health_check =
                    (group.health_check != spec.health_check).then(|| spec.health_check.clone());
                let deregistration_delay = (group.deregistration_delay
                    != Some(spec.deregistration_delay))
                .then_some(spec.deregistration_delay);
                if health_check.is_some() || deregistration_delay.is_some() {
                    out.before.push(TrafficAction::ModifyTargetGroup {
                        arn: group.arn.clone(),
                        name: group.name.clone(),
                        health_check,
                        deregistration_delay,
                    });
                }
            }
        }
    }

    // Names taken by someone else: reported, and neither their record nor
    // a rule for them is made, so Ferry never routes a name it lost.
    let owner_text = owner_record(owner, app);
    let mut conflicts: BTreeSet<&str> = BTreeSet::new();
    for spec in &desired.records {
        let Some(existing) = observed
            .records
            .get(&(spec.zone_id.clone(), spec.name.clone()))
        else {
            continue;
        };
        if existing.txt.contains(&owner_text) || !conflicts.insert(spec.name.as_str()) {
            continue;
        }
        let whose = existing
            .txt
            .iter()
            .find(|t| t.starts_with(ownership::TAG_MANAGED_BY))
            .map_or("something other than Ferry".to_owned(), |t| {
                format!("`{t}`")
            });
        out.blockers.push(Blocker {
            process: String::new(),
            reason: BlockerReason::RecordConflict,
            message: format!(
                "DNS name {} exists and belongs to {whose}; Ferry leaves it untouched and does not route it",
                spec.name
            ),
        });
    }

    // Rules: by (listener, key) among the rules that are ours.
    let our_rules: BTreeMap<(&str, &str), &ObservedRule> = observed
        .rules
        .iter()
        .filter(|r| ours(&r.tags))
        .filter_map(|r| Some(((r.listener_arn.as_str(), r.tags.get(TAG_RULE)?.as_str()), r)))
        .collect();
    let tg_name_of = |arn: &str| target_group_name_from_arn(arn).to_owned();
    let mut creates: Vec<&RuleSpec> = Vec::new();
    let mut kept: BTreeSet<&str> = BTreeSet::new();
    let mut narrows: Vec<TrafficAction> = Vec::new();
    for spec in &desired.rules {
        if blocked_groups.contains(&spec.target_group)
            || spec
                .alternate
                .as_ref()
                .is_some_and(|a| blocked_groups.contains(a))
            || spec.hosts.iter().any(|h| conflicts.contains(h.as_str()))
        {
            continue;
        }
        out.routed.insert(spec.target_group.clone());
        out.routed.extend(spec.alternate.clone());
        match our_rules.get(&(spec.listener_arn.as_str(), spec.key.as_str())) {
            None => creates.push(spec),
            Some(rule) => {
                kept.insert(rule.arn.as_str());
                // The *set* of groups, never their weights: a pair's
                // weights are ECS's (the live group first in `spec`, see
                // `plan::live`).
                let forwards: BTreeSet<String> = rule
                    .target_group_arns
                    .iter()
                    .map(|a| tg_name_of(a))
                    .collect();
                let wanted: BTreeSet<String> = std::iter::once(spec.target_group.clone())
                    .chain(spec.alternate.clone())
                    .collect();
                if rule.hosts != spec.hosts || forwards != wanted {
                    let modify = TrafficAction::ModifyRule {
                        arn: rule.arn.clone(),
                        key: spec.key.clone(),
                        hosts: spec.hosts.clone(),
                        target_group: spec.target_group.clone(),
                        alternate: spec.alternate.clone(),
                    };
                    // Narrowing a pair to its live group (a switch back to
                    // `rolling`) waits until the service no longer has the
                    // pair; anything else comes before the services.
                    if forwards.len() > wanted.len() && forwards.is_superset(&wanted) {
                        narrows.push(modify);
                    } else {
                        out.before.push(modify);
                    }
                }
            }
        }
    }
    let deletes: Vec<&ObservedRule> = our_rules
        .values()
        .filter(|r| !kept.contains(r.arn.as_str()))
        .copied()
        .collect();

    // The quota, per load balancer: what exists, plus what this plan adds,
    // minus what it removes.
    let listener_lb: BTreeMap<&str, &str> = [&settings.internal, &settings.public]
        .into_iter()
        .flatten()
        .flat_map(|e| {
            // A test listener's rules count for its load balancer too.
            e.listener_arns
                .iter()
                .chain(&e.test_listener_arn)
                .map(|l| (l.as_str(), e.load_balancer_arn.as_str()))
        })
        .collect();
    let mut load: BTreeMap<&str, i64> = BTreeMap::new();
    for rule in observed.rules.iter().filter(|r| r.priority.is_some()) {
        if let Some(lb) = listener_lb.get(rule.listener_arn.as_str()) {
            *load.entry(lb).or_default() += 1;
        }
    }
    for spec in &creates {
        *load.entry(spec.load_balancer_arn.as_str()).or_default() += 1;
    }
    for rule in &deletes {
        if let Some(lb) = listener_lb.get(rule.listener_arn.as_str()) {
            *load.entry(lb).or_default() -= 1;
        }
    }
    let full: Vec<&str> = load
        .iter()
        .filter(|(_, n)| usize::try_from(**n).unwrap_or(0) > settings.max_rules)
        .map(|(lb, _)| *lb)
        .collect();
    if !creates.is_empty() && !full.is_empty() {
        out.blockers.push(Blocker {
            process: creates[0].tags.get(ownership::TAG_PROCESS).cloned().unwrap_or_default(),
            reason: BlockerReason::LoadBalancerFull,
            message: format!(
                "load balancer {} would need more than {} rules; none of this app's traffic changes were made",
                full.join(", "),
                settings.max_rules
            ),
        });
        out.before.clear();
        out.frozen = true;
        return out;
    }

    // Priorities: the lowest free on each listener, in a fixed order.
    let mut taken: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for rule in &observed.rules {
        if let Some(priority) = rule.priority {
            taken
                .entry(rule.listener_arn.as_str())
                .or_default()
                .insert(priority);
        }
    }
    creates.sort_by(|a, b| (&a.listener_arn, &a.key).cmp(&(&b.listener_arn, &b.key)));
    for spec in creates {
        let used = taken.entry(spec.listener_arn.as_str()).or_default();
        let Some(priority) = (1..=MAX_PRIORITY).find(|p| !used.contains(p)) else {
            out.blockers.push(Blocker {
                process: String::new(),
                reason: BlockerReason::LoadBalancerFull,
                message: format!("listener {} has no free rule priority", spec.listener_arn),
            });
            out.before.clear();
            out.frozen = true;
            return out;
        };
        used.insert(priority);
        out.before.push(TrafficAction::CreateRule {
            spec: spec.clone(),
            priority,
        });
    }
    out.after.extend(narrows);
    for rule in deletes {
        out.after.push(TrafficAction::DeleteRule {
            arn: rule.arn.clone(),
            key: rule.tags.get(TAG_RULE).cloned().unwrap_or_default(),
        });
    }

    // Target groups no longer wanted go after their rules and services.
    let wanted: BTreeSet<&str> = desired
        .target_groups
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    // A group a rule still forwards to (one this plan keeps, or someone
    // else's) is never deleted: ELBv2 would refuse it (ResourceInUse), and
    // the rule would forward to nothing.
    // This app's own rules end up forwarding where the desired ones say
    // (or are deleted); every other rule keeps forwarding where it does.
    let managed: BTreeSet<&str> = our_rules.values().map(|r| r.arn.as_str()).collect();
    let still_forwarded: BTreeSet<String> = observed
        .rules
        .iter()
        .filter(|r| !managed.contains(r.arn.as_str()))
        .flat_map(|r| r.target_group_arns.iter().map(|arn| tg_name_of(arn)))
        .chain(
            desired
                .rules
                .iter()
                .flat_map(|r| std::iter::once(r.target_group.clone()).chain(r.alternate.clone())),
        )
        .collect();
    for group in observed.target_groups.values() {
        if !wanted.contains(group.name.as_str())
            && ours(&group.tags)
            && !still_forwarded.contains(&group.name)
        {
            out.after.push(TrafficAction::DeleteTargetGroup {
                arn: group.arn.clone(),
                name: group.name.clone(),
            });
        }
    }

    // Records, per zone: one atomic batch before, one after.
    let mut before: BTreeMap<&str, Vec<RecordChange>> = BTreeMap::new();
    let mut after: BTreeMap<&str, Vec<RecordChange>> = BTreeMap::new();
    let mut wanted_names = BTreeSet::new();
    for spec in &desired.records {
        wanted_names.insert((spec.zone_id.clone(), spec.name.clone()));
        match observed
            .records
            .get(&(spec.zone_id.clone(), spec.name.clone()))
        {
            None => before
                .entry(&spec.zone_id)
                .or_default()
                .push(RecordChange::Create(spec.clone())),
            Some(_) if conflicts.contains(spec.name.as_str()) => {}
            Some(existing) => {
                if existing.alias.as_ref() != Some(&spec.alias) {
                    before
                        .entry(&spec.zone_id)
                        .or_default()
                        .push(RecordChange::Upsert(spec.clone()));
                }
            }
        }
    }
    for ((zone, name), existing) in &observed.records {
        if wanted_names.contains(&(zone.clone(), name.clone()))
            || !existing.txt.contains(&owner_text)
        {
            continue;
        }
        after.entry(zone).or_default().push(RecordChange::Delete {
            name: name.clone(),
            alias: existing.alias.clone(),
            txt: existing.txt.clone(),
            keep: existing
                .txt
                .iter()
                .filter(|t| **t != owner_text)
                .cloned()
                .collect(),
        });
    }
    for (zone, changes) in before {
        out.before.push(TrafficAction::ChangeRecords {
            zone_id: zone.to_owned(),
            changes,
        });
    }
    for (zone, changes) in after {
        out.after.push(TrafficAction::ChangeRecords {
            zone_id: zone.to_owned(),
            changes,
        });
    }
    out
}

#[cfg(test)]
#[path = "traffic_tests.rs"]
mod tests;
