use ferry_core::{NetworkSpec, TaskDefinitionRef};

use super::*;
use crate::test_support::{caller, unreachable_sdk};

fn spec(name: &str) -> ScheduleSpec {
    ScheduleSpec {
        name: name.into(),
        group: "ferry-ferry".into(),
        expression: "cron(0 3 * * ? *)".into(),
        timezone: "UTC".into(),
        cluster: "apps".into(),
        role_arn: Some("arn:aws:iam::123456789012:role/scheduler".into()),
        network: NetworkSpec {
            subnets: vec!["subnet-a".into()],
            security_groups: vec!["sg-1".into()],
            assign_public_ip: false,
        },
        tags: names::ownership_tags("ferry", "acme", Some("nightly")),
        dead_letter_arn: None,
        capacity_provider_strategy: Vec::new(),
        enable_execute_command: false,
    }
}

fn cached(name: &str) -> (String, CachedSchedule) {
    let schedule = ObservedSchedule::written(&spec(name), "arn:td/acme_nightly:1".into());
    (
        name.to_owned(),
        CachedSchedule {
            modified: None,
            schedule,
        },
    )
}

#[tokio::test]
async fn an_app_observes_its_schedules_and_a_failed_write_invalidates() {
    let sdk = unreachable_sdk().await;
    let scheduler = Scheduler::new(aws_sdk_scheduler::Client::new(&sdk), caller(), "ferry");
    assert!(!scheduler.is_ready());
    let seq = scheduler.schedules.begin();
    scheduler.schedules.apply_listing(
        seq,
        [
            cached("acme_nightly"),
            cached("acme-web_hourly"),
            cached("other_nightly"),
        ],
    );
    assert!(scheduler.is_ready());
    let observed = scheduler.observe("acme", &[]);
    assert_eq!(
        observed.keys().collect::<Vec<_>>(),
        vec!["acme_nightly"],
        "named {{app}}_..., and only that app's"
    );

    // A write sent before the listing was answered wins over it.
    let listing = scheduler.schedules.begin();
    let write = scheduler.schedules.begin();
    scheduler.remember(write, &spec("acme_weekly"), "arn:td/acme_weekly:2");
    scheduler
        .schedules
        .apply_listing(listing, [cached("acme_nightly")]);
    assert_eq!(
        scheduler.observe("acme", &[]).keys().collect::<Vec<_>>(),
        vec!["acme_nightly", "acme_weekly"]
    );

    let failed = scheduler
        .execute(
            &Action::UpdateSchedule {
                schedule: spec("acme_nightly"),
                task_definition: TaskDefinitionRef::Existing("arn:td/acme_nightly:1".into()),
            },
            &BTreeMap::new(),
        )
        .await;
    assert!(failed.is_err(), "nothing listens: {failed:?}");
    assert!(!scheduler.is_ready());
    assert_eq!(scheduler.observe("acme", &[]).len(), 2, "still readable");
}
