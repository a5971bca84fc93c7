//! Traffic's types: the target groups, listener rules and DNS records an
//! exposed process needs (desired), what the adapters saw of them
//! (observed), and the changes a plan makes to them (actions). The rules
//! that derive and converge them are in [`crate::render::traffic`] and
//! [`crate::plan::traffic`].

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::blocker::Blocker;

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
    /// Every listener gets the same rules (HTTP, and HTTPS where set up),
    /// except a process with a strategy other than `rolling`: ECS manages
    /// one production rule per load balancer, so that process is served on
    /// the first listener only (see [`Edge::production_listener`]).
    pub listener_arns: Vec<String>,
    /// The listener ECS sends test traffic through in a blue/green,
    /// canary or linear deployment: a test rule per such process, with
    /// the same hosts, forwards here. `None`: such strategies are blocked
    /// on this load balancer (`NoTestListener`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_listener_arn: Option<String>,
}

impl Edge {
    /// The listener whose rule ECS shifts production traffic on for a
    /// process with a strategy other than `rolling`: the first one.
    pub fn production_listener(&self) -> Option<&str> {
        self.listener_arns.first().map(String::as_str)
    }
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
    /// Name of the target group it forwards to: the live one.
    pub target_group: String,
    /// For a process with a strategy other than `rolling`: the other
    /// target group of its pair. The rule forwards to both (the live one
    /// at weight 100, this one at 0 when Ferry writes it); afterwards the
    /// weights are ECS's, never drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate: Option<String>,
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
    /// `advancedConfiguration`, for a strategy other than `rolling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced: Option<AdvancedLink>,
}

/// A service's `loadBalancers[].advancedConfiguration`: what ECS needs to
/// shift traffic between two target groups. Which of the two is live
/// (`target_group` of the link, or `alternate_target_group`) is ECS's to
/// decide during and after a deployment: two links that differ only in
/// the order of the pair are the same ([`LoadBalancerLink::same_as`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedLink {
    /// Name of the other target group of the pair.
    pub alternate_target_group: String,
    /// The rule ECS shifts production traffic on.
    pub production_rule: RuleRef,
    /// The rule on the test listener ECS sends test traffic through.
    pub test_rule: RuleRef,
    /// The infrastructure role ECS calls Elastic Load Balancing with.
    pub role_arn: String,
}

/// A listener rule by what Ferry knows it as: its listener and its
/// `ferry:rule` key (the ARN is resolved when the plan runs, like a target
/// group's). The adapter reads a rule ARN it does not know as a key of
/// `arn:<ARN>`, which no rendered key equals.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleRef {
    pub listener_arn: String,
    pub key: String,
}

impl LoadBalancerLink {
    /// Whether the service needs no update for this link: equal, or equal
    /// but for which target group of the pair is live (ECS's to swap).
    pub fn same_as(&self, other: &LoadBalancerLink) -> bool {
        if self == other {
            return true;
        }
        match (&self.advanced, &other.advanced) {
            (Some(a), Some(b)) => {
                self.container_name == other.container_name
                    && self.container_port == other.container_port
                    && self.target_group == b.alternate_target_group
                    && a.alternate_target_group == other.target_group
                    && a.production_rule == b.production_rule
                    && a.test_rule == b.test_rule
                    && a.role_arn == b.role_arn
            }
            _ => false,
        }
    }
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
    /// The forward weight of each target group ARN, where the rule's
    /// forward action has a `ForwardConfig` with weights; empty otherwise.
    /// Of a pair's production and test rules, ECS's during and after a
    /// deployment: read for which group is live, never corrected.
    pub weights: BTreeMap<String, u32>,
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
    /// Sets the hosts and the forward: `target_group` alone, or with an
    /// `alternate`, the pair (`target_group` at weight 100, `alternate` at
    /// 0). Planned only when the hosts or the forwarded set are wrong,
    /// never for the weights of a pair.
    ModifyRule {
        arn: String,
        key: String,
        hosts: Vec<String>,
        target_group: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alternate: Option<String>,
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
