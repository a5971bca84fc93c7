//! A model of Elastic Load Balancing and Route 53 that executes traffic
//! actions, for the planner's tests: target groups, rules (a pair rule
//! forwards to both groups, the first at weight 100, the second at 0, as
//! Ferry writes it) and records.

use crate::model::traffic::*;

/// The ARN the model gives target group `name`.
pub fn target_group_arn(name: &str) -> String {
    format!("arn:aws:elasticloadbalancing:r:1:targetgroup/{name}/x")
}

/// What a rule forwarding to `target_group` (and `alternate`, a pair)
/// holds: its target group ARNs and, for a pair, the weights.
fn forward(
    target_group: &str,
    alternate: Option<&String>,
) -> (Vec<String>, std::collections::BTreeMap<String, u32>) {
    let live = target_group_arn(target_group);
    match alternate {
        None => (vec![live], Default::default()),
        Some(alternate) => {
            let other = target_group_arn(alternate);
            (
                vec![live.clone(), other.clone()],
                [(live, 100), (other, 0)].into_iter().collect(),
            )
        }
    }
}

/// Applies traffic actions to the observed state, as AWS would. Panics on
/// what AWS refuses: a priority taken, a rule or group that is missing, a
/// group deleted while a rule forwards to it.
pub fn execute_traffic(observed: &ObservedTraffic, actions: &[TrafficAction]) -> ObservedTraffic {
    let mut next = observed.clone();
    for action in actions {
        match action {
            TrafficAction::CreateTargetGroup { spec } => {
                next.target_groups.insert(
                    spec.name.clone(),
                    ObservedTargetGroup {
                        arn: target_group_arn(&spec.name),
                        name: spec.name.clone(),
                        port: spec.port,
                        vpc_id: spec.vpc_id.clone(),
                        health_check: spec.health_check.clone(),
                        deregistration_delay: Some(spec.deregistration_delay),
                        tags: spec.tags.clone(),
                    },
                );
            }
            TrafficAction::ModifyTargetGroup {
                name,
                health_check,
                deregistration_delay,
                ..
            } => {
                let group = next.target_groups.get_mut(name).expect("exists");
                if let Some(check) = health_check {
                    group.health_check = check.clone();
                }
                if let Some(delay) = deregistration_delay {
                    group.deregistration_delay = Some(*delay);
                }
            }
            TrafficAction::DeleteTargetGroup { name, arn } => {
                assert!(
                    !next.rules.iter().any(|r| r.target_group_arns.contains(arn)),
                    "ResourceInUse: target group {name} is forwarded to"
                );
                next.target_groups.remove(name);
            }
            TrafficAction::CreateRule { spec, priority } => {
                assert!(
                    !next
                        .rules
                        .iter()
                        .any(|r| r.listener_arn == spec.listener_arn
                            && r.priority == Some(*priority)),
                    "priority {priority} taken"
                );
                let (target_group_arns, weights) =
                    forward(&spec.target_group, spec.alternate.as_ref());
                next.rules.push(ObservedRule {
                    arn: format!("rule/{}/{}", spec.listener_arn, spec.key),
                    listener_arn: spec.listener_arn.clone(),
                    priority: Some(*priority),
                    hosts: spec.hosts.clone(),
                    target_group_arns,
                    weights,
                    tags: spec.tags.clone(),
                });
            }
            TrafficAction::ModifyRule {
                arn,
                hosts,
                target_group,
                alternate,
                ..
            } => {
                let rule = next
                    .rules
                    .iter_mut()
                    .find(|r| &r.arn == arn)
                    .expect("exists");
                rule.hosts = hosts.clone();
                (rule.target_group_arns, rule.weights) = forward(target_group, alternate.as_ref());
            }
            TrafficAction::DeleteRule { arn, .. } => next.rules.retain(|r| &r.arn != arn),
            TrafficAction::ChangeRecords { zone_id, changes } => {
                for change in changes {
                    match change {
                        RecordChange::Create(r) | RecordChange::Upsert(r) => {
                            next.records.insert(
                                (zone_id.clone(), r.name.clone()),
                                ObservedName {
                                    alias: Some(r.alias.clone()),
                                    txt: vec![r.owner.clone()],
                                    other: Vec::new(),
                                },
                            );
                        }
                        RecordChange::Delete { name, keep, .. } => {
                            let key = (zone_id.clone(), name.clone());
                            if keep.is_empty() {
                                next.records.remove(&key);
                            } else if let Some(left) = next.records.get_mut(&key) {
                                left.alias = None;
                                left.txt = keep.clone();
                            }
                        }
                    }
                }
            }
        }
    }
    next
}

/// Settings with both load balancers (two listeners and a test listener
/// each), their zones and the ECS infrastructure role: what every
/// strategy needs.
pub fn settings_for_strategies() -> crate::model::desired::Settings {
    let edge = |name: &str| Edge {
        load_balancer_arn: format!("lb/{name}"),
        dns_name: format!("{name}.elb"),
        canonical_zone_id: "ZELB".into(),
        listener_arns: vec![
            format!("listener/{name}/http"),
            format!("listener/{name}/https"),
        ],
        test_listener_arn: Some(format!("listener/{name}/test")),
    };
    crate::model::desired::Settings {
        traffic: TrafficSettings {
            vpc_id: "vpc-1".into(),
            internal: Some(edge("internal")),
            public: Some(edge("public")),
            internal_zone: Some(Zone {
                id: "ZINT".into(),
                name: "ferry.internal".into(),
            }),
            public_zones: vec![Zone {
                id: "ZCOM".into(),
                name: "example.com".into(),
            }],
            max_rules: 100,
        },
        infrastructure_role_arn: Some(
            "arn:aws:iam::123456789012:role/ferry-ecs-infrastructure".into(),
        ),
        ..super::settings()
    }
}
