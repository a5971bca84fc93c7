//! Renders the CloudWatch alarm Ferry owns for each process with
//! `alarms: default`: the share of 5xx answers of its groups on the
//! internal load balancer (both of the pair for a strategy that shifts
//! traffic, its one group for `rolling`). See [`crate::model::alarms`] for
//! the metric and the thresholds.

use std::collections::BTreeSet;

use ferry_manifest::App;

use super::rollout::wants_own_alarm;
use crate::model::alarms::*;
use crate::model::desired::Settings;
use crate::model::ownership;
use crate::model::traffic::DesiredTraffic;
use crate::names;

/// The alarms of `app`, in process-name order, given its rendered (and
/// paired) `traffic`.
pub(crate) fn render(app: &App, settings: &Settings, traffic: &DesiredTraffic) -> Vec<AlarmSpec> {
    let Some(edge) = &settings.traffic.internal else {
        return Vec::new();
    };
    app.processes
        .iter()
        .filter(|(_, process)| wants_own_alarm(process, settings))
        .filter_map(|(name, _)| {
            let (links, _) = traffic.links.get(name)?;
            // The process's groups on the internal load balancer: those
            // its internal rule forwards to.
            let internal: BTreeSet<String> = traffic
                .rules
                .iter()
                .filter(|r| {
                    r.load_balancer_arn == edge.load_balancer_arn
                        && r.tags.get(ownership::TAG_PROCESS) == Some(name)
                })
                .flat_map(|r| std::iter::once(r.target_group.clone()).chain(r.alternate.clone()))
                .filter(|group| {
                    links.iter().any(|l| {
                        l.target_group == *group
                            || l.advanced
                                .as_ref()
                                .is_some_and(|a| a.alternate_target_group == *group)
                    })
                })
                .collect();
            if internal.is_empty() {
                return None;
            }
            Some(AlarmSpec {
                name: names::alarm_name(&settings.owner, &app.name, name),
                process: name.clone(),
                target_groups: internal.into_iter().collect(),
                load_balancer_arn: edge.load_balancer_arn.clone(),
                threshold_percent: DEFAULT_ALARM_THRESHOLD_PERCENT,
                period_secs: DEFAULT_ALARM_PERIOD_SECS,
                evaluation_periods: DEFAULT_ALARM_EVALUATION_PERIODS,
                datapoints_to_alarm: DEFAULT_ALARM_DATAPOINTS,
                tags: ownership::ownership_tags(&settings.owner, &app.name, Some(name)),
            })
        })
        .collect()
}
