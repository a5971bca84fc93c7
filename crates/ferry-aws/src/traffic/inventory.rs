//! What the traffic adapter has seen of ELBv2 and Route53, as three
//! [`Cache`]s with one staleness rule: ready after a complete listing
//! ([`Traffic::refresh`](super::Traffic::refresh)), invalidated by a
//! failed write, and each write's answer recorded with the sequence number
//! taken when it was sent. And the read side: what one app observes.

use std::collections::{BTreeMap, BTreeSet};

use ferry_core::names::{self, Ownership};
use ferry_core::traffic::{
    self, DesiredTraffic, ObservedName, ObservedRule, ObservedTargetGroup, ObservedTraffic,
};

use crate::cache::Cache;

/// The inventory: every target group in the VPC, every rule of the
/// listeners Ferry uses, and every record of the zones Ferry manages.
#[derive(Default)]
pub(super) struct Inventory {
    /// By name.
    pub groups: Cache<String, ObservedTargetGroup>,
    /// By ARN.
    pub rules: Cache<String, ObservedRule>,
    /// By (zone id, record name).
    pub records: Cache<(String, String), ObservedName>,
}

impl Inventory {
    /// Whether every part comes from a complete listing, with no failed
    /// write since.
    pub fn is_ready(&self) -> bool {
        self.groups.is_ready() && self.rules.is_ready() && self.records.is_ready()
    }

    /// What a failed write does: its effect is unknown until the next
    /// listing.
    pub fn invalidate(&self) {
        self.groups.invalidate();
        self.rules.invalidate();
        self.records.invalidate();
    }

    /// What exists for `app` of `owner`: the target groups with its desired
    /// names (whoever owns them) or tagged for it, every rule, and the
    /// records with its desired names or its ownership TXT value. No call.
    pub fn observed(&self, owner: &str, app: &str, desired: &DesiredTraffic) -> ObservedTraffic {
        let wanted: BTreeSet<&str> = desired
            .target_groups
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let target_groups = self.groups.read(|groups| {
            groups
                .values()
                .filter(|g| {
                    wanted.contains(g.name.as_str())
                        || names::ownership(&g.tags, owner, app) == Ownership::Ours
                })
                .map(|g| (g.name.clone(), g.clone()))
                .collect()
        });
        let owner_text = traffic::owner_record(owner, app);
        let wanted_names: BTreeSet<(&str, &str)> = desired
            .records
            .iter()
            .map(|r| (r.zone_id.as_str(), r.name.as_str()))
            .collect();
        let records: BTreeMap<(String, String), ObservedName> = self.records.read(|records| {
            records
                .iter()
                .filter(|((zone, name), observed)| {
                    wanted_names.contains(&(zone.as_str(), name.as_str()))
                        || observed.txt.contains(&owner_text)
                })
                .map(|(key, observed)| (key.clone(), observed.clone()))
                .collect()
        });
        ObservedTraffic {
            target_groups,
            rules: self.rules.read(|rules| rules.values().cloned().collect()),
            records,
        }
    }
}

/// Record names and alias targets compare without the trailing dot, in
/// lowercase, and ALB aliases without the `dualstack.` prefix.
pub(super) fn dns(name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.strip_prefix("dualstack.")
        .map(str::to_owned)
        .unwrap_or(name)
}
