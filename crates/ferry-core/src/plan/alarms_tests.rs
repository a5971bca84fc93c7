//! The alarm plan: put what is missing or not as rendered, delete the
//! app's own that nobody wants, never touch anyone else's.

use std::collections::BTreeMap;

use super::*;
use crate::model::alarms::ObservedAlarm;
use crate::model::ownership::ownership_tags;

const OWNER: &str = "ferry";

fn spec(name: &str, threshold_percent: u32) -> AlarmSpec {
    AlarmSpec {
        name: name.into(),
        process: "web".into(),
        target_groups: vec!["acme-web-1".into()],
        load_balancer_arn: "lb/internal".into(),
        threshold_percent,
        period_secs: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        tags: ownership_tags(OWNER, "acme", Some("web")),
    }
}

fn observed(alarms: &[(&str, BTreeMap<String, String>, Option<AlarmSpec>)]) -> Observed {
    Observed {
        alarms: alarms
            .iter()
            .map(|(name, tags, spec)| {
                (
                    (*name).to_owned(),
                    ObservedAlarm {
                        name: (*name).into(),
                        arn: format!("arn:alarm:{name}"),
                        tags: tags.clone(),
                        spec: spec.clone(),
                        state: "OK".into(),
                    },
                )
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn a_missing_or_changed_alarm_of_ours_is_put_and_an_equal_one_left() {
    let ours = ownership_tags(OWNER, "acme", Some("web"));
    let wanted = spec("a", 5);
    for (observed, puts) in [
        (observed(&[]), 1),
        (observed(&[("a", ours.clone(), Some(spec("a", 10)))]), 1),
        (observed(&[("a", ours.clone(), None)]), 1),
        (observed(&[("a", ours, Some(wanted.clone()))]), 0),
    ] {
        let plan = plan("acme", OWNER, std::slice::from_ref(&wanted), &observed);
        assert_eq!(plan.puts.len(), puts, "{plan:?}");
        assert!(plan.deletes.is_empty() && plan.blockers.is_empty());
    }
}

#[test]
fn only_our_unwanted_alarms_are_deleted() {
    let observed = observed(&[
        ("ours", ownership_tags(OWNER, "acme", Some("web")), None),
        (
            "other-app",
            ownership_tags(OWNER, "shop", Some("web")),
            None,
        ),
        ("team", BTreeMap::new(), None),
    ]);
    let plan = plan("acme", OWNER, &[], &observed);
    assert_eq!(
        plan.deletes,
        [AlarmAction::Delete {
            name: "ours".into()
        }]
    );
}

#[test]
fn a_name_someone_else_owns_is_a_conflict_and_untouched() {
    let observed = observed(&[("a", BTreeMap::new(), Some(spec("a", 5)))]);
    let plan = plan("acme", OWNER, &[spec("a", 5)], &observed);
    assert!(plan.puts.is_empty() && plan.deletes.is_empty());
    assert_eq!(plan.conflicts.iter().collect::<Vec<_>>(), ["a"]);
    assert_eq!(plan.blockers[0].reason, BlockerReason::AlarmConflict);
}
