//! CloudWatch alarms Ferry owns (`alarms: default`): the installation's
//! alarms as an inventory refreshed with the other cluster-wide reads, the
//! snapshot an app reads of it, and the execution of alarm actions.
//!
//! **Reading** ([`Alarms::refresh`]): DescribeAlarms with
//! `AlarmNamePrefix = ferry-<owner>-` (every name Ferry renders starts so),
//! paginated; the tags of each alarm by ListTagsForResource, once per ARN
//! and kept until Ferry writes the alarm (DescribeAlarms returns no tags).
//!
//! **Ownership.** Ferry never changes an alarm it does not own: right
//! before a Put that replaces an alarm, or a Delete, it reads the alarm's
//! tags again and refuses unless they are its own.

mod requests;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudwatch as cloudwatch;
use aws_sdk_cloudwatch::types as cw;
use ferry_call::{Bucket, Caller};
use ferry_core::model::alarms::{AlarmAction, AlarmSpec, ObservedAlarm};
use ferry_core::names::{self, Ownership};

use crate::cache::Cache;
use crate::paginate::{for_each_page, next_token, Page};

#[cfg(test)]
#[path = "alarms_tests.rs"]
mod tests;
use crate::{Error, Result};

const CLOUDWATCH: &str = "cloudwatch";
/// The largest page DescribeAlarms returns (`MaxRecords` 1-100,
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html>).
const DESCRIBE_ALARMS_PAGE: i32 = 100;

/// The alarm adapter; see the module's documentation.
pub struct Alarms {
    client: cloudwatch::Client,
    caller: Caller,
    owner: String,
    /// By name.
    inventory: Cache<String, ObservedAlarm>,
}

/// Whether `tags` are the installation `owner`'s (an app's, any app).
fn owned(tags: &BTreeMap<String, String>, owner: &str) -> bool {
    let app = tags.get(names::TAG_APP).map(String::as_str).unwrap_or("");
    !app.is_empty() && names::ownership(tags, owner, app) == Ownership::Ours
}

impl Alarms {
    pub fn new(client: cloudwatch::Client, caller: Caller, owner: impl Into<String>) -> Self {
        Self {
            client,
            caller,
            owner: owner.into(),
            inventory: Cache::default(),
        }
    }

    /// The prefix of every alarm name Ferry renders for this installation.
    fn prefix(&self) -> String {
        format!("ferry-{}-", self.owner)
    }

    /// Whether the inventory comes from a complete listing.
    pub fn is_ready(&self) -> bool {
        self.inventory.is_ready()
    }

    /// Lists the installation's alarms again (see the module's
    /// documentation). Returns the calls made.
    pub async fn refresh(&self) -> Result<usize> {
        let seq = self.inventory.begin();
        let prefix = self.prefix();
        let mut listed: Vec<cw::MetricAlarm> = Vec::new();
        let mut calls = for_each_page(
            |token: Option<String>| {
                let prefix = prefix.clone();
                async move {
                    let out = self
                        .caller
                        .call(
                            CLOUDWATCH,
                            "DescribeAlarms",
                            Bucket::AlarmReads,
                            &prefix,
                            || {
                                self.client
                                    .describe_alarms()
                                    .alarm_name_prefix(&prefix)
                                    .alarm_types(cw::AlarmType::MetricAlarm)
                                    .max_records(DESCRIBE_ALARMS_PAGE)
                                    .set_next_token(token.clone())
                                    .send()
                            },
                        )
                        .await?;
                    Ok(Page {
                        next: next_token(out.next_token()),
                        items: out.metric_alarms().to_vec(),
                    })
                }
            },
            |alarm: cw::MetricAlarm| listed.push(alarm),
        )
        .await?;
        let mut entries = Vec::new();
        for alarm in &listed {
            let (Some(name), Some(arn)) = (alarm.alarm_name(), alarm.alarm_arn()) else {
                continue;
            };
            let known = self
                .inventory
                .get(&name.to_owned())
                .filter(|a| a.arn == arn)
                .map(|a| a.tags);
            let tags = match known {
                Some(tags) => tags,
                None => {
                    calls += 1;
                    self.tags(arn, name).await?
                }
            };
            entries.push((name.to_owned(), observed(alarm, tags)));
        }
        self.inventory.apply_listing(seq, entries);
        Ok(calls)
    }

    async fn tags(&self, arn: &str, name: &str) -> Result<BTreeMap<String, String>> {
        let out = self
            .caller
            .call(
                CLOUDWATCH,
                "ListTagsForResource",
                Bucket::AlarmReads,
                name,
                || {
                    self.client
                        .list_tags_for_resource()
                        .resource_arn(arn)
                        .send()
                },
            )
            .await?;
        Ok(out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect())
    }

    /// The alarms of `app`, which should have `desired`: those with the
    /// desired names (whoever owns them) and those tagged for it. No call.
    ///
    /// While the inventory is not ready: `None` if the app wants alarms
    /// (the snapshot then reads them first), else none at all, so that an
    /// installation CloudWatch does not answer (no permission yet, say)
    /// still reconciles its apps without alarms; an alarm such an app no
    /// longer wants is deleted once the inventory is read again.
    pub fn snapshot(
        &self,
        app: &str,
        desired: &[AlarmSpec],
    ) -> Option<BTreeMap<String, ObservedAlarm>> {
        if !self.is_ready() {
            return desired.is_empty().then(BTreeMap::new);
        }
        let wanted: BTreeSet<&str> = desired.iter().map(|a| a.name.as_str()).collect();
        Some(self.inventory.read(|alarms| {
            alarms
                .values()
                .filter(|a| {
                    wanted.contains(a.name.as_str())
                        || names::ownership(&a.tags, &self.owner, app) == Ownership::Ours
                })
                .map(|a| (a.name.clone(), a.clone()))
                .collect()
        }))
    }

    /// Executes one alarm action; `target_group` turns a target group name
    /// into its ARN. A failure marks the inventory stale.
    pub async fn execute(
        &self,
        action: &AlarmAction,
        target_group: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<()> {
        let result = match action {
            AlarmAction::Put { spec } => self.put(spec, target_group).await,
            AlarmAction::Delete { name } => self.delete(name).await,
        };
        if result.is_err() {
            self.inventory.invalidate();
        }
        result
    }

    /// Refuses unless the alarm `name` at `arn` is this installation's, by
    /// its tags read now.
    async fn check_owned(&self, name: &str, arn: &str) -> Result<()> {
        let tags = self.tags(arn, name).await?;
        if owned(&tags, &self.owner) {
            return Ok(());
        }
        Err(Error::Build {
            what: "alarm change",
            message: format!("alarm {name} is not Ferry's (its tags say otherwise); left alone"),
        })
    }

    async fn put(
        &self,
        spec: &AlarmSpec,
        target_group: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<()> {
        let arns = spec
            .target_groups
            .iter()
            .map(|name| {
                target_group(name).ok_or_else(|| Error::Build {
                    what: "alarm",
                    message: format!("target group {name} is not known; it is created first"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // An alarm Ferry created since the last listing has no ARN yet:
        // its tags are the ones Ferry gave it.
        let existing = self.inventory.get(&spec.name).filter(|a| !a.arn.is_empty());
        if let Some(existing) = &existing {
            self.check_owned(&spec.name, &existing.arn).await?;
        }
        let seq = self.inventory.begin();
        let request = self
            .client
            .put_metric_alarm()
            .alarm_name(&spec.name)
            .alarm_description(format!(
                "Ferry: share of target 5xx of process {} (rolls its deployments back)",
                spec.process
            ))
            .set_metrics(Some(requests::metrics(spec, &arns)))
            .comparison_operator(cw::ComparisonOperator::GreaterThanThreshold)
            .threshold(f64::from(spec.threshold_percent))
            .evaluation_periods(i32::try_from(spec.evaluation_periods).unwrap_or(i32::MAX))
            .datapoints_to_alarm(i32::try_from(spec.datapoints_to_alarm).unwrap_or(i32::MAX))
            .treat_missing_data(requests::NOT_BREACHING)
            // Tags are applied only when PutMetricAlarm creates the alarm;
            // a replaced alarm keeps its tags, which TagResource then sets
            // (API_PutMetricAlarm, `Tags`).
            .set_tags(Some(requests::cw_tags(&spec.tags)));
        self.caller
            .call(
                CLOUDWATCH,
                "PutMetricAlarm",
                Bucket::AlarmWrites,
                &spec.name,
                || request.clone().send(),
            )
            .await?;
        let arn = match existing {
            Some(existing) => {
                self.caller
                    .call(
                        CLOUDWATCH,
                        "TagResource",
                        Bucket::AlarmWrites,
                        &spec.name,
                        || {
                            self.client
                                .tag_resource()
                                .resource_arn(&existing.arn)
                                .set_tags(Some(requests::cw_tags(&spec.tags)))
                                .send()
                        },
                    )
                    .await?;
                existing.arn
            }
            // The ARN is read with the next listing; until then the
            // inventory has no ARN for it (a Delete before that reads it
            // then, through the listing's refresh).
            None => String::new(),
        };
        self.inventory.put(
            seq,
            spec.name.clone(),
            ObservedAlarm {
                name: spec.name.clone(),
                arn,
                tags: spec.tags.clone(),
                spec: Some(spec.clone()),
                state: "INSUFFICIENT_DATA".to_owned(),
            },
        );
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let Some(existing) = self.inventory.get(&name.to_owned()) else {
            return Ok(());
        };
        if !existing.arn.is_empty() {
            self.check_owned(name, &existing.arn).await?;
        }
        let seq = self.inventory.begin();
        self.caller
            .call(
                CLOUDWATCH,
                "DeleteAlarms",
                Bucket::AlarmWrites,
                name,
                || self.client.delete_alarms().alarm_names(name).send(),
            )
            .await?;
        self.inventory.remove(seq, &name.to_owned());
        Ok(())
    }
}

/// An alarm as DescribeAlarms describes it, with its tags.
fn observed(alarm: &cw::MetricAlarm, tags: BTreeMap<String, String>) -> ObservedAlarm {
    ObservedAlarm {
        name: alarm.alarm_name().unwrap_or_default().to_owned(),
        arn: alarm.alarm_arn().unwrap_or_default().to_owned(),
        spec: requests::spec_of(alarm, &tags),
        state: alarm
            .state_value()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        tags,
    }
}
