//! Which target group of a pair is live, and the desired state adjusted to
//! it before planning ("adopt live"). During and after a blue/green,
//! canary or linear deployment, ECS owns the production rule's weights and
//! which group of the pair serves production traffic; Ferry reads them
//! and never corrects them (issue 23, "Ownership of the production rule's
//! weights").
//!
//! The live group of a pair (a rendered primary group and its
//! [`alternate_target_group_name`]) is the group with the greatest
//! weight over the app's own rules that forward the process's rendered
//! hosts (a rule forwarding to one group without weights counts 100 for
//! it). On a tie, or without such a rule, it is the group the service's
//! current link names, else the rendered primary. When the alternate is
//! live, the desired rules, links, target groups and alarm say so:
//! - a pair keeps both groups, the alternate now first (`target_group`)
//!   and the primary its `alternate`;
//! - a `rolling` process (switched back from a traffic-shifting strategy
//!   after ECS swapped) keeps the alternate as its one group; the primary,
//!   no longer wanted, is deleted once the service stopped using it.

use std::collections::BTreeMap;

use crate::model::alarms::AlarmSpec;
use crate::model::desired::Desired;
use crate::model::observed::Observed;
use crate::model::ownership::{self, Ownership};
use crate::model::traffic::{LoadBalancerLink, ObservedTraffic, TAG_RULE};
use crate::names::traffic::{alternate_target_group_name, target_group_name_from_arn};

/// `desired` with every pair's live group adopted (see the module docs).
/// Pure: the same inputs give the same answer, and a desired state whose
/// primaries are live is returned unchanged.
pub fn adopt_live(
    app: &str,
    owner: &str,
    desired: &Desired,
    observed: &Observed,
    observed_traffic: &ObservedTraffic,
) -> Desired {
    let mut out = desired.clone();
    let ours =
        |tags: &BTreeMap<String, String>| ownership::ownership(tags, owner, app) == Ownership::Ours;
    // The primaries: the groups the rendered links name.
    let primaries: Vec<(String, String)> = desired
        .processes
        .iter()
        .flat_map(|p| {
            p.service.load_balancers.iter().map(move |link| {
                let alternate = link.advanced.as_ref().map_or_else(
                    || alternate_target_group_name(&link.target_group),
                    |a| a.alternate_target_group.clone(),
                );
                (link.target_group.clone(), alternate)
            })
        })
        .collect();
    for (primary, alternate) in primaries {
        // The production keys of the primary's rules (never a test rule's:
        // ECS sends test traffic to the new revision, not the live one).
        let keys: Vec<&str> = desired
            .traffic
            .rules
            .iter()
            .filter(|r| r.target_group == primary)
            .map(|r| r.key.as_str())
            .filter(|key| !key.starts_with(crate::render::rollout::TEST_RULE_PREFIX))
            .collect();
        let mut weight: BTreeMap<&str, u64> = BTreeMap::new();
        for rule in observed_traffic.rules.iter().filter(|r| ours(&r.tags)) {
            if !rule
                .tags
                .get(TAG_RULE)
                .is_some_and(|key| keys.contains(&key.as_str()))
            {
                continue;
            }
            for arn in &rule.target_group_arns {
                let name = target_group_name_from_arn(arn);
                let group = if name == primary {
                    primary.as_str()
                } else if name == alternate {
                    alternate.as_str()
                } else {
                    continue;
                };
                let w = match (rule.weights.get(arn), rule.target_group_arns.len()) {
                    (Some(w), _) => u64::from(*w),
                    (None, 1) => 100,
                    (None, _) => 0,
                };
                *weight.entry(group).or_default() += w;
            }
        }
        let (on_primary, on_alternate) = (
            weight.get(primary.as_str()).copied().unwrap_or(0),
            weight.get(alternate.as_str()).copied().unwrap_or(0),
        );
        let alternate_live = match on_alternate.cmp(&on_primary) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => linked_to(desired, observed, &primary, &alternate),
        };
        if alternate_live {
            swap(&mut out, &primary, &alternate);
        }
    }
    out
}

/// Whether the service whose desired link names `primary` currently links
/// `alternate` as its live group.
fn linked_to(desired: &Desired, observed: &Observed, primary: &str, alternate: &str) -> bool {
    desired
        .processes
        .iter()
        .filter(|p| {
            p.service
                .load_balancers
                .iter()
                .any(|l| l.target_group == primary)
        })
        .filter_map(|p| observed.services.get(&p.service.name))
        .any(|s| s.load_balancers.iter().any(|l| l.target_group == alternate))
}

/// Makes `alternate` the live group wherever `primary` is.
fn swap(desired: &mut Desired, primary: &str, alternate: &str) {
    let paired = desired
        .traffic
        .target_groups
        .iter()
        .any(|g| g.name == alternate);
    if !paired {
        for group in &mut desired.traffic.target_groups {
            if group.name == primary {
                group.name = alternate.to_owned();
            }
        }
    }
    for rule in &mut desired.traffic.rules {
        if rule.target_group == primary {
            rule.target_group = alternate.to_owned();
            if rule.alternate.is_some() {
                rule.alternate = Some(primary.to_owned());
            }
        }
    }
    let swap_link = |link: &mut LoadBalancerLink| {
        if link.target_group == primary {
            link.target_group = alternate.to_owned();
            if let Some(advanced) = link.advanced.as_mut() {
                advanced.alternate_target_group = primary.to_owned();
            }
        }
    };
    for (links, _) in desired.traffic.links.values_mut() {
        links.iter_mut().for_each(swap_link);
        links.sort_by(|a, b| a.target_group.cmp(&b.target_group));
    }
    for process in &mut desired.processes {
        process
            .service
            .load_balancers
            .iter_mut()
            .for_each(swap_link);
        process
            .service
            .load_balancers
            .sort_by(|a, b| a.target_group.cmp(&b.target_group));
        if let Some(scaling) = process.autoscaling.as_mut() {
            for label in scaling.policies.iter_mut().filter_map(|p| p.label.as_mut()) {
                if label.target_group == primary {
                    label.target_group = alternate.to_owned();
                }
            }
        }
    }
    for alarm in &mut desired.alarms {
        rename_in_alarm(alarm, primary, alternate);
    }
}

/// A `rolling` alarm watching `primary` alone watches `alternate` instead;
/// a pair's alarm watches both already.
fn rename_in_alarm(alarm: &mut AlarmSpec, primary: &str, alternate: &str) {
    if alarm.target_groups.iter().any(|g| g == alternate) {
        return;
    }
    for group in &mut alarm.target_groups {
        if group == primary {
            *group = alternate.to_owned();
        }
    }
    alarm.target_groups.sort();
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
