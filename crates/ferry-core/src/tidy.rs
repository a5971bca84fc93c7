//! Task-definition hygiene: which revisions of a family Ferry retires.
//!
//! Every deploy registers a revision, and ECS keeps every revision ACTIVE
//! until someone deregisters it; teams with hundreds of services end up
//! with thousands of stale ones (ecs-deploy #200, CircleCI's ECS orb #117:
//! "almost 1,000 obsolete tasks"). Ferry retires the revisions it
//! registered and no longer uses, keeping the newest few per family so a
//! rollback finds its revision, and never one a service still runs.

use std::collections::BTreeSet;

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
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn set(revisions: &[u32]) -> BTreeSet<u32> {
        revisions.iter().copied().collect()
    }

    #[test]
    fn the_newest_and_those_in_use_stay() {
        let active = set(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(revisions_to_retire(&active, &set(&[2]), 5), vec![1, 3]);
        assert_eq!(
            revisions_to_retire(&active, &set(&[]), 8),
            Vec::<u32>::new()
        );
        assert_eq!(
            revisions_to_retire(&active, &set(&[8]), 0),
            vec![1, 2, 3, 4, 5, 6, 7]
        );
        // A revision in use that is no longer ACTIVE changes nothing.
        assert_eq!(revisions_to_retire(&set(&[4, 9]), &set(&[1]), 1), vec![4]);
    }

    proptest! {
        #[test]
        fn never_one_in_use_nor_one_of_the_newest(
            active in proptest::collection::btree_set(1u32..200, 0..40),
            in_use in proptest::collection::btree_set(1u32..200, 0..5),
            keep in 0usize..10,
        ) {
            let retired = revisions_to_retire(&active, &in_use, keep);
            let newest: BTreeSet<u32> = active.iter().rev().take(keep).copied().collect();
            for revision in &retired {
                prop_assert!(active.contains(revision));
                prop_assert!(!in_use.contains(revision));
                prop_assert!(!newest.contains(revision));
            }
            let left = active.len() - retired.len();
            prop_assert!(left <= keep + in_use.len());
        }
    }
}
