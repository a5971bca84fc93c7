//! Plans the CloudWatch alarms Ferry owns (`alarms: default`): put one
//! that is missing or not as rendered, delete one of the app's that no
//! process wants any more, and never touch an alarm Ferry does not own
//! (tags `ferry:managed-by` and `ferry:app`): its name is reported
//! (`AlarmConflict`) and not handed to ECS.

use std::collections::BTreeSet;

use crate::model::alarms::{AlarmAction, AlarmSpec};
use crate::model::blocker::{Blocker, BlockerReason};
use crate::model::observed::Observed;
use crate::model::ownership::{self, Ownership};

/// An app's alarm plan: puts run before the services that name the
/// alarms, deletes after the services stopped naming them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmPlan {
    pub puts: Vec<AlarmAction>,
    pub deletes: Vec<AlarmAction>,
    pub blockers: Vec<Blocker>,
    /// Names taken by an alarm Ferry does not own: no service may name
    /// them as its own.
    pub conflicts: BTreeSet<String>,
}

/// Plans `desired` (empty for an app being deleted) against the observed
/// alarms.
pub fn plan(app: &str, owner: &str, desired: &[AlarmSpec], observed: &Observed) -> AlarmPlan {
    let mut out = AlarmPlan::default();
    let ours = |tags| ownership::ownership(tags, owner, app) == Ownership::Ours;
    for spec in desired {
        match observed.alarms.get(&spec.name) {
            Some(alarm) if !ours(&alarm.tags) => {
                out.conflicts.insert(spec.name.clone());
                out.blockers.push(Blocker {
                    process: spec.process.clone(),
                    reason: BlockerReason::AlarmConflict,
                    message: format!(
                        "CloudWatch alarm {} exists and is not Ferry's for this app; Ferry \
                         leaves it untouched and does not roll back on it",
                        spec.name
                    ),
                });
            }
            Some(alarm) if alarm.spec.as_ref() == Some(spec) => {}
            _ => out.puts.push(AlarmAction::Put { spec: spec.clone() }),
        }
    }
    let wanted: BTreeSet<&str> = desired.iter().map(|a| a.name.as_str()).collect();
    for alarm in observed.alarms.values() {
        if ours(&alarm.tags) && !wanted.contains(alarm.name.as_str()) {
            out.deletes.push(AlarmAction::Delete {
                name: alarm.name.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
#[path = "alarms_tests.rs"]
mod tests;
