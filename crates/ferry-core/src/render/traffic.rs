//! Renders an app's traffic. The model is Empire's, without its weak
//! points. Every process with a `port` gets a target group (ip targets,
//! health-checked). On the internal ALB, `<process>.<app>.<internal
//! domain>` routes to it, and so does `<app>.<internal domain>` for the
//! app's default process (`web`, or the only exposed one); each name gets
//! an alias record in the private zone. Each entry of `domains` gets a rule
//! on the internet-facing ALB and an alias record in the public zone whose
//! name is its longest suffix.

use std::collections::BTreeMap;

use ferry_manifest::App;

use crate::model::blocker::{Blocker, BlockerReason};
use crate::model::ownership;
use crate::model::traffic::*;
use crate::names::traffic::{owner_record, public_target_group_name, target_group_name};

pub use super::rollout::strategy_blockers;

/// The process `<app>.<internal domain>` routes to: `web`, else the only
/// exposed process.
pub fn default_process(app: &App) -> Option<&str> {
    let exposed: Vec<&str> = app
        .processes
        .iter()
        .filter(|(_, p)| p.port.is_some())
        .map(|(name, _)| name.as_str())
        .collect();
    if exposed.contains(&"web") {
        return Some("web");
    }
    match exposed.as_slice() {
        [only] => Some(only),
        _ => None,
    }
}

/// The zone a public domain belongs in: the longest zone name that is the
/// domain or a suffix of it at a label boundary.
pub fn zone_for<'a>(domain: &str, zones: &'a [Zone]) -> Option<&'a Zone> {
    zones
        .iter()
        .filter(|z| domain == z.name || domain.ends_with(&format!(".{}", z.name)))
        .max_by_key(|z| z.name.len())
}

/// The blockers an app's domains meet whatever exists in AWS: a domain
/// in none of the public zones, or no internet-facing load balancer to
/// serve it. Known from the spec and the settings alone, so `ferry apply`
/// refuses them before writing.
pub fn domain_blockers(app: &App, settings: &TrafficSettings) -> Vec<Blocker> {
    render(app, "", settings)
        .blockers
        .into_iter()
        .filter(|b| {
            matches!(
                b.reason,
                BlockerReason::NoHostedZone | BlockerReason::NoPublicLoadBalancer
            )
        })
        .collect()
}

/// Renders an app's traffic.
pub fn render(app: &App, owner: &str, settings: &TrafficSettings) -> DesiredTraffic {
    let mut out = DesiredTraffic::default();
    if settings.internal.is_none() {
        // Without the internal load balancer nothing is exposed; a target
        // group no rule forwards to cannot even be attached to a service.
        for domain in &app.domains {
            out.blockers.push(Blocker {
                process: domain.process.clone(),
                reason: BlockerReason::NoLoadBalancer,
                message: format!(
                    "domain {} cannot be served: the controller has no load balancer configured",
                    domain.name
                ),
            });
        }
        return out;
    }
    let default = default_process(app);
    // Index in `out.target_groups` of each exposed process's internal
    // group, and the name of its internet-facing one once a domain needs it.
    let mut internal_groups: BTreeMap<String, usize> = BTreeMap::new();
    let mut public_groups: BTreeMap<String, String> = BTreeMap::new();
    for (process_name, process) in &app.processes {
        let Some(port) = process.port else {
            continue;
        };
        let name = target_group_name(owner, &app.name, process_name, port);
        let check = process.health_check.clone().unwrap_or_default();
        internal_groups.insert(process_name.clone(), out.target_groups.len());
        out.target_groups.push(TargetGroupSpec {
            name: name.clone(),
            process: process_name.clone(),
            port,
            vpc_id: settings.vpc_id.clone(),
            health_check: HealthCheckSpec {
                path: check.path.unwrap_or_else(|| DEFAULT_HEALTH_PATH.into()),
                interval: check.interval.unwrap_or(DEFAULT_HEALTH_INTERVAL),
                timeout: check.timeout.unwrap_or(DEFAULT_HEALTH_TIMEOUT),
                healthy_threshold: check.healthy_threshold.unwrap_or(DEFAULT_HEALTHY_THRESHOLD),
                unhealthy_threshold: check
                    .unhealthy_threshold
                    .unwrap_or(DEFAULT_UNHEALTHY_THRESHOLD),
                matcher: check.matcher.unwrap_or_else(|| DEFAULT_MATCHER.into()),
            },
            deregistration_delay: process.drain_timeout.unwrap_or(DEFAULT_DRAIN_TIMEOUT),
            tags: ownership::ownership_tags(owner, &app.name, Some(process_name)),
        });
        out.links.insert(
            process_name.clone(),
            (
                vec![LoadBalancerLink {
                    target_group: name.clone(),
                    container_name: process_name.clone(),
                    container_port: port,
                    advanced: None,
                }],
                process
                    .health_check_grace_period
                    .unwrap_or(DEFAULT_GRACE_PERIOD),
            ),
        );

        let (Some(edge), Some(zone)) = (&settings.internal, &settings.internal_zone) else {
            continue;
        };
        let mut hosts = vec![format!("{process_name}.{}.{}", app.name, zone.name)];
        if default == Some(process_name.as_str()) {
            hosts.push(format!("{}.{}", app.name, zone.name));
        }
        hosts.sort();
        let key = format!("internal/{process_name}");
        for listener in &edge.listener_arns {
            out.rules.push(rule(
                owner,
                app,
                process_name,
                &key,
                edge,
                listener,
                &hosts,
                &name,
            ));
        }
        for host in &hosts {
            out.records.push(record(owner, app, zone, edge, host));
            out.endpoints
                .entry(process_name.clone())
                .or_default()
                .push(format!("http://{host}"));
        }
    }

    for domain in &app.domains {
        let Some(&internal) = internal_groups.get(&domain.process) else {
            out.blockers.push(Blocker {
                process: domain.process.clone(),
                reason: BlockerReason::DomainWithoutPort,
                message: format!(
                    "domain {} routes to process {}, which has no port",
                    domain.name, domain.process
                ),
            });
            continue;
        };
        let Some(edge) = &settings.public else {
            out.blockers.push(Blocker {
                process: domain.process.clone(),
                reason: BlockerReason::NoPublicLoadBalancer,
                message: format!(
                    "domain {} needs the internet-facing load balancer, which the controller is not configured with",
                    domain.name
                ),
            });
            continue;
        };
        let Some(zone) = zone_for(&domain.name, &settings.public_zones) else {
            let zones: Vec<&str> = settings
                .public_zones
                .iter()
                .map(|z| z.name.as_str())
                .collect();
            out.blockers.push(Blocker {
                process: domain.process.clone(),
                reason: BlockerReason::NoHostedZone,
                message: format!(
                    "domain {} is in none of the public zones Ferry manages ({})",
                    domain.name,
                    if zones.is_empty() {
                        "none configured".to_owned()
                    } else {
                        zones.join(", ")
                    }
                ),
            });
            continue;
        };
        // AWS associates a target group with one load balancer at most
        // (ALB quotas: "Load balancers per target group: 1"), so the
        // internet-facing one forwards to a group of its own, which the
        // service registers its tasks with too.
        let public_group = match public_groups.get(&domain.process) {
            Some(name) => name.clone(),
            None => {
                let mut spec = out.target_groups[internal].clone();
                spec.name = public_target_group_name(owner, &app.name, &domain.process, spec.port);
                let link = LoadBalancerLink {
                    target_group: spec.name.clone(),
                    container_name: domain.process.clone(),
                    container_port: spec.port,
                    advanced: None,
                };
                if let Some((links, _)) = out.links.get_mut(&domain.process) {
                    links.push(link);
                    links.sort_by(|a, b| a.target_group.cmp(&b.target_group));
                }
                public_groups.insert(domain.process.clone(), spec.name.clone());
                out.target_groups.push(spec);
                public_groups[&domain.process].clone()
            }
        };
        let key = format!("domain/{}", domain.name);
        let hosts = vec![domain.name.clone()];
        for listener in &edge.listener_arns {
            out.rules.push(rule(
                owner,
                app,
                &domain.process,
                &key,
                edge,
                listener,
                &hosts,
                &public_group,
            ));
        }
        out.records
            .push(record(owner, app, zone, edge, &domain.name));
        out.endpoints
            .entry(domain.process.clone())
            .or_default()
            .push(format!("http://{}", domain.name));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn rule(
    owner: &str,
    app: &App,
    process: &str,
    key: &str,
    edge: &Edge,
    listener: &str,
    hosts: &[String],
    target_group: &str,
) -> RuleSpec {
    let mut tags = ownership::ownership_tags(owner, &app.name, Some(process));
    tags.insert(TAG_RULE.into(), key.into());
    RuleSpec {
        key: key.into(),
        listener_arn: listener.into(),
        load_balancer_arn: edge.load_balancer_arn.clone(),
        hosts: hosts.to_vec(),
        target_group: target_group.into(),
        alternate: None,
        tags,
    }
}

fn record(owner: &str, app: &App, zone: &Zone, edge: &Edge, host: &str) -> RecordSpec {
    RecordSpec {
        zone_id: zone.id.clone(),
        name: host.to_owned(),
        alias: AliasTarget {
            dns_name: edge.dns_name.clone(),
            zone_id: edge.canonical_zone_id.clone(),
        },
        owner: owner_record(owner, &app.name),
    }
}
