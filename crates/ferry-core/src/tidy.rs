//! Task-definition hygiene: which revisions Ferry retires.
//!
//! Every deploy registers a revision, and ECS keeps every revision ACTIVE
//! until someone deregisters it; teams with hundreds of services end up
//! with thousands of stale ones (ecs-deploy #200, CircleCI's ECS orb #117:
//! "almost 1,000 obsolete tasks"). Ferry retires the revisions it
//! registered and no longer uses, keeping the newest few per family so a
//! rollback finds its revision, and never one a service or a schedule
//! still runs.
//!
//! [`to_retire`] makes the whole choice from what the adapter's caches
//! know, with no AWS call; the adapter then confirms each revision's
//! ownership tags (one DescribeTaskDefinition each) before it deregisters
//! it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use crate::names;

/// One revision of a task-definition family.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision {
    pub family: String,
    pub revision: u32,
}

impl Revision {
    /// The family and revision of a task definition ARN
    /// (`arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION`) or
    /// name (`FAMILY:REVISION`); `None` for anything else.
    pub fn parse(arn_or_name: &str) -> Option<Self> {
        let name = arn_or_name
            .rsplit_once('/')
            .map_or(arn_or_name, |(_, name)| name);
        let (family, revision) = name.rsplit_once(':')?;
        Some(Revision {
            family: family.to_owned(),
            revision: revision.parse().ok()?,
        })
    }
}

/// `FAMILY:REVISION`, the name DescribeTaskDefinition and
/// DeregisterTaskDefinition take.
impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.family, self.revision)
    }
}

/// What hygiene knows when it chooses: the adapter's caches, read once.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    /// This installation's `ferry:managed-by` value: only its families
    /// ([`names::app_of_family`]) are tidied.
    pub owner: &'a str,
    /// The apps whose families may be tidied; any other family is left.
    pub apps: &'a BTreeSet<String>,
    /// Every ACTIVE revision of each family, by number.
    pub active: &'a HashMap<String, BTreeSet<u32>>,
    /// The task definitions (ARNs or `FAMILY:REVISION` names) something
    /// runs: every deployment of every known service, draining ones
    /// included, of any app, and every schedule's target. None of them is
    /// retired.
    pub in_use: &'a [&'a str],
    /// Revisions (`FAMILY:REVISION`) found not to carry this
    /// installation's tag: never retired.
    pub not_ours: &'a HashSet<String>,
    /// How many of the newest ACTIVE revisions of each family stay, in use
    /// or not. Taken as at least 1: the latest revision is what the next
    /// deploy of an unchanged spec reuses.
    pub keep: usize,
    /// The most revisions one resync retires: DeregisterTaskDefinition
    /// shares its quota with RegisterTaskDefinition, which deploys need.
    pub max: usize,
}

/// The revisions to deregister, in the order to deregister them: families
/// in name order, each family's revisions oldest first, at most
/// `known.max` of them. In each family of `known.apps` (and
/// `known.owner`), every ACTIVE revision but the newest `known.keep` (at
/// least 1), those in use and those not ours ([`revisions_to_retire`]).
///
/// A revision the adapter then finds gone or not ours is skipped: it
/// does not give its place to the next one before the next resync. To
/// count only revisions really deregistered against a bound, pass
/// `usize::MAX` as `max` and stop after that many.
pub fn to_retire(known: &Known<'_>) -> Vec<Revision> {
    let mut in_use: HashMap<String, BTreeSet<u32>> = HashMap::new();
    for revision in known.in_use.iter().filter_map(|arn| Revision::parse(arn)) {
        in_use
            .entry(revision.family)
            .or_default()
            .insert(revision.revision);
    }
    // Sorted here: the caller's map has no order, and the choice must not
    // depend on one.
    let families: BTreeMap<&str, &BTreeSet<u32>> = known
        .active
        .iter()
        .filter(|(family, _)| {
            names::app_of_family(known.owner, family).is_some_and(|app| known.apps.contains(app))
        })
        .map(|(family, active)| (family.as_str(), active))
        .collect();
    let none = BTreeSet::new();
    families
        .into_iter()
        .flat_map(|(family, active)| {
            let used = in_use.get(family).unwrap_or(&none);
            revisions_to_retire(active, used, known.keep.max(1))
                .into_iter()
                .map(move |revision| Revision {
                    family: family.to_owned(),
                    revision,
                })
        })
        .filter(|revision| !known.not_ours.contains(&revision.to_string()))
        .take(known.max)
        .collect()
}

/// The revisions of one family to deregister, oldest first: every ACTIVE
/// revision except the newest `keep` and those `in_use` (by any
/// deployment of any service, draining ones included).
///
/// The caller still checks each one's ownership tags before it
/// deregisters it: this decides only by revision numbers.
pub fn revisions_to_retire(
    active: &BTreeSet<u32>,
    in_use: &BTreeSet<u32>,
    keep: usize,
) -> Vec<u32> {
    let kept: BTreeSet<u32> = active.iter().rev().take(keep).copied().collect();
    active
        .iter()
        .filter(|revision| !kept.contains(revision) && !in_use.contains(revision))
        .copied()
        .collect()
}

#[cfg(test)]
#[path = "tidy_tests.rs"]
mod tests;
