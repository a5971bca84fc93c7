//! The traffic executor: runs one [`TrafficAction`] through the caller
//! and records its answer in the inventory, with the sequence number taken
//! when the request was sent.

use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_route53 as route53;
use ferry_core::traffic::{
    ObservedName, ObservedRule, ObservedTargetGroup, RecordChange, RecordSpec, TargetGroupSpec,
    TrafficAction,
};

use super::requests::{
    alias_change, build, elb_tags, forward_to, forwarded, host_condition, seconds, txt_change,
    DEREGISTRATION_DELAY,
};
use super::{Traffic, ELB, ROUTE53};
use crate::{Error, Result};
use ferry_call::Bucket;

impl Traffic {
    /// Executes one action and records its effect in the inventory. A
    /// failure marks the inventory stale.
    pub async fn execute(&self, action: &TrafficAction) -> Result<()> {
        let result = self.execute_inner(action).await;
        if result.is_err() {
            self.inventory.invalidate();
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
                let seq = self.inventory.groups.begin();
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
                self.inventory.groups.update(seq, name, |group| {
                    if let Some(check) = health_check {
                        group.health_check = check.clone();
                    }
                    if let Some(delay) = deregistration_delay {
                        group.deregistration_delay = Some(*delay);
                    }
                });
                Ok(())
            }
            TrafficAction::DeleteTargetGroup { arn, name } => {
                let seq = self.inventory.groups.begin();
                self.caller
                    .call(ELB, "DeleteTargetGroup", Bucket::ElbWrites, name, || {
                        self.elb.delete_target_group().target_group_arn(arn).send()
                    })
                    .await?;
                self.inventory.groups.remove(seq, name);
                Ok(())
            }
            TrafficAction::CreateRule { spec, priority } => {
                let target = self.resolve(&spec.target_group)?;
                let alternate = spec
                    .alternate
                    .as_deref()
                    .map(|name| self.resolve(name))
                    .transpose()?;
                let tags = elb_tags(&spec.tags);
                let seq = self.inventory.rules.begin();
                let out = self
                    .caller
                    .call(ELB, "CreateRule", Bucket::ElbWrites, &spec.key, || {
                        self.elb
                            .create_rule()
                            .listener_arn(&spec.listener_arn)
                            .priority(i32::try_from(*priority).unwrap_or(i32::MAX))
                            .conditions(host_condition(&spec.hosts))
                            .actions(forward_to(&target, alternate.as_deref()))
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
                let (target_group_arns, weights) = forwarded(&target, alternate.as_deref());
                self.inventory.rules.put(
                    seq,
                    arn.to_owned(),
                    ObservedRule {
                        arn: arn.to_owned(),
                        listener_arn: spec.listener_arn.clone(),
                        priority: Some(*priority),
                        hosts: spec.hosts.clone(),
                        target_group_arns,
                        weights,
                        tags: spec.tags.clone(),
                    },
                );
                ferry_call::failpoint::hit("traffic.rule_created").await;
                Ok(())
            }
            TrafficAction::ModifyRule {
                arn,
                key,
                hosts,
                target_group,
                alternate,
            } => {
                let target = self.resolve(target_group)?;
                let alternate = alternate
                    .as_deref()
                    .map(|name| self.resolve(name))
                    .transpose()?;
                let seq = self.inventory.rules.begin();
                self.caller
                    .call(ELB, "ModifyRule", Bucket::ElbWrites, key, || {
                        self.elb
                            .modify_rule()
                            .rule_arn(arn)
                            .conditions(host_condition(hosts))
                            .actions(forward_to(&target, alternate.as_deref()))
                            .send()
                    })
                    .await?;
                let (target_group_arns, weights) = forwarded(&target, alternate.as_deref());
                self.inventory.rules.update(seq, arn, |rule| {
                    rule.hosts = hosts.clone();
                    rule.target_group_arns = target_group_arns;
                    rule.weights = weights;
                });
                Ok(())
            }
            TrafficAction::DeleteRule { arn, key } => {
                let seq = self.inventory.rules.begin();
                self.caller
                    .call(ELB, "DeleteRule", Bucket::ElbWrites, key, || {
                        self.elb.delete_rule().rule_arn(arn).send()
                    })
                    .await?;
                self.inventory.rules.remove(seq, arn);
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
        let seq = self.inventory.groups.begin();
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
        self.inventory.groups.put(
            seq,
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
        let seq = self.inventory.groups.begin();
        self.set_deregistration_delay(&arn, &spec.name, spec.deregistration_delay)
            .await?;
        self.inventory.groups.update(seq, &spec.name, |group| {
            group.deregistration_delay = Some(spec.deregistration_delay);
        });
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
        let seq = self.inventory.records.begin();
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
        let records = &self.inventory.records;
        let key = |name: &str| (zone.to_owned(), name.to_owned());
        for change in changes {
            match change {
                RecordChange::Create(RecordSpec {
                    name, alias, owner, ..
                }) => {
                    records.put(
                        seq,
                        key(name),
                        ObservedName {
                            alias: Some(alias.clone()),
                            txt: vec![owner.clone()],
                            other: Vec::new(),
                        },
                    );
                }
                RecordChange::Upsert(record) => {
                    records.modify(seq, key(&record.name), |held| {
                        let mut name = held.cloned().unwrap_or_default();
                        name.alias = Some(record.alias.clone());
                        Some(name)
                    });
                }
                RecordChange::Delete { name, keep, .. } => {
                    if keep.is_empty() {
                        records.remove(seq, &key(name));
                    } else {
                        records.update(seq, &key(name), |left| {
                            left.alias = None;
                            left.txt = keep.clone();
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "execute_tests.rs"]
mod tests;
