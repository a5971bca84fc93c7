//! Runs a decision's actions.

use std::collections::BTreeMap;

use ferry_core::traffic::RuleRef;
use ferry_core::{Action, Plan};
use tracing::info;

use super::{Aws, TrafficGuard};
use crate::resolve::Resolve;
use crate::Error;

/// A plan stopped at its first failure.
#[derive(Debug)]
pub struct Stopped {
    /// Actions that completed, in order, before the failure.
    pub completed: usize,
    pub error: Error,
}

impl Aws {
    /// Runs a plan's actions in order, each through its adapter, and stops
    /// at the first failure: safe, since planning is level-triggered and
    /// the next reconcile plans what is left.
    ///
    /// Traffic actions run under the traffic lock: `traffic`, the guard
    /// the decision was made under, or taken here (and again if an action
    /// of another kind in between released it). Other actions run without
    /// it, so that no app's ECS work waits for another's traffic change.
    pub async fn execute(
        &self,
        plan: &Plan,
        mut traffic: Option<TrafficGuard>,
    ) -> Result<(), Stopped> {
        // Revisions registered earlier in this plan, by family.
        let mut registered = BTreeMap::new();
        let target_group = |name: &str| {
            self.traffic
                .as_ref()
                .and_then(|traffic| traffic.target_group_arn(name))
        };
        let rule = |rule: &RuleRef| {
            self.traffic
                .as_ref()
                .and_then(|traffic| traffic.rule_arn(rule))
        };
        let resolve = Resolve {
            target_group: &target_group,
            rule: &rule,
        };
        for (completed, action) in plan.actions.iter().enumerate() {
            info!(action = %action, "executing");
            let result = match action {
                Action::Traffic(change) => match &self.traffic {
                    Some(adapter) => {
                        if traffic.is_none() {
                            traffic = Some(self.hold_traffic().await);
                        }
                        adapter.execute(change).await
                    }
                    None => Err(Error::Build {
                        what: "traffic change",
                        message: "no load balancer is configured".into(),
                    }),
                },
                Action::Alarm(change) => match &self.alarms {
                    Some(alarms) => {
                        traffic = None;
                        alarms.execute(change, &target_group).await
                    }
                    None => Err(Error::Build {
                        what: "alarm change",
                        message: "no CloudWatch client is configured".into(),
                    }),
                },
                Action::CreateSchedule { .. }
                | Action::UpdateSchedule { .. }
                | Action::DeleteSchedule { .. } => match &self.schedules {
                    Some(schedules) => {
                        traffic = None;
                        schedules.execute(action, &registered).await
                    }
                    None => Err(Error::Build {
                        what: "schedule change",
                        message: "no EventBridge Scheduler client is configured".into(),
                    }),
                },
                _ => {
                    traffic = None;
                    self.ecs.execute(action, &mut registered, resolve).await
                }
            };
            result.map_err(|error| Stopped { completed, error })?;
        }
        Ok(())
    }
}
