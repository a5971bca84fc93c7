//! The render of `rollout:`: deployment configuration, pairs, production
//! and test rules, links, alarms and the blockers.

use std::collections::BTreeMap;

use ferry_manifest::{
    Approval, ApprovalStage, Domain, Rollout, RolloutAlarms, RolloutStrategy, TimeoutAction,
};
use proptest::prelude::*;

use super::*;
use crate::model::desired::Desired;
use crate::names::traffic::{public_target_group_name, target_group_name};
use crate::render::render_app;
use crate::testing;

const ROLE: &str = "arn:aws:iam::123456789012:role/ferry-ecs-infrastructure";

/// Both load balancers with two listeners and a test listener each, and
/// the infrastructure role.
fn settings() -> Settings {
    testing::settings_for_strategies()
}

fn rollout(strategy: RolloutStrategy) -> Rollout {
    Rollout {
        strategy,
        bake_minutes: 5,
        alarms: RolloutAlarms::None,
        approval: None,
    }
}

/// `acme` with `web` (port 8080, `rollout`, two domains) and `worker`.
fn acme(rollout: Option<Rollout>) -> App {
    let web = Process {
        port: Some(8080),
        rollout,
        ..Default::default()
    };
    let domains = ["acme.example.com", "www.example.com"].map(|name| Domain {
        name: name.into(),
        process: "web".into(),
    });
    App {
        name: "acme".into(),
        image: "acme:1".into(),
        domains: domains.to_vec(),
        processes: BTreeMap::from([
            ("web".to_owned(), web),
            ("worker".to_owned(), Process::default()),
        ]),
        ..Default::default()
    }
}

fn web(desired: &Desired) -> &crate::model::desired::DesiredProcess {
    desired
        .processes
        .iter()
        .find(|p| p.process == "web")
        .expect("web")
}

/// A rule as (listener, key, group, alternate, hosts).
type RuleRow<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Vec<&'a str>);

fn canary() -> RolloutStrategy {
    RolloutStrategy::Canary {
        percent_tenths: 100,
        step_bake_minutes: 2,
    }
}

#[test]
fn a_canary_gets_its_deployment_configuration_and_approval() {
    let mut with_approval = rollout(canary());
    with_approval.approval = Some(Approval {
        stage: ApprovalStage::AfterTestTraffic,
        timeout_minutes: 60,
        on_timeout: TimeoutAction::Continue,
    });
    with_approval.alarms = RolloutAlarms::Named(vec!["b".into(), "a".into()]);
    let desired = render_app(&acme(Some(with_approval)), &settings());
    let deployment = &web(&desired).service.deployment;
    assert_eq!(deployment.strategy, canary());
    assert_eq!(deployment.bake_minutes, 5);
    assert_eq!(deployment.alarms, ["a", "b"]);
    assert_eq!(
        deployment.pause_hooks,
        [PauseHook {
            stage: ApprovalStage::AfterTestTraffic,
            timeout_minutes: 60,
            on_timeout: TimeoutAction::Continue,
        }]
    );
    assert!(deployment.rollback, "the circuit breaker stays");
    assert!(
        desired.traffic.blockers.is_empty(),
        "{:?}",
        desired.traffic.blockers
    );
}

#[test]
fn each_load_balancer_gets_a_pair_a_production_rule_on_its_first_listener_and_a_test_rule() {
    let desired = render_app(
        &acme(Some(rollout(RolloutStrategy::BlueGreen))),
        &settings(),
    );
    let internal = target_group_name(testing::OWNER, "acme", "web", 8080);
    let public = public_target_group_name(testing::OWNER, "acme", "web", 8080);
    let groups: Vec<&str> = desired
        .traffic
        .target_groups
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    for primary in [&internal, &public] {
        assert!(groups.contains(&primary.as_str()), "{groups:?}");
        assert!(
            groups.contains(&alternate_target_group_name(primary).as_str()),
            "{groups:?}"
        );
    }
    let rules: Vec<RuleRow> = desired
        .traffic
        .rules
        .iter()
        .map(|r| {
            (
                r.listener_arn.as_str(),
                r.key.as_str(),
                r.target_group.as_str(),
                r.alternate.as_deref(),
                r.hosts.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let internal_hosts = vec!["acme.ferry.internal", "web.acme.ferry.internal"];
    let public_hosts = vec!["acme.example.com", "www.example.com"];
    let (alt_internal, alt_public) = (
        alternate_target_group_name(&internal),
        alternate_target_group_name(&public),
    );
    let expected = [
        (
            "listener/internal/http",
            "internal/web",
            internal.as_str(),
            alt_internal.as_str(),
            &internal_hosts,
        ),
        (
            "listener/internal/test",
            "test:internal/web",
            &internal,
            &alt_internal,
            &internal_hosts,
        ),
        (
            "listener/public/http",
            "domain/acme.example.com",
            &public,
            &alt_public,
            &public_hosts,
        ),
        (
            "listener/public/test",
            "test:domain/acme.example.com",
            &public,
            &alt_public,
            &public_hosts,
        ),
    ];
    assert_eq!(rules.len(), expected.len(), "{rules:#?}");
    for (listener, key, group, alternate, hosts) in expected {
        assert!(
            rules.contains(&(listener, key, group, Some(alternate), hosts.clone())),
            "{listener} {key}: {rules:#?}"
        );
    }
    let test_rule = desired
        .traffic
        .rules
        .iter()
        .find(|r| r.key == "test:internal/web");
    assert_eq!(
        test_rule
            .and_then(|r| r.tags.get(TAG_RULE))
            .map(String::as_str),
        Some("test:internal/web"),
        "tagged with its own key"
    );
    let links = &web(&desired).service.load_balancers;
    let internal_link = links
        .iter()
        .find(|l| l.target_group == internal)
        .expect("link");
    assert_eq!(
        internal_link.advanced,
        Some(AdvancedLink {
            alternate_target_group: alt_internal.clone(),
            production_rule: RuleRef {
                listener_arn: "listener/internal/http".into(),
                key: "internal/web".into(),
            },
            test_rule: RuleRef {
                listener_arn: "listener/internal/test".into(),
                key: "test:internal/web".into(),
            },
            role_arn: ROLE.into(),
        })
    );
    assert!(links.iter().all(|l| l.advanced.is_some()), "{links:?}");
}

#[test]
fn a_rolling_process_renders_as_before() {
    let before = render_app(&acme(None), &settings());
    let rolling = render_app(&acme(Some(rollout(RolloutStrategy::Rolling))), &settings());
    assert_eq!(before.traffic, rolling.traffic);
    assert_eq!(before.processes, rolling.processes);
    assert_eq!(
        before.traffic.rules.len(),
        6,
        "every listener, each domain, as before"
    );
}

#[test]
fn without_the_infrastructure_role_or_a_test_listener_it_is_blocked_and_rolls() {
    let rolling = render_app(&acme(None), &settings());
    let app = acme(Some(rollout(canary())));
    let no_role = Settings {
        infrastructure_role_arn: None,
        ..settings()
    };
    let mut no_public_test = settings();
    if let Some(public) = no_public_test.traffic.public.as_mut() {
        public.test_listener_arn = None;
    }
    for (settings, reason) in [
        (no_role, BlockerReason::NoInfrastructureRole),
        (no_public_test, BlockerReason::NoTestListener),
    ] {
        let blockers = strategy_blockers(&app, &settings);
        assert_eq!(
            blockers
                .iter()
                .map(|b| (b.process.as_str(), b.reason))
                .collect::<Vec<_>>(),
            [("web", reason)]
        );
        let desired = render_app(&app, &settings);
        assert_eq!(desired.traffic.rules, rolling.traffic.rules, "{reason:?}");
        assert_eq!(desired.traffic.target_groups, rolling.traffic.target_groups);
        let deployment = &web(&desired).service.deployment;
        assert_eq!(deployment.strategy, RolloutStrategy::Rolling, "{reason:?}");
        assert!(deployment.pause_hooks.is_empty());
        assert!(desired.traffic.blockers.iter().any(|b| b.reason == reason));
    }
    assert!(strategy_blockers(&acme(Some(rollout(canary()))), &settings()).is_empty());
    assert!(strategy_blockers(&acme(None), &Settings::default()).is_empty());
}

#[test]
fn the_public_test_listener_matters_only_with_a_domain() {
    let mut app = acme(Some(rollout(canary())));
    app.domains.clear();
    let mut settings = settings();
    if let Some(public) = settings.traffic.public.as_mut() {
        public.test_listener_arn = None;
    }
    assert!(strategy_blockers(&app, &settings).is_empty());
}

#[test]
fn default_alarms_watch_the_internal_pair_or_the_one_group() {
    let internal = target_group_name(testing::OWNER, "acme", "web", 8080);
    for (strategy, groups) in [
        (canary(), {
            let mut both = vec![internal.clone(), alternate_target_group_name(&internal)];
            both.sort();
            both
        }),
        (RolloutStrategy::Rolling, vec![internal.clone()]),
    ] {
        let mut with_alarm = rollout(strategy);
        with_alarm.alarms = RolloutAlarms::Default;
        let desired = render_app(&acme(Some(with_alarm)), &settings());
        let name = names::alarm_name(testing::OWNER, "acme", "web");
        assert_eq!(web(&desired).service.deployment.alarms, vec![name.clone()]);
        assert_eq!(desired.alarms.len(), 1);
        let alarm = &desired.alarms[0];
        assert_eq!(alarm.name, name);
        assert_eq!(alarm.target_groups, groups);
        assert_eq!(alarm.load_balancer_arn, "lb/internal");
        assert_eq!(alarm.tags.get(TAG_PROCESS).map(String::as_str), Some("web"));
    }
}

proptest! {
    #[test]
    fn an_alternate_name_fits_and_is_never_a_primary_name(
        app in "[a-z][a-z0-9-]{0,38}[a-z0-9]",
        process in "[a-z][a-z0-9-]{0,22}[a-z0-9]",
        port in 1u16..,
    ) {
        for primary in [
            target_group_name(testing::OWNER, &app, &process, port),
            public_target_group_name(testing::OWNER, &app, &process, port),
        ] {
            let alternate = alternate_target_group_name(&primary);
            prop_assert!(alternate.len() <= MAX_TARGET_GROUP_NAME);
            prop_assert!(alternate.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            prop_assert!(!alternate.starts_with('-') && !alternate.ends_with('-'));
            prop_assert_ne!(&alternate, &primary);
            // A primary's name ends with 8 hex digits after its last `-`.
            let tail = alternate.rsplit('-').next().unwrap_or_default();
            prop_assert!(!tail.chars().all(|c| c.is_ascii_hexdigit()));
            prop_assert_eq!(&alternate, &alternate_target_group_name(&primary));
        }
    }
}
