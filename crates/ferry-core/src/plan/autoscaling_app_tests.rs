//! Property tests of the planner with autoscaled processes (issue 13):
//! the autoscaler owns the desired count, Ferry only clamps it, and what
//! Ferry does not own is never touched.

use std::collections::BTreeMap;

use ferry_manifest::{App, Autoscaling};
use proptest::prelude::*;

use super::*;
use crate::autoscaling::{ObservedPolicy, ObservedScalableTarget, ScalingAction};
use crate::model::action::ServiceUpdate;
use crate::names::{self, Ownership};
use crate::render::render;
use crate::testing::{app_strategy, execute, settings, OWNER};

/// `app` with every process autoscaled in `min..=max` on CPU.
fn autoscaled(mut app: App, min: u32, max: u32) -> App {
    for process in app.processes.values_mut() {
        process.autoscaling = Some(Autoscaling {
            min,
            max,
            cpu: Some(60),
            memory: None,
            requests_per_target: None,
        });
    }
    app
}

fn converge(app: &App) -> Observed {
    let desired = render(app, &settings());
    let mut observed = Observed::default();
    for _ in 0..2 {
        let plan = plan("acme", OWNER, &desired, &observed);
        observed = execute(&observed, &plan.actions);
    }
    observed
}

fn set_counts(observed: &mut Observed, counts: &[u32]) {
    for (service, count) in observed.services.values_mut().zip(counts.iter().cycle()) {
        service.desired_count = *count;
    }
}

fn counts_set(plan: &Plan) -> BTreeMap<String, u32> {
    plan.actions
        .iter()
        .filter_map(|a| match a {
            Action::UpdateService(ServiceUpdate {
                name,
                desired_count: Some(count),
                ..
            }) => Some((name.clone(), *count)),
            _ => None,
        })
        .collect()
}

/// A scalable target someone else registered.
fn foreign_target(service: &str, tags: BTreeMap<String, String>) -> ObservedScalableTarget {
    ObservedScalableTarget {
        arn: format!("arn:foreign-target/{service}"),
        resource_id: crate::autoscaling::resource_id("test", service),
        min: 0,
        max: 50,
        tags,
        policies: BTreeMap::from([(
            "ops-step".to_owned(),
            ObservedPolicy {
                name: "ops-step".into(),
                metric: None,
                target: None,
                resource_label: None,
            },
        )]),
    }
}

fn foreign_tags() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::sample::select(vec![0u8, 1, 2]).prop_map(|kind| match kind {
        0 => BTreeMap::new(),
        1 => names::ownership_tags("someone-else", "acme", None),
        _ => names::ownership_tags(OWNER, "other", None),
    })
}

proptest! {
    /// The autoscaler moves the count anywhere in the range and Ferry
    /// never resets it: no resync fights it (terraform-provider-aws
    /// #10308). Outside the range it is clamped, once.
    #[test]
    fn the_autoscaler_owns_the_count_and_ferry_only_clamps(
        app in app_strategy(),
        min in 0u32..4,
        span in 0u32..5,
        counts in prop::collection::vec(0u32..12, 1..5),
    ) {
        let app = autoscaled(app, min, min + span);
        let mut observed = converge(&app);
        set_counts(&mut observed, &counts);
        let desired = render(&app, &settings());
        let planned = plan("acme", OWNER, &desired, &observed);
        let set = counts_set(&planned);
        for service in observed.services.values() {
            let clamped = service.desired_count.clamp(min, min + span);
            let expected = (clamped != service.desired_count).then_some(clamped);
            prop_assert_eq!(set.get(&service.name).copied(), expected, "{}", service.name);
        }
        prop_assert!(
            planned.actions.iter().all(|a| matches!(a, Action::UpdateService(_))),
            "{:?}", planned.actions
        );
        let next = execute(&observed, &planned.actions);
        prop_assert!(plan("acme", OWNER, &desired, &next).is_converged());
    }

    /// A new revision (the image changes, so every task definition does)
    /// and a restart riding on the same decision keep the autoscaler's
    /// count (issue 19): the UpdateService that rolls the revision out sets
    /// no desired count, unless the count is outside the range (then the
    /// clamp, as on any resync). Judged on [`crate::decide::decide`], the
    /// whole decision a reconcile makes, and on the state it leads to.
    #[test]
    fn a_new_revision_and_a_restart_keep_the_autoscalers_count(
        app in app_strategy(),
        min in 0u32..4,
        span in 0u32..5,
        counts in prop::collection::vec(0u32..12, 1..5),
        tag in "[a-z0-9]{1,8}",
        restart in any::<bool>(),
    ) {
        use crate::decide::{decide, AppRef, Input};
        use crate::render::render_app;
        use crate::restart::Restart;
        use crate::traffic::ObservedTraffic;

        let before = autoscaled(app, min, min + span);
        let mut observed = converge(&before);
        set_counts(&mut observed, &counts);
        let mut after = before.clone();
        after.image = format!("{}-{tag}", before.image);
        let desired = render_app(&after, &settings());
        let asked = Restart { generation: 2, processes: Vec::new() };
        let decision = decide(Input {
            app: AppRef {
                name: "acme",
                generation: 2,
                deleting: false,
                restart: restart.then_some(&asked),
            },
            spec: &after,
            settings: &settings(),
            observed: &observed,
            observed_traffic: &ObservedTraffic::default(),
            previous: None,
            now: time::macros::datetime!(2026-12-01 10:00 UTC),
        });
        for service in observed.services.values() {
            let update = decision.plan.actions.iter().find_map(|a| match a {
                Action::UpdateService(ServiceUpdate { name, desired_count, task_definition, force_new_deployment, .. })
                    if *name == service.name => Some((*desired_count, task_definition.is_some(), *force_new_deployment)),
                _ => None,
            });
            let Some((count, new_revision, forced)) = update else {
                return Err(TestCaseError::fail(format!("no UpdateService for {}", service.name)));
            };
            prop_assert!(new_revision, "{} keeps its old revision", service.name);
            prop_assert_eq!(forced, restart);
            let clamped = service.desired_count.clamp(min, min + span);
            prop_assert_eq!(
                count,
                (clamped != service.desired_count).then_some(clamped),
                "{} was at {}", service.name, service.desired_count
            );
        }
        let next = execute(&observed, &decision.plan.actions);
        for (name, service) in &next.services {
            prop_assert_eq!(
                service.desired_count,
                observed.services[name].desired_count.clamp(min, min + span)
            );
        }
        prop_assert!(plan("acme", OWNER, &desired.processes, &next).is_converged());
    }

    /// A changed range updates the target and clamps only counts outside
    /// it; the next plan is empty.
    #[test]
    fn a_new_range_is_registered_and_clamps_only_outside_counts(
        app in app_strategy(),
        before in (0u32..4, 0u32..5),
        after in (0u32..4, 0u32..5),
        counts in prop::collection::vec(0u32..12, 1..5),
    ) {
        let mut observed = converge(&autoscaled(app.clone(), before.0, before.0 + before.1));
        set_counts(&mut observed, &counts);
        let (min, max) = (after.0, after.0 + after.1);
        let desired = render(&autoscaled(app, min, max), &settings());
        let planned = plan("acme", OWNER, &desired, &observed);
        for (name, count) in counts_set(&planned) {
            let current = observed.services[&name].desired_count;
            prop_assert!(!(min..=max).contains(&current), "{name} reset from {current}");
            prop_assert_eq!(count, current.clamp(min, max));
        }
        let next = execute(&observed, &planned.actions);
        prop_assert!(plan("acme", OWNER, &desired, &next).is_converged());
        for target in next.scalable_targets.values() {
            prop_assert_eq!((target.min, target.max), (min, max));
        }
    }

    /// Removing `autoscaling` deregisters every target and policy before
    /// Ferry takes the count back; deleting the app removes them before
    /// its services.
    #[test]
    fn removing_autoscaling_deregisters_first(app in app_strategy(), delete in any::<bool>()) {
        let observed = converge(&autoscaled(app.clone(), 1, 3));
        let mut plain = app;
        for process in plain.processes.values_mut() {
            process.autoscaling = None;
        }
        let desired = if delete { Vec::new() } else { render(&plain, &settings()) };
        let planned = plan("acme", OWNER, &desired, &observed);
        let first_ecs = planned
            .actions
            .iter()
            .position(|a| !matches!(a, Action::Autoscaling(_)))
            .unwrap_or(planned.actions.len());
        prop_assert!(
            planned.actions[first_ecs..].iter().all(|a| !matches!(a, Action::Autoscaling(_))),
            "{:?}", planned.actions
        );
        let next = execute(&observed, &planned.actions);
        prop_assert!(next.scalable_targets.is_empty());
        prop_assert!(plan("acme", OWNER, &desired, &next).actions.is_empty());
    }

    /// Targets and policies Ferry does not own are never changed or
    /// deleted, and the counts they scale are never set.
    #[test]
    fn what_ferry_does_not_own_is_never_touched(
        before in app_strategy(),
        after in app_strategy(),
        scaled in any::<bool>(),
        foreign in prop::collection::vec(
            (prop::sample::select(vec!["web", "worker", "api", "cron"]), foreign_tags()),
            1..4,
        ),
        on_ours in prop::sample::select(vec!["web", "worker", "api", "cron"]),
    ) {
        let before = autoscaled(before, 1, 4);
        let after = if scaled { autoscaled(after, 0, 2) } else { after };
        let mut observed = converge(&before);
        for (process, tags) in &foreign {
            let service = names::service_name("acme", process);
            observed.scalable_targets.insert(service.clone(), foreign_target(&service, tags.clone()));
        }
        // Someone else's policy on one of Ferry's targets.
        let ours = names::service_name("acme", on_ours);
        let foreign_policy = foreign_target(&ours, BTreeMap::new()).policies;
        if let Some(target) = observed.scalable_targets.get_mut(&ours) {
            if names::ownership(&target.tags, OWNER, "acme") == Ownership::Ours {
                target.policies.extend(foreign_policy);
            }
        }
        let desired = render(&after, &settings());
        let planned = plan("acme", OWNER, &desired, &observed);
        let not_ours = |service: &str| {
            observed
                .scalable_targets
                .get(service)
                .is_some_and(|t| names::ownership(&t.tags, OWNER, "acme") != Ownership::Ours)
        };
        for action in &planned.actions {
            match action {
                Action::Autoscaling(change) => {
                    prop_assert!(!not_ours(change.service()), "{change}");
                    match change {
                        ScalingAction::DeleteScalingPolicy { name, .. } => {
                            prop_assert!(name.starts_with("ferry-"), "{change}");
                        }
                        ScalingAction::DeregisterScalableTarget { service, .. } => {
                            let policies = &observed.scalable_targets[service].policies;
                            prop_assert!(!policies.contains_key("ops-step"), "{change}");
                        }
                        _ => {}
                    }
                }
                Action::UpdateService(ServiceUpdate { name, desired_count: Some(count), .. }) if *count > 0 => {
                    prop_assert!(!not_ours(name), "{action}");
                }
                _ => {}
            }
        }
        let next = execute(&observed, &planned.actions);
        for (service, target) in &observed.scalable_targets {
            if not_ours(service) {
                prop_assert_eq!(next.scalable_targets.get(service), Some(target));
            }
        }
        prop_assert!(plan("acme", OWNER, &desired, &next).actions.is_empty());
    }
}

#[test]
fn a_new_autoscaled_service_starts_at_scale_clamped_then_gets_its_target() {
    let process = ferry_manifest::Process {
        command: Vec::new(),
        scale: 1,
        cpu: 256,
        memory: 512,
        ..Default::default()
    };
    let app = autoscaled(
        App {
            name: "acme".into(),
            image: "acme:1".into(),
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            domains: Vec::new(),
            processes: BTreeMap::from([("web".to_owned(), process)]),
            ..Default::default()
        },
        3,
        6,
    );
    let desired = render(&app, &settings());
    let planned = plan("acme", OWNER, &desired, &Observed::default());
    let shown: Vec<String> = planned.actions.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "register task definition ferry_acme_web (image acme:1)",
            "create service acme_web (desired 3, task definition ferry_acme_web:<new revision>)",
            "register scalable target acme_web (min 3, max 6)",
            "put scaling policy ferry-acme_web-cpu (ECSServiceAverageCPUUtilization 60)",
        ]
    );
}

/// The request-count policy counts at the process's internal target group:
/// its label is resolved from the group's ARN once the group exists, and a
/// process that the load balancer cannot route to gets no such policy.
#[test]
fn the_request_policy_is_labelled_with_the_internal_target_group() {
    use crate::render::render_app;
    use crate::traffic::{Edge, ObservedTargetGroup, ObservedTraffic, TrafficSettings, Zone};

    let lb = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/ferry-internal/50dc6c49";
    let mut settings = settings();
    settings.traffic = TrafficSettings {
        vpc_id: "vpc-1".into(),
        internal: Some(Edge {
            load_balancer_arn: lb.into(),
            dns_name: "internal.elb".into(),
            canonical_zone_id: "Z1".into(),
            listener_arns: vec!["listener-1".into()],
            test_listener_arn: None,
        }),
        public: None,
        internal_zone: Some(Zone {
            id: "ZI".into(),
            name: "ferry.internal".into(),
        }),
        public_zones: Vec::new(),
        max_rules: 100,
    };
    let process = ferry_manifest::Process {
        command: Vec::new(),
        scale: 2,
        cpu: 256,
        memory: 512,
        port: Some(8080),
        autoscaling: Some(Autoscaling {
            min: 2,
            max: 20,
            cpu: None,
            memory: None,
            requests_per_target: Some(500),
        }),
        ..Default::default()
    };
    let app = App {
        name: "acme".into(),
        image: "acme:1".into(),
        env: BTreeMap::new(),
        secrets: BTreeMap::new(),
        domains: Vec::new(),
        processes: BTreeMap::from([("web".to_owned(), process)]),
        ..Default::default()
    };
    let desired = render_app(&app, &settings);
    let group = crate::traffic::target_group_name(OWNER, "acme", "web", 8080);
    let policy_of = |plan: &Plan| {
        plan.actions.iter().find_map(|a| match a {
            Action::Autoscaling(ScalingAction::PutScalingPolicy { policy, .. }) => {
                Some(policy.clone())
            }
            _ => None,
        })
    };

    // Before the group exists: its name, resolved when the plan runs.
    let first = plan_app(
        "acme",
        OWNER,
        &settings.traffic,
        &desired,
        &Observed::default(),
        &ObservedTraffic::default(),
    );
    let label = policy_of(&first).and_then(|p| p.label).expect("a label");
    assert_eq!(
        (
            label.load_balancer_arn.as_str(),
            label.target_group.as_str()
        ),
        (lb, group.as_str())
    );
    assert_eq!(label.resolved, None);

    // Once it exists: the whole label.
    let mut traffic = ObservedTraffic::default();
    traffic.target_groups.insert(
        group.clone(),
        ObservedTargetGroup {
            arn: format!("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/{group}/73e2d6bc"),
            name: group.clone(),
            port: 8080,
            vpc_id: "vpc-1".into(),
            health_check: desired.traffic.target_groups[0].health_check.clone(),
            deregistration_delay: Some(30),
            tags: desired.traffic.target_groups[0].tags.clone(),
        },
    );
    let later = plan_app(
        "acme",
        OWNER,
        &settings.traffic,
        &desired,
        &Observed::default(),
        &traffic,
    );
    let label = policy_of(&later).and_then(|p| p.label).expect("a label");
    assert_eq!(
        label.resolved,
        Some(format!(
            "app/ferry-internal/50dc6c49/targetgroup/{group}/73e2d6bc"
        ))
    );

    // Without a load balancer: no request policy, and a blocker says why.
    settings.traffic = TrafficSettings::default();
    let unrouted = render_app(&app, &settings);
    let plan = plan_app(
        "acme",
        OWNER,
        &settings.traffic,
        &unrouted,
        &Observed::default(),
        &ObservedTraffic::default(),
    );
    assert!(policy_of(&plan).is_none(), "{:?}", plan.actions);
    assert!(plan
        .blockers
        .iter()
        .any(|b| b.reason == BlockerReason::NoLoadBalancer));
}
