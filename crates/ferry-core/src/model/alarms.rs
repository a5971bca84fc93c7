//! The CloudWatch alarm Ferry creates, owns and tags for a process with
//! `alarms: default`: the 5xx share of its target groups, which ECS rolls
//! a deployment back on. Alarms the team names are theirs: Ferry only
//! passes their names to ECS, and never reads, changes or deletes them.

use std::collections::BTreeMap;

use serde::Serialize;

/// The share of requests answered with a target 5xx, in percent, above
/// which Ferry's alarm fires.
pub const DEFAULT_ALARM_THRESHOLD_PERCENT: u32 = 5;
/// Seconds per datapoint.
pub const DEFAULT_ALARM_PERIOD_SECS: u32 = 60;
/// Datapoints looked at, and how many must breach (2 of 3 minutes): one
/// bad minute is not enough, two are.
pub const DEFAULT_ALARM_EVALUATION_PERIODS: u32 = 3;
pub const DEFAULT_ALARM_DATAPOINTS: u32 = 2;

/// An alarm Ferry owns, as it should be. The metric is
/// `100 * sum(HTTPCode_Target_5XX_Count) / sum(RequestCount)` over the
/// target groups named (namespace `AWS/ApplicationELB`, dimensions
/// `TargetGroup` and `LoadBalancer` resolved from their ARNs when the plan
/// runs); missing data (no requests) does not breach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmSpec {
    pub name: String,
    pub process: String,
    /// Target group names (both of the pair, on the internal load
    /// balancer), sorted.
    pub target_groups: Vec<String>,
    /// The load balancer the target groups are on.
    pub load_balancer_arn: String,
    pub threshold_percent: u32,
    pub period_secs: u32,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    /// Ownership tags.
    pub tags: BTreeMap<String, String>,
}

/// An alarm whose name is one Ferry renders or that is tagged for the
/// app, as CloudWatch describes it. The adapter keeps the fields it
/// compares in `spec` (`None` when the alarm is not in the shape Ferry
/// writes: then it never matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAlarm {
    pub name: String,
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    pub spec: Option<AlarmSpec>,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
}

/// A change to an alarm Ferry owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum AlarmAction {
    /// `PutMetricAlarm` (creates, or replaces one Ferry owns).
    Put { spec: AlarmSpec },
    /// `DeleteAlarms`, of one Ferry owns and no longer wants.
    Delete { name: String },
}
