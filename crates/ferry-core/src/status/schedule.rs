//! The status of an app's scheduled processes.

use std::collections::BTreeMap;

use crate::model::desired::DesiredSchedule;
use crate::model::observed::Observed;
use crate::model::status::{ScheduleState, ScheduleStatus};
use crate::schedule_runs::{last_run, merge_failures};

/// The status of each scheduled process: what exists where it does, what
/// is wanted otherwise; its failed invocations (those shown before with
/// those received since, bounded) and its last run (the one seen now, else
/// the one shown before).
pub fn status(
    desired: &[DesiredSchedule],
    observed: &Observed,
    previous: Option<&BTreeMap<String, ScheduleStatus>>,
) -> BTreeMap<String, ScheduleStatus> {
    desired
        .iter()
        .map(|d| {
            let current = observed.schedules.get(&d.schedule.name);
            let (name, group, expression, timezone, state, task_definition) = match current {
                Some(c) => (
                    c.name.clone(),
                    c.group.clone(),
                    c.expression.clone(),
                    c.timezone.clone(),
                    ScheduleState::parse(&c.state),
                    c.task_definition_arn.clone(),
                ),
                None => (
                    d.schedule.name.clone(),
                    d.schedule.group.clone(),
                    d.schedule.expression.clone(),
                    d.schedule.timezone.clone(),
                    ScheduleState::Pending,
                    None,
                ),
            };
            // Only what was shown for this same schedule carries over.
            let before = previous
                .and_then(|p| p.get(&d.process))
                .filter(|p| p.name == name && p.group == group);
            let runs = observed.schedule_runs.get(&d.schedule.name);
            let failed_invocations = merge_failures(
                before.map_or(&[][..], |b| &b.failed_invocations),
                runs.map_or(&[][..], |r| &r.failures),
            );
            let last_run = runs
                .and_then(|r| last_run(&r.runs))
                .or_else(|| before.and_then(|b| b.last_run.clone()));
            let status = ScheduleStatus {
                name,
                group,
                expression,
                timezone,
                state,
                task_definition,
                failures_reported: d.schedule.dead_letter_arn.is_some(),
                failed_invocations,
                last_run,
            };
            (d.process.clone(), status)
        })
        .collect()
}
