//! The alarm Ferry writes for `alarms: default`, and how CloudWatch's
//! description of an alarm reads back as the spec it was written from.
//!
//! The metric is metric math over the pair of target groups on the
//! internal load balancer: `100 * (FILL(f0,0) + FILL(f1,0)) /
//! (FILL(r0,0) + FILL(r1,0))`, with `fN` = `HTTPCode_Target_5XX_Count`
//! and `rN` = `RequestCount` of group N (namespace `AWS/ApplicationELB`,
//! Sum over the period, dimensions `TargetGroup` and `LoadBalancer`: the
//! ARN's `targetgroup/...` and `app/...` tails,
//! <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html>).
//! Only the expression returns data, as PutMetricAlarm requires of an
//! alarm on metric math
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>).

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types as cw;
use ferry_core::model::alarms::AlarmSpec;
use ferry_core::names;

const NAMESPACE: &str = "AWS/ApplicationELB";
const ERRORS: &str = "HTTPCode_Target_5XX_Count";
const REQUESTS: &str = "RequestCount";
const SUM: &str = "Sum";
const EXPRESSION_ID: &str = "share";
/// Missing data (no requests) does not breach.
pub(super) const NOT_BREACHING: &str = "notBreaching";

/// The dimension value of an ELB ARN: `targetgroup/NAME/ID` for a
/// target group (the ARN's resource), `app/NAME/ID` for a load balancer
/// (its resource without `loadbalancer/`).
pub(super) fn dimension(arn: &str) -> &str {
    let resource = arn.rsplit_once(':').map_or(arn, |(_, tail)| tail);
    resource.strip_prefix("loadbalancer/").unwrap_or(resource)
}

fn stat(metric: &str, target_group: &str, load_balancer: &str, period: i32) -> cw::MetricStat {
    let dim = |name: &str, value: &str| cw::Dimension::builder().name(name).value(value).build();
    cw::MetricStat::builder()
        .metric(
            cw::Metric::builder()
                .namespace(NAMESPACE)
                .metric_name(metric)
                .dimensions(dim("TargetGroup", dimension(target_group)))
                .dimensions(dim("LoadBalancer", dimension(load_balancer)))
                .build(),
        )
        .period(period)
        .stat(SUM)
        .build()
}

/// The metric queries of `spec`, its target groups given by ARN, in the
/// spec's order.
pub(super) fn metrics(spec: &AlarmSpec, target_group_arns: &[String]) -> Vec<cw::MetricDataQuery> {
    let period = i32::try_from(spec.period_secs).unwrap_or(i32::MAX);
    let mut queries = Vec::new();
    let mut errors = Vec::new();
    let mut requests = Vec::new();
    for (i, arn) in target_group_arns.iter().enumerate() {
        for (prefix, metric, list) in [("f", ERRORS, &mut errors), ("r", REQUESTS, &mut requests)] {
            let id = format!("{prefix}{i}");
            queries.push(
                cw::MetricDataQuery::builder()
                    .id(&id)
                    .metric_stat(stat(metric, arn, &spec.load_balancer_arn, period))
                    .return_data(false)
                    .build(),
            );
            list.push(format!("FILL({id},0)"));
        }
    }
    queries.push(
        cw::MetricDataQuery::builder()
            .id(EXPRESSION_ID)
            .expression(format!(
                "100 * ({}) / ({})",
                errors.join(" + "),
                requests.join(" + ")
            ))
            .label("Target 5xx share (%)")
            .return_data(true)
            .build(),
    );
    queries
}

/// CloudWatch tags of `tags`.
pub(super) fn cw_tags(tags: &BTreeMap<String, String>) -> Vec<cw::Tag> {
    tags.iter()
        .map(|(k, v)| cw::Tag::builder().key(k).value(v).build())
        .collect()
}

/// The load balancer ARN a `LoadBalancer` dimension names, in the account
/// and Region of `alarm_arn` (`arn:PARTITION:cloudwatch:REGION:ACCOUNT:alarm:NAME`).
fn load_balancer_arn(alarm_arn: &str, dimension: &str) -> Option<String> {
    let mut parts = alarm_arn.splitn(6, ':');
    let (_, partition, _, region, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    Some(format!(
        "arn:{partition}:elasticloadbalancing:{region}:{account}:loadbalancer/{dimension}"
    ))
}

/// The spec an alarm CloudWatch describes was written from, with `tags`
/// (read apart); `None` when it is not in the shape Ferry writes (then no
/// rendered spec equals it and it is replaced, if Ferry owns it).
pub(super) fn spec_of(
    alarm: &cw::MetricAlarm,
    tags: &BTreeMap<String, String>,
) -> Option<AlarmSpec> {
    if alarm.comparison_operator() != Some(&cw::ComparisonOperator::GreaterThanThreshold)
        || alarm.treat_missing_data() != Some(NOT_BREACHING)
    {
        return None;
    }
    let mut target_groups = Vec::new();
    let mut load_balancer = None;
    let mut period = None;
    for query in alarm.metrics() {
        let Some(stat) = query.metric_stat() else {
            continue;
        };
        period = stat.period();
        let metric = stat.metric()?;
        if metric.metric_name() != Some(ERRORS) {
            continue;
        }
        for d in metric.dimensions() {
            match d.name() {
                Some("TargetGroup") => {
                    let name = d.value()?.strip_prefix("targetgroup/")?.split('/').next()?;
                    target_groups.push(name.to_owned());
                }
                Some("LoadBalancer") => load_balancer = d.value().map(str::to_owned),
                _ => {}
            }
        }
    }
    target_groups.sort();
    let number = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok());
    Some(AlarmSpec {
        name: alarm.alarm_name()?.to_owned(),
        process: tags.get(names::TAG_PROCESS).cloned().unwrap_or_default(),
        target_groups,
        load_balancer_arn: load_balancer_arn(alarm.alarm_arn()?, &load_balancer?)?,
        threshold_percent: {
            let t = alarm.threshold()?;
            (t.is_finite() && t >= 0.0).then_some(t.round() as u32)?
        },
        period_secs: number(period)?,
        evaluation_periods: number(alarm.evaluation_periods())?,
        datapoints_to_alarm: number(alarm.datapoints_to_alarm())?,
        tags: tags.clone(),
    })
}

#[cfg(test)]
#[path = "requests_tests.rs"]
mod tests;
