//! Target groups and listener rules (ELBv2) and DNS records (Route53).
//!
//! Reads are the expensive part at scale (Route53 allows 5 requests per
//! second per account), so this adapter keeps an inventory: every target
//! group in the VPC with its tags, every rule of the listeners Ferry uses
//! with its tags, and every record of the zones Ferry manages. It is loaded
//! in full by [`Traffic::refresh`] (at each resync) and kept current by
//! Ferry's own writes in between, so observing an app costs no call. Edits
//! made outside Ferry are therefore seen at the next resync, which is also
//! when they are corrected. A write that fails marks the inventory stale,
//! so a write whose answer was lost is never repeated blindly.
//!
//! Caveat: a target group's deregistration delay is read when the group is
//! first seen; a console edit of that attribute alone is not noticed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_route53 as route53;
use ferry_core::names::{self, Ownership};
use ferry_core::traffic::{
    self, AliasTarget, Edge, HealthCheckSpec, ObservedName, ObservedRule, ObservedTargetGroup,
    ObservedTraffic, RecordChange, RecordSpec, TargetGroupSpec, TrafficAction, TrafficSettings,
    Zone,
};

use crate::{Caller, Error, Result};
use ferry_call::Bucket;

const ELB: &str = "elbv2";
const ROUTE53: &str = "route53";
const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";
/// DescribeTags takes at most 20 resources.
const TAGS_PER_CALL: usize = 20;
/// TTL of the ownership TXT records.
const TXT_TTL: i64 = 300;

/// Where the controller's configuration says traffic goes.
#[derive(Debug, Clone, Default)]
pub struct TrafficConfig {
    pub vpc_id: String,
    pub internal_listeners: Vec<String>,
    pub public_listeners: Vec<String>,
    pub internal_zone_id: Option<String>,
    pub public_zone_ids: Vec<String>,
    pub max_rules: usize,
}

#[derive(Default)]
struct Inventory {
    loaded: bool,
    /// By name: every target group in the VPC.
    groups: BTreeMap<String, ObservedTargetGroup>,
    /// Every rule of the listeners Ferry uses.
    rules: Vec<ObservedRule>,
    /// By zone id, then record name.
    records: BTreeMap<String, BTreeMap<String, ObservedName>>,
}

pub struct Traffic {
    elb: elb::Client,
    route53: route53::Client,
    caller: Caller,
    owner: String,
    settings: TrafficSettings,
    inventory: Mutex<Inventory>,
}

fn lock(m: &Mutex<Inventory>) -> std::sync::MutexGuard<'_, Inventory> {
    // Every update replaces whole entries, so a poisoned lock is consistent.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Record names and alias targets compare without the trailing dot, in
/// lowercase, and ALB aliases without the `dualstack.` prefix.
fn dns(name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.strip_prefix("dualstack.")
        .map(str::to_owned)
        .unwrap_or(name)
}

fn build<T>(
    result: std::result::Result<T, aws_smithy_types::error::operation::BuildError>,
    what: &'static str,
) -> Result<T> {
    result.map_err(|e| Error::Build {
        what,
        message: e.to_string(),
    })
}

impl Traffic {
    /// Resolves the configured listeners and zones into the settings the
    /// planner needs: each listener's load balancer, its DNS name and
    /// canonical zone, and each zone's name.
    pub async fn discover(
        elb: elb::Client,
        route53: route53::Client,
        caller: Caller,
        owner: &str,
        config: &TrafficConfig,
    ) -> Result<Self> {
        let mut this = Self {
            elb,
            route53,
            caller,
            owner: owner.to_owned(),
            settings: TrafficSettings {
                vpc_id: config.vpc_id.clone(),
                max_rules: config.max_rules,
                ..TrafficSettings::default()
            },
            inventory: Mutex::new(Inventory::default()),
        };
        this.settings.internal = this.edge(&config.internal_listeners).await?;
        this.settings.public = this.edge(&config.public_listeners).await?;
        if let Some(id) = &config.internal_zone_id {
            this.settings.internal_zone = Some(this.zone(id).await?);
        }
        for id in &config.public_zone_ids {
            let zone = this.zone(id).await?;
            this.settings.public_zones.push(zone);
        }
        Ok(this)
    }

    /// An adapter for settings resolved earlier (by [`Traffic::discover`],
    /// possibly in another process: the controller publishes them), making
    /// no call. The inventory is loaded on the first [`Traffic::observe`],
    /// so a caller that only observes, such as `ferry diff`, only reads.
    pub fn from_settings(
        elb: elb::Client,
        route53: route53::Client,
        caller: Caller,
        owner: &str,
        settings: TrafficSettings,
    ) -> Self {
        Self {
            elb,
            route53,
            caller,
            owner: owner.to_owned(),
            settings,
            inventory: Mutex::new(Inventory::default()),
        }
    }

    pub fn settings(&self) -> &TrafficSettings {
        &self.settings
    }

    async fn edge(&self, listeners: &[String]) -> Result<Option<Edge>> {
        let Some(first) = listeners.first() else {
            return Ok(None);
        };
        let out = self
            .caller
            .call(ELB, "DescribeListeners", Bucket::ElbReads, first, || {
                self.elb
                    .describe_listeners()
                    .set_listener_arns(Some(listeners.to_vec()))
                    .send()
            })
            .await?;
        let lbs: BTreeSet<&str> = out
            .listeners()
            .iter()
            .filter_map(|l| l.load_balancer_arn())
            .collect();
        let [lb] = lbs.into_iter().collect::<Vec<_>>()[..] else {
            return Err(Error::Build {
                what: "listeners",
                message: format!(
                    "listeners {} must all belong to one load balancer",
                    listeners.join(", ")
                ),
            });
        };
        let out = self
            .caller
            .call(ELB, "DescribeLoadBalancers", Bucket::ElbReads, lb, || {
                self.elb
                    .describe_load_balancers()
                    .load_balancer_arns(lb)
                    .send()
            })
            .await?;
        let balancer = out.load_balancers().first();
        let incomplete = |what| Error::Incomplete {
            service: ELB,
            operation: "DescribeLoadBalancers",
            resource: lb.to_owned(),
            what,
        };
        Ok(Some(Edge {
            load_balancer_arn: lb.to_owned(),
            dns_name: dns(balancer
                .and_then(|b| b.dns_name())
                .ok_or_else(|| incomplete("DNSName"))?),
            canonical_zone_id: balancer
                .and_then(|b| b.canonical_hosted_zone_id())
                .ok_or_else(|| incomplete("CanonicalHostedZoneId"))?
                .to_owned(),
            listener_arns: listeners.to_vec(),
        }))
    }

    async fn zone(&self, id: &str) -> Result<Zone> {
        let out = self
            .caller
            .call(ROUTE53, "GetHostedZone", Bucket::Route53, id, || {
                self.route53.get_hosted_zone().id(id).send()
            })
            .await?;
        let name = out
            .hosted_zone()
            .map(|z| dns(z.name()))
            .ok_or_else(|| Error::Incomplete {
                service: ROUTE53,
                operation: "GetHostedZone",
                resource: id.to_owned(),
                what: "HostedZone",
            })?;
        Ok(Zone {
            id: id.trim_start_matches("/hostedzone/").to_owned(),
            name,
        })
    }

    /// Loads the whole inventory again.
    pub async fn refresh(&self) -> Result<()> {
        let previous_delays: BTreeMap<String, u32> = lock(&self.inventory)
            .groups
            .values()
            .filter_map(|g| Some((g.arn.clone(), g.deregistration_delay?)))
            .collect();
        let mut groups = self.list_target_groups().await?;
        let arns: Vec<String> = groups.values().map(|g| g.arn.clone()).collect();
        let mut tags = self.tags(&arns).await?;
        for group in groups.values_mut() {
            group.tags = tags.remove(&group.arn).unwrap_or_default();
            group.deregistration_delay = previous_delays.get(&group.arn).copied();
        }
        // Attributes only of Ferry's groups, and only the first time.
        for group in groups.values_mut() {
            if group.deregistration_delay.is_none()
                && group.tags.get(names::TAG_MANAGED_BY) == Some(&self.owner)
            {
                group.deregistration_delay = self.deregistration_delay(&group.arn).await?;
            }
        }
        let mut rules = Vec::new();
        for edge in [&self.settings.internal, &self.settings.public]
            .into_iter()
            .flatten()
        {
            for listener in &edge.listener_arns {
                rules.extend(self.list_rules(listener).await?);
            }
        }
        let rule_arns: Vec<String> = rules
            .iter()
            .filter(|r| r.priority.is_some())
            .map(|r| r.arn.clone())
            .collect();
        let mut rule_tags = self.tags(&rule_arns).await?;
        for rule in &mut rules {
            rule.tags = rule_tags.remove(&rule.arn).unwrap_or_default();
        }
        let mut records = BTreeMap::new();
        let zones: Vec<&Zone> = self
            .settings
            .internal_zone
            .iter()
            .chain(&self.settings.public_zones)
            .collect();
        for zone in zones {
            records.insert(zone.id.clone(), self.list_records(&zone.id).await?);
        }
        *lock(&self.inventory) = Inventory {
            loaded: true,
            groups,
            rules,
            records,
        };
        Ok(())
    }

    async fn list_target_groups(&self) -> Result<BTreeMap<String, ObservedTargetGroup>> {
        let mut groups = BTreeMap::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .caller
                .call(ELB, "DescribeTargetGroups", Bucket::ElbReads, "*", || {
                    self.elb
                        .describe_target_groups()
                        .page_size(400)
                        .set_marker(marker.clone())
                        .send()
                })
                .await?;
            for group in out.target_groups() {
                if group.vpc_id() != Some(self.settings.vpc_id.as_str()) {
                    continue;
                }
                let (Some(arn), Some(name)) = (group.target_group_arn(), group.target_group_name())
                else {
                    continue;
                };
                let count = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
                groups.insert(
                    name.to_owned(),
                    ObservedTargetGroup {
                        arn: arn.to_owned(),
                        name: name.to_owned(),
                        port: group
                            .port()
                            .and_then(|p| u16::try_from(p).ok())
                            .unwrap_or(0),
                        vpc_id: self.settings.vpc_id.clone(),
                        health_check: HealthCheckSpec {
                            path: group.health_check_path().unwrap_or("/").to_owned(),
                            interval: count(group.health_check_interval_seconds()),
                            timeout: count(group.health_check_timeout_seconds()),
                            healthy_threshold: count(group.healthy_threshold_count()),
                            unhealthy_threshold: count(group.unhealthy_threshold_count()),
                            matcher: group
                                .matcher()
                                .and_then(|m| m.http_code())
                                .unwrap_or_default()
                                .to_owned(),
                        },
                        deregistration_delay: None,
                        tags: BTreeMap::new(),
                    },
                );
            }
            match out.next_marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(groups)
    }

    async fn deregistration_delay(&self, arn: &str) -> Result<Option<u32>> {
        let out = self
            .caller
            .call(
                ELB,
                "DescribeTargetGroupAttributes",
                Bucket::ElbReads,
                arn,
                || {
                    self.elb
                        .describe_target_group_attributes()
                        .target_group_arn(arn)
                        .send()
                },
            )
            .await?;
        Ok(out
            .attributes()
            .iter()
            .find(|a| a.key() == Some(DEREGISTRATION_DELAY))
            .and_then(|a| a.value())
            .and_then(|v| v.parse().ok()))
    }

    async fn tags(&self, arns: &[String]) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let mut all = BTreeMap::new();
        for chunk in arns.chunks(TAGS_PER_CALL) {
            let out = self
                .caller
                .call(ELB, "DescribeTags", Bucket::ElbReads, &chunk[0], || {
                    self.elb
                        .describe_tags()
                        .set_resource_arns(Some(chunk.to_vec()))
                        .send()
                })
                .await?;
            for description in out.tag_descriptions() {
                let Some(arn) = description.resource_arn() else {
                    continue;
                };
                let tags = description
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_owned(),
                            t.value().unwrap_or_default().to_owned(),
                        ))
                    })
                    .collect();
                all.insert(arn.to_owned(), tags);
            }
        }
        Ok(all)
    }

    async fn list_rules(&self, listener: &str) -> Result<Vec<ObservedRule>> {
        let mut rules = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .caller
                .call(ELB, "DescribeRules", Bucket::ElbReads, listener, || {
                    self.elb
                        .describe_rules()
                        .listener_arn(listener)
                        .page_size(400)
                        .set_marker(marker.clone())
                        .send()
                })
                .await?;
            for rule in out.rules() {
                let Some(arn) = rule.rule_arn() else {
                    continue;
                };
                let mut hosts: Vec<String> = rule
                    .conditions()
                    .iter()
                    .filter(|c| c.field() == Some("host-header"))
                    .flat_map(|c| {
                        let configured = c.host_header_config().map(|h| h.values().to_vec());
                        configured.unwrap_or_else(|| c.values().to_vec())
                    })
                    .map(|h| h.to_ascii_lowercase())
                    .collect();
                hosts.sort();
                hosts.dedup();
                let target_group_arns: Vec<String> = rule
                    .actions()
                    .iter()
                    .flat_map(|a| {
                        let direct = a.target_group_arn().map(str::to_owned);
                        let weighted = a
                            .forward_config()
                            .map(|f| {
                                f.target_groups()
                                    .iter()
                                    .filter_map(|t| t.target_group_arn().map(str::to_owned))
                                    .collect::<Vec<_>>()
                            })
                            .unwrap_or_default();
                        direct.into_iter().chain(weighted)
                    })
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let priority = if rule.is_default() == Some(true) {
                    None
                } else {
                    rule.priority().and_then(|p| p.parse().ok())
                };
                rules.push(ObservedRule {
                    arn: arn.to_owned(),
                    listener_arn: listener.to_owned(),
                    priority,
                    hosts,
                    target_group_arns,
                    tags: BTreeMap::new(),
                });
            }
            match out.next_marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(rules)
    }

    async fn list_records(&self, zone: &str) -> Result<BTreeMap<String, ObservedName>> {
        let mut names: BTreeMap<String, ObservedName> = BTreeMap::new();
        let mut start: Option<(String, route53::types::RrType)> = None;
        loop {
            let (name, kind) = start.take().unzip();
            let out = self
                .caller
                .call(
                    ROUTE53,
                    "ListResourceRecordSets",
                    Bucket::Route53,
                    zone,
                    || {
                        self.route53
                            .list_resource_record_sets()
                            .hosted_zone_id(zone)
                            .set_start_record_name(name.clone())
                            .set_start_record_type(kind.clone())
                            .max_items(300)
                            .send()
                    },
                )
                .await?;
            for set in out.resource_record_sets() {
                let entry = names.entry(dns(set.name())).or_default();
                match (set.r#type(), set.alias_target()) {
                    (route53::types::RrType::A, Some(alias)) => {
                        entry.alias = Some(AliasTarget {
                            dns_name: dns(alias.dns_name()),
                            zone_id: alias.hosted_zone_id().to_owned(),
                        });
                    }
                    (route53::types::RrType::Txt, _) => {
                        entry.txt.extend(
                            set.resource_records()
                                .iter()
                                .map(|r| r.value().trim_matches('"').to_owned()),
                        );
                    }
                    (other, _) => entry.other.push(other.as_str().to_owned()),
                }
            }
            match (
                out.is_truncated(),
                out.next_record_name(),
                out.next_record_type(),
            ) {
                (true, Some(name), Some(kind)) => start = Some((name.to_owned(), kind.clone())),
                _ => break,
            }
        }
        // A zone's own SOA and NS records are not names an app can claim,
        // but they are "other" records at the apex: keep them, so that a
        // domain equal to a zone apex is reported, never overwritten.
        Ok(names)
    }

    /// What exists for one app. Loads the inventory first if it is stale.
    pub async fn observe(
        &self,
        app: &str,
        desired: &traffic::DesiredTraffic,
    ) -> Result<ObservedTraffic> {
        if !lock(&self.inventory).loaded {
            self.refresh().await?;
        }
        Ok(self.snapshot(app, desired).unwrap_or_default())
    }

    /// What exists for one app, from the inventory: `None` when it is not
    /// loaded (or a write failed since), and must be refreshed first.
    pub fn snapshot(
        &self,
        app: &str,
        desired: &traffic::DesiredTraffic,
    ) -> Option<ObservedTraffic> {
        let inventory = lock(&self.inventory);
        if !inventory.loaded {
            return None;
        }
        let wanted: BTreeSet<&str> = desired
            .target_groups
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let target_groups = inventory
            .groups
            .values()
            .filter(|g| {
                wanted.contains(g.name.as_str())
                    || names::ownership(&g.tags, &self.owner, app) == Ownership::Ours
            })
            .map(|g| (g.name.clone(), g.clone()))
            .collect();
        let owner_text = traffic::owner_record(&self.owner, app);
        let wanted_names: BTreeSet<(&str, &str)> = desired
            .records
            .iter()
            .map(|r| (r.zone_id.as_str(), r.name.as_str()))
            .collect();
        let mut records = BTreeMap::new();
        for (zone, names) in &inventory.records {
            for (name, observed) in names {
                if wanted_names.contains(&(zone.as_str(), name.as_str()))
                    || observed.txt.contains(&owner_text)
                {
                    records.insert((zone.clone(), name.clone()), observed.clone());
                }
            }
        }
        Some(ObservedTraffic {
            target_groups,
            rules: inventory.rules.clone(),
            records,
        })
    }

    /// The ARN of a target group, by name, as the inventory knows it.
    pub fn target_group_arn(&self, name: &str) -> Option<String> {
        lock(&self.inventory)
            .groups
            .get(name)
            .map(|g| g.arn.clone())
    }

    /// Executes one action and records its effect in the inventory. A
    /// failure marks the inventory stale.
    pub async fn execute(&self, action: &TrafficAction) -> Result<()> {
        let result = self.execute_inner(action).await;
        if result.is_err() {
            lock(&self.inventory).loaded = false;
        }
        result
    }

    async fn execute_inner(&self, action: &TrafficAction) -> Result<()> {
        match action {
            TrafficAction::CreateTargetGroup { spec } => {
                self.create_target_group(spec).await?;
                ferry_call::failpoint::hit("traffic.target_group_created").await;
                Ok(())
            }
            TrafficAction::ModifyTargetGroup {
                arn,
                name,
                health_check,
                deregistration_delay,
            } => {
                if let Some(check) = health_check {
                    self.caller
                        .call(ELB, "ModifyTargetGroup", Bucket::ElbWrites, name, || {
                            self.elb
                                .modify_target_group()
                                .target_group_arn(arn)
                                .health_check_path(&check.path)
                                .health_check_interval_seconds(seconds(check.interval))
                                .health_check_timeout_seconds(seconds(check.timeout))
                                .healthy_threshold_count(seconds(check.healthy_threshold))
                                .unhealthy_threshold_count(seconds(check.unhealthy_threshold))
                                .matcher(
                                    elb::types::Matcher::builder()
                                        .http_code(&check.matcher)
                                        .build(),
                                )
                                .send()
                        })
                        .await?;
                }
                if let Some(delay) = deregistration_delay {
                    self.set_deregistration_delay(arn, name, *delay).await?;
                }
                let mut inventory = lock(&self.inventory);
                if let Some(group) = inventory.groups.get_mut(name) {
                    if let Some(check) = health_check {
                        group.health_check = check.clone();
                    }
                    if let Some(delay) = deregistration_delay {
                        group.deregistration_delay = Some(*delay);
                    }
                }
                Ok(())
            }
            TrafficAction::DeleteTargetGroup { arn, name } => {
                self.caller
                    .call(ELB, "DeleteTargetGroup", Bucket::ElbWrites, name, || {
                        self.elb.delete_target_group().target_group_arn(arn).send()
                    })
                    .await?;
                lock(&self.inventory).groups.remove(name);
                Ok(())
            }
            TrafficAction::CreateRule { spec, priority } => {
                let target = self.resolve(&spec.target_group)?;
                let tags = elb_tags(&spec.tags);
                let out = self
                    .caller
                    .call(ELB, "CreateRule", Bucket::ElbWrites, &spec.key, || {
                        self.elb
                            .create_rule()
                            .listener_arn(&spec.listener_arn)
                            .priority(i32::try_from(*priority).unwrap_or(i32::MAX))
                            .conditions(host_condition(&spec.hosts))
                            .actions(forward(&target))
                            .set_tags(Some(tags.clone()))
                            .send()
                    })
                    .await?;
                let arn = out
                    .rules()
                    .first()
                    .and_then(|r| r.rule_arn())
                    .ok_or_else(|| Error::Incomplete {
                        service: ELB,
                        operation: "CreateRule",
                        resource: spec.key.clone(),
                        what: "RuleArn",
                    })?;
                lock(&self.inventory).rules.push(ObservedRule {
                    arn: arn.to_owned(),
                    listener_arn: spec.listener_arn.clone(),
                    priority: Some(*priority),
                    hosts: spec.hosts.clone(),
                    target_group_arns: vec![target],
                    tags: spec.tags.clone(),
                });
                ferry_call::failpoint::hit("traffic.rule_created").await;
                Ok(())
            }
            TrafficAction::ModifyRule {
                arn,
                key,
                hosts,
                target_group,
            } => {
                let target = self.resolve(target_group)?;
                self.caller
                    .call(ELB, "ModifyRule", Bucket::ElbWrites, key, || {
                        self.elb
                            .modify_rule()
                            .rule_arn(arn)
                            .conditions(host_condition(hosts))
                            .actions(forward(&target))
                            .send()
                    })
                    .await?;
                let mut inventory = lock(&self.inventory);
                if let Some(rule) = inventory.rules.iter_mut().find(|r| &r.arn == arn) {
                    rule.hosts = hosts.clone();
                    rule.target_group_arns = vec![target];
                }
                Ok(())
            }
            TrafficAction::DeleteRule { arn, key } => {
                self.caller
                    .call(ELB, "DeleteRule", Bucket::ElbWrites, key, || {
                        self.elb.delete_rule().rule_arn(arn).send()
                    })
                    .await?;
                lock(&self.inventory).rules.retain(|r| &r.arn != arn);
                Ok(())
            }
            TrafficAction::ChangeRecords { zone_id, changes } => {
                self.change_records(zone_id, changes).await
            }
        }
    }

    fn resolve(&self, target_group: &str) -> Result<String> {
        self.target_group_arn(target_group)
            .ok_or_else(|| Error::Build {
                what: "rule",
                message: format!("target group {target_group} is not known; it is created first"),
            })
    }

    async fn create_target_group(&self, spec: &TargetGroupSpec) -> Result<()> {
        let check = &spec.health_check;
        let out = self
            .caller
            .call(
                ELB,
                "CreateTargetGroup",
                Bucket::ElbWrites,
                &spec.name,
                || {
                    self.elb
                        .create_target_group()
                        .name(&spec.name)
                        .protocol(elb::types::ProtocolEnum::Http)
                        .port(i32::from(spec.port))
                        .vpc_id(&spec.vpc_id)
                        .target_type(elb::types::TargetTypeEnum::Ip)
                        .health_check_protocol(elb::types::ProtocolEnum::Http)
                        .health_check_path(&check.path)
                        .health_check_interval_seconds(seconds(check.interval))
                        .health_check_timeout_seconds(seconds(check.timeout))
                        .healthy_threshold_count(seconds(check.healthy_threshold))
                        .unhealthy_threshold_count(seconds(check.unhealthy_threshold))
                        .matcher(
                            elb::types::Matcher::builder()
                                .http_code(&check.matcher)
                                .build(),
                        )
                        .set_tags(Some(elb_tags(&spec.tags)))
                        .send()
                },
            )
            .await?;
        let arn = out
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .ok_or_else(|| Error::Incomplete {
                service: ELB,
                operation: "CreateTargetGroup",
                resource: spec.name.clone(),
                what: "TargetGroupArn",
            })?
            .to_owned();
        // Recorded before the attribute is set: the group exists now.
        lock(&self.inventory).groups.insert(
            spec.name.clone(),
            ObservedTargetGroup {
                arn: arn.clone(),
                name: spec.name.clone(),
                port: spec.port,
                vpc_id: spec.vpc_id.clone(),
                health_check: spec.health_check.clone(),
                deregistration_delay: None,
                tags: spec.tags.clone(),
            },
        );
        self.set_deregistration_delay(&arn, &spec.name, spec.deregistration_delay)
            .await?;
        if let Some(group) = lock(&self.inventory).groups.get_mut(&spec.name) {
            group.deregistration_delay = Some(spec.deregistration_delay);
        }
        Ok(())
    }

    async fn set_deregistration_delay(&self, arn: &str, name: &str, delay: u32) -> Result<()> {
        self.caller
            .call(
                ELB,
                "ModifyTargetGroupAttributes",
                Bucket::ElbWrites,
                name,
                || {
                    self.elb
                        .modify_target_group_attributes()
                        .target_group_arn(arn)
                        .attributes(
                            elb::types::TargetGroupAttribute::builder()
                                .key(DEREGISTRATION_DELAY)
                                .value(delay.to_string())
                                .build(),
                        )
                        .send()
                },
            )
            .await?;
        Ok(())
    }

    async fn change_records(&self, zone: &str, changes: &[RecordChange]) -> Result<()> {
        use route53::types::ChangeAction;
        let mut batch = Vec::new();
        for change in changes {
            match change {
                RecordChange::Create(record) => {
                    batch.push(alias_change(
                        ChangeAction::Create,
                        &record.name,
                        &record.alias,
                    )?);
                    batch.push(txt_change(
                        ChangeAction::Create,
                        &record.name,
                        std::slice::from_ref(&record.owner),
                    )?);
                }
                RecordChange::Upsert(record) => {
                    batch.push(alias_change(
                        ChangeAction::Upsert,
                        &record.name,
                        &record.alias,
                    )?);
                }
                RecordChange::Delete {
                    name,
                    alias,
                    txt,
                    keep,
                } => {
                    if let Some(alias) = alias {
                        batch.push(alias_change(ChangeAction::Delete, name, alias)?);
                    }
                    if !txt.is_empty() {
                        batch.push(txt_change(ChangeAction::Delete, name, txt)?);
                    }
                    // Others' values at the name go back in the same
                    // (atomic) batch: only Ferry's own value leaves.
                    if !keep.is_empty() {
                        batch.push(txt_change(ChangeAction::Create, name, keep)?);
                    }
                }
            }
        }
        let names: Vec<&str> = changes
            .iter()
            .map(|c| match c {
                RecordChange::Create(r) | RecordChange::Upsert(r) => r.name.as_str(),
                RecordChange::Delete { name, .. } => name.as_str(),
            })
            .collect();
        let change_batch = build(
            route53::types::ChangeBatch::builder()
                .comment("ferry")
                .set_changes(Some(batch))
                .build(),
            "ChangeBatch",
        )?;
        self.caller
            .call(
                ROUTE53,
                "ChangeResourceRecordSets",
                Bucket::Route53,
                &names.join(","),
                || {
                    self.route53
                        .change_resource_record_sets()
                        .hosted_zone_id(zone)
                        .change_batch(change_batch.clone())
                        .send()
                },
            )
            .await?;
        let mut inventory = lock(&self.inventory);
        let records = inventory.records.entry(zone.to_owned()).or_default();
        for change in changes {
            match change {
                RecordChange::Create(RecordSpec {
                    name, alias, owner, ..
                }) => {
                    records.insert(
                        name.clone(),
                        ObservedName {
                            alias: Some(alias.clone()),
                            txt: vec![owner.clone()],
                            other: Vec::new(),
                        },
                    );
                }
                RecordChange::Upsert(record) => {
                    records.entry(record.name.clone()).or_default().alias =
                        Some(record.alias.clone());
                }
                RecordChange::Delete { name, keep, .. } => {
                    if keep.is_empty() {
                        records.remove(name);
                    } else if let Some(left) = records.get_mut(name) {
                        left.alias = None;
                        left.txt = keep.clone();
                    }
                }
            }
        }
        Ok(())
    }
}

fn seconds(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn elb_tags(tags: &BTreeMap<String, String>) -> Vec<elb::types::Tag> {
    tags.iter()
        .map(|(k, v)| elb::types::Tag::builder().key(k).value(v).build())
        .collect()
}

fn host_condition(hosts: &[String]) -> elb::types::RuleCondition {
    elb::types::RuleCondition::builder()
        .field("host-header")
        .host_header_config(
            elb::types::HostHeaderConditionConfig::builder()
                .set_values(Some(hosts.to_vec()))
                .build(),
        )
        .build()
}

fn forward(target_group_arn: &str) -> elb::types::Action {
    elb::types::Action::builder()
        .r#type(elb::types::ActionTypeEnum::Forward)
        .target_group_arn(target_group_arn)
        .build()
}

fn alias_change(
    action: route53::types::ChangeAction,
    name: &str,
    alias: &AliasTarget,
) -> Result<route53::types::Change> {
    let target = build(
        route53::types::AliasTarget::builder()
            .hosted_zone_id(&alias.zone_id)
            .dns_name(&alias.dns_name)
            .evaluate_target_health(false)
            .build(),
        "AliasTarget",
    )?;
    let set = build(
        route53::types::ResourceRecordSet::builder()
            .name(name)
            .r#type(route53::types::RrType::A)
            .alias_target(target)
            .build(),
        "ResourceRecordSet",
    )?;
    build(
        route53::types::Change::builder()
            .action(action)
            .resource_record_set(set)
            .build(),
        "Change",
    )
}

fn txt_change(
    action: route53::types::ChangeAction,
    name: &str,
    values: &[String],
) -> Result<route53::types::Change> {
    let mut set = route53::types::ResourceRecordSet::builder()
        .name(name)
        .r#type(route53::types::RrType::Txt)
        .ttl(TXT_TTL);
    for value in values {
        set = set.resource_records(build(
            route53::types::ResourceRecord::builder()
                .value(format!("\"{value}\""))
                .build(),
            "ResourceRecord",
        )?);
    }
    build(
        route53::types::Change::builder()
            .action(action)
            .resource_record_set(build(set.build(), "ResourceRecordSet")?)
            .build(),
        "Change",
    )
}
