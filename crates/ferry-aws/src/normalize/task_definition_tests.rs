use super::*;

/// A DescribeTaskDefinition answer shaped like ECS's: the fields Ferry
/// sent, plus what ECS adds (hostPort, protocol, essential, a zero
/// container cpu, empty lists, revision, status, compatibilities, the
/// attributes it requires), with environment and secrets in another
/// order than Ferry sent them.
fn described() -> ecs::TaskDefinition {
    let container = ecs::ContainerDefinition::builder()
        .name("web")
        .image("acme/web:1")
        .cpu(0)
        .essential(true)
        .command("serve")
        .command("--port=8080")
        .environment(ecs::KeyValuePair::builder().name("B").value("2").build())
        .environment(ecs::KeyValuePair::builder().name("A").value("1").build())
        .secrets(
            ecs::Secret::builder()
                .name("DB")
                .value_from("arn:aws:ssm:us-east-1:123456789012:parameter/db")
                .build()
                .expect("secret"),
        )
        .port_mappings(
            ecs::PortMapping::builder()
                .container_port(8080)
                .host_port(8080)
                .protocol(ecs::TransportProtocol::Tcp)
                .build(),
        )
        .log_configuration(
            ecs::LogConfiguration::builder()
                .log_driver(ecs::LogDriver::Awslogs)
                .options("awslogs-group", "/ferry/apps")
                .options("awslogs-region", "us-east-1")
                .options("awslogs-stream-prefix", "acme")
                .build()
                .expect("log configuration"),
        )
        .stop_timeout(60)
        .build();
    ecs::TaskDefinition::builder()
        .family("acme_web")
        .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/acme_web:7")
        .revision(7)
        .status(ecs::TaskDefinitionStatus::Active)
        .container_definitions(container)
        .cpu("256")
        .memory("512")
        .network_mode(ecs::NetworkMode::Awsvpc)
        .requires_compatibilities(ecs::Compatibility::Fargate)
        .compatibilities(ecs::Compatibility::Ec2)
        .compatibilities(ecs::Compatibility::Fargate)
        .requires_attributes(
            ecs::Attribute::builder()
                .name("com.amazonaws.ecs.capability.logging-driver.awslogs")
                .build()
                .expect("attribute"),
        )
        .execution_role_arn("arn:aws:iam::123456789012:role/exec")
        .build()
}

fn rendered() -> TaskDefinitionSpec {
    TaskDefinitionSpec {
        family: "acme_web".into(),
        container_name: "web".into(),
        image: "acme/web:1".into(),
        command: vec!["serve".into(), "--port=8080".into()],
        environment: BTreeMap::from([("A".into(), "1".into()), ("B".into(), "2".into())]),
        secrets: BTreeMap::from([(
            "DB".into(),
            "arn:aws:ssm:us-east-1:123456789012:parameter/db".into(),
        )]),
        cpu: 256,
        memory: 512,
        container_port: Some(8080),
        execution_role_arn: Some("arn:aws:iam::123456789012:role/exec".into()),
        log_options: BTreeMap::from([
            ("awslogs-group".into(), "/ferry/apps".into()),
            ("awslogs-region".into(), "us-east-1".into()),
            ("awslogs-stream-prefix".into(), "acme".into()),
        ]),
        stop_timeout: Some(60),
        task_role_arn: None,
        runtime_platform: None,
        ephemeral_storage: None,
        health_check: None,
        sidecars: Vec::new(),
    }
}

#[test]
fn what_ecs_adds_does_not_count_as_a_change() {
    assert_eq!(task_definition(&described()), rendered());
}

#[test]
fn a_change_ferry_manages_does_count() {
    let mut other = rendered();
    other.image = "acme/web:2".into();
    assert_ne!(task_definition(&described()), other);
    // Two containers are not Ferry's shape: never equal to a render.
    let mut two = described();
    two.container_definitions
        .get_or_insert_with(Vec::new)
        .push(ecs::ContainerDefinition::builder().name("sidecar").build());
    assert_ne!(task_definition(&two), rendered());
}
