//! The ECS requests Ferry sends for issue 21's fields, and the round trip
//! of a task definition: what Ferry registers, echoed by ECS with its
//! defaults filled, normalises back to the rendered spec.

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionInputBuilder;
use ferry_core::task::{
    CapacityProviderItem, HealthCheckSpec, RuntimePlatform, SidecarSpec, FARGATE, FARGATE_SPOT,
};
use proptest::prelude::*;

use super::requests::count;
use super::task_definition::register_request;
use super::*;
use crate::test_support::caller;

fn client() -> Client {
    Client::from_conf(
        aws_sdk_ecs::Config::builder()
            .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
            .region(aws_sdk_ecs::config::Region::new("us-east-1"))
            .build(),
    )
}

fn logs() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("awslogs-group".to_owned(), "/ferry/apps".to_owned()),
        ("awslogs-region".to_owned(), "us-east-1".to_owned()),
        ("awslogs-stream-prefix".to_owned(), "acme".to_owned()),
    ])
}

/// The spec of an app as written before issue 21.
fn old_spec() -> TaskDefinitionSpec {
    TaskDefinitionSpec {
        family: "ferry_acme_worker".into(),
        container_name: "worker".into(),
        image: "acme:1".into(),
        command: vec!["worker".into()],
        environment: BTreeMap::from([("A".into(), "1".into()), ("B".into(), "2".into())]),
        secrets: BTreeMap::from([(
            "DB".into(),
            "arn:aws:ssm:us-east-1:123456789012:parameter/acme/db".into(),
        )]),
        cpu: 512,
        memory: 1024,
        container_port: None,
        execution_role_arn: Some("arn:aws:iam::123456789012:role/exec".into()),
        log_options: logs(),
        stop_timeout: None,
        task_role_arn: None,
        runtime_platform: None,
        ephemeral_storage: None,
        health_check: None,
        sidecars: Vec::new(),
    }
}

fn agent() -> SidecarSpec {
    SidecarSpec {
        name: "agent".into(),
        image: "agent:7".into(),
        command: vec!["agent".into(), "run".into()],
        environment: BTreeMap::new(),
        secrets: BTreeMap::from([(
            "KEY".into(),
            "arn:aws:ssm:us-east-1:123456789012:parameter/acme/key".into(),
        )]),
        essential: false,
        cpu: Some(128),
        memory: None,
        depends_on: BTreeMap::from([("worker".to_owned(), "HEALTHY".to_owned())]),
        log_options: logs(),
    }
}

fn log_router() -> SidecarSpec {
    SidecarSpec {
        name: "log-router".into(),
        image: "fluent-bit:stable".into(),
        command: Vec::new(),
        environment: BTreeMap::from([("LEVEL".into(), "info".into())]),
        secrets: BTreeMap::new(),
        essential: true,
        cpu: None,
        memory: Some(64),
        depends_on: BTreeMap::new(),
        log_options: logs(),
    }
}

/// Every field of issue 21 set.
fn full_spec() -> TaskDefinitionSpec {
    TaskDefinitionSpec {
        task_role_arn: Some("arn:aws:iam::123456789012:role/ferry-apps/acme".into()),
        execution_role_arn: Some("arn:aws:iam::123456789012:role/ferry-apps/acme-exec".into()),
        runtime_platform: Some(RuntimePlatform {
            cpu_architecture: "ARM64".into(),
            operating_system_family: "LINUX".into(),
        }),
        ephemeral_storage: Some(50),
        health_check: Some(HealthCheckSpec::with_defaults(
            vec!["CMD-SHELL".into(), "test -f /tmp/ok".into()],
            None,
            Some(2),
            None,
            None,
        )),
        sidecars: vec![agent(), log_router()],
        ..old_spec()
    }
}

/// What ECS answers a RegisterTaskDefinition of `request` with (and
/// DescribeTaskDefinition later): the same task definition with ECS's
/// defaults filled: essential, hostPort, a health check's interval,
/// timeout, retries and start period, revision, status and
/// compatibilities; environment in another order.
fn echoed(request: &RegisterTaskDefinitionInputBuilder) -> ecs::TaskDefinition {
    let containers = request
        .get_container_definitions()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|mut c| {
            c.essential = c.essential.or(Some(true));
            for mapping in c.port_mappings.iter_mut().flatten() {
                mapping.host_port = mapping.container_port;
            }
            if let Some(check) = c.health_check.as_mut() {
                check.interval = check.interval.or(Some(30));
                check.timeout = check.timeout.or(Some(5));
                check.retries = check.retries.or(Some(3));
                check.start_period = check.start_period.or(Some(0));
            }
            if let Some(environment) = c.environment.as_mut() {
                environment.reverse();
            }
            c
        })
        .collect();
    let family = request.get_family().clone().unwrap_or_default();
    ecs::TaskDefinition::builder()
        .task_definition_arn(format!(
            "arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:3"
        ))
        .family(family)
        .revision(3)
        .status(ecs::TaskDefinitionStatus::Active)
        .set_container_definitions(Some(containers))
        .set_cpu(request.get_cpu().clone())
        .set_memory(request.get_memory().clone())
        .network_mode(ecs::NetworkMode::Awsvpc)
        .requires_compatibilities(ecs::Compatibility::Fargate)
        .compatibilities(ecs::Compatibility::Ec2)
        .compatibilities(ecs::Compatibility::Fargate)
        .set_execution_role_arn(request.get_execution_role_arn().clone())
        .set_task_role_arn(request.get_task_role_arn().clone())
        .set_runtime_platform(request.get_runtime_platform().clone())
        .set_ephemeral_storage(request.get_ephemeral_storage().clone())
        .build()
}

fn round_trip(spec: &TaskDefinitionSpec) -> TaskDefinitionSpec {
    let request = register_request(&client(), spec, &BTreeMap::new()).expect("request");
    normalize::task_definition(&echoed(request.as_input()))
}

#[test]
fn register_task_definition_carries_every_field() {
    let spec = full_spec();
    let request = register_request(&client(), &spec, &BTreeMap::new()).expect("request");
    let input = request.as_input();
    assert_eq!(input.get_task_role_arn(), &spec.task_role_arn);
    assert_eq!(input.get_execution_role_arn(), &spec.execution_role_arn);
    let platform = input.get_runtime_platform().clone().expect("platform");
    assert_eq!(
        platform.cpu_architecture(),
        Some(&ecs::CpuArchitecture::Arm64)
    );
    assert_eq!(
        platform.operating_system_family(),
        Some(&ecs::OsFamily::Linux)
    );
    assert_eq!(
        input
            .get_ephemeral_storage()
            .as_ref()
            .map(|e| e.size_in_gib()),
        Some(50)
    );
    let containers = input
        .get_container_definitions()
        .clone()
        .unwrap_or_default();
    let names: Vec<&str> = containers.iter().filter_map(|c| c.name()).collect();
    assert_eq!(
        names,
        ["worker", "agent", "log-router"],
        "the process first"
    );
    let process = &containers[0];
    assert_eq!(process.essential(), Some(true));
    let check = process.health_check().expect("health check");
    assert_eq!(check.command(), ["CMD-SHELL", "test -f /tmp/ok"]);
    assert_eq!(
        (check.interval(), check.timeout(), check.retries()),
        (Some(30), Some(2), Some(3))
    );
    assert_eq!(check.start_period(), None, "no start period is none sent");
    let agent = &containers[1];
    assert_eq!(agent.essential(), Some(false));
    assert_eq!((agent.cpu(), agent.memory()), (128, None));
    assert_eq!(agent.command(), ["agent", "run"]);
    assert_eq!(agent.secrets().len(), 1);
    let dependency = &agent.depends_on()[0];
    assert_eq!(dependency.container_name(), "worker");
    assert_eq!(dependency.condition(), &ecs::ContainerCondition::Healthy);
    assert!(
        agent.port_mappings().is_empty(),
        "no port from the load balancer"
    );
    assert_eq!(
        agent
            .log_configuration()
            .and_then(|l| l.options())
            .map(|o| o.len()),
        Some(3),
        "the process's awslogs options"
    );
    let router = &containers[2];
    assert_eq!(router.essential(), Some(true));
    assert_eq!(router.memory(), Some(64));
}

/// An app without issue 21's fields sends what it sent before, and what
/// ECS answers reads back as its spec: no new revision after an upgrade.
#[test]
fn an_old_spec_sends_what_it_sent_and_reads_back_unchanged() {
    let spec = old_spec();
    let request = register_request(&client(), &spec, &BTreeMap::new()).expect("request");
    let input = request.as_input();
    assert_eq!(input.get_task_role_arn(), &None);
    assert!(input.get_runtime_platform().is_none());
    assert!(input.get_ephemeral_storage().is_none());
    let containers = input
        .get_container_definitions()
        .clone()
        .unwrap_or_default();
    assert_eq!(containers.len(), 1);
    assert!(containers[0].health_check().is_none());
    assert_eq!(round_trip(&spec), spec);
}

#[test]
fn a_container_ferry_did_not_render_is_a_change() {
    let spec = full_spec();
    let request = register_request(&client(), &spec, &BTreeMap::new()).expect("request");
    let mut described = echoed(request.as_input());
    described
        .container_definitions
        .get_or_insert_with(Vec::new)
        .push(ecs::ContainerDefinition::builder().name("stranger").build());
    assert_ne!(normalize::task_definition(&described), spec);
    // Without the process's container, nothing is the process's.
    let mut headless = echoed(request.as_input());
    if let Some(containers) = headless.container_definitions.as_mut() {
        containers.remove(0);
    }
    let read = normalize::task_definition(&headless);
    assert_eq!(read.container_name, "<several containers>");
    assert_ne!(read, spec);
}

fn sidecar_strategy() -> impl Strategy<Value = Vec<SidecarSpec>> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(with_agent, with_router, flip)| {
        let mut sidecars = Vec::new();
        if with_agent {
            let mut agent = agent();
            agent.essential = flip;
            sidecars.push(agent);
        }
        if with_router {
            let mut router = log_router();
            router.cpu = flip.then_some(32);
            sidecars.push(router);
        }
        sidecars
    })
}

proptest! {
    /// Whatever Ferry registers, ECS's answer normalises back to it.
    #[test]
    fn a_registered_task_definition_reads_back_as_its_spec(
        sidecars in sidecar_strategy(),
        arm in prop::option::of(any::<bool>()),
        storage in prop::option::of(21u32..=200),
        check in prop::option::of((
            prop::option::of(5u32..=300),
            prop::option::of(2u32..=60),
            prop::option::of(1u32..=10),
            prop::option::of(0u32..=300),
        )),
        role in any::<bool>(),
        port in prop::option::of(1024u16..9000),
        stop in prop::option::of(2u32..=120),
    ) {
        let spec = TaskDefinitionSpec {
            sidecars,
            runtime_platform: arm.map(|arm| RuntimePlatform {
                cpu_architecture: if arm { "ARM64" } else { "X86_64" }.into(),
                operating_system_family: "LINUX".into(),
            }),
            ephemeral_storage: storage,
            health_check: check.map(|(interval, timeout, retries, start)| {
                HealthCheckSpec::with_defaults(
                    vec!["CMD".into(), "/bin/check".into()],
                    interval,
                    timeout,
                    retries,
                    start,
                )
            }),
            task_role_arn: role.then(|| "arn:aws:iam::123456789012:role/ferry-apps/acme".into()),
            container_port: port,
            stop_timeout: stop,
            ..old_spec()
        };
        prop_assert_eq!(round_trip(&spec), spec);
    }
}

fn service(strategy: Vec<CapacityProviderItem>, exec: bool) -> ServiceSpec {
    ServiceSpec {
        name: "acme_worker".into(),
        desired_count: 2,
        network: NetworkSpec {
            subnets: vec!["subnet-a".into()],
            security_groups: vec!["sg-1".into()],
            assign_public_ip: false,
        },
        tags: BTreeMap::new(),
        load_balancers: Vec::new(),
        health_check_grace_period: None,
        deployment: Default::default(),
        capacity_provider_strategy: strategy,
        enable_execute_command: exec,
    }
}

fn strategies() -> Vec<Vec<CapacityProviderItem>> {
    let item = |provider: &str, base, weight| CapacityProviderItem {
        capacity_provider: provider.into(),
        base,
        weight,
    };
    vec![
        Vec::new(),
        vec![item(FARGATE_SPOT, 0, 1)],
        vec![item(FARGATE, 2, 0), item(FARGATE_SPOT, 0, 3)],
    ]
}

/// ECS refuses a request with both a launch type and a strategy.
#[test]
fn create_service_and_run_task_send_a_launch_type_or_a_strategy_never_both() {
    let ecs = Ecs::new(client(), caller(), "apps");
    for strategy in strategies() {
        for exec in [false, true] {
            let spec = service(strategy.clone(), exec);
            let create = ecs
                .create_service_request(&spec, "arn:td/acme_worker:1", Vec::new())
                .expect("request");
            let input = create.as_input();
            let run = ecs
                .run_task_request(&OneOff {
                    task_definition: "arn:td/acme_worker:1".into(),
                    container: "worker".into(),
                    command: Vec::new(),
                    network: spec.network.clone(),
                    tags: BTreeMap::new(),
                    capacity_provider_strategy: strategy.clone(),
                    enable_execute_command: exec,
                })
                .expect("request");
            let run = run.as_input();
            for (launch_type, sent, exec_sent) in [
                (
                    input.get_launch_type(),
                    input.get_capacity_provider_strategy(),
                    input.get_enable_execute_command(),
                ),
                (
                    run.get_launch_type(),
                    run.get_capacity_provider_strategy(),
                    run.get_enable_execute_command(),
                ),
            ] {
                if strategy.is_empty() {
                    assert_eq!(launch_type, &Some(ecs::LaunchType::Fargate));
                    assert!(sent.is_none());
                } else {
                    assert!(launch_type.is_none(), "never both");
                    let sent: Vec<(String, i32, i32)> = sent
                        .iter()
                        .flatten()
                        .map(|i| (i.capacity_provider().to_owned(), i.base(), i.weight()))
                        .collect();
                    let wanted: Vec<(String, i32, i32)> = strategy
                        .iter()
                        .map(|i| (i.capacity_provider.clone(), count(i.base), count(i.weight)))
                        .collect();
                    assert_eq!(sent, wanted);
                }
                // Only on is sent: a request without exec is as before.
                assert_eq!(exec_sent, &exec.then_some(true));
            }
        }
    }
}

/// What a service answers with reads back as its spec: no flapping.
#[test]
fn a_service_reads_back_its_strategy_and_exec() {
    for strategy in strategies() {
        let mut described = ecs::Service::builder()
            .service_name("acme_worker")
            .status("ACTIVE")
            .enable_execute_command(true);
        if strategy.is_empty() {
            described = described.launch_type(ecs::LaunchType::Fargate);
        }
        // ECS lists the items in any order.
        for item in strategy.iter().rev() {
            described = described.capacity_provider_strategy(
                ecs::CapacityProviderStrategyItem::builder()
                    .capacity_provider(&item.capacity_provider)
                    .base(count(item.base))
                    .weight(count(item.weight))
                    .build()
                    .expect("item"),
            );
        }
        let observed = normalize::service(&described.build()).expect("active");
        assert_eq!(observed.capacity_provider_strategy, strategy);
        assert!(observed.enable_execute_command);
    }
}

/// A capacity change sends the new strategy (an empty one to return to
/// the launch type, never left out), ECS Exec, and a new deployment; an
/// update that changes neither sends neither.
#[test]
fn update_service_sends_the_strategy_exec_and_a_new_deployment() {
    let ecs = Ecs::new(client(), caller(), "apps");
    let no_group = |_: &str| None;
    let no_rule = |_: &ferry_core::traffic::RuleRef| None;
    let no_group = crate::resolve::Resolve {
        target_group: &no_group,
        rule: &no_rule,
    };
    for strategy in strategies() {
        let update = ServiceUpdate {
            capacity_provider_strategy: Some(strategy.clone()),
            enable_execute_command: Some(true),
            force_new_deployment: true,
            ..ServiceUpdate::new("acme_worker")
        };
        let request = ecs
            .update_service_request(&update, &BTreeMap::new(), no_group)
            .expect("request");
        let input = request.as_input();
        let sent = input
            .get_capacity_provider_strategy()
            .as_ref()
            .map(|items| items.len());
        assert_eq!(sent, Some(strategy.len()), "sent even when empty");
        assert_eq!(input.get_enable_execute_command(), &Some(true));
        assert_eq!(input.get_force_new_deployment(), &Some(true));
    }
    let scale = ServiceUpdate {
        desired_count: Some(3),
        ..ServiceUpdate::new("acme_worker")
    };
    let request = ecs
        .update_service_request(&scale, &BTreeMap::new(), no_group)
        .expect("request");
    let input = request.as_input();
    assert!(input.get_capacity_provider_strategy().is_none());
    assert!(input.get_enable_execute_command().is_none());
}
