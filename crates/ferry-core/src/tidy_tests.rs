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

#[test]
fn revisions_parse_from_arns_and_names() {
    let revision = |family: &str, revision| {
        Some(Revision {
            family: family.into(),
            revision,
        })
    };
    assert_eq!(
        Revision::parse("arn:aws:ecs:eu-west-1:123456789012:task-definition/ferry_acme_web:7"),
        revision("ferry_acme_web", 7)
    );
    assert_eq!(
        Revision::parse("ferry_acme_web:12"),
        revision("ferry_acme_web", 12)
    );
    assert_eq!(Revision::parse("ferry_acme_web"), None);
    assert_eq!(Revision::parse("ferry_acme_web:latest"), None);
    assert_eq!(
        revision("ferry_acme_web", 7)
            .map(|r| r.to_string())
            .as_deref(),
        Some("ferry_acme_web:7")
    );
}

const OWNER: &str = "ferry";

fn apps(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn only_the_given_apps_families_of_this_installation_are_tidied() {
    let active = HashMap::from([
        ("ferry_acme_web".to_owned(), set(&[1, 2, 3, 4])),
        ("ferry_acme_worker".to_owned(), set(&[5, 6])),
        ("ferry_other_web".to_owned(), set(&[1, 2, 3])),
        ("staging_acme_web".to_owned(), set(&[1, 2, 3])),
        ("someone_elses".to_owned(), set(&[1, 2, 3])),
    ]);
    let in_use = [
        "arn:aws:ecs:eu-west-1:1:task-definition/ferry_acme_web:2",
        // Another app's service running this app's revision still keeps it.
        "ferry_acme_worker:5",
        "not a task definition",
    ];
    let not_ours = HashSet::from(["ferry_acme_web:3".to_owned()]);
    let apps = apps(&["acme"]);
    let known = Known {
        owner: OWNER,
        apps: &apps,
        active: &active,
        in_use: &in_use,
        not_ours: &not_ours,
        keep: 1,
        max: 10,
    };
    let retired: Vec<String> = to_retire(&known).iter().map(ToString::to_string).collect();
    assert_eq!(retired, vec!["ferry_acme_web:1"]);
    // Without what is in use, not ours, and with a keep of 0 (taken as 1).
    let known = Known {
        in_use: &[],
        not_ours: &HashSet::new(),
        keep: 0,
        ..known
    };
    let retired: Vec<String> = to_retire(&known).iter().map(ToString::to_string).collect();
    assert_eq!(
        retired,
        vec![
            "ferry_acme_web:1",
            "ferry_acme_web:2",
            "ferry_acme_web:3",
            "ferry_acme_worker:5"
        ]
    );
    let two = to_retire(&Known { max: 2, ..known });
    assert_eq!(two.len(), 2);
    assert_eq!(two[..], to_retire(&known)[..2]);
}

/// Families of this installation (for apps `a`..`d`, some tidied) with
/// their ACTIVE revisions, each family once.
fn families() -> impl Strategy<Value = Vec<(String, BTreeSet<u32>)>> {
    let family = (
        prop::sample::select(vec!["a", "b", "c", "d"]),
        prop::sample::select(vec!["web", "worker"]),
    )
        .prop_map(|(app, process)| names::task_family(OWNER, app, process));
    proptest::collection::btree_map(
        family,
        proptest::collection::btree_set(1u32..30, 0..12),
        0..6,
    )
    .prop_map(|families| families.into_iter().collect())
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

    /// Never one in use, never one of the `keep` newest (at least the
    /// latest), never one not ours or of another app, never more than
    /// `max`; the rest of each family is retired, in a deterministic
    /// order (family, then oldest first) whatever the map's order.
    #[test]
    fn the_choice_keeps_what_it_must_and_is_bounded_and_ordered(
        families in families(),
        used in proptest::collection::vec((0usize..6, 1u32..30), 0..8),
        foreign in proptest::collection::vec((0usize..6, 1u32..30), 0..4),
        keep in 0usize..5,
        max in 0usize..40,
    ) {
        let active: HashMap<String, BTreeSet<u32>> = families.iter().cloned().collect();
        let pick = |(i, revision): &(usize, u32)| {
            families.get(*i).map(|(family, _)| format!("{family}:{revision}"))
        };
        let in_use: Vec<String> = used.iter().filter_map(pick).collect();
        let in_use: Vec<&str> = in_use.iter().map(String::as_str).collect();
        let not_ours: HashSet<String> = foreign.iter().filter_map(pick).collect();
        let tidied = apps(&["a", "b", "c"]);
        let known = Known {
            owner: OWNER,
            apps: &tidied,
            active: &active,
            in_use: &in_use,
            not_ours: &not_ours,
            keep,
            max,
        };
        let retired = to_retire(&known);

        prop_assert!(retired.len() <= max);
        let mut sorted = retired.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(&sorted, &retired, "family order, oldest first, each once");
        // The same knowledge in a map built the other way round.
        let reversed: HashMap<String, BTreeSet<u32>> =
            families.iter().rev().cloned().collect();
        prop_assert_eq!(&to_retire(&Known { active: &reversed, ..known }), &retired);

        let unbounded = to_retire(&Known { max: usize::MAX, ..known });
        prop_assert_eq!(&retired[..], &unbounded[..retired.len()]);
        for (family, revisions) in &active {
            let app = names::app_of_family(OWNER, family).unwrap_or_default();
            let newest: BTreeSet<u32> =
                revisions.iter().rev().take(keep.max(1)).copied().collect();
            for revision in revisions {
                let name = format!("{family}:{revision}");
                let chosen = unbounded
                    .iter()
                    .any(|r| &r.family == family && r.revision == *revision);
                let must_stay = in_use.contains(&name.as_str())
                    || not_ours.contains(&name)
                    || newest.contains(revision)
                    || !tidied.contains(app);
                prop_assert_eq!(chosen, !must_stay, "{}", name);
            }
        }
    }
}
