use std::collections::BTreeMap;

use ferry_core::traffic::{DesiredTraffic, ObservedRule, TrafficSettings};

use super::*;
use crate::test_support::{caller, unreachable_sdk};

async fn traffic() -> Traffic {
    let sdk = unreachable_sdk().await;
    Traffic::from_settings(
        elb::Client::new(&sdk),
        route53::Client::new(&sdk),
        caller(),
        "ferry",
        TrafficSettings::default(),
    )
}

fn rule(arn: &str) -> ObservedRule {
    ObservedRule {
        arn: arn.to_owned(),
        listener_arn: "listener".to_owned(),
        priority: Some(1),
        hosts: vec!["acme.example.com".to_owned()],
        target_group_arns: Vec::new(),
        weights: BTreeMap::new(),
        tags: BTreeMap::new(),
    }
}

/// Loads the inventory as a refresh would, with one rule.
fn listed(traffic: &Traffic) {
    let inventory = &traffic.inventory;
    inventory
        .groups
        .apply_listing(inventory.groups.begin(), Vec::new());
    let seq = inventory.rules.begin();
    inventory
        .rules
        .apply_listing(seq, [("rule-1".to_owned(), rule("rule-1"))]);
    inventory
        .records
        .apply_listing(inventory.records.begin(), Vec::new());
}

#[tokio::test]
async fn no_snapshot_before_a_listing_nor_after_a_failed_write() {
    let traffic = traffic().await;
    let desired = DesiredTraffic::default();
    assert!(!traffic.is_ready());
    assert_eq!(traffic.snapshot("acme", &desired), None, "never listed");

    let inventory = &traffic.inventory;
    inventory
        .groups
        .apply_listing(inventory.groups.begin(), Vec::new());
    inventory
        .rules
        .apply_listing(inventory.rules.begin(), Vec::new());
    assert!(!traffic.is_ready(), "records not listed yet");

    listed(&traffic);
    assert!(traffic.is_ready());
    let observed = traffic.snapshot("acme", &desired).expect("listed");
    assert_eq!(observed.rules, vec![rule("rule-1")]);

    let failed = traffic
        .execute(&TrafficAction::DeleteRule {
            arn: "rule-1".into(),
            key: "acme-web".into(),
        })
        .await;
    assert!(failed.is_err(), "nothing listens: {failed:?}");
    assert!(!traffic.is_ready(), "what the write did is unknown");
    assert_eq!(traffic.snapshot("acme", &desired), None);
    assert_eq!(
        traffic.inventory.rules.get(&"rule-1".to_owned()),
        Some(rule("rule-1")),
        "a failed delete records no absence"
    );

    listed(&traffic);
    assert!(traffic.snapshot("acme", &desired).is_some());
}
