//! Round trips of the strategy fields: what Ferry sends in
//! Create/UpdateService, echoed in DescribeServices' answer, reads back as
//! the rendered spec, so a strategy never looks like drift.

use ferry_core::model::desired::PauseHook;
use ferry_core::traffic::{AdvancedLink, RuleRef};
use ferry_core::DeploymentSpec;
use ferry_manifest::{ApprovalStage, RolloutStrategy, TimeoutAction};

use super::requests::{deployment_configuration, load_balancer};
use super::*;
use crate::resolve::Resolve;

const LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/int/50dc/f2f7";
const TEST_LISTENER: &str = "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/int/50dc/t357";

fn tg_arn(name: &str) -> String {
    format!("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/{name}/0123")
}

fn rule_arn(rule: &RuleRef) -> String {
    let id = if rule.key.starts_with("test:") {
        "2"
    } else {
        "1"
    };
    format!(
        "{}/{id}",
        rule.listener_arn
            .replacen(":listener/", ":listener-rule/", 1)
    )
}

fn specs() -> Vec<DeploymentSpec> {
    let base = DeploymentSpec::default();
    let approval = |stage, on_timeout| PauseHook {
        stage,
        timeout_minutes: 60,
        on_timeout,
    };
    vec![
        base.clone(),
        DeploymentSpec {
            alarms: vec!["web-5xx".into(), "web-latency".into()],
            ..base.clone()
        },
        DeploymentSpec {
            strategy: RolloutStrategy::BlueGreen,
            bake_minutes: 5,
            pause_hooks: vec![approval(
                ApprovalStage::AfterTestTraffic,
                TimeoutAction::Rollback,
            )],
            ..base.clone()
        },
        DeploymentSpec {
            strategy: RolloutStrategy::Canary {
                percent_tenths: 1,
                step_bake_minutes: 2,
            },
            bake_minutes: 0,
            alarms: vec!["ferry-o-acme-web-5xx".into()],
            pause_hooks: vec![approval(
                ApprovalStage::BeforeProductionTraffic,
                TimeoutAction::Continue,
            )],
            ..base.clone()
        },
        DeploymentSpec {
            strategy: RolloutStrategy::Canary {
                percent_tenths: 333,
                step_bake_minutes: 1440,
            },
            bake_minutes: 1440,
            ..base.clone()
        },
        DeploymentSpec {
            strategy: RolloutStrategy::Linear {
                step_tenths: 30,
                step_bake_minutes: 6,
            },
            bake_minutes: 5,
            ..base
        },
    ]
}

fn described(config: ecs::DeploymentConfiguration, links: Vec<ecs::LoadBalancer>) -> ecs::Service {
    ecs::Service::builder()
        .service_name("acme_web")
        .status("ACTIVE")
        .deployment_configuration(config)
        .set_load_balancers(Some(links))
        .build()
}

#[test]
fn every_strategy_reads_back_as_rendered() {
    for spec in specs() {
        let sent = deployment_configuration(&spec).expect("request");
        let observed = normalize::service(&described(sent, Vec::new())).expect("active");
        assert_eq!(observed.deployment.as_ref(), Some(&spec), "{spec:?}");
    }
}

#[test]
fn the_request_says_the_strategy_and_ecs_parameters() {
    let canary = &specs()[3];
    let sent = deployment_configuration(canary).expect("request");
    assert_eq!(sent.strategy(), Some(&ecs::DeploymentStrategy::Canary));
    assert_eq!(
        sent.canary_configuration().and_then(|c| c.canary_percent()),
        Some(0.1)
    );
    let alarms = sent.alarms().expect("alarms");
    assert!(alarms.enable() && alarms.rollback());
    let hook = sent.lifecycle_hooks().first().expect("hook");
    assert_eq!(
        hook.target_type(),
        Some(&ecs::DeploymentLifecycleHookTargetType::Pause)
    );
    assert_eq!(
        hook.lifecycle_stages(),
        [ecs::DeploymentLifecycleHookStage::PreProductionTrafficShift]
    );
    // Rolling says ROLLING (a switch back is explicit) and nothing else
    // of the strategies; without names, no alarms block.
    let rolling = deployment_configuration(&DeploymentSpec::default()).expect("request");
    assert_eq!(rolling.strategy(), Some(&ecs::DeploymentStrategy::Rolling));
    assert!(rolling.alarms().is_none());
    assert!(rolling.canary_configuration().is_none());
    assert!(rolling.bake_time_in_minutes().is_none());
}

/// The circuit breaker Ferry always sets.
fn breaker() -> ecs::DeploymentCircuitBreaker {
    ecs::DeploymentCircuitBreaker::builder()
        .enable(true)
        .rollback(true)
        .build()
}

/// A rolling service's configuration as ECS described it before
/// strategies existed.
fn rolling_config() -> ecs::builders::DeploymentConfigurationBuilder {
    ecs::DeploymentConfiguration::builder()
        .minimum_healthy_percent(100)
        .maximum_percent(200)
        .deployment_circuit_breaker(breaker())
}

#[test]
fn a_service_created_before_strategies_is_rolling_and_foreign_hooks_never_match() {
    let old = rolling_config().build();
    let observed = normalize::service(&described(old.clone(), Vec::new())).expect("active");
    assert_eq!(observed.deployment, Some(DeploymentSpec::default()));
    let lambda = rolling_config()
        .strategy(ecs::DeploymentStrategy::BlueGreen)
        .lifecycle_hooks(
            ecs::DeploymentLifecycleHook::builder()
                .target_type(ecs::DeploymentLifecycleHookTargetType::AwsLambda)
                .lifecycle_stages(ecs::DeploymentLifecycleHookStage::PostTestTrafficShift)
                .build(),
        )
        .build();
    let observed = normalize::service(&described(lambda, Vec::new())).expect("active");
    assert_eq!(observed.deployment, None, "no rendered spec equals it");
}

fn advanced_link() -> LoadBalancerLink {
    LoadBalancerLink {
        target_group: "ferry-acme-web".into(),
        container_name: "web".into(),
        container_port: 8080,
        advanced: Some(AdvancedLink {
            alternate_target_group: "ferry-acme-web-b".into(),
            production_rule: RuleRef {
                listener_arn: LISTENER.into(),
                key: "internal/web".into(),
            },
            test_rule: RuleRef {
                listener_arn: TEST_LISTENER.into(),
                key: "test:internal/web".into(),
            },
            role_arn: "arn:aws:iam::1:role/ecs-infrastructure".into(),
        }),
    }
}

#[test]
fn an_advanced_link_is_sent_with_its_arns_and_reads_back_by_arn() {
    let group = |name: &str| Some(tg_arn(name));
    let rule = |r: &RuleRef| Some(rule_arn(r));
    let resolve = Resolve {
        target_group: &group,
        rule: &rule,
    };
    let link = advanced_link();
    let sent = load_balancer(&link, resolve).expect("request");
    let advanced = sent.advanced_configuration().expect("advanced");
    assert_eq!(
        advanced.alternate_target_group_arn(),
        Some(tg_arn("ferry-acme-web-b").as_str())
    );
    let wanted = link.advanced.as_ref().expect("advanced");
    assert_eq!(
        advanced.production_listener_rule(),
        Some(rule_arn(&wanted.production_rule).as_str())
    );
    assert_eq!(
        advanced.test_listener_rule(),
        Some(rule_arn(&wanted.test_rule).as_str())
    );
    let observed = normalize::service(&described(
        deployment_configuration(&DeploymentSpec::default()).expect("request"),
        vec![sent],
    ))
    .expect("active");
    let read = observed.load_balancers[0]
        .advanced
        .clone()
        .expect("advanced");
    assert_eq!(read.alternate_target_group, wanted.alternate_target_group);
    assert_eq!(read.role_arn, wanted.role_arn);
    // Rules read back by ARN, on their listener, until the inventory names them.
    assert_eq!(read.production_rule.listener_arn, LISTENER);
    assert_eq!(
        crate::resolve::unknown_rule_arn(&read.production_rule),
        Some(rule_arn(&wanted.production_rule).as_str())
    );
    assert_eq!(read.test_rule.listener_arn, TEST_LISTENER);
}

#[test]
fn a_link_without_advanced_configuration_sends_none_and_an_unknown_rule_is_refused() {
    let group = |name: &str| Some(tg_arn(name));
    let rule = |_: &RuleRef| None;
    let resolve = Resolve {
        target_group: &group,
        rule: &rule,
    };
    let rolling = LoadBalancerLink {
        advanced: None,
        ..advanced_link()
    };
    let sent = load_balancer(&rolling, resolve).expect("request");
    assert!(sent.advanced_configuration().is_none());
    assert!(load_balancer(&advanced_link(), resolve).is_err());
}

/// ECS answers a double: one a hair off the tenth still reads as it.
#[test]
fn a_percent_a_hair_off_its_tenth_reads_as_the_tenth() {
    let sent = deployment_configuration(&specs()[3]).expect("request");
    let off = ecs::DeploymentConfiguration::builder()
        .set_minimum_healthy_percent(sent.minimum_healthy_percent())
        .set_maximum_percent(sent.maximum_percent())
        .set_deployment_circuit_breaker(sent.deployment_circuit_breaker().cloned())
        .strategy(ecs::DeploymentStrategy::Canary)
        .canary_configuration(
            ecs::CanaryConfiguration::builder()
                .canary_percent(9.999_999)
                .canary_bake_time_in_minutes(2)
                .build(),
        )
        .build();
    let observed = normalize::service(&described(off, Vec::new())).expect("active");
    assert_eq!(
        observed.deployment.map(|d| d.strategy),
        Some(RolloutStrategy::Canary {
            percent_tenths: 100,
            step_bake_minutes: 2
        })
    );
}

/// For a strategy other than rolling, percents ECS leaves out read as the
/// rendered defaults; a rolling service without them never matches.
#[test]
fn percents_left_out_are_defaults_only_for_a_strategy_that_shifts_traffic() {
    let without_percents = |strategy: ecs::DeploymentStrategy| {
        ecs::DeploymentConfiguration::builder()
            .deployment_circuit_breaker(breaker())
            .strategy(strategy)
            .bake_time_in_minutes(5)
            .build()
    };
    let blue_green = normalize::service(&described(
        without_percents(ecs::DeploymentStrategy::BlueGreen),
        Vec::new(),
    ))
    .expect("active");
    assert_eq!(
        blue_green.deployment,
        Some(DeploymentSpec {
            strategy: RolloutStrategy::BlueGreen,
            bake_minutes: 5,
            ..DeploymentSpec::default()
        })
    );
    let rolling = normalize::service(&described(
        without_percents(ecs::DeploymentStrategy::Rolling),
        Vec::new(),
    ))
    .expect("active");
    assert_eq!(rolling.deployment, None);
}
