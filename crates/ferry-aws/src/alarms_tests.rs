use super::*;

#[test]
fn only_the_installations_tags_are_owned() {
    let tags = names::ownership_tags("ferry", "acme", Some("web"));
    assert!(owned(&tags, "ferry"));
    assert!(!owned(&tags, "other"));
    let mut foreign = tags.clone();
    foreign.remove(names::TAG_APP);
    assert!(!owned(&foreign, "ferry"));
    assert!(!owned(&BTreeMap::new(), "ferry"));
}

fn alarms() -> Alarms {
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
        .build();
    Alarms::new(
        cloudwatch::Client::from_conf(config),
        crate::test_support::caller(),
        "ferry",
    )
}

fn alarm(name: &str, app: &str, owner: &str) -> ObservedAlarm {
    ObservedAlarm {
        name: name.into(),
        arn: format!("arn:aws:cloudwatch:us-east-1:1:alarm:{name}"),
        tags: names::ownership_tags(owner, app, Some("web")),
        spec: None,
        state: "OK".into(),
    }
}

fn wanted(name: &str) -> AlarmSpec {
    AlarmSpec {
        name: name.into(),
        process: "web".into(),
        target_groups: Vec::new(),
        load_balancer_arn: String::new(),
        threshold_percent: 5,
        period_secs: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        tags: BTreeMap::new(),
    }
}

#[test]
fn an_app_sees_its_wanted_names_and_its_own_alarms_once_listed() {
    let alarms = alarms();
    // Not listed: an app without alarms reconciles; one with them waits.
    assert_eq!(alarms.snapshot("acme", &[]), Some(BTreeMap::new()));
    assert_eq!(
        alarms.snapshot("acme", &[wanted("ferry-ferry-acme-web-5xx")]),
        None
    );
    let seq = alarms.inventory.begin();
    alarms.inventory.apply_listing(
        seq,
        [
            alarm("ferry-ferry-acme-web-5xx", "other", "someone"),
            alarm("ferry-ferry-acme-old-5xx", "acme", "ferry"),
            alarm("ferry-ferry-shop-web-5xx", "shop", "ferry"),
        ]
        .map(|a| (a.name.clone(), a)),
    );
    let seen = alarms
        .snapshot("acme", &[wanted("ferry-ferry-acme-web-5xx")])
        .expect("listed");
    assert_eq!(
        seen.keys().map(String::as_str).collect::<Vec<_>>(),
        ["ferry-ferry-acme-old-5xx", "ferry-ferry-acme-web-5xx"],
        "its wanted name (whoever owns it) and its own, not another app's"
    );
}
