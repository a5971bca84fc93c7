//! Renders a process's `rollout:` (issue 23): the deployment
//! configuration ECS runs its own strategy with, and, for blue/green,
//! canary and linear, the target-group pairs, production and test rules
//! and `advancedConfiguration` ECS shifts traffic with. Ferry never shifts
//! traffic itself.
//!
//! AWS: the link's `advancedConfiguration`
//! (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AdvancedConfiguration.html)
//! and the resources ECS requires for it, two target groups, a production
//! and a test listener rule, and the infrastructure role ("Required
//! resources for Amazon ECS blue/green deployments",
//! https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-implementation.html).
//!
//! A process whose strategy cannot run here (no infrastructure role, no
//! test listener on a load balancer it is served on) is blocked and
//! renders as a rolling update would, so that nothing half-configured
//! reaches ECS ([`strategy_blockers`]).

use std::collections::BTreeSet;

use ferry_manifest::{App, Process, RolloutAlarms, RolloutStrategy};

use crate::model::blocker::{Blocker, BlockerReason};
use crate::model::desired::{DeploymentSpec, PauseHook, Settings};
use crate::model::ownership::TAG_PROCESS;
use crate::model::traffic::*;
use crate::names;
use crate::names::traffic::alternate_target_group_name;

/// The prefix of a test rule's `ferry:rule` key: `test:<production key>`.
pub const TEST_RULE_PREFIX: &str = "test:";

/// The blockers of `app`'s strategies that are known from the spec and the
/// settings alone, so `ferry apply` refuses them before writing (like
/// [`super::traffic::domain_blockers`]) and the controller blocks them
/// again: a strategy other than `rolling` without the infrastructure role
/// (`NoInfrastructureRole`), or served on a load balancer without a test
/// listener (`NoTestListener`).
pub fn strategy_blockers(app: &App, settings: &Settings) -> Vec<Blocker> {
    app.processes
        .keys()
        .flat_map(|name| process_blockers(app, name, settings))
        .collect()
}

/// Whether ECS shifts `process`'s traffic between a pair of target groups:
/// its strategy is not `rolling`, it has a port, and nothing blocks it.
pub(crate) fn shifts_traffic(app: &App, process: &str, settings: &Settings) -> bool {
    strategy(app.processes.get(process)).shifts_traffic()
        && process_blockers(app, process, settings).is_empty()
}

/// The strategy a process asks for (`rolling` without `rollout:`).
fn strategy(process: Option<&Process>) -> RolloutStrategy {
    process
        .and_then(|p| p.rollout.as_ref())
        .map_or(RolloutStrategy::Rolling, |r| r.strategy)
}

fn process_blockers(app: &App, name: &str, settings: &Settings) -> Vec<Blocker> {
    let Some(process) = app.processes.get(name) else {
        return Vec::new();
    };
    let strategy = strategy(Some(process));
    if !strategy.shifts_traffic() || process.port.is_none() || process.schedule.is_some() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let blocker = |reason, message: String| Blocker {
        process: name.to_owned(),
        reason,
        message,
    };
    if settings.infrastructure_role_arn.is_none() {
        out.push(blocker(
            BlockerReason::NoInfrastructureRole,
            format!(
                "process {name} has strategy {}, which needs the ECS infrastructure role \
                 (--ecs-infrastructure-role-arn) the controller is not configured with; it \
                 deploys as a rolling update until then",
                strategy.name()
            ),
        ));
    }
    let traffic = &settings.traffic;
    let has_domain = app.domains.iter().any(|d| d.process == name);
    let edges = [
        (
            "internal",
            traffic.internal.as_ref(),
            true,
            "--internal-test-listener-arn",
        ),
        (
            "internet-facing",
            traffic.public.as_ref(),
            has_domain,
            "--public-test-listener-arn",
        ),
    ];
    for (which, edge, served, flag) in edges {
        match edge {
            Some(edge) if served && edge.test_listener_arn.is_none() => out.push(blocker(
                BlockerReason::NoTestListener,
                format!(
                    "process {name} has strategy {}, which needs a test listener on the {which} \
                     load balancer ({flag}); it deploys as a rolling update until then",
                    strategy.name()
                ),
            )),
            None if which == "internal" => out.push(blocker(
                BlockerReason::NoTestListener,
                format!(
                    "process {name} has strategy {}, which needs a load balancer with a test \
                     listener; the controller has no load balancer configured",
                    strategy.name()
                ),
            )),
            _ => {}
        }
    }
    out
}

/// The deployment configuration of `process`: ECS's strategy with its
/// parameters, the bake, the alarms that roll back (Ferry's own by
/// [`names::alarm_name`] when the internal load balancer exists to watch,
/// else the team's, sorted) and the approval as a PAUSE hook. A process
/// whose strategy is blocked deploys as `rolling`, keeping its alarms
/// (ECS rolls a rolling update back on alarms too).
pub(crate) fn deployment_spec(
    app: &App,
    name: &str,
    process: &Process,
    settings: &Settings,
) -> DeploymentSpec {
    let base = DeploymentSpec {
        min_healthy_percent: process.min_healthy_percent.unwrap_or(100),
        max_percent: process.max_percent.unwrap_or(200),
        rollback: process.rollback.unwrap_or(true),
        ..DeploymentSpec::default()
    };
    let Some(rollout) = &process.rollout else {
        return base;
    };
    let alarms = match &rollout.alarms {
        RolloutAlarms::None => Vec::new(),
        RolloutAlarms::Default if wants_own_alarm(process, settings) => {
            vec![names::alarm_name(&settings.owner, &app.name, name)]
        }
        RolloutAlarms::Default => Vec::new(),
        RolloutAlarms::Named(names) => {
            let sorted: BTreeSet<&String> = names.iter().collect();
            sorted.into_iter().cloned().collect()
        }
    };
    if !shifts_traffic(app, name, settings) {
        return DeploymentSpec { alarms, ..base };
    }
    DeploymentSpec {
        strategy: rollout.strategy,
        bake_minutes: rollout.bake_minutes,
        alarms,
        pause_hooks: rollout
            .approval
            .iter()
            .map(|approval| PauseHook {
                stage: approval.stage,
                timeout_minutes: approval.timeout_minutes,
                on_timeout: approval.on_timeout,
            })
            .collect(),
        ..base
    }
}

/// Whether Ferry renders its own alarm for `process` (`alarms: default`):
/// it watches the process's groups on the internal load balancer, so the
/// process needs a port and the load balancer must exist.
pub(crate) fn wants_own_alarm(process: &Process, settings: &Settings) -> bool {
    process.port.is_some()
        && process.schedule.is_none()
        && settings.traffic.internal.is_some()
        && process
            .rollout
            .as_ref()
            .is_some_and(|r| r.alarms == RolloutAlarms::Default)
}

/// Turns a rolling render of `traffic` into the pairs ECS shifts traffic
/// between, for every process that [`shifts_traffic`]: per load balancer
/// the process is served on, the alternate group (a copy of the primary
/// under [`alternate_target_group_name`]); one production rule on the
/// edge's first listener ([`Edge::production_listener`]) forwarding to the
/// pair, holding every host the process has on that load balancer (ECS
/// shifts the weights of one rule per load balancer, so a second rule
/// would keep forwarding to the old revision); the same rule on the test
/// listener under key `test:<key>`; and the link's `advanced`.
///
/// Test traffic reaches the new revision by the same host name on the
/// test listener's port: no priority ordering against the production
/// rule, and the production rule stays forward-only, as ECS requires.
pub(crate) fn pair_up(app: &App, settings: &Settings, traffic: &mut DesiredTraffic) {
    let Some(role_arn) = settings.infrastructure_role_arn.as_deref() else {
        return;
    };
    let edges: Vec<&Edge> = [&settings.traffic.internal, &settings.traffic.public]
        .into_iter()
        .flatten()
        .collect();
    for name in app.processes.keys() {
        if !shifts_traffic(app, name, settings) {
            continue;
        }
        let Some((links, _)) = traffic.links.get_mut(name) else {
            continue;
        };
        let of_process = |rule: &RuleSpec| rule.tags.get(TAG_PROCESS) == Some(name);
        for link in links.iter_mut() {
            let Some(edge) = edges.iter().find(|edge| {
                traffic.rules.iter().any(|r| {
                    of_process(r)
                        && r.target_group == link.target_group
                        && r.load_balancer_arn == edge.load_balancer_arn
                })
            }) else {
                continue;
            };
            let (Some(production), Some(test)) = (
                edge.production_listener(),
                edge.test_listener_arn.as_deref(),
            ) else {
                continue;
            };
            let alternate = alternate_target_group_name(&link.target_group);
            let mine = |r: &RuleSpec| of_process(r) && r.target_group == link.target_group;
            let mut hosts: Vec<String> = traffic
                .rules
                .iter()
                .filter(|r| mine(r))
                .flat_map(|r| r.hosts.iter().cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            hosts.sort();
            let Some(mut rule) = traffic
                .rules
                .iter()
                .filter(|r| mine(r) && r.listener_arn == production)
                .min_by(|a, b| a.key.cmp(&b.key))
                .cloned()
            else {
                continue;
            };
            traffic.rules.retain(|r| !mine(r));
            rule.hosts = hosts;
            rule.alternate = Some(alternate.clone());
            let mut test_rule = rule.clone();
            test_rule.key = format!("{TEST_RULE_PREFIX}{}", rule.key);
            test_rule.listener_arn = test.to_owned();
            test_rule
                .tags
                .insert(TAG_RULE.into(), test_rule.key.clone());
            link.advanced = Some(AdvancedLink {
                alternate_target_group: alternate.clone(),
                production_rule: RuleRef {
                    listener_arn: rule.listener_arn.clone(),
                    key: rule.key.clone(),
                },
                test_rule: RuleRef {
                    listener_arn: test_rule.listener_arn.clone(),
                    key: test_rule.key.clone(),
                },
                role_arn: role_arn.to_owned(),
            });
            traffic.rules.push(rule);
            traffic.rules.push(test_rule);
            if let Some(primary) = traffic
                .target_groups
                .iter()
                .find(|g| g.name == link.target_group)
            {
                let copy = TargetGroupSpec {
                    name: alternate,
                    ..primary.clone()
                };
                traffic.target_groups.push(copy);
            }
        }
    }
}

#[cfg(test)]
#[path = "rollout_tests.rs"]
mod tests;
