//! Property tests of the plan for every strategy (issue 23): one round
//! converges against the fake executors and the next plan is empty; the
//! weights ECS writes on a pair's rules, and which group it makes live,
//! are never corrected; a switch between `rolling` and a strategy that
//! shifts traffic never leaves a rule forwarding to a group no service
//! links; an alarm Ferry does not own is never touched.

use std::collections::BTreeMap;

use ferry_manifest::{App, Domain, Process, Rollout, RolloutAlarms, RolloutStrategy};
use proptest::prelude::*;

use super::*;
use crate::model::alarms::ObservedAlarm;
use crate::model::traffic::{TrafficAction, TAG_RULE};
use crate::names;
use crate::render::render_app;
use crate::testing::{self, execute_traffic, settings_for_strategies, OWNER};

fn strategies() -> impl Strategy<Value = RolloutStrategy> {
    prop_oneof![
        Just(RolloutStrategy::Rolling),
        Just(RolloutStrategy::BlueGreen),
        (1u32..=1000, 0u32..=60).prop_map(|(percent_tenths, step_bake_minutes)| {
            RolloutStrategy::Canary {
                percent_tenths,
                step_bake_minutes,
            }
        }),
        (30u32..=1000, 0u32..=60).prop_map(|(step_tenths, step_bake_minutes)| {
            RolloutStrategy::Linear {
                step_tenths,
                step_bake_minutes,
            }
        }),
    ]
}

fn alarms() -> impl Strategy<Value = RolloutAlarms> {
    prop_oneof![
        Just(RolloutAlarms::None),
        Just(RolloutAlarms::Default),
        Just(RolloutAlarms::Named(vec!["team-alarm".into()])),
    ]
}

/// `acme`: `web` (port 8080, `strategy`, a domain), `api` (port 9000,
/// rolling) and `worker`.
fn acme(strategy: RolloutStrategy, alarms: RolloutAlarms) -> App {
    let web = Process {
        port: Some(8080),
        rollout: Some(Rollout {
            strategy,
            bake_minutes: if strategy.shifts_traffic() { 5 } else { 0 },
            alarms,
            approval: None,
        }),
        ..Default::default()
    };
    let api = Process {
        port: Some(9000),
        ..Default::default()
    };
    App {
        name: "acme".into(),
        image: "acme:1".into(),
        domains: vec![Domain {
            name: "acme.example.com".into(),
            process: "web".into(),
        }],
        processes: BTreeMap::from([
            ("web".to_owned(), web),
            ("api".to_owned(), api),
            ("worker".to_owned(), Process::default()),
        ]),
        ..Default::default()
    }
}

/// What exists: ECS (and CloudWatch) and the load balancers.
#[derive(Debug, Clone, Default)]
struct World {
    ecs: Observed,
    traffic: ObservedTraffic,
}

fn plan_for(app: &App, world: &World) -> Plan {
    let settings = settings_for_strategies();
    let desired = render_app(app, &settings);
    plan_app(
        &app.name,
        OWNER,
        &settings.traffic,
        &desired,
        &world.ecs,
        &world.traffic,
    )
}

/// Runs `plan` in order, traffic on the ELB model, the rest on the ECS
/// model (consecutive ones together: a registration and the service that
/// refers to it are one batch).
fn execute(world: &World, plan: &Plan) -> World {
    let mut next = world.clone();
    let mut batch: Vec<Action> = Vec::new();
    for action in &plan.actions {
        match action {
            Action::Traffic(traffic) => {
                next.ecs = testing::execute(&next.ecs, &batch);
                batch.clear();
                next.traffic = execute_traffic(&next.traffic, std::slice::from_ref(traffic));
            }
            other => batch.push(other.clone()),
        }
    }
    next.ecs = testing::execute(&next.ecs, &batch);
    next
}

/// One round, then asserts the next plan is empty.
fn converge(app: &App, world: &World) -> World {
    let plan = plan_for(app, world);
    let next = execute(world, &plan);
    let again = plan_for(app, &next);
    assert!(
        again.actions.is_empty(),
        "not converged: {:#?}",
        again.actions
    );
    next
}

/// Every group a rule forwards to with weight > 0 is linked by a service.
fn assert_no_rule_forwards_to_an_unlinked_group(world: &World) {
    let linked: Vec<&str> = world
        .ecs
        .services
        .values()
        .flat_map(|s| &s.load_balancers)
        .flat_map(|l| {
            std::iter::once(l.target_group.as_str()).chain(
                l.advanced
                    .as_ref()
                    .map(|a| a.alternate_target_group.as_str()),
            )
        })
        .collect();
    for rule in &world.traffic.rules {
        for arn in &rule.target_group_arns {
            let weight = rule.weights.get(arn).copied().unwrap_or(100);
            let name = names::traffic::target_group_name_from_arn(arn);
            assert!(
                weight == 0 || linked.contains(&name),
                "rule {} forwards to {name}, which no service links",
                rule.arn
            );
        }
    }
}

/// ECS at the end of a deployment: every pair rule of `web` gets
/// `alternate_weight` on its second group, and, when the alternate got
/// more, the service's links name it live.
fn ecs_shifts(world: &mut World, alternate_weight: u32, swap_links: bool) {
    for rule in &mut world.traffic.rules {
        if let [live, other] = rule.target_group_arns.as_slice() {
            rule.weights = [
                (live.clone(), 100 - alternate_weight),
                (other.clone(), alternate_weight),
            ]
            .into_iter()
            .collect();
        }
    }
    if !swap_links {
        return;
    }
    for service in world.ecs.services.values_mut() {
        for link in &mut service.load_balancers {
            if let Some(advanced) = link.advanced.as_mut() {
                std::mem::swap(&mut link.target_group, &mut advanced.alternate_target_group);
            }
        }
    }
}

/// The group each of the app's production rules sends most traffic to,
/// by rule key.
fn live_groups(world: &World) -> BTreeMap<String, String> {
    world
        .traffic
        .rules
        .iter()
        .filter_map(|rule| {
            let key = rule.tags.get(TAG_RULE)?;
            let arn = rule
                .target_group_arns
                .iter()
                .max_by_key(|arn| rule.weights.get(*arn).copied().unwrap_or(100))?;
            let name = names::traffic::target_group_name_from_arn(arn).to_owned();
            (!key.starts_with("test:")).then(|| (key.clone(), name))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_strategy_converges_in_one_round(strategy in strategies(), alarms in alarms()) {
        let app = acme(strategy, alarms);
        let world = converge(&app, &World::default());
        assert_no_rule_forwards_to_an_unlinked_group(&world);
        let web = &world.ecs.services["acme_web"];
        prop_assert_eq!(
            web.deployment.as_ref().map(|d| d.strategy),
            Some(strategy)
        );
        let pairs = world.traffic.rules.iter().filter(|r| r.target_group_arns.len() == 2).count();
        prop_assert_eq!(pairs, if strategy.shifts_traffic() { 4 } else { 0 });
        let tests = world
            .traffic
            .rules
            .iter()
            .filter(|r| r.tags.get(TAG_RULE).is_some_and(|k| k.starts_with("test:")))
            .count();
        prop_assert_eq!(tests, if strategy.shifts_traffic() { 2 } else { 0 });
    }

    #[test]
    fn the_weights_ecs_writes_are_never_corrected(
        strategy in strategies().prop_filter("shifts traffic", |s| s.shifts_traffic()),
        alternate_weight in 0u32..=100,
        swap_links in any::<bool>(),
        resyncs in 1usize..4,
    ) {
        let app = acme(strategy, RolloutAlarms::Default);
        let mut world = converge(&app, &World::default());
        ecs_shifts(&mut world, alternate_weight, swap_links);
        for _ in 0..resyncs {
            let plan = plan_for(&app, &world);
            for action in &plan.actions {
                let touches = matches!(action, Action::Traffic(TrafficAction::ModifyRule { .. }))
                    || matches!(action, Action::UpdateService(u) if u.load_balancers.is_some());
                prop_assert!(!touches, "corrected ECS's weights: {:?}", action);
            }
            prop_assert!(plan.actions.is_empty(), "{:#?}", plan.actions);
            world = execute(&world, &plan);
        }
    }

    #[test]
    fn switching_strategies_both_ways_never_strands_traffic(
        strategy in strategies().prop_filter("shifts traffic", |s| s.shifts_traffic()),
        alternate_weight in prop::sample::select(vec![0u32, 100]),
        swap_links in any::<bool>(),
    ) {
        let rolling = acme(RolloutStrategy::Rolling, RolloutAlarms::Default);
        let shifting = acme(strategy, RolloutAlarms::Default);
        let mut world = converge(&rolling, &World::default());
        world = converge(&shifting, &world);
        assert_no_rule_forwards_to_an_unlinked_group(&world);
        // ECS deploys; the new revision (the alternate) may be live.
        ecs_shifts(&mut world, alternate_weight, swap_links && alternate_weight == 100);
        let live = live_groups(&world);
        let back = converge(&rolling, &world);
        assert_no_rule_forwards_to_an_unlinked_group(&back);
        // Production traffic stays on the group ECS made live: the one
        // with the new revision's tasks.
        for (key, group) in live_groups(&back) {
            if let Some(before) = live.get(&key) {
                prop_assert_eq!(&group, before, "{}", key);
            }
        }
        prop_assert!(back.traffic.rules.iter().all(|r| r.target_group_arns.len() == 1));
        let web = &back.ecs.services["acme_web"];
        prop_assert!(web.load_balancers.iter().all(|l| l.advanced.is_none()));
        // Exactly the live groups are left: two (internal, public) for web.
        let web_groups = back
            .traffic
            .target_groups
            .values()
            .filter(|g| g.tags.get(crate::model::ownership::TAG_PROCESS).map(String::as_str) == Some("web"))
            .count();
        prop_assert_eq!(web_groups, 2);
        // And to a traffic-shifting strategy again, from whichever is live.
        let again = converge(&shifting, &back);
        assert_no_rule_forwards_to_an_unlinked_group(&again);
    }
}

#[test]
fn an_alarm_someone_else_owns_is_reported_left_alone_and_not_named_to_ecs() {
    let app = acme(RolloutStrategy::BlueGreen, RolloutAlarms::Default);
    let name = names::alarm_name(OWNER, "acme", "web");
    let mut world = World::default();
    world.ecs.alarms.insert(
        name.clone(),
        ObservedAlarm {
            name: name.clone(),
            arn: format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
            tags: BTreeMap::from([("team".to_owned(), "payments".to_owned())]),
            spec: None,
            state: "OK".into(),
        },
    );
    let plan = plan_for(&app, &world);
    assert!(
        plan.actions.iter().all(|a| !matches!(a, Action::Alarm(_))),
        "{:#?}",
        plan.actions
    );
    assert!(plan
        .blockers
        .iter()
        .any(|b| b.reason == BlockerReason::AlarmConflict && b.process == "web"));
    let web = plan.actions.iter().find_map(|a| match a {
        Action::CreateService { service, .. } if service.name == "acme_web" => Some(service),
        _ => None,
    });
    assert_eq!(web.map(|s| s.deployment.alarms.clone()), Some(Vec::new()));
}

#[test]
fn alarms_are_put_before_the_service_that_names_them_and_deleted_after() {
    let with = acme(RolloutStrategy::Rolling, RolloutAlarms::Default);
    let plan = plan_for(&with, &World::default());
    let put = plan
        .actions
        .iter()
        .position(|a| matches!(a, Action::Alarm(_)));
    let create = plan.actions.iter().position(
        |a| matches!(a, Action::CreateService { service, .. } if service.name == "acme_web"),
    );
    assert!(put < create, "{:#?}", plan.actions);
    let world = execute(&World::default(), &plan);
    let without = acme(RolloutStrategy::Rolling, RolloutAlarms::None);
    let plan = plan_for(&without, &world);
    let update = plan
        .actions
        .iter()
        .position(|a| matches!(a, Action::UpdateService(_)));
    let delete = plan
        .actions
        .iter()
        .position(|a| matches!(a, Action::Alarm(_)));
    assert!(update.is_some() && update < delete, "{:#?}", plan.actions);
    let world = execute(&world, &plan);
    assert!(world.ecs.alarms.is_empty());
}

#[test]
fn a_switch_back_to_rolling_narrows_the_rule_after_the_service_update() {
    let rolling = acme(RolloutStrategy::Rolling, RolloutAlarms::None);
    let blue_green = acme(RolloutStrategy::BlueGreen, RolloutAlarms::None);
    let world = converge(&blue_green, &converge(&rolling, &World::default()));
    let plan = plan_for(&rolling, &world);
    let at = |wanted: fn(&Action) -> bool| plan.actions.iter().position(wanted);
    let update = at(|a| matches!(a, Action::UpdateService(u) if u.name == "acme_web"));
    let narrow = at(|a| {
        matches!(
            a,
            Action::Traffic(TrafficAction::ModifyRule {
                alternate: None,
                ..
            })
        )
    });
    let delete_group =
        at(|a| matches!(a, Action::Traffic(TrafficAction::DeleteTargetGroup { .. })));
    assert!(
        update.is_some() && update < narrow && narrow < delete_group,
        "{:#?}",
        plan.actions
    );
}
