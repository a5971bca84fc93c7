use ferry_core::names;

use super::*;

#[test]
fn the_cluster_arn_comes_from_the_task_definition_arn() {
    assert_eq!(
        cluster_arn(
            "arn:aws:ecs:eu-central-1:123456789012:task-definition/acme_nightly:3",
            "apps"
        )
        .ok(),
        Some("arn:aws:ecs:eu-central-1:123456789012:cluster/apps".to_owned())
    );
    assert!(cluster_arn("acme_nightly:3", "apps").is_err());
    assert_eq!(
        cluster_name("arn:aws:ecs:eu-central-1:123456789012:cluster/apps").as_deref(),
        Some("apps")
    );
}

#[test]
fn each_tag_goes_as_its_own_map_and_reads_back() {
    let tags = names::ownership_tags("ferry", "acme", Some("nightly"));
    let sent = tags_to(&tags);
    assert_eq!(sent.len(), tags.len());
    for (map, (k, v)) in sent.iter().zip(&tags) {
        assert_eq!(map.len(), 1);
        assert_eq!(map.get(k), Some(v));
    }
    assert_eq!(tags_from(&sent), (tags, false));
}

#[test]
fn maps_are_read_as_aws_reads_them_and_the_old_shape_is_recognised() {
    // Several entries in one map are several tags.
    let one = vec![HashMap::from([
        ("a".to_owned(), "1".to_owned()),
        ("b".to_owned(), "2".to_owned()),
    ])];
    let (read, legacy) = tags_from(&one);
    assert!(!legacy);
    assert_eq!(read.len(), 2);
    // One {"key", "value"} map alone is two tags named key and value.
    let single = vec![HashMap::from([
        ("key".to_owned(), "ferry:app".to_owned()),
        ("value".to_owned(), "acme".to_owned()),
    ])];
    let (read, legacy) = tags_from(&single);
    assert!(!legacy);
    assert_eq!(read.get("key").map(String::as_str), Some("ferry:app"));
    // What Ferry used to send: its meaning, flagged so it is rewritten.
    let tags = names::ownership_tags("ferry", "acme", Some("nightly"));
    let old: Vec<HashMap<String, String>> = tags
        .iter()
        .map(|(k, v)| {
            HashMap::from([
                ("key".to_owned(), k.clone()),
                ("value".to_owned(), v.clone()),
            ])
        })
        .collect();
    assert_eq!(tags_from(&old), (tags, true));
}

fn spec(dead_letter_arn: Option<&str>) -> ScheduleSpec {
    ScheduleSpec {
        name: "acme_nightly".into(),
        group: "ferry-ferry".into(),
        expression: "cron(0 3 * * ? *)".into(),
        timezone: "Europe/Berlin".into(),
        cluster: "apps".into(),
        role_arn: Some("arn:aws:iam::123456789012:role/scheduler".into()),
        network: NetworkSpec {
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            security_groups: vec!["sg-1".into()],
            assign_public_ip: false,
        },
        tags: names::ownership_tags("ferry", "acme", Some("nightly")),
        dead_letter_arn: dead_letter_arn.map(Into::into),
        capacity_provider_strategy: Vec::new(),
        enable_execute_command: false,
    }
}

/// The schedule GetSchedule describes after Ferry wrote `spec` with
/// `target`, read back.
fn read_back(spec: &ScheduleSpec, target: sch::Target) -> ObservedSchedule {
    let out = GetScheduleOutput::builder()
        .schedule_expression(&spec.expression)
        .schedule_expression_timezone(&spec.timezone)
        .state(sch::ScheduleState::Enabled)
        .flexible_time_window(
            sch::FlexibleTimeWindow::builder()
                .mode(sch::FlexibleTimeWindowMode::Off)
                .build()
                .expect("window"),
        )
        .target(target)
        .build();
    observed(&spec.name, &spec.group, &out)
}

/// What Ferry sends is what it reads back as converged: otherwise every
/// resync would update the schedule again.
#[test]
fn a_written_target_reads_back_as_converged() {
    let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/acme_nightly:3";
    for queue in [
        None,
        Some("arn:aws:sqs:us-east-1:123456789012:ferry-ferry-schedule-dlq"),
    ] {
        let spec = spec(queue);
        let target = target(&spec, arn).expect("target");
        let ecs = target.ecs_parameters().expect("ECS parameters");
        assert_eq!(ecs.group(), Some(schedule::RUN_GROUP));
        let retry = target.retry_policy().expect("retry policy");
        assert_eq!(retry.maximum_retry_attempts(), Some(2));
        assert_eq!(retry.maximum_event_age_in_seconds(), Some(300));
        assert_eq!(
            target.dead_letter_config().and_then(|d| d.arn()),
            queue,
            "a dead-letter queue only with --schedule-dlq-arn"
        );
        let read = read_back(&spec, target);
        assert!(read.matches(&spec), "{read:?}");
        assert_eq!(read.task_definition_arn.as_deref(), Some(arn));
        assert_eq!(read, ObservedSchedule::written(&spec, arn.to_owned()));
        // Another queue, or none, is drift.
        let mut other = spec.clone();
        other.dead_letter_arn = Some("arn:aws:sqs:us-east-1:123456789012:other".into());
        assert!(!read.matches(&other));
    }
}

/// A schedule's tasks run where the process's service does (a strategy
/// instead of the launch type, never both) and with ECS Exec as the app
/// has it; what Ferry writes reads back as converged, and the other
/// placement does not.
#[test]
fn a_target_carries_the_capacity_and_exec_and_reads_back() {
    let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/acme_nightly:3";
    let spot = vec![ferry_core::task::CapacityProviderItem {
        capacity_provider: ferry_core::task::FARGATE_SPOT.into(),
        base: 0,
        weight: 1,
    }];
    for (strategy, exec) in [(Vec::new(), false), (spot.clone(), true)] {
        let spec = ScheduleSpec {
            capacity_provider_strategy: strategy.clone(),
            enable_execute_command: exec,
            ..spec(None)
        };
        let target = target(&spec, arn).expect("target");
        let ecs = target.ecs_parameters().expect("ECS parameters");
        if strategy.is_empty() {
            assert_eq!(ecs.launch_type(), Some(&sch::LaunchType::Fargate));
            assert!(ecs.capacity_provider_strategy().is_empty());
        } else {
            assert_eq!(ecs.launch_type(), None, "never both");
            let sent: Vec<(&str, i32, i32)> = ecs
                .capacity_provider_strategy()
                .iter()
                .map(|i| (i.capacity_provider(), i.base(), i.weight()))
                .collect();
            assert_eq!(sent, [("FARGATE_SPOT", 0, 1)]);
        }
        assert_eq!(ecs.enable_execute_command(), exec.then_some(true));
        let read = read_back(&spec, target);
        assert!(read.matches(&spec), "{read:?}");
        assert_eq!(read, ObservedSchedule::written(&spec, arn.to_owned()));
        let other = ScheduleSpec {
            capacity_provider_strategy: if strategy.is_empty() {
                spot.clone()
            } else {
                Vec::new()
            },
            ..spec.clone()
        };
        assert!(!read.matches(&other), "another placement is drift");
        let toggled = ScheduleSpec {
            enable_execute_command: !exec,
            ..spec.clone()
        };
        assert!(!read.matches(&toggled), "exec turned on or off is drift");
    }
}
