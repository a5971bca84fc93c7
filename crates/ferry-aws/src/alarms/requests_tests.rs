//! The alarm Ferry writes, described back by CloudWatch, reads as the
//! spec it was written from.

use ferry_core::model::alarms::{
    DEFAULT_ALARM_DATAPOINTS, DEFAULT_ALARM_EVALUATION_PERIODS, DEFAULT_ALARM_PERIOD_SECS,
    DEFAULT_ALARM_THRESHOLD_PERCENT,
};

use super::*;

const LB: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/int/50dc6c495c0c9188";

fn tg(name: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{name}/73e2d6bc24d8a067"
    )
}

fn spec() -> AlarmSpec {
    AlarmSpec {
        name: "ferry-o-acme-web-5xx".into(),
        process: "web".into(),
        target_groups: vec!["o-acme-web".into(), "o-acme-web-b".into()],
        load_balancer_arn: LB.into(),
        threshold_percent: DEFAULT_ALARM_THRESHOLD_PERCENT,
        period_secs: DEFAULT_ALARM_PERIOD_SECS,
        evaluation_periods: DEFAULT_ALARM_EVALUATION_PERIODS,
        datapoints_to_alarm: DEFAULT_ALARM_DATAPOINTS,
        tags: names::ownership_tags("o", "acme", Some("web")),
    }
}

/// What DescribeAlarms answers for the alarm PutMetricAlarm wrote.
fn described(spec: &AlarmSpec) -> cw::MetricAlarm {
    let arns: Vec<String> = spec.target_groups.iter().map(|n| tg(n)).collect();
    cw::MetricAlarm::builder()
        .alarm_name(&spec.name)
        .alarm_arn(format!(
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{}",
            spec.name
        ))
        .set_metrics(Some(metrics(spec, &arns)))
        .comparison_operator(cw::ComparisonOperator::GreaterThanThreshold)
        .threshold(f64::from(spec.threshold_percent))
        .evaluation_periods(spec.evaluation_periods as i32)
        .datapoints_to_alarm(spec.datapoints_to_alarm as i32)
        .treat_missing_data(NOT_BREACHING)
        .build()
}

#[test]
fn the_written_alarm_reads_back_as_its_spec() {
    let spec = spec();
    assert_eq!(spec_of(&described(&spec), &spec.tags), Some(spec));
}

#[test]
fn the_expression_is_the_5xx_share_of_both_groups_and_alone_returns_data() {
    let spec = spec();
    let arns: Vec<String> = spec.target_groups.iter().map(|n| tg(n)).collect();
    let queries = metrics(&spec, &arns);
    let returning: Vec<Option<&str>> = queries
        .iter()
        .filter(|q| q.return_data() == Some(true))
        .map(|q| q.expression())
        .collect();
    assert_eq!(
        returning,
        [Some(
            "100 * (FILL(f0,0) + FILL(f1,0)) / (FILL(r0,0) + FILL(r1,0))"
        )]
    );
    let dims: Vec<(String, String)> = queries
        .iter()
        .filter_map(|q| q.metric_stat()?.metric())
        .filter(|m| m.metric_name() == Some("RequestCount"))
        .flat_map(|m| m.dimensions().to_vec())
        .map(|d| {
            (
                d.name().unwrap_or_default().into(),
                d.value().unwrap_or_default().into(),
            )
        })
        .collect();
    assert!(dims.contains(&(
        "TargetGroup".into(),
        "targetgroup/o-acme-web-b/73e2d6bc24d8a067".into()
    )));
    assert!(dims.contains(&("LoadBalancer".into(), "app/int/50dc6c495c0c9188".into())));
}

#[test]
fn an_alarm_in_another_shape_never_matches() {
    let spec = spec();
    let mut other = described(&spec);
    other.treat_missing_data = Some("breaching".into());
    assert_eq!(spec_of(&other, &spec.tags), None);
}
