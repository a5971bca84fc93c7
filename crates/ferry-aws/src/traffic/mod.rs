//! Target groups and listener rules (ELBv2) and DNS records (Route53).
//!
//! Reads are the expensive part at scale (Route53 allows 5 requests per
//! second per account), so this adapter keeps an inventory: every target
//! group in the VPC with its tags, every rule of the listeners Ferry uses
//! with its tags, and every record of the zones Ferry manages. It is loaded
//! in full by [`Traffic::refresh`] (at each resync) and kept current by
//! Ferry's own writes in between, so observing an app costs no call
//! ([`Traffic::snapshot`]). Edits made outside Ferry are therefore seen at
//! the next resync, which is also when they are corrected. A write that
//! fails marks the inventory stale, so a write whose answer was lost is
//! never repeated blindly.
//!
//! The inventory is three [`crate::Cache`]s (module `inventory`): newest-sent
//! answer wins, so a listing sent before a write and answered after it
//! does not undo what the write's answer recorded. The modules: `refresh`
//! reads the listings, `execute` runs actions, `requests` builds what the
//! executor sends.
//!
//! Caveat: a target group's deregistration delay is read when the group is
//! first seen; a console edit of that attribute alone is not noticed.

use std::collections::BTreeSet;

use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_route53 as route53;
use ferry_core::traffic::{self, Edge, ObservedTraffic, TrafficSettings, Zone};

use crate::{Caller, Error, Result};
use ferry_call::Bucket;
use inventory::{dns, Inventory};

mod execute;
mod inventory;
mod refresh;
mod requests;

const ELB: &str = "elbv2";
const ROUTE53: &str = "route53";

/// Where the controller's configuration says traffic goes.
#[derive(Debug, Clone, Default)]
pub struct TrafficConfig {
    pub vpc_id: String,
    pub internal_listeners: Vec<String>,
    pub public_listeners: Vec<String>,
    /// The test listener of each load balancer, where there is one.
    pub internal_test_listener: Option<String>,
    pub public_test_listener: Option<String>,
    pub internal_zone_id: Option<String>,
    pub public_zone_ids: Vec<String>,
    pub max_rules: usize,
}

/// ELBv2 and Route53 for one installation (`owner`): the inventory, the
/// snapshot of one app's traffic from it, and the executor of traffic
/// actions.
pub struct Traffic {
    elb: elb::Client,
    route53: route53::Client,
    caller: Caller,
    owner: String,
    settings: TrafficSettings,
    inventory: Inventory,
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
            inventory: Inventory::default(),
        };
        this.settings.internal = this
            .edge(&config.internal_listeners, &config.internal_test_listener)
            .await?;
        this.settings.public = this
            .edge(&config.public_listeners, &config.public_test_listener)
            .await?;
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
    /// no call. The inventory is empty, and not ready, until the first
    /// [`Traffic::refresh`], so a caller that only observes, such as
    /// `ferry diff`, only reads.
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
            inventory: Inventory::default(),
        }
    }

    pub fn settings(&self) -> &TrafficSettings {
        &self.settings
    }

    async fn edge(&self, listeners: &[String], test: &Option<String>) -> Result<Option<Edge>> {
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
            test_listener_arn: test.clone(),
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

    /// Whether the inventory comes from a complete listing, with no failed
    /// write since: what [`Traffic::snapshot`] needs to answer.
    pub fn is_ready(&self) -> bool {
        self.inventory.is_ready()
    }

    /// What exists for one app, from the inventory, with no call: the
    /// target groups with the desired names (whoever owns them) and those
    /// tagged for the app, every rule of Ferry's listeners, and the records
    /// with the desired names or the app's ownership TXT value. `None`
    /// while the inventory is not ready (never loaded, or a write failed
    /// since the last [`Traffic::refresh`]).
    pub fn snapshot(
        &self,
        app: &str,
        desired: &traffic::DesiredTraffic,
    ) -> Option<ObservedTraffic> {
        self.is_ready()
            .then(|| self.inventory.observed(&self.owner, app, desired))
    }

    /// The ARN of a listener rule, by its listener and `ferry:rule` key,
    /// as the inventory knows it; a key of `arn:<ARN>` (a rule read from a
    /// service that nobody named) is that ARN.
    pub fn rule_arn(&self, rule: &traffic::RuleRef) -> Option<String> {
        if let Some(arn) = crate::resolve::unknown_rule_arn(rule) {
            return Some(arn.to_owned());
        }
        self.inventory.rules.read(|rules| {
            rules
                .values()
                .find(|r| {
                    r.listener_arn == rule.listener_arn
                        && r.tags.get(traffic::TAG_RULE) == Some(&rule.key)
                })
                .map(|r| r.arn.clone())
        })
    }

    /// Names the rules of `services`' links, read from ECS as
    /// `arn:<ARN>` references, by their listener and `ferry:rule` key where
    /// the inventory knows the ARN as a rule with that tag; the others stay
    /// as they are, which no rendered link equals.
    pub fn name_rules<'a>(
        &self,
        services: impl IntoIterator<Item = &'a mut ferry_core::ObservedService>,
    ) {
        self.inventory.rules.read(|rules| {
            let name = |rule: &mut traffic::RuleRef| {
                let Some(arn) = crate::resolve::unknown_rule_arn(rule) else {
                    return;
                };
                if let Some(known) = rules.get(&arn.to_owned()) {
                    if let Some(key) = known.tags.get(traffic::TAG_RULE) {
                        *rule = traffic::RuleRef {
                            listener_arn: known.listener_arn.clone(),
                            key: key.clone(),
                        };
                    }
                }
            };
            for service in services {
                for link in &mut service.load_balancers {
                    if let Some(advanced) = &mut link.advanced {
                        name(&mut advanced.production_rule);
                        name(&mut advanced.test_rule);
                    }
                }
            }
        })
    }

    /// The ARN of a target group, by name, as the inventory knows it.
    pub fn target_group_arn(&self, name: &str) -> Option<String> {
        self.inventory.groups.get(&name.to_owned()).map(|g| g.arn)
    }
}
