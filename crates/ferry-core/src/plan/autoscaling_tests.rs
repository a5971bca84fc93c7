use std::collections::BTreeMap;

use super::*;
use crate::names::{self, autoscaling::*};

const OWNER: &str = "ferry";

fn spec(min: u32, max: u32, metrics: &[(Metric, u32)]) -> ScalingSpec {
    ScalingSpec {
        resource_id: resource_id("c", "acme_web"),
        min,
        max,
        tags: names::ownership_tags(OWNER, "acme", Some("web")),
        policies: metrics
            .iter()
            .map(|(metric, target)| PolicySpec {
                name: policy_name("acme_web", *metric),
                metric: *metric,
                target: *target,
                label: (*metric == Metric::Requests).then(|| LabelRef {
                    load_balancer_arn: "lb".into(),
                    target_group: "tg".into(),
                    resolved: Some("app/lb/1/targetgroup/tg/2".into()),
                }),
            })
            .collect(),
    }
}

/// What registering `spec` and putting its policies leaves.
fn registered(spec: &ScalingSpec, tags: BTreeMap<String, String>) -> ObservedScalableTarget {
    ObservedScalableTarget {
        arn: "arn:target".into(),
        resource_id: spec.resource_id.clone(),
        min: spec.min,
        max: spec.max,
        tags,
        policies: spec
            .policies
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    ObservedPolicy {
                        name: p.name.clone(),
                        metric: Some(p.metric),
                        target: Some(p.target),
                        resource_label: p.label.as_ref().and_then(|l| l.resolved.clone()),
                    },
                )
            })
            .collect(),
    }
}

#[test]
fn names_and_labels() {
    assert_eq!(resource_id("prod", "acme_web"), "service/prod/acme_web");
    assert_eq!(service_of("service/prod/acme_web"), Some("acme_web"));
    assert_eq!(service_of("table/x"), None);
    assert_eq!(policy_name("acme_web", Metric::Cpu), "ferry-acme_web-cpu");
    assert_eq!(
        resource_label(
            "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/my-alb/778d41231b141a0f",
            "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/my-tg/943f017f100becff",
        )
        .as_deref(),
        Some("app/my-alb/778d41231b141a0f/targetgroup/my-tg/943f017f100becff")
    );
    assert_eq!(
        resource_label(
            "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/nlb/1",
            "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/2"
        ),
        None,
        "request counts per target exist only for ALBs"
    );
    for metric in Metric::ALL {
        assert_eq!(
            Metric::from_predefined_type(metric.predefined_type()),
            Some(metric)
        );
    }
}

#[test]
fn a_new_target_is_registered_tagged_then_gets_its_policies() {
    let s = spec(2, 20, &[(Metric::Cpu, 60), (Metric::Requests, 500)]);
    let plan = plan_process("acme", OWNER, "web", "acme_web", Some(&s), None);
    let shown: Vec<String> = plan.apply.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "register scalable target acme_web (min 2, max 20)",
            "put scaling policy ferry-acme_web-cpu (ECSServiceAverageCPUUtilization 60)",
            "put scaling policy ferry-acme_web-requests (ALBRequestCountPerTarget 500)",
        ]
    );
    assert!(matches!(
        &plan.apply[0],
        ScalingAction::RegisterScalableTarget { tags: Some(tags), .. } if *tags == s.tags
    ));
    assert!(plan.remove.is_empty() && plan.blockers.is_empty());
}

#[test]
fn a_converged_target_needs_nothing_and_changes_are_minimal() {
    let s = spec(2, 20, &[(Metric::Cpu, 60), (Metric::Memory, 70)]);
    let target = registered(&s, s.tags.clone());
    let plan = plan_process("acme", OWNER, "web", "acme_web", Some(&s), Some(&target));
    assert_eq!(plan, ScalingPlan::default());

    let narrowed = spec(3, 5, &[(Metric::Cpu, 50)]);
    let plan = plan_process(
        "acme",
        OWNER,
        "web",
        "acme_web",
        Some(&narrowed),
        Some(&target),
    );
    let shown: Vec<String> = plan
        .remove
        .iter()
        .chain(&plan.apply)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        [
            "delete scaling policy ferry-acme_web-memory",
            "update scalable target acme_web (min 3, max 5)",
            "put scaling policy ferry-acme_web-cpu (ECSServiceAverageCPUUtilization 50)",
        ]
    );
}

#[test]
fn removing_autoscaling_deletes_only_ferrys_policies_then_the_target() {
    let s = spec(1, 4, &[(Metric::Cpu, 60)]);
    let mut target = registered(&s, s.tags.clone());
    let plan = plan_process("acme", OWNER, "web", "acme_web", None, Some(&target));
    let shown: Vec<String> = plan.remove.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "delete scaling policy ferry-acme_web-cpu",
            "deregister scalable target acme_web"
        ]
    );
    // A policy someone else put on Ferry's target keeps it registered.
    target.policies.insert(
        "ops-step".into(),
        ObservedPolicy {
            name: "ops-step".into(),
            metric: None,
            target: None,
            resource_label: None,
        },
    );
    let plan = plan_process("acme", OWNER, "web", "acme_web", None, Some(&target));
    let shown: Vec<String> = plan.remove.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["delete scaling policy ferry-acme_web-cpu"]);
    assert_eq!(plan.blockers[0].reason, BlockerReason::NameConflict);
    assert!(plan.blockers[0].message.contains("ops-step"));
}

#[test]
fn a_foreign_target_is_never_touched() {
    let s = spec(1, 4, &[(Metric::Cpu, 60)]);
    for tags in [
        BTreeMap::new(),
        names::ownership_tags("someone-else", "acme", Some("web")),
        names::ownership_tags(OWNER, "other", Some("web")),
    ] {
        let target = registered(&spec(1, 9, &[(Metric::Cpu, 10)]), tags);
        for wanted in [Some(&s), None] {
            let plan = plan_process("acme", OWNER, "web", "acme_web", wanted, Some(&target));
            assert!(plan.apply.is_empty() && plan.remove.is_empty(), "{plan:?}");
            assert_eq!(plan.blockers.len(), usize::from(wanted.is_some()));
            // Nor is the count it scales.
            assert_eq!(
                count_to_set(2, 7, wanted, Some(&target), OWNER, "acme"),
                None
            );
        }
    }
}

#[test]
fn a_request_policy_without_a_load_balancer_is_a_blocker() {
    let mut s = spec(1, 4, &[(Metric::Cpu, 60), (Metric::Requests, 100)]);
    s.policies[1].label = None;
    let plan = plan_process("acme", OWNER, "web", "acme_web", Some(&s), None);
    assert_eq!(plan.apply.len(), 2, "the target and the CPU policy");
    assert_eq!(plan.blockers[0].reason, BlockerReason::NoLoadBalancer);
}

#[test]
fn an_unresolved_label_is_put_again_until_it_is_known() {
    let mut s = spec(1, 4, &[(Metric::Requests, 100)]);
    let target = registered(&s, s.tags.clone());
    if let Some(label) = s.policies[0].label.as_mut() {
        label.resolved = None;
    }
    let plan = plan_process("acme", OWNER, "web", "acme_web", Some(&s), Some(&target));
    assert_eq!(plan.apply.len(), 1);
}

#[test]
fn the_autoscaler_owns_the_count_within_the_range() {
    let s = spec(2, 5, &[(Metric::Cpu, 60)]);
    let target = registered(&s, s.tags.clone());
    for current in 0..8 {
        let set = count_to_set(2, current, Some(&s), Some(&target), OWNER, "acme");
        let expected = match current {
            0 | 1 => Some(2),
            6 | 7 => Some(5),
            _ => None,
        };
        assert_eq!(set, expected, "current {current}");
        assert_eq!(
            settled_count(2, Some(current), Some(&s), Some(&target), OWNER, "acme"),
            current.clamp(2, 5)
        );
    }
    // Without autoscaling Ferry owns it again.
    assert_eq!(count_to_set(2, 4, None, None, OWNER, "acme"), Some(2));
    assert_eq!(
        count_to_set(2, 4, None, Some(&target), OWNER, "acme"),
        Some(2)
    );
    assert_eq!(settled_count(3, None, Some(&s), None, OWNER, "acme"), 3);
}
