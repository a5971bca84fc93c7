use ferry_core::blocker::BlockerReason;
use ferry_core::traffic::Edge;
use ferry_manifest::{Domain, Process, Rollout, RolloutAlarms, RolloutStrategy};

use super::*;

fn edge(name: &str, test_listener: bool) -> Edge {
    Edge {
        load_balancer_arn: format!(
            "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/{name}/1"
        ),
        dns_name: format!("{name}.elb.example"),
        canonical_zone_id: "Z1".into(),
        listener_arns: vec![format!("arn:{name}:listener/80")],
        test_listener_arn: test_listener.then(|| format!("arn:{name}:listener/9000")),
    }
}

/// Settings with both load balancers, the role, and a test listener
/// where said.
fn settings(internal_test: bool, public_test: bool, role: bool) -> Settings {
    let mut settings = ferry_core::testing::settings();
    settings.traffic.internal = Some(edge("internal", internal_test));
    settings.traffic.public = Some(edge("public", public_test));
    settings.infrastructure_role_arn = role.then(|| "arn:aws:iam::1:role/ecs-infra".into());
    settings
}

fn shop(strategy: RolloutStrategy, port: Option<u16>, domain: bool) -> App {
    App {
        name: "shop".into(),
        processes: [(
            "web".to_owned(),
            Process {
                port,
                rollout: Some(Rollout {
                    strategy,
                    bake_minutes: 5,
                    alarms: RolloutAlarms::None,
                    approval: None,
                }),
                ..Default::default()
            },
        )]
        .into(),
        domains: if domain {
            vec![Domain {
                name: "shop.example.com".into(),
                process: "web".into(),
            }]
        } else {
            Vec::new()
        },
        ..Default::default()
    }
}

fn reasons(app: &App, settings: &Settings) -> Vec<BlockerReason> {
    strategy_blockers(app, settings)
        .into_iter()
        .map(|b| b.reason)
        .collect()
}

#[test]
fn a_blue_green_process_needs_the_role_and_the_internal_test_listener() {
    let web = shop(RolloutStrategy::BlueGreen, Some(8080), false);
    assert!(reasons(&web, &settings(true, false, true)).is_empty());
    assert_eq!(
        reasons(&web, &settings(true, true, false)),
        [BlockerReason::NoInfrastructureRole]
    );
    assert_eq!(
        reasons(&web, &settings(false, true, true)),
        [BlockerReason::NoTestListener]
    );
}

#[test]
fn a_domain_needs_the_public_test_listener_too() {
    let web = shop(RolloutStrategy::BlueGreen, Some(8080), true);
    let blockers = strategy_blockers(&web, &settings(true, false, true));
    assert_eq!(blockers.len(), 1, "{blockers:?}");
    assert!(
        blockers[0].message.contains("--public-test-listener-arn"),
        "{}",
        blockers[0].message
    );
}

#[test]
fn rolling_and_portless_processes_are_not_judged_here() {
    let nothing = settings(false, false, false);
    assert!(reasons(&shop(RolloutStrategy::Rolling, Some(8080), true), &nothing).is_empty());
    // A strategy without a port is the manifest's error, at its key.
    assert!(reasons(&shop(RolloutStrategy::BlueGreen, None, false), &nothing).is_empty());
}

#[test]
fn each_refusal_is_located_at_the_strategy_key() {
    let web = shop(
        RolloutStrategy::Canary {
            percent_tenths: 50,
            step_bake_minutes: 10,
        },
        Some(8080),
        false,
    );
    let problems = problems_of(&web, &settings(false, true, false), "shop.yaml: ");
    let located: Vec<&str> = problems
        .iter()
        .map(|p| p.split(": process web has").next().unwrap_or_default())
        .collect();
    assert_eq!(
        located,
        [
            "shop.yaml: spec.processes.web.rollout.strategy: NoInfrastructureRole",
            "shop.yaml: spec.processes.web.rollout.strategy: NoTestListener",
        ],
        "{problems:?}"
    );
    assert!(
        problems[0].contains("--ecs-infrastructure-role-arn"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("--internal-test-listener-arn"),
        "{problems:?}"
    );
}
