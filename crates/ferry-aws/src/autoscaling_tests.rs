use super::*;

fn target(service: &str, tags: BTreeMap<String, String>) -> ObservedScalableTarget {
    ObservedScalableTarget {
        arn: format!("arn:target/{service}"),
        resource_id: format!("service/apps/{service}"),
        min: 1,
        max: 2,
        tags,
        policies: BTreeMap::new(),
    }
}

/// Loads the inventory as a refresh would.
fn listed(autoscaling: &Autoscaling, targets: &[ObservedScalableTarget]) {
    let inventory = &autoscaling.inventory;
    inventory.targets.apply_listing(
        inventory.targets.begin(),
        targets.iter().map(|t| (t.resource_id.clone(), t.clone())),
    );
    inventory.tags.apply_listing(
        inventory.tags.begin(),
        targets.iter().map(|t| (t.arn.clone(), t.tags.clone())),
    );
}

#[tokio::test]
async fn a_snapshot_needs_a_listing_and_no_failure_since() {
    let sdk = crate::test_support::unreachable_sdk().await;
    let autoscaling = Autoscaling::new(aas::Client::new(&sdk), crate::test_support::caller());
    let services = ["acme-web".to_owned()];
    assert!(!autoscaling.is_ready());
    assert_eq!(
        autoscaling.snapshot("apps", "acme", "ferry", &services),
        None
    );

    let ours = target(
        "acme-worker",
        names::ownership_tags("ferry", "acme", Some("worker")),
    );
    let named = target("acme-web", BTreeMap::new());
    let other = target("else-web", BTreeMap::new());
    listed(&autoscaling, &[ours.clone(), named.clone(), other]);
    assert_eq!(
        autoscaling.snapshot("apps", "acme", "ferry", &services),
        Some(BTreeMap::from([
            ("acme-web".to_owned(), named.clone()),
            ("acme-worker".to_owned(), ours),
        ])),
        "the named services' targets and those tagged for the app"
    );
    assert_eq!(
        autoscaling.snapshot("other-cluster", "acme", "ferry", &services),
        Some(BTreeMap::new())
    );

    let failed = autoscaling
        .execute(
            &ScalingAction::DeregisterScalableTarget {
                resource_id: named.resource_id.clone(),
                service: "acme-web".into(),
            },
            &|_| None,
        )
        .await;
    assert!(failed.is_err(), "nothing listens: {failed:?}");
    assert!(!autoscaling.is_ready());
    assert_eq!(
        autoscaling.snapshot("apps", "acme", "ferry", &services),
        None
    );

    listed(&autoscaling, &[named]);
    assert!(autoscaling.is_ready());
    let refreshed = autoscaling.refresh().await;
    assert!(refreshed.is_err(), "nothing listens: {refreshed:?}");
    assert!(!autoscaling.is_ready(), "a failed refresh invalidates too");
}

#[test]
fn only_whole_targets_are_ferrys() {
    assert_eq!(whole(60.0), Some(60));
    assert_eq!(whole(60.5), None);
    assert_eq!(whole(-1.0), None);
}
