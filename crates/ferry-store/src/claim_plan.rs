//! The pure planning of domain claims: which claim items a set of changes
//! writes, which changes must share a transaction, and what a failed
//! condition means. [`crate::domains`] reads and writes the claims.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::records::AppChange;
use crate::transactions::MAX_TRANSACTION_ITEMS;

/// The most domains one app can claim. Deleting an app releases its claims
/// in the transaction that removes its spec and status, bumps the revision
/// counter and checks the lease, and DynamoDB takes 100 items per
/// transaction.
pub const MAX_DOMAINS_PER_APP: usize = MAX_TRANSACTION_ITEMS - 4;

/// What one item of a transaction does, to explain a failed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemKind {
    Spec,
    Release,
    /// Puts `app`'s claim on `domain`: the domain must be unclaimed, `app`'s
    /// already, or claimed by one of `from`, apps that drop it in the same
    /// transaction.
    Claim {
        domain: String,
        app: String,
        from: Vec<String>,
    },
    /// Deletes a claim of the app's own; it must still be the app's.
    Unclaim,
    Revision,
}

/// The claim writes of one change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DomainOps {
    /// Each domain of the new spec, once, with the apps of the same apply
    /// that drop it.
    pub(crate) claims: Vec<(String, Vec<String>)>,
    /// Domains the change drops whose claim is the app's and that no other
    /// change of the apply takes over.
    pub(crate) unclaims: Vec<String>,
}

impl DomainOps {
    fn items(&self) -> usize {
        self.claims.len() + self.unclaims.len()
    }
}

/// An apply laid out in transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Per change, in input order.
    pub(crate) ops: Vec<DomainOps>,
    /// Change indices per transaction, ascending within each.
    pub(crate) transactions: Vec<Vec<usize>>,
}

/// Items a change writes besides its claims: the spec and the release.
const ITEMS_PER_CHANGE: usize = 2;

fn new_domains(change: &AppChange) -> Vec<&str> {
    let mut seen = BTreeSet::new();
    change
        .spec
        .domains
        .iter()
        .map(|d| d.name.as_str())
        .filter(|name| seen.insert(*name))
        .collect()
}

fn dropped_domains(change: &AppChange) -> Vec<&str> {
    let new: BTreeSet<&str> = new_domains(change).into_iter().collect();
    let mut seen = BTreeSet::new();
    change
        .previous_domains
        .iter()
        .map(String::as_str)
        .filter(|name| !new.contains(name) && seen.insert(*name))
        .collect()
}

/// Domains whose current owner must be read before [`layout`]: those a
/// change drops and no other change claims. Their claim is deleted only if
/// it is the dropping app's: an app stored before claims existed, or whose
/// claim another app took since, has none to release.
pub(crate) fn owners_to_read(changes: &[AppChange]) -> BTreeSet<String> {
    let claimed: BTreeSet<&str> = changes.iter().flat_map(new_domains).collect();
    changes
        .iter()
        .flat_map(dropped_domains)
        .filter(|domain| !claimed.contains(domain))
        .map(str::to_owned)
        .collect()
}

/// Plans the claim writes of `changes` and splits them into transactions
/// of at most `capacity` items each, plus the revision counter. Changes
/// that move a domain between them share a transaction, so the move is
/// atomic. `owners` maps domains to the app that claims them, for at least
/// [`owners_to_read`].
pub(crate) fn layout(
    changes: &[AppChange],
    owners: &BTreeMap<String, String>,
    capacity: usize,
) -> Result<Layout> {
    let mut claimed_by: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dropped_by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, change) in changes.iter().enumerate() {
        let app = &change.spec.name;
        let domains = new_domains(change);
        if domains.len() > MAX_DOMAINS_PER_APP {
            return Err(Error::TooLarge {
                apps: app.clone(),
                message: format!(
                    "the app claims {} domains; an app can claim at most {MAX_DOMAINS_PER_APP}, \
                     so that deleting it fits in one DynamoDB transaction",
                    domains.len()
                ),
            });
        }
        for domain in domains {
            if let Some(&first) = claimed_by.get(domain) {
                // Validation rejects this before anything reaches the store.
                return Err(Error::DomainClaimed {
                    domain: domain.to_owned(),
                    owner: changes[first].spec.name.clone(),
                    app: app.clone(),
                });
            }
            claimed_by.insert(domain, index);
        }
        for domain in dropped_domains(change) {
            dropped_by.entry(domain).or_default().push(index);
        }
    }

    // Changes linked by a moved domain go into one transaction.
    let mut groups = Groups::new(changes.len());
    let mut ops = Vec::with_capacity(changes.len());
    for (index, change) in changes.iter().enumerate() {
        let app = change.spec.name.as_str();
        let claims = new_domains(change)
            .into_iter()
            .map(|domain| {
                let from = dropped_by.get(domain).cloned().unwrap_or_default();
                for &other in &from {
                    groups.join(index, other);
                }
                let from = from
                    .into_iter()
                    .map(|other| changes[other].spec.name.clone())
                    .collect();
                (domain.to_owned(), from)
            })
            .collect();
        let unclaims = dropped_domains(change)
            .into_iter()
            .filter(|domain| {
                !claimed_by.contains_key(domain)
                    && owners.get(*domain).is_some_and(|owner| owner == app)
            })
            .map(str::to_owned)
            .collect();
        ops.push(DomainOps { claims, unclaims });
    }

    let mut transactions: Vec<Vec<usize>> = Vec::new();
    let mut used = 0;
    for group in groups.in_order() {
        let items: usize = group
            .iter()
            .map(|&index| ITEMS_PER_CHANGE + ops[index].items())
            .sum();
        if items > capacity {
            let apps: Vec<&str> = group
                .iter()
                .map(|&index| changes[index].spec.name.as_str())
                .collect();
            return Err(Error::TooLarge {
                apps: apps.join(", "),
                message: format!(
                    "these changes must be written together (domains move between the apps) \
                     and need {items} items, more than the {capacity} a DynamoDB transaction \
                     has room for; apply fewer apps or domain changes at once"
                ),
            });
        }
        match transactions.last_mut() {
            Some(last) if used + items <= capacity => {
                last.extend(group);
                last.sort_unstable();
                used += items;
            }
            _ => {
                transactions.push(group);
                used = items;
            }
        }
    }
    Ok(Layout { ops, transactions })
}

/// Disjoint sets of change indices.
struct Groups {
    parent: Vec<usize>,
}

impl Groups {
    fn new(len: usize) -> Self {
        Self {
            parent: (0..len).collect(),
        }
    }

    fn root(&mut self, mut index: usize) -> usize {
        while self.parent[index] != index {
            self.parent[index] = self.parent[self.parent[index]];
            index = self.parent[index];
        }
        index
    }

    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.root(a), self.root(b));
        // The smaller index is the root, so groups keep input order.
        let (low, high) = if a < b { (a, b) } else { (b, a) };
        self.parent[high] = low;
    }

    /// Every group, ordered by its first index, each ascending.
    fn in_order(mut self) -> Vec<Vec<usize>> {
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for index in 0..self.parent.len() {
            let root = self.root(index);
            groups.entry(root).or_default().push(index);
        }
        groups.into_values().collect()
    }
}

/// The claims among `kinds` that may explain a cancellation: those whose
/// condition failed, or every claim when AWS did not say which items
/// failed (`failed` is `None`).
pub(crate) fn suspect_claims<'a>(
    kinds: &'a [ItemKind],
    failed: Option<&[usize]>,
) -> Vec<&'a ItemKind> {
    let is_claim = |kind: &&ItemKind| matches!(kind, ItemKind::Claim { .. });
    match failed {
        Some(failed) => failed
            .iter()
            .filter_map(|&index| kinds.get(index))
            .filter(is_claim)
            .collect(),
        None => kinds.iter().filter(is_claim).collect(),
    }
}

/// The first claim that `owners` shows another app holds, as the error to
/// report. A claim held by the app itself, or by an app that gives the
/// domain up in the same transaction, is no conflict.
pub(crate) fn claim_conflict<'a>(
    claims: impl IntoIterator<Item = &'a ItemKind>,
    owners: &BTreeMap<String, String>,
) -> Option<Error> {
    claims.into_iter().find_map(|kind| {
        let ItemKind::Claim { domain, app, from } = kind else {
            return None;
        };
        let owner = owners.get(domain)?;
        (owner != app && !from.contains(owner)).then(|| Error::DomainClaimed {
            domain: domain.clone(),
            owner: owner.clone(),
            app: app.clone(),
        })
    })
}

/// Every claim of `layout`, as the items [`crate::Store::apply`] would write.
pub(crate) fn claim_kinds(changes: &[AppChange], layout: &Layout) -> Vec<ItemKind> {
    changes
        .iter()
        .zip(&layout.ops)
        .flat_map(|(change, ops)| {
            ops.claims.iter().map(|(domain, from)| ItemKind::Claim {
                domain: domain.clone(),
                app: change.spec.name.clone(),
                from: from.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ferry_manifest::{App, Domain};

    use super::*;

    fn change(app: &str, domains: &[&str], previous: &[&str]) -> AppChange {
        AppChange {
            spec: App {
                name: app.to_owned(),
                image: "acme/app:1".to_owned(),
                env: BTreeMap::new(),
                secrets: BTreeMap::new(),
                domains: domains
                    .iter()
                    .map(|name| Domain {
                        name: (*name).to_owned(),
                        process: "web".to_owned(),
                    })
                    .collect(),
                processes: BTreeMap::new(),
                ..Default::default()
            },
            manifest: String::new(),
            source: None,
            expected_generation: (!previous.is_empty()).then_some(1),
            previous_domains: previous.iter().map(|d| (*d).to_owned()).collect(),
            created_at: None,
            restart: None,
        }
    }

    fn owners(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(domain, app)| ((*domain).to_owned(), (*app).to_owned()))
            .collect()
    }

    fn claim(domain: &str, from: &[&str]) -> (String, Vec<String>) {
        (
            domain.to_owned(),
            from.iter().map(|a| (*a).to_owned()).collect(),
        )
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    const CAPACITY: usize = MAX_TRANSACTION_ITEMS - 1;

    #[test]
    fn every_domain_is_claimed_and_owned_drops_are_released() {
        let changes = [change(
            "acme",
            &["a.example.com", "b.example.com", "a.example.com"],
            &[
                "b.example.com",
                "old.example.com",
                "legacy.example.com",
                "taken.example.com",
            ],
        )];
        assert_eq!(
            owners_to_read(&changes),
            strings(&["legacy.example.com", "old.example.com", "taken.example.com"])
                .into_iter()
                .collect::<BTreeSet<_>>()
        );
        // `legacy` has no claim (stored before claims existed) and `taken`
        // is another app's: neither is deleted.
        let owned = owners(&[("old.example.com", "acme"), ("taken.example.com", "other")]);
        let layout = layout(&changes, &owned, CAPACITY).expect("fits");
        assert_eq!(
            layout.ops,
            vec![DomainOps {
                claims: vec![claim("a.example.com", &[]), claim("b.example.com", &[])],
                unclaims: strings(&["old.example.com"]),
            }]
        );
        assert_eq!(layout.transactions, vec![vec![0]]);
    }

    #[test]
    fn a_domain_moved_between_apps_is_one_claim_in_one_transaction() {
        let changes = [
            change("one", &[], &["shared.example.com"]),
            change("two", &["shared.example.com"], &[]),
        ];
        // The mover's claim is replaced, not deleted, so there is nothing
        // to read.
        assert!(owners_to_read(&changes).is_empty());
        let layout = layout(&changes, &BTreeMap::new(), CAPACITY).expect("fits");
        assert_eq!(
            layout.ops,
            vec![
                DomainOps::default(),
                DomainOps {
                    claims: vec![claim("shared.example.com", &["one"])],
                    unclaims: vec![],
                },
            ]
        );
        assert_eq!(layout.transactions, vec![vec![0, 1]]);
    }

    #[test]
    fn transactions_hold_at_most_capacity_items_and_movers_stay_together() {
        // Each change: spec, release and its claims.
        let changes = [
            change("a", &["a1.example.com"], &[]),    // 3 items
            change("b", &["b1.example.com"], &[]),    // 3
            change("c", &["moved.example.com"], &[]), // 3
            change("d", &[], &[]),                    // 2
            change("e", &[], &["moved.example.com"]), // 2, with c
        ];
        let layout = layout(&changes, &BTreeMap::new(), 6).expect("fits");
        // a+b fill the first; c must go with e (5 items); d fits nowhere else.
        assert_eq!(layout.transactions, vec![vec![0, 1], vec![2, 4], vec![3]]);
        for transaction in &layout.transactions {
            let items: usize = transaction
                .iter()
                .map(|&i| ITEMS_PER_CHANGE + layout.ops[i].items())
                .sum();
            assert!(items <= 6, "{transaction:?}");
        }
        // Without chunking pressure, everything shares one transaction.
        let layout = super::layout(&changes, &BTreeMap::new(), CAPACITY).expect("fits");
        assert_eq!(layout.transactions, vec![vec![0, 1, 2, 3, 4]]);
    }

    #[test]
    fn too_many_domains_are_refused_before_writing() {
        let many: Vec<String> = (0..=MAX_DOMAINS_PER_APP)
            .map(|i| format!("d{i}.example.com"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let err = layout(&[change("acme", &many, &[])], &BTreeMap::new(), CAPACITY)
            .expect_err("too many");
        assert!(
            err.to_string()
                .contains(&format!("at most {MAX_DOMAINS_PER_APP}")),
            "{err}"
        );
        // A move that cannot fit in one transaction.
        let changes = [
            change("a", &["x.example.com", "y.example.com"], &[]),
            change("b", &[], &["x.example.com"]),
        ];
        let err = layout(&changes, &BTreeMap::new(), 5).expect_err("too large");
        assert!(err.to_string().contains("a, b"), "{err}");
    }

    #[test]
    fn two_apps_claiming_one_domain_in_one_apply_are_refused() {
        let changes = [
            change("one", &["shared.example.com"], &[]),
            change("two", &["shared.example.com"], &[]),
        ];
        let err = layout(&changes, &BTreeMap::new(), CAPACITY).expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "domain shared.example.com is already claimed by app one; remove it from that app \
             first, then apply two again"
        );
    }

    #[test]
    fn a_conflict_is_a_claim_held_by_an_app_that_keeps_it() {
        let claim = |domain: &str, app: &str, from: &[&str]| ItemKind::Claim {
            domain: domain.to_owned(),
            app: app.to_owned(),
            from: strings(from),
        };
        let kinds = vec![
            ItemKind::Spec,
            ItemKind::Release,
            claim("mine.example.com", "two", &[]),
            claim("moving.example.com", "two", &["one"]),
            claim("taken.example.com", "two", &[]),
            ItemKind::Unclaim,
            ItemKind::Revision,
        ];
        let held = owners(&[
            ("mine.example.com", "two"),
            ("moving.example.com", "one"),
            ("taken.example.com", "one"),
        ]);
        // AWS named the failed items: only claims among them are suspects.
        assert_eq!(suspect_claims(&kinds, Some(&[0, 4])), vec![&kinds[4]]);
        assert!(suspect_claims(&kinds, Some(&[0, 5, 99])).is_empty());
        // AWS did not say: every claim is.
        assert_eq!(suspect_claims(&kinds, None).len(), 3);

        match claim_conflict(suspect_claims(&kinds, None), &held) {
            Some(Error::DomainClaimed { domain, owner, app }) => {
                assert_eq!(
                    (domain.as_str(), owner.as_str(), app.as_str()),
                    ("taken.example.com", "one", "two")
                );
            }
            other => panic!("{other:?}"),
        }
        // The claim was released meanwhile: not a domain conflict.
        assert!(claim_conflict(suspect_claims(&kinds, Some(&[4])), &BTreeMap::new()).is_none());
    }
}
