use std::collections::BTreeMap;

use ferry_manifest::{
    App, ContainerHealthCheck, DependencyCondition, Platform, Process, Sidecar, APP_CONTAINER,
};

use super::*;
use crate::model::desired::{DeploymentSpec, NetworkSpec, ServiceSpec};
use crate::model::task::HEALTH_CHECK_INTERVAL;
use crate::render::render as render_processes;
use crate::testing::settings;

/// An app as written before issue 21: none of its fields set.
fn old_app() -> App {
    App {
        name: "acme".into(),
        image: "acme:1".into(),
        env: BTreeMap::from([("RAILS_ENV".into(), "production".into())]),
        secrets: BTreeMap::from([(
            "DB".into(),
            "arn:aws:ssm:us-east-1:123456789012:parameter/acme/db".into(),
        )]),
        processes: BTreeMap::from([(
            "worker".to_owned(),
            Process {
                command: vec!["worker".into()],
                stop_timeout: Some(60),
                ..Default::default()
            },
        )]),
        ..Default::default()
    }
}

/// Upgrading Ferry must not register a revision or update a service of
/// an app that sets none of the new fields: its render is exactly what
/// it was, field for field and key for key.
#[test]
fn an_app_without_the_new_fields_renders_exactly_as_before() {
    let rendered = render_processes(&old_app(), &settings()).remove(0);
    let log_options = BTreeMap::from([
        ("awslogs-group".to_owned(), "/ferry/test".to_owned()),
        ("awslogs-region".to_owned(), "us-east-1".to_owned()),
        ("awslogs-stream-prefix".to_owned(), "acme".to_owned()),
    ]);
    assert_eq!(
        rendered.task_definition,
        TaskDefinitionSpec {
            family: "ferry_acme_worker".into(),
            container_name: "worker".into(),
            image: "acme:1".into(),
            command: vec!["worker".into()],
            environment: old_app().env,
            secrets: old_app().secrets,
            cpu: 256,
            memory: 512,
            container_port: None,
            execution_role_arn: Some("arn:aws:iam::123456789012:role/exec".into()),
            log_options,
            stop_timeout: Some(60),
            task_role_arn: None,
            runtime_platform: None,
            ephemeral_storage: None,
            health_check: None,
            sidecars: Vec::new(),
        }
    );
    assert_eq!(
        rendered.service,
        ServiceSpec {
            name: "acme_worker".into(),
            desired_count: 1,
            network: NetworkSpec {
                subnets: vec!["subnet-a".into(), "subnet-b".into()],
                security_groups: vec!["sg-1".into()],
                assign_public_ip: false,
            },
            tags: crate::names::ownership_tags("ferry", "acme", Some("worker")),
            load_balancers: Vec::new(),
            health_check_grace_period: None,
            deployment: DeploymentSpec::default(),
            capacity_provider_strategy: Vec::new(),
            enable_execute_command: false,
        }
    );
    // What the specs serialise to (the plan `ferry diff -o json` shows)
    // has the keys it had.
    let keys = |value: serde_json::Value| -> Vec<String> {
        value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut td_keys = keys(serde_json::json!(rendered.task_definition));
    td_keys.sort();
    assert_eq!(
        td_keys,
        [
            "command",
            "containerName",
            "containerPort",
            "cpu",
            "environment",
            "executionRoleArn",
            "family",
            "image",
            "logOptions",
            "memory",
            "secrets",
            "stopTimeout"
        ]
    );
    let mut service_keys = keys(serde_json::json!(rendered.service));
    service_keys.sort();
    assert_eq!(
        service_keys,
        [
            "deployment",
            "desiredCount",
            "healthCheckGracePeriod",
            "loadBalancers",
            "name",
            "network",
            "tags"
        ]
    );
}

fn new_app() -> App {
    let mut app = old_app();
    app.role = Some("arn:aws:iam::123456789012:role/ferry-apps/acme".into());
    app.execution_role = Some("arn:aws:iam::123456789012:role/ferry-apps/acme-exec".into());
    app.sidecars = BTreeMap::from([
        (
            "log-router".to_owned(),
            Sidecar {
                image: "fluent-bit:stable".into(),
                essential: true,
                memory: Some(64),
                ..Default::default()
            },
        ),
        (
            "agent".to_owned(),
            Sidecar {
                image: "agent:7".into(),
                cpu: Some(128),
                depends_on: BTreeMap::from([
                    (APP_CONTAINER.to_owned(), DependencyCondition::Healthy),
                    ("log-router".to_owned(), DependencyCondition::Start),
                ]),
                ..Default::default()
            },
        ),
    ]);
    let worker = app.processes.get_mut("worker").expect("worker");
    worker.sidecars = vec!["log-router".into(), "agent".into()];
    worker.platform = Some(Platform::Arm64);
    worker.ephemeral_storage = Some(50);
    worker.container_health_check = Some(ContainerHealthCheck {
        command: vec!["CMD-SHELL".into(), "test -f /tmp/ok".into()],
        retries: Some(5),
        ..Default::default()
    });
    app
}

#[test]
fn every_new_field_is_rendered() {
    let app = new_app();
    let worker = &app.processes["worker"];
    let td = render(&app, &settings(), "worker", worker);
    assert_eq!(td.task_role_arn, app.role);
    // The app's own execution role replaces the installation's.
    assert_eq!(td.execution_role_arn, app.execution_role);
    assert_eq!(
        td.runtime_platform,
        Some(RuntimePlatform {
            cpu_architecture: "ARM64".into(),
            operating_system_family: "LINUX".into(),
        })
    );
    assert_eq!(td.ephemeral_storage, Some(50));
    let check = td.health_check.expect("a health check");
    assert_eq!(check.command, ["CMD-SHELL", "test -f /tmp/ok"]);
    assert_eq!(
        (
            check.interval,
            check.timeout,
            check.retries,
            check.start_period
        ),
        (HEALTH_CHECK_INTERVAL, 5, 5, 0),
        "ECS's defaults filled, the set retries kept"
    );
    let names: Vec<&str> = td.sidecars.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["agent", "log-router"], "sorted by name");
    let agent = &td.sidecars[0];
    assert_eq!(
        agent.depends_on,
        BTreeMap::from([
            ("log-router".to_owned(), "START".to_owned()),
            // The process's container goes by the process's name.
            ("worker".to_owned(), "HEALTHY".to_owned()),
        ])
    );
    assert!(!agent.essential);
    assert_eq!((agent.cpu, agent.memory), (Some(128), None));
    assert_eq!(
        agent.log_options, td.log_options,
        "the same awslogs options"
    );
    assert!(td.sidecars[1].essential);
    // A process that names no sidecar runs none.
    let mut alone = worker.clone();
    alone.sidecars.clear();
    assert!(render(&app, &settings(), "worker", &alone)
        .sidecars
        .is_empty());
}

/// `progressDeadline` is Ferry's alone: no task definition or service
/// changes with it, so setting it (or a spec stored before it existed)
/// makes no deployment.
#[test]
fn the_progress_deadline_changes_no_aws_resource() {
    let before = render_processes(&old_app(), &settings()).remove(0);
    assert_eq!(
        before.progress_deadline_secs,
        ferry_manifest::DEFAULT_PROGRESS_DEADLINE
    );
    let mut app = old_app();
    for process in app.processes.values_mut() {
        process.progress_deadline = Some(1200);
    }
    let after = render_processes(&app, &settings()).remove(0);
    assert_eq!(after.progress_deadline_secs, 1200);
    assert_eq!(after.task_definition, before.task_definition);
    assert_eq!(after.service, before.service);
}
