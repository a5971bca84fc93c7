use ferry_manifest::{App, Domain, HealthCheck, Process};
use proptest::prelude::*;

use super::*;
use crate::names::{self, traffic::target_group_name};
use crate::render::traffic::{domain_blockers, render};

const OWNER: &str = "ferry";

fn process(port: Option<u16>) -> Process {
    Process {
        command: Vec::new(),
        scale: 1,
        cpu: 256,
        memory: 512,
        port,
        ..Default::default()
    }
}

fn app(name: &str, processes: &[(&str, Option<u16>)], domains: &[(&str, &str)]) -> App {
    App {
        name: name.into(),
        image: "acme:1".into(),
        env: BTreeMap::new(),
        secrets: BTreeMap::new(),
        domains: domains
            .iter()
            .map(|(d, p)| Domain {
                name: (*d).into(),
                process: (*p).into(),
            })
            .collect(),
        processes: processes
            .iter()
            .map(|(n, port)| ((*n).to_owned(), process(*port)))
            .collect(),
        ..Default::default()
    }
}

fn settings(max_rules: usize) -> TrafficSettings {
    TrafficSettings {
        vpc_id: "vpc-1".into(),
        internal: Some(Edge {
            load_balancer_arn: "lb/internal".into(),
            dns_name: "internal.elb".into(),
            canonical_zone_id: "ZELB".into(),
            listener_arns: vec!["listener/internal".into()],
            test_listener_arn: None,
        }),
        public: Some(Edge {
            load_balancer_arn: "lb/public".into(),
            dns_name: "public.elb".into(),
            canonical_zone_id: "ZELB".into(),
            listener_arns: vec!["listener/public".into()],
            test_listener_arn: None,
        }),
        internal_zone: Some(Zone {
            id: "ZINT".into(),
            name: "ferry.internal".into(),
        }),
        public_zones: vec![
            Zone {
                id: "ZCOM".into(),
                name: "example.com".into(),
            },
            Zone {
                id: "ZSHOP".into(),
                name: "shop.example.com".into(),
            },
        ],
        max_rules,
    }
}

/// Applies a traffic plan to the observed state, as AWS would.
fn execute(observed: &ObservedTraffic, plan: &TrafficPlan) -> ObservedTraffic {
    let actions: Vec<TrafficAction> = plan.before.iter().chain(&plan.after).cloned().collect();
    crate::testing::execute_traffic(observed, &actions)
}

fn converge(app: &App, settings: &TrafficSettings, observed: &ObservedTraffic) -> ObservedTraffic {
    let desired = render(app, OWNER, settings);
    let plan = plan(&app.name, OWNER, settings, &desired, observed);
    let next = execute(observed, &plan);
    let again = super::plan(&app.name, OWNER, settings, &desired, &next);
    assert!(
        again.before.is_empty() && again.after.is_empty(),
        "{again:?}"
    );
    next
}

#[test]
fn target_group_names_fit_and_stay_unique() {
    let long_app = "a".repeat(40);
    let long_process = "p".repeat(24);
    let names = [
        target_group_name(OWNER, "web", "web", 8080),
        target_group_name(OWNER, &long_app, &long_process, 8080),
        target_group_name(OWNER, &long_app, &format!("{}q", "p".repeat(23)), 8080),
        target_group_name(OWNER, &format!("{}b", "a".repeat(39)), &long_process, 8080),
        target_group_name(OWNER, "web", "web", 8081),
        target_group_name("other", "web", "web", 8080),
        target_group_name(OWNER, "my-app-", "web", 80),
    ];
    for name in &names {
        assert!(name.len() <= MAX_TARGET_GROUP_NAME, "{name}");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{name}"
        );
        assert!(
            !name.starts_with('-') && !name.ends_with('-') && !name.contains("--"),
            "{name}"
        );
    }
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    assert!(
        names[0].starts_with("web-web-"),
        "readable when it fits: {}",
        names[0]
    );
    assert_eq!(
        names[0],
        target_group_name(OWNER, "web", "web", 8080),
        "deterministic"
    );
}

proptest! {
    #[test]
    fn any_valid_names_give_a_valid_target_group_name(
        app in "[a-z][a-z0-9-]{0,38}[a-z0-9]",
        process in "[a-z][a-z0-9-]{0,22}[a-z0-9]",
        port in 1u16..,
    ) {
        let name = target_group_name(OWNER, &app, &process, port);
        prop_assert!(name.len() <= MAX_TARGET_GROUP_NAME);
        prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        prop_assert!(!name.starts_with('-') && !name.ends_with('-'));
    }
}

#[test]
fn an_exposed_app_gets_group_rules_records_and_endpoints() {
    let acme = app(
        "acme",
        &[("web", Some(8080)), ("api", Some(9000)), ("worker", None)],
        &[("acme.example.com", "web"), ("api.shop.example.com", "api")],
    );
    let desired = render(&acme, OWNER, &settings(100));
    assert!(desired.blockers.is_empty(), "{:?}", desired.blockers);
    assert_eq!(
        desired.target_groups.len(),
        4,
        "web and api each get one group per load balancer; worker has no port"
    );
    // A group is associated with one load balancer at most (AWS's
    // quota), and the service registers with each of its groups.
    let mut balancer_of: BTreeMap<&str, &str> = BTreeMap::new();
    for rule in &desired.rules {
        let balancer = balancer_of
            .entry(rule.target_group.as_str())
            .or_insert(rule.load_balancer_arn.as_str());
        assert_eq!(
            *balancer, rule.load_balancer_arn,
            "group {} is on two load balancers",
            rule.target_group
        );
    }
    for process in ["web", "api"] {
        let linked: BTreeSet<&str> = desired.links[process]
            .0
            .iter()
            .map(|l| l.target_group.as_str())
            .collect();
        let ruled: BTreeSet<&str> = desired
            .rules
            .iter()
            .filter(|r| r.tags.get(names::TAG_PROCESS).map(String::as_str) == Some(process))
            .map(|r| r.target_group.as_str())
            .collect();
        assert_eq!(
            linked, ruled,
            "{process} registers with every group it is served by"
        );
        assert_eq!(linked.len(), 2);
        assert!(linked
            .iter()
            .all(|name| name.len() <= MAX_TARGET_GROUP_NAME));
    }
    let hosts: Vec<(&str, Vec<String>)> = desired
        .rules
        .iter()
        .map(|r| (r.listener_arn.as_str(), r.hosts.clone()))
        .collect();
    assert!(hosts.contains(&("listener/internal", vec!["api.acme.ferry.internal".into()])));
    assert!(hosts.contains(&(
        "listener/internal",
        vec![
            "acme.ferry.internal".into(),
            "web.acme.ferry.internal".into()
        ]
    )));
    assert!(hosts.contains(&("listener/public", vec!["acme.example.com".into()])));
    let zones: BTreeMap<&str, &str> = desired
        .records
        .iter()
        .map(|r| (r.name.as_str(), r.zone_id.as_str()))
        .collect();
    assert_eq!(zones["acme.ferry.internal"], "ZINT");
    assert_eq!(zones["acme.example.com"], "ZCOM");
    assert_eq!(
        zones["api.shop.example.com"], "ZSHOP",
        "the longest matching zone"
    );
    assert_eq!(
        desired.endpoints["web"],
        [
            "http://acme.ferry.internal",
            "http://web.acme.ferry.internal",
            "http://acme.example.com"
        ]
    );
    for group in &desired.target_groups {
        let check = &group.health_check;
        assert_eq!(
            (check.path.as_str(), check.matcher.as_str()),
            ("/", "200-399")
        );
    }
}

#[test]
fn health_check_settings_come_from_the_manifest() {
    let mut acme = app("acme", &[("web", Some(8080))], &[]);
    let web = acme.processes.get_mut("web").expect("web");
    web.health_check = Some(HealthCheck {
        path: Some("/health".into()),
        interval: Some(15),
        timeout: Some(3),
        healthy_threshold: Some(4),
        unhealthy_threshold: Some(2),
        matcher: Some("200".into()),
    });
    web.drain_timeout = Some(5);
    web.health_check_grace_period = Some(90);
    let desired = render(&acme, OWNER, &settings(100));
    let group = &desired.target_groups[0];
    assert_eq!(
        group.health_check,
        HealthCheckSpec {
            path: "/health".into(),
            interval: 15,
            timeout: 3,
            healthy_threshold: 4,
            unhealthy_threshold: 2,
            matcher: "200".into(),
        }
    );
    assert_eq!(group.deregistration_delay, 5);
    assert_eq!(desired.links["web"].1, 90);
}

#[test]
fn creation_goes_before_and_removal_after_and_both_converge() {
    let s = settings(100);
    let full = app(
        "acme",
        &[("web", Some(8080)), ("api", Some(9000))],
        &[("acme.example.com", "web")],
    );
    let first = plan(
        "acme",
        OWNER,
        &s,
        &render(&full, OWNER, &s),
        &ObservedTraffic::default(),
    );
    assert!(first.after.is_empty());
    let kinds: Vec<&str> = first
        .before
        .iter()
        .map(|a| match a {
            TrafficAction::CreateTargetGroup { .. } => "tg",
            TrafficAction::CreateRule { .. } => "rule",
            TrafficAction::ChangeRecords { .. } => "records",
            _ => "other",
        })
        .collect();
    let last_tg = kinds.iter().rposition(|k| *k == "tg").expect("groups");
    let first_rule = kinds.iter().position(|k| *k == "rule").expect("rules");
    assert!(
        last_tg < first_rule,
        "groups before the rules that forward to them: {kinds:?}"
    );
    let observed = converge(&full, &s, &ObservedTraffic::default());

    // Drop the api port and the domain: only deletions, all after.
    let smaller = app("acme", &[("web", Some(8080)), ("api", None)], &[]);
    let shrink = plan("acme", OWNER, &s, &render(&smaller, OWNER, &s), &observed);
    assert!(shrink.before.is_empty(), "{:?}", shrink.before);
    let first_tg_delete = shrink
        .after
        .iter()
        .position(|a| matches!(a, TrafficAction::DeleteTargetGroup { .. }))
        .expect("the api group goes");
    let last_rule_delete = shrink
        .after
        .iter()
        .rposition(|a| matches!(a, TrafficAction::DeleteRule { .. }))
        .expect("rules go");
    assert!(
        last_rule_delete < first_tg_delete,
        "rules before their groups"
    );
    let after = converge(&smaller, &s, &observed);
    assert_eq!(after.target_groups.len(), 1);
    assert_eq!(after.rules.len(), 1);
    assert_eq!(after.records.len(), 2, "acme and web.acme");

    // Deleting the app removes everything it had.
    let gone = plan("acme", OWNER, &s, &DesiredTraffic::default(), &after);
    let empty = execute(&after, &gone);
    assert!(empty.target_groups.is_empty() && empty.rules.is_empty() && empty.records.is_empty());
}

#[test]
fn a_name_given_up_loses_only_ferrys_txt_value() {
    let s = settings(100);
    let full = app(
        "acme",
        &[("web", Some(8080))],
        &[("acme.example.com", "web")],
    );
    let mut observed = converge(&full, &s, &ObservedTraffic::default());
    // Someone verifies the domain with a TXT value at Ferry's name.
    let verification = "google-site-verification=abc".to_owned();
    let (key, name) = observed
        .records
        .iter_mut()
        .find(|((_, name), _)| name.starts_with("acme.example.com"))
        .expect("the domain's record");
    name.txt.push(verification.clone());
    let key = key.clone();
    let without = app("acme", &[("web", Some(8080))], &[]);
    let drop = plan("acme", OWNER, &s, &render(&without, OWNER, &s), &observed);
    let delete = drop
        .after
        .iter()
        .flat_map(|a| match a {
            TrafficAction::ChangeRecords { changes, .. } => changes.clone(),
            _ => Vec::new(),
        })
        .find_map(|c| match c {
            RecordChange::Delete {
                name, txt, keep, ..
            } if name == key.1 => Some((txt, keep)),
            _ => None,
        })
        .expect("the name is given up");
    assert_eq!(delete.0.len(), 2, "the DELETE matches the set as it is");
    assert_eq!(delete.1, vec![verification.clone()]);
    let after = execute(&observed, &drop);
    assert_eq!(after.records[&key].txt, vec![verification]);
    assert_eq!(after.records[&key].alias, None);
    // What is left is not Ferry's: converged, nothing more to do.
    let again = plan("acme", OWNER, &s, &render(&without, OWNER, &s), &after);
    assert!(
        again.before.is_empty() && again.after.is_empty(),
        "{again:?}"
    );
}

#[test]
fn a_new_port_replaces_the_group_without_a_gap() {
    let s = settings(100);
    let v1 = app("acme", &[("web", Some(8080))], &[]);
    let observed = converge(&v1, &s, &ObservedTraffic::default());
    let v2 = app("acme", &[("web", Some(9090))], &[]);
    let change = plan("acme", OWNER, &s, &render(&v2, OWNER, &s), &observed);
    assert!(matches!(
        change.before[0],
        TrafficAction::CreateTargetGroup { .. }
    ));
    assert!(
        matches!(change.before[1], TrafficAction::ModifyRule { .. }),
        "{:?}",
        change.before
    );
    assert!(matches!(
        change.after[..],
        [TrafficAction::DeleteTargetGroup { .. }]
    ));
    converge(&v2, &s, &observed);
}

#[test]
fn priorities_skip_what_others_hold_and_never_collide() {
    let s = settings(100);
    let foreign = |priority: u32| ObservedRule {
        arn: format!("foreign/{priority}"),
        listener_arn: "listener/internal".into(),
        priority: Some(priority),
        hosts: vec!["legacy.example.org".into()],
        target_group_arns: Vec::new(),
        weights: Default::default(),
        tags: BTreeMap::new(),
    };
    let observed = ObservedTraffic {
        rules: vec![foreign(1), foreign(2), foreign(4)],
        ..ObservedTraffic::default()
    };
    let a = app("a", &[("web", Some(80)), ("api", Some(81))], &[]);
    let planned = plan("a", OWNER, &s, &render(&a, OWNER, &s), &observed);
    let priorities: Vec<u32> = planned
        .before
        .iter()
        .filter_map(|x| match x {
            TrafficAction::CreateRule { priority, .. } => Some(*priority),
            _ => None,
        })
        .collect();
    assert_eq!(priorities, [3, 5]);
    let after = execute(&observed, &planned);
    let b = app("b", &[("web", Some(80))], &[]);
    let next = plan("b", OWNER, &s, &render(&b, OWNER, &s), &after);
    assert!(next
        .before
        .iter()
        .any(|x| matches!(x, TrafficAction::CreateRule { priority: 6, .. })));
    assert!(
        after
            .rules
            .iter()
            .any(|r| r.arn == "foreign/4" && r.priority == Some(4)),
        "never moved"
    );
}

#[test]
fn a_full_load_balancer_changes_nothing_for_the_app() {
    let s = settings(3);
    let mut observed = ObservedTraffic::default();
    for name in ["a", "b"] {
        observed = converge(&app(name, &[("web", Some(80))], &[]), &s, &observed);
    }
    let c = app("c", &[("web", Some(80)), ("api", Some(81))], &[]);
    let planned = plan("c", OWNER, &s, &render(&c, OWNER, &s), &observed);
    assert!(planned.frozen);
    assert!(planned.before.is_empty() && planned.after.is_empty());
    assert_eq!(planned.blockers[0].reason, BlockerReason::LoadBalancerFull);
    // One more rule fits.
    let d = app("d", &[("web", Some(80))], &[]);
    let fits = plan("d", OWNER, &s, &render(&d, OWNER, &s), &observed);
    assert!(!fits.frozen, "{:?}", fits.blockers);
}

/// A group nothing wants any more is deleted after its rules, but not
/// while a rule Ferry does not own still forwards to it.
#[test]
fn a_group_a_rule_still_forwards_to_is_not_deleted() {
    let s = settings(100);
    let acme = app("acme", &[("web", Some(8080))], &[]);
    let observed = converge(&acme, &s, &ObservedTraffic::default());
    let gone = app("acme", &[("web", None)], &[]);
    let desired = render(&gone, OWNER, &s);
    let planned = plan("acme", OWNER, &s, &desired, &observed);
    assert!(
        planned
            .after
            .iter()
            .any(|a| matches!(a, TrafficAction::DeleteTargetGroup { .. })),
        "unused, and only Ferry's rule forwarded to it: deleted"
    );
    let group = observed
        .target_groups
        .values()
        .next()
        .expect("a group")
        .clone();
    let mut borrowed = observed.clone();
    borrowed.rules.push(ObservedRule {
        arn: "theirs".into(),
        listener_arn: "listener/internal".into(),
        priority: Some(99),
        hosts: vec!["other.example.net".into()],
        target_group_arns: vec![group.arn.clone()],
        weights: Default::default(),
        tags: BTreeMap::new(),
    });
    let planned = plan("acme", OWNER, &s, &desired, &borrowed);
    assert!(
        !planned
            .after
            .iter()
            .any(|a| matches!(a, TrafficAction::DeleteTargetGroup { .. })),
        "{:?}",
        planned.after
    );
}

/// A group is linked only once a rule forwards to it: a domain whose
/// name is taken gets no rule, so its group stays off the service
/// (ECS refuses a group no load balancer forwards to).
#[test]
fn only_groups_a_rule_forwards_to_are_routed() {
    let s = settings(100);
    let acme = app(
        "acme",
        &[("web", Some(8080))],
        &[("acme.example.com", "web")],
    );
    let desired = render(&acme, OWNER, &s);
    let planned = plan("acme", OWNER, &s, &desired, &ObservedTraffic::default());
    assert_eq!(planned.routed.len(), 2, "internal and public groups");
    let mut taken = ObservedTraffic::default();
    taken.records.insert(
        ("ZCOM".into(), "acme.example.com".into()),
        ObservedName {
            alias: None,
            txt: Vec::new(),
            other: vec!["CNAME".into()],
        },
    );
    let planned = plan("acme", OWNER, &s, &desired, &taken);
    assert_eq!(
        planned.routed,
        BTreeSet::from([target_group_name(OWNER, "acme", "web", 8080)]),
        "only the internal group"
    );
}

#[test]
fn what_ferry_does_not_own_is_never_touched() {
    let s = settings(100);
    let acme = app(
        "acme",
        &[("web", Some(8080))],
        &[("acme.example.com", "web")],
    );
    let desired = render(&acme, OWNER, &s);
    let squatted = desired.target_groups[0].name.clone();
    let mut observed = ObservedTraffic::default();
    observed.target_groups.insert(
        squatted.clone(),
        ObservedTargetGroup {
            arn: format!("arn:aws:elasticloadbalancing:r:1:targetgroup/{squatted}/x"),
            name: squatted.clone(),
            port: 1,
            vpc_id: "vpc-1".into(),
            health_check: desired.target_groups[0].health_check.clone(),
            deregistration_delay: Some(300),
            tags: BTreeMap::new(),
        },
    );
    observed.records.insert(
        ("ZCOM".into(), "acme.example.com".into()),
        ObservedName {
            alias: None,
            txt: Vec::new(),
            other: vec!["CNAME".into()],
        },
    );
    observed.rules.push(ObservedRule {
        arn: "theirs".into(),
        listener_arn: "listener/public".into(),
        priority: Some(1),
        hosts: vec!["acme.example.com".into()],
        target_group_arns: Vec::new(),
        weights: Default::default(),
        tags: names::ownership_tags("someone-else", "acme", Some("web")),
    });
    let planned = plan("acme", OWNER, &s, &desired, &observed);
    let reasons: BTreeSet<&str> = planned.blockers.iter().map(|b| b.reason.as_str()).collect();
    assert_eq!(reasons, BTreeSet::from(["NameConflict", "RecordConflict"]));
    for action in planned.before.iter().chain(&planned.after) {
        match action {
            TrafficAction::ModifyTargetGroup { name, .. }
            | TrafficAction::DeleteTargetGroup { name, .. } => {
                assert_ne!(name, &squatted)
            }
            TrafficAction::CreateRule { spec, .. } => {
                assert_ne!(spec.target_group, squatted);
                assert!(
                    !spec.hosts.contains(&"acme.example.com".to_owned()),
                    "routes a lost name"
                );
            }
            TrafficAction::ModifyRule { arn, .. } | TrafficAction::DeleteRule { arn, .. } => {
                assert_ne!(arn, "theirs")
            }
            TrafficAction::ChangeRecords { changes, .. } => {
                for change in changes {
                    if let RecordChange::Create(r) | RecordChange::Upsert(r) = change {
                        assert_ne!(r.name, "acme.example.com");
                    }
                    assert!(!matches!(change, RecordChange::Delete { .. }));
                }
            }
            TrafficAction::CreateTargetGroup { .. } => {}
        }
    }
}

#[test]
fn a_domain_outside_every_zone_is_reported() {
    let acme = app("acme", &[("web", Some(80))], &[("acme.example.org", "web")]);
    let desired = render(&acme, OWNER, &settings(100));
    assert_eq!(desired.blockers[0].reason, BlockerReason::NoHostedZone);
    assert_eq!(domain_blockers(&acme, &settings(100)), desired.blockers);
    let inside = app("acme", &[("web", Some(80))], &[("acme.example.com", "web")]);
    assert!(domain_blockers(&inside, &settings(100)).is_empty());
    assert!(desired.blockers[0]
        .message
        .contains("example.com, shop.example.com"));
}
