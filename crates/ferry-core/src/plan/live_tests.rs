//! `adopt_live`: which group of a pair is live, and the desired state
//! adjusted to it.

use ferry_manifest::{App, Process, Rollout, RolloutAlarms, RolloutStrategy};

use super::*;
use crate::model::observed::ObservedService;
use crate::model::traffic::ObservedRule;
use crate::names::traffic::target_group_name;
use crate::render::render_app;
use crate::testing::{settings_for_strategies, target_group_arn, OWNER};

fn acme(strategy: RolloutStrategy) -> App {
    let web = Process {
        port: Some(8080),
        rollout: Some(Rollout {
            strategy,
            bake_minutes: 0,
            alarms: RolloutAlarms::Default,
            approval: None,
        }),
        ..Default::default()
    };
    App {
        name: "acme".into(),
        image: "acme:1".into(),
        processes: BTreeMap::from([("web".to_owned(), web)]),
        ..Default::default()
    }
}

fn primary() -> String {
    target_group_name(OWNER, "acme", "web", 8080)
}

fn alternate() -> String {
    alternate_target_group_name(&primary())
}

/// The app's own `internal/web` rule forwarding to `weights` by group.
fn rule(weights: &[(&str, Option<u32>)]) -> ObservedRule {
    ObservedRule {
        arn: "rule/1".into(),
        listener_arn: "listener/internal/http".into(),
        priority: Some(1),
        hosts: vec!["web.acme.ferry.internal".into()],
        target_group_arns: weights.iter().map(|(g, _)| target_group_arn(g)).collect(),
        weights: weights
            .iter()
            .filter_map(|(g, w)| Some((target_group_arn(g), (*w)?)))
            .collect(),
        tags: crate::model::ownership::ownership_tags(OWNER, "acme", Some("web"))
            .into_iter()
            .chain([(TAG_RULE.to_owned(), "internal/web".to_owned())])
            .collect(),
    }
}

fn adopt(app: &App, observed: &Observed, rules: Vec<ObservedRule>) -> (Desired, Desired) {
    let desired = render_app(app, &settings_for_strategies());
    let traffic = ObservedTraffic {
        rules,
        ..Default::default()
    };
    let adopted = adopt_live("acme", OWNER, &desired, observed, &traffic);
    (desired, adopted)
}

fn web_link(desired: &Desired) -> &LoadBalancerLink {
    &desired.processes[0].service.load_balancers[0]
}

#[test]
fn the_primary_live_or_no_rule_leaves_the_desired_state_alone() {
    let app = acme(RolloutStrategy::BlueGreen);
    let (p, a) = (primary(), alternate());
    for rules in [
        vec![],
        vec![rule(&[(&p, Some(100)), (&a, Some(0))])],
        vec![rule(&[(&p, Some(60)), (&a, Some(40))])],
        vec![rule(&[(&p, Some(50)), (&a, Some(50))])],
        vec![rule(&[(&p, None)])],
    ] {
        let (desired, adopted) = adopt(&app, &Observed::default(), rules);
        assert_eq!(desired, adopted);
    }
}

#[test]
fn the_alternate_with_more_weight_is_adopted_as_live() {
    let app = acme(RolloutStrategy::BlueGreen);
    let (p, a) = (primary(), alternate());
    let (_, adopted) = adopt(
        &app,
        &Observed::default(),
        vec![rule(&[(&p, Some(10)), (&a, Some(90))])],
    );
    let link = web_link(&adopted);
    assert_eq!(link.target_group, a);
    assert_eq!(
        link.advanced
            .as_ref()
            .map(|x| x.alternate_target_group.as_str()),
        Some(p.as_str())
    );
    let production = adopted
        .traffic
        .rules
        .iter()
        .find(|r| r.key == "internal/web");
    assert_eq!(
        production.map(|r| (r.target_group.as_str(), r.alternate.as_deref())),
        Some((a.as_str(), Some(p.as_str())))
    );
    let test = adopted
        .traffic
        .rules
        .iter()
        .find(|r| r.key == "test:internal/web");
    assert_eq!(test.map(|r| r.target_group.as_str()), Some(a.as_str()));
    assert_eq!(adopted.traffic.target_groups.len(), 2, "the pair stays");
}

#[test]
fn a_tie_goes_to_the_group_the_service_links() {
    let app = acme(RolloutStrategy::BlueGreen);
    let (p, a) = (primary(), alternate());
    let desired = render_app(&app, &settings_for_strategies());
    let mut observed = Observed::default();
    let mut link = web_link(&desired).clone();
    link.target_group = a.clone();
    observed.services.insert(
        "acme_web".into(),
        ObservedService {
            load_balancers: vec![link],
            ..crate::testing::active_service("acme_web")
        },
    );
    let (_, adopted) = adopt(
        &app,
        &observed,
        vec![rule(&[(&p, Some(50)), (&a, Some(50))])],
    );
    assert_eq!(web_link(&adopted).target_group, a);
}

#[test]
fn a_rolling_process_whose_alternate_is_live_keeps_the_alternate_as_its_one_group() {
    let app = acme(RolloutStrategy::Rolling);
    let (p, a) = (primary(), alternate());
    for rules in [
        vec![rule(&[(&p, Some(0)), (&a, Some(100))])],
        vec![rule(&[(&a, None)])],
    ] {
        let (_, adopted) = adopt(&app, &Observed::default(), rules);
        let groups: Vec<&str> = adopted
            .traffic
            .target_groups
            .iter()
            .map(|g| g.name.as_str())
            .collect();
        assert_eq!(groups, [a.as_str()]);
        assert_eq!(web_link(&adopted).target_group, a);
        assert!(web_link(&adopted).advanced.is_none());
        assert!(adopted
            .traffic
            .rules
            .iter()
            .all(|r| r.target_group == a && r.alternate.is_none()));
        assert_eq!(adopted.alarms[0].target_groups, vec![a.clone()]);
    }
}

#[test]
fn rules_someone_else_owns_say_nothing_about_the_live_group() {
    let app = acme(RolloutStrategy::BlueGreen);
    let (p, a) = (primary(), alternate());
    let mut foreign = rule(&[(&p, Some(0)), (&a, Some(100))]);
    foreign.tags.insert(
        crate::model::ownership::TAG_MANAGED_BY.into(),
        "someone".into(),
    );
    let (desired, adopted) = adopt(&app, &Observed::default(), vec![foreign]);
    assert_eq!(desired, adopted);
}
