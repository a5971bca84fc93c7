//! Traffic: the target groups, listener rules and DNS records that make an
//! exposed process reachable, and the plan that converges them.
//!
//! The model is Empire's, without its weak points. Every process with a
//! `port` gets a target group (ip targets, health-checked). On the internal
//! ALB, `<process>.<app>.<internal domain>` routes to it, and so does
//! `<app>.<internal domain>` for the app's default process (`web`, or the
//! only exposed one); each name gets an alias record in the private zone.
//! Each entry of `domains` gets a rule on the internet-facing ALB and an
//! alias record in the public zone whose name is its longest suffix.
//!
//! Guarantees, each covered by tests below:
//! - names are deterministic and fit AWS's limits (target groups: 32
//!   characters, letters, digits and `-`), and stay unique for long names;
//! - a new rule takes the lowest priority free on its listener, so a
//!   priority held by anyone else is skipped, never taken;
//! - if an app's rules would exceed the rule quota of a load balancer, none
//!   of its traffic changes are made (`LoadBalancerFull`);
//! - nothing is changed or deleted without Ferry's ownership: target groups
//!   and rules by their tags, records by a TXT record at the same name;
//! - creations come before the services that use them, deletions after the
//!   services stopped using them: a rule never points at nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ferry_manifest::App;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::blocker::{Blocker, BlockerReason};
use crate::names::{self, Ownership};

/// Tag that tells apart the rules of one process (or one domain).
pub const TAG_RULE: &str = "ferry:rule";
/// ALB target group names: at most 32 characters.
pub const MAX_TARGET_GROUP_NAME: usize = 32;
/// ALB rule priorities run from 1 to 50000.
pub const MAX_PRIORITY: u32 = 50_000;

/// Health-check defaults: strict enough that a broken app fails within
/// half a minute, and a 4xx/5xx answer counts as broken.
pub const DEFAULT_HEALTH_PATH: &str = "/";
pub const DEFAULT_HEALTH_INTERVAL: u32 = 10;
pub const DEFAULT_HEALTH_TIMEOUT: u32 = 5;
pub const DEFAULT_HEALTHY_THRESHOLD: u32 = 2;
pub const DEFAULT_UNHEALTHY_THRESHOLD: u32 = 3;
pub const DEFAULT_MATCHER: &str = "200-399";
/// Seconds a leaving task keeps serving in-flight requests. ALB's own
/// default (300 s) makes every deploy five minutes slower than it needs.
pub const DEFAULT_DRAIN_TIMEOUT: u32 = 30;
/// Seconds ECS ignores failing health checks of a new task.
pub const DEFAULT_GRACE_PERIOD: u32 = 60;

/// A load balancer Ferry adds rules to, and the listeners it uses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub load_balancer_arn: String,
    /// For alias records.
    pub dns_name: String,
    /// The load balancer's canonical hosted zone, for alias records.
    pub canonical_zone_id: String,
    /// Every listener gets the same rules (HTTP, and HTTPS where set up).
    pub listener_arns: Vec<String>,
}

/// A Route53 hosted zone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Zone {
    pub id: String,
    /// Without the trailing dot.
    pub name: String,
}

/// The traffic side of the environment, from the controller's settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficSettings {
    pub vpc_id: String,
    pub internal: Option<Edge>,
    pub public: Option<Edge>,
    /// The private zone of the internal domain.
    pub internal_zone: Option<Zone>,
    /// Zones in which `domains` may be claimed.
    pub public_zones: Vec<Zone>,
    /// Rules allowed per load balancer, default rules not counted.
    pub max_rules: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckSpec {
    pub path: String,
    pub interval: u32,
    pub timeout: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub matcher: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupSpec {
    pub name: String,
    pub process: String,
    pub port: u16,
    pub vpc_id: String,
    pub health_check: HealthCheckSpec,
    pub deregistration_delay: u32,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSpec {
    /// `internal/<process>` or `domain/<name>`: which rule this is.
    pub key: String,
    pub listener_arn: String,
    pub load_balancer_arn: String,
    /// Sorted host names the rule matches.
    pub hosts: Vec<String>,
    /// Name of the target group it forwards to.
    pub target_group: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AliasTarget {
    pub dns_name: String,
    pub zone_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSpec {
    pub zone_id: String,
    /// Lowercase, without the trailing dot.
    pub name: String,
    pub alias: AliasTarget,
    /// Content of the TXT record that marks the name as Ferry's.
    pub owner: String,
}

/// How an ECS service is attached to its target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerLink {
    /// Target group name (its ARN is resolved when the plan runs).
    pub target_group: String,
    pub container_name: String,
    pub container_port: u16,
}

/// Everything an app's traffic should be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredTraffic {
    pub target_groups: Vec<TargetGroupSpec>,
    pub rules: Vec<RuleSpec>,
    pub records: Vec<RecordSpec>,
    /// Service links, by process: one per load balancer that serves it
    /// (sorted by target group), and the health-check grace period.
    pub links: BTreeMap<String, (Vec<LoadBalancerLink>, u32)>,
    /// URLs per process.
    pub endpoints: BTreeMap<String, Vec<String>>,
    /// What cannot be rendered (a domain outside every zone, say).
    pub blockers: Vec<Blocker>,
}

/// A target group as ELBv2 describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTargetGroup {
    pub arn: String,
    pub name: String,
    pub port: u16,
    pub vpc_id: String,
    pub health_check: HealthCheckSpec,
    /// `None` when the attributes could not be read.
    pub deregistration_delay: Option<u32>,
    pub tags: BTreeMap<String, String>,
}

/// A listener rule as ELBv2 describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRule {
    pub arn: String,
    pub listener_arn: String,
    /// `None` for the listener's default rule.
    pub priority: Option<u32>,
    /// Sorted.
    pub hosts: Vec<String>,
    pub target_group_arns: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// The records of one name in one zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedName {
    pub alias: Option<AliasTarget>,
    /// Contents of TXT records, unquoted.
    pub txt: Vec<String>,
    /// Other record types present (`CNAME`, `AAAA`, an A that is no alias).
    pub other: Vec<String>,
}

/// What exists that matters to one app's traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedTraffic {
    /// By name: those with the app's desired names, whoever owns them, and
    /// those tagged for the app.
    pub target_groups: BTreeMap<String, ObservedTargetGroup>,
    /// Every rule of every listener Ferry uses, whoever owns it.
    pub rules: Vec<ObservedRule>,
    /// By (zone id, name): the desired names and those the app owns.
    pub records: BTreeMap<(String, String), ObservedName>,
}

/// A change to traffic resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum TrafficAction {
    CreateTargetGroup {
        spec: TargetGroupSpec,
    },
    ModifyTargetGroup {
        arn: String,
        name: String,
        health_check: Option<HealthCheckSpec>,
        deregistration_delay: Option<u32>,
    },
    DeleteTargetGroup {
        arn: String,
        name: String,
    },
    CreateRule {
        spec: RuleSpec,
        priority: u32,
    },
    ModifyRule {
        arn: String,
        key: String,
        hosts: Vec<String>,
        target_group: String,
    },
    DeleteRule {
        arn: String,
        key: String,
    },
    /// One atomic Route53 change batch.
    ChangeRecords {
        zone_id: String,
        changes: Vec<RecordChange>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "change")]
pub enum RecordChange {
    /// New name: CREATE its alias and ownership TXT (fails if taken).
    Create(RecordSpec),
    /// An owned name pointing elsewhere: UPSERT the alias.
    Upsert(RecordSpec),
    /// An owned name no longer wanted: DELETE its alias and the TXT set
    /// exactly as it exists (Route53 refuses a DELETE that does not match,
    /// so a concurrent edit makes the batch fail instead of being lost),
    /// then CREATE the TXT set again with `keep`, the values others put at
    /// the name (a domain-verification token, say), in the same batch.
    Delete {
        name: String,
        alias: Option<AliasTarget>,
        txt: Vec<String>,
        keep: Vec<String>,
    },
}

impl TrafficAction {
    /// The resource the action changes, for logs and status.
    pub fn target(&self) -> &str {
        match self {
            TrafficAction::CreateTargetGroup { spec } => &spec.name,
            TrafficAction::ModifyTargetGroup { name, .. }
            | TrafficAction::DeleteTargetGroup { name, .. } => name,
            TrafficAction::CreateRule { spec, .. } => &spec.key,
            TrafficAction::ModifyRule { key, .. } | TrafficAction::DeleteRule { key, .. } => key,
            TrafficAction::ChangeRecords { zone_id, .. } => zone_id,
        }
    }
}

impl fmt::Display for TrafficAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrafficAction::CreateTargetGroup { spec } => {
                write!(f, "create target group {} (port {})", spec.name, spec.port)
            }
            TrafficAction::ModifyTargetGroup {
                name,
                health_check,
                deregistration_delay,
                ..
            } => {
                write!(f, "update target group {name}:")?;
                if let Some(check) = health_check {
                    write!(f, " health check {} every {}s", check.path, check.interval)?;
                }
                if let Some(delay) = deregistration_delay {
                    write!(f, " drain timeout {delay}s")?;
                }
                Ok(())
            }
            TrafficAction::DeleteTargetGroup { name, .. } => {
                write!(f, "delete target group {name}")
            }
            TrafficAction::CreateRule { spec, priority } => write!(
                f,
                "create rule {} (priority {priority}, hosts {}) -> {}",
                spec.key,
                spec.hosts.join(","),
                spec.target_group
            ),
            TrafficAction::ModifyRule {
                key,
                hosts,
                target_group,
                ..
            } => write!(
                f,
                "update rule {key}: hosts {} -> {target_group}",
                hosts.join(",")
            ),
            TrafficAction::DeleteRule { key, .. } => write!(f, "delete rule {key}"),
            TrafficAction::ChangeRecords { zone_id, changes } => {
                let names: Vec<String> = changes
                    .iter()
                    .map(|c| match c {
                        RecordChange::Create(r) => format!("create {}", r.name),
                        RecordChange::Upsert(r) => format!("update {}", r.name),
                        RecordChange::Delete { name, .. } => format!("delete {name}"),
                    })
                    .collect();
                write!(f, "records in zone {zone_id}: {}", names.join(", "))
            }
        }
    }
}

/// The target group name of an exposed process: readable where it fits,
/// and unique through a hash of installation, app, process and port. The
/// port is in the hash because a target group's port cannot change: a new
/// port means a new group, created before the old one goes.
pub fn target_group_name(owner: &str, app: &str, process: &str, port: u16) -> String {
    named_group(owner, app, process, port, "")
}

/// The name of the group the internet-facing load balancer forwards a
/// process's domains to: like [`target_group_name`], with another hash.
pub fn public_target_group_name(owner: &str, app: &str, process: &str, port: u16) -> String {
    named_group(owner, app, process, port, "\0public")
}

/// `<app>-<process>-<hash>` within 32 characters; `edge` tells the groups
/// of one process on different load balancers apart (empty for the
/// internal one, whose names predate the others).
fn named_group(owner: &str, app: &str, process: &str, port: u16, edge: &str) -> String {
    let digest = Sha256::digest(format!("{owner}\0{app}\0{process}\0{port}{edge}").as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    // Two separators and the hash leave 22 characters for the names.
    let room = MAX_TARGET_GROUP_NAME - hash.len() - 2;
    let process_part = truncate(process, (room / 2).max(room.saturating_sub(app.len())));
    let app_part = truncate(app, room - process_part.len());
    format!("{app_part}-{process_part}-{hash}")
}

fn truncate(label: &str, max: usize) -> &str {
    // Labels are ASCII (validated DNS labels), so byte slicing is safe; a
    // cut must not leave a trailing '-', which AWS rejects before a '-'.
    let cut = &label[..label.len().min(max)];
    cut.trim_end_matches('-')
}

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

/// The text of the TXT record that marks a name as this app's.
pub fn owner_record(owner: &str, app: &str) -> String {
    format!("{}={owner},{}={app}", names::TAG_MANAGED_BY, names::TAG_APP)
}

/// The zone a public domain belongs in: the longest zone name that is the
/// domain or a suffix of it at a label boundary.
pub fn zone_for<'a>(domain: &str, zones: &'a [Zone]) -> Option<&'a Zone> {
    zones
        .iter()
        .filter(|z| domain == z.name || domain.ends_with(&format!(".{}", z.name)))
        .max_by_key(|z| z.name.len())
}

/// Renders an app's traffic.
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
            tags: names::ownership_tags(owner, &app.name, Some(process_name)),
        });
        out.links.insert(
            process_name.clone(),
            (
                vec![LoadBalancerLink {
                    target_group: name.clone(),
                    container_name: process_name.clone(),
                    container_port: port,
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
    let mut tags = names::ownership_tags(owner, &app.name, Some(process));
    tags.insert(TAG_RULE.into(), key.into());
    RuleSpec {
        key: key.into(),
        listener_arn: listener.into(),
        load_balancer_arn: edge.load_balancer_arn.clone(),
        hosts: hosts.to_vec(),
        target_group: target_group.into(),
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

/// An app's traffic plan: what runs before the ECS changes, what after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficPlan {
    pub before: Vec<TrafficAction>,
    pub after: Vec<TrafficAction>,
    pub blockers: Vec<Blocker>,
    /// True when nothing may change (the quota): services keep the load
    /// balancer link they have.
    pub frozen: bool,
    /// Target groups a rule of the app forwards to once `before` has run.
    /// A service links only these: ECS refuses a target group no load
    /// balancer forwards to.
    pub routed: BTreeSet<String>,
}

/// Plans an app's traffic. `settings` gives the load balancers' listeners
/// and the rule quota; `desired` is empty for an app being deleted.
pub fn plan(
    app: &str,
    owner: &str,
    settings: &TrafficSettings,
    desired: &DesiredTraffic,
    observed: &ObservedTraffic,
) -> TrafficPlan {
    let mut out = TrafficPlan {
        blockers: desired.blockers.clone(),
        ..TrafficPlan::default()
    };
    let ours =
        |tags: &BTreeMap<String, String>| names::ownership(tags, owner, app) == Ownership::Ours;

    // Target groups: create, fix in place, or report a squatter.
    let mut blocked_groups = BTreeSet::new();
    for spec in &desired.target_groups {
        match observed.target_groups.get(&spec.name) {
            None => out
                .before
                .push(TrafficAction::CreateTargetGroup { spec: spec.clone() }),
            Some(group) if !ours(&group.tags) => {
                blocked_groups.insert(spec.name.clone());
                out.blockers.push(Blocker {
                    process: spec.process.clone(),
                    reason: BlockerReason::NameConflict,
                    message: format!(
                        "target group {} exists and is not Ferry's for this app; Ferry leaves it untouched",
                        spec.name
                    ),
                });
            }
            Some(group) => {
                let health_check =
                    (group.health_check != spec.health_check).then(|| spec.health_check.clone());
                let deregistration_delay = (group.deregistration_delay
                    != Some(spec.deregistration_delay))
                .then_some(spec.deregistration_delay);
                if health_check.is_some() || deregistration_delay.is_some() {
                    out.before.push(TrafficAction::ModifyTargetGroup {
                        arn: group.arn.clone(),
                        name: group.name.clone(),
                        health_check,
                        deregistration_delay,
                    });
                }
            }
        }
    }

    // Names taken by someone else: reported, and neither their record nor
    // a rule for them is made, so Ferry never routes a name it lost.
    let owner_text = owner_record(owner, app);
    let mut conflicts: BTreeSet<&str> = BTreeSet::new();
    for spec in &desired.records {
        let Some(existing) = observed
            .records
            .get(&(spec.zone_id.clone(), spec.name.clone()))
        else {
            continue;
        };
        if existing.txt.contains(&owner_text) || !conflicts.insert(spec.name.as_str()) {
            continue;
        }
        let whose = existing
            .txt
            .iter()
            .find(|t| t.starts_with(names::TAG_MANAGED_BY))
            .map_or("something other than Ferry".to_owned(), |t| {
                format!("`{t}`")
            });
        out.blockers.push(Blocker {
            process: String::new(),
            reason: BlockerReason::RecordConflict,
            message: format!(
                "DNS name {} exists and belongs to {whose}; Ferry leaves it untouched and does not route it",
                spec.name
            ),
        });
    }

    // Rules: by (listener, key) among the rules that are ours.
    let our_rules: BTreeMap<(&str, &str), &ObservedRule> = observed
        .rules
        .iter()
        .filter(|r| ours(&r.tags))
        .filter_map(|r| Some(((r.listener_arn.as_str(), r.tags.get(TAG_RULE)?.as_str()), r)))
        .collect();
    let tg_name_of = |arn: &str| target_group_name_from_arn(arn).to_owned();
    let mut creates: Vec<&RuleSpec> = Vec::new();
    let mut kept: BTreeSet<&str> = BTreeSet::new();
    for spec in &desired.rules {
        if blocked_groups.contains(&spec.target_group)
            || spec.hosts.iter().any(|h| conflicts.contains(h.as_str()))
        {
            continue;
        }
        out.routed.insert(spec.target_group.clone());
        match our_rules.get(&(spec.listener_arn.as_str(), spec.key.as_str())) {
            None => creates.push(spec),
            Some(rule) => {
                kept.insert(rule.arn.as_str());
                let forwards: Vec<String> = rule
                    .target_group_arns
                    .iter()
                    .map(|a| tg_name_of(a))
                    .collect();
                if rule.hosts != spec.hosts || forwards != [spec.target_group.clone()] {
                    out.before.push(TrafficAction::ModifyRule {
                        arn: rule.arn.clone(),
                        key: spec.key.clone(),
                        hosts: spec.hosts.clone(),
                        target_group: spec.target_group.clone(),
                    });
                }
            }
        }
    }
    let deletes: Vec<&ObservedRule> = our_rules
        .values()
        .filter(|r| !kept.contains(r.arn.as_str()))
        .copied()
        .collect();

    // The quota, per load balancer: what exists, plus what this plan adds,
    // minus what it removes.
    let listener_lb: BTreeMap<&str, &str> = [&settings.internal, &settings.public]
        .into_iter()
        .flatten()
        .flat_map(|e| {
            e.listener_arns
                .iter()
                .map(|l| (l.as_str(), e.load_balancer_arn.as_str()))
        })
        .collect();
    let mut load: BTreeMap<&str, i64> = BTreeMap::new();
    for rule in observed.rules.iter().filter(|r| r.priority.is_some()) {
        if let Some(lb) = listener_lb.get(rule.listener_arn.as_str()) {
            *load.entry(lb).or_default() += 1;
        }
    }
    for spec in &creates {
        *load.entry(spec.load_balancer_arn.as_str()).or_default() += 1;
    }
    for rule in &deletes {
        if let Some(lb) = listener_lb.get(rule.listener_arn.as_str()) {
            *load.entry(lb).or_default() -= 1;
        }
    }
    let full: Vec<&str> = load
        .iter()
        .filter(|(_, n)| usize::try_from(**n).unwrap_or(0) > settings.max_rules)
        .map(|(lb, _)| *lb)
        .collect();
    if !creates.is_empty() && !full.is_empty() {
        out.blockers.push(Blocker {
            process: creates[0].tags.get(names::TAG_PROCESS).cloned().unwrap_or_default(),
            reason: BlockerReason::LoadBalancerFull,
            message: format!(
                "load balancer {} would need more than {} rules; none of this app's traffic changes were made",
                full.join(", "),
                settings.max_rules
            ),
        });
        out.before.clear();
        out.frozen = true;
        return out;
    }

    // Priorities: the lowest free on each listener, in a fixed order.
    let mut taken: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for rule in &observed.rules {
        if let Some(priority) = rule.priority {
            taken
                .entry(rule.listener_arn.as_str())
                .or_default()
                .insert(priority);
        }
    }
    creates.sort_by(|a, b| (&a.listener_arn, &a.key).cmp(&(&b.listener_arn, &b.key)));
    for spec in creates {
        let used = taken.entry(spec.listener_arn.as_str()).or_default();
        let Some(priority) = (1..=MAX_PRIORITY).find(|p| !used.contains(p)) else {
            out.blockers.push(Blocker {
                process: String::new(),
                reason: BlockerReason::LoadBalancerFull,
                message: format!("listener {} has no free rule priority", spec.listener_arn),
            });
            out.before.clear();
            out.frozen = true;
            return out;
        };
        used.insert(priority);
        out.before.push(TrafficAction::CreateRule {
            spec: spec.clone(),
            priority,
        });
    }
    for rule in deletes {
        out.after.push(TrafficAction::DeleteRule {
            arn: rule.arn.clone(),
            key: rule.tags.get(TAG_RULE).cloned().unwrap_or_default(),
        });
    }

    // Target groups no longer wanted go after their rules and services.
    let wanted: BTreeSet<&str> = desired
        .target_groups
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    // A group a rule still forwards to (one this plan keeps, or someone
    // else's) is never deleted: ELBv2 would refuse it (ResourceInUse), and
    // the rule would forward to nothing.
    // This app's own rules end up forwarding where the desired ones say
    // (or are deleted); every other rule keeps forwarding where it does.
    let managed: BTreeSet<&str> = our_rules.values().map(|r| r.arn.as_str()).collect();
    let still_forwarded: BTreeSet<String> = observed
        .rules
        .iter()
        .filter(|r| !managed.contains(r.arn.as_str()))
        .flat_map(|r| r.target_group_arns.iter().map(|arn| tg_name_of(arn)))
        .chain(desired.rules.iter().map(|r| r.target_group.clone()))
        .collect();
    for group in observed.target_groups.values() {
        if !wanted.contains(group.name.as_str())
            && ours(&group.tags)
            && !still_forwarded.contains(&group.name)
        {
            out.after.push(TrafficAction::DeleteTargetGroup {
                arn: group.arn.clone(),
                name: group.name.clone(),
            });
        }
    }

    // Records, per zone: one atomic batch before, one after.
    let mut before: BTreeMap<&str, Vec<RecordChange>> = BTreeMap::new();
    let mut after: BTreeMap<&str, Vec<RecordChange>> = BTreeMap::new();
    let mut wanted_names = BTreeSet::new();
    for spec in &desired.records {
        wanted_names.insert((spec.zone_id.clone(), spec.name.clone()));
        match observed
            .records
            .get(&(spec.zone_id.clone(), spec.name.clone()))
        {
            None => before
                .entry(&spec.zone_id)
                .or_default()
                .push(RecordChange::Create(spec.clone())),
            Some(_) if conflicts.contains(spec.name.as_str()) => {}
            Some(existing) => {
                if existing.alias.as_ref() != Some(&spec.alias) {
                    before
                        .entry(&spec.zone_id)
                        .or_default()
                        .push(RecordChange::Upsert(spec.clone()));
                }
            }
        }
    }
    for ((zone, name), existing) in &observed.records {
        if wanted_names.contains(&(zone.clone(), name.clone()))
            || !existing.txt.contains(&owner_text)
        {
            continue;
        }
        after.entry(zone).or_default().push(RecordChange::Delete {
            name: name.clone(),
            alias: existing.alias.clone(),
            txt: existing.txt.clone(),
            keep: existing
                .txt
                .iter()
                .filter(|t| **t != owner_text)
                .cloned()
                .collect(),
        });
    }
    for (zone, changes) in before {
        out.before.push(TrafficAction::ChangeRecords {
            zone_id: zone.to_owned(),
            changes,
        });
    }
    for (zone, changes) in after {
        out.after.push(TrafficAction::ChangeRecords {
            zone_id: zone.to_owned(),
            changes,
        });
    }
    out
}

/// The name inside a target group ARN
/// (`arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`).
pub fn target_group_name_from_arn(arn: &str) -> &str {
    arn.rsplit_once(":targetgroup/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use ferry_manifest::{Domain, HealthCheck, Process};
    use proptest::prelude::*;

    use super::*;

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
            }),
            public: Some(Edge {
                load_balancer_arn: "lb/public".into(),
                dns_name: "public.elb".into(),
                canonical_zone_id: "ZELB".into(),
                listener_arns: vec!["listener/public".into()],
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
        let mut next = observed.clone();
        for action in plan.before.iter().chain(&plan.after) {
            match action {
                TrafficAction::CreateTargetGroup { spec } => {
                    next.target_groups.insert(
                        spec.name.clone(),
                        ObservedTargetGroup {
                            arn: format!(
                                "arn:aws:elasticloadbalancing:r:1:targetgroup/{}/x",
                                spec.name
                            ),
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
                TrafficAction::DeleteTargetGroup { name, .. } => {
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
                    next.rules.push(ObservedRule {
                        arn: format!("rule/{}/{}", spec.listener_arn, spec.key),
                        listener_arn: spec.listener_arn.clone(),
                        priority: Some(*priority),
                        hosts: spec.hosts.clone(),
                        target_group_arns: vec![format!(
                            "arn:aws:elasticloadbalancing:r:1:targetgroup/{}/x",
                            spec.target_group
                        )],
                        tags: spec.tags.clone(),
                    });
                }
                TrafficAction::ModifyRule {
                    arn,
                    hosts,
                    target_group,
                    ..
                } => {
                    let rule = next
                        .rules
                        .iter_mut()
                        .find(|r| &r.arn == arn)
                        .expect("exists");
                    rule.hosts = hosts.clone();
                    rule.target_group_arns = vec![format!(
                        "arn:aws:elasticloadbalancing:r:1:targetgroup/{target_group}/x"
                    )];
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

    fn converge(
        app: &App,
        settings: &TrafficSettings,
        observed: &ObservedTraffic,
    ) -> ObservedTraffic {
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
        assert!(
            empty.target_groups.is_empty() && empty.rules.is_empty() && empty.records.is_empty()
        );
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
}
