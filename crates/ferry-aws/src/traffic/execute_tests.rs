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

/// A service's rules, read from ECS by ARN, are named by the inventory's
/// `ferry:rule` tag; a rule reference resolves back to its ARN either way.
#[tokio::test]
async fn rule_references_are_named_and_resolved_through_the_inventory() {
    use ferry_core::traffic::{AdvancedLink, LoadBalancerLink, RuleRef, TAG_RULE};
    let traffic = traffic().await;
    let arn = "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/int/5/l/9";
    let mut known = rule(arn);
    known
        .tags
        .insert(TAG_RULE.to_owned(), "internal/web".to_owned());
    let seq = traffic.inventory.rules.begin();
    traffic
        .inventory
        .rules
        .apply_listing(seq, [(arn.to_owned(), known)]);
    let named = RuleRef {
        listener_arn: "listener".into(),
        key: "internal/web".into(),
    };
    assert_eq!(traffic.rule_arn(&named).as_deref(), Some(arn));
    let unknown = crate::resolve::unknown_rule(
        "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/int/5/l/7",
    );
    let mut service = crate::ecs::tests::service("web");
    service.load_balancers = vec![LoadBalancerLink {
        target_group: "tg".into(),
        container_name: "web".into(),
        container_port: 80,
        advanced: Some(AdvancedLink {
            alternate_target_group: "tg-b".into(),
            production_rule: crate::resolve::unknown_rule(arn),
            test_rule: unknown.clone(),
            role_arn: "role".into(),
        }),
    }];
    traffic.name_rules([&mut service]);
    let advanced = service.load_balancers[0]
        .advanced
        .clone()
        .expect("advanced");
    assert_eq!(advanced.production_rule, named, "named by its tag");
    assert_eq!(advanced.test_rule, unknown, "unknown: left as its ARN");
    assert_eq!(
        traffic.rule_arn(&unknown).as_deref(),
        crate::resolve::unknown_rule_arn(&unknown)
    );
}
