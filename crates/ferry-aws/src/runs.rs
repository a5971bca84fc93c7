//! The tasks schedules started, as a cache that a resync fills and
//! reconciles read: each scheduled process's last run.
//!
//! **Reading.** Per resync, for each task-definition family a schedule of
//! this installation runs: ListTasks for its tasks that run and for those
//! that stopped (ECS lists stopped tasks for at least an hour,
//! <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html>
//! and the stopped-task page); then DescribeTasks, 100 tasks per call
//! across families, only for tasks not seen before or seen before they
//! stopped. A task whose description is final (STOPPED) is never
//! described again. Reconciles read the cache ([`ScheduledRuns::runs`]) and
//! make no ECS call.
//!
//! **Which tasks.** A scheduled run is a task with the ECS group
//! [`schedule::RUN_GROUP`] (the schedule's `EcsParameters.Group`) and this
//! installation's `ferry:managed-by` tag; `ferry run` tasks of the same
//! family have the group `family:<family>`, services' tasks
//! `service:<name>`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use aws_sdk_ecs::types as ecs;
use aws_sdk_ecs::Client;
use ferry_core::names;
use ferry_core::schedule;
use ferry_core::schedule_runs::ScheduledRun;

use crate::ecs::TaskInfo;
use crate::Result;
use ferry_call::Caller;

/// The last status ECS gives a task that has ended.
const STOPPED: &str = "STOPPED";

pub struct ScheduledRuns {
    client: Client,
    caller: Caller,
    cluster: String,
    owner: String,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    /// Every task of the families, by ARN: its family, and the run if it
    /// is one of this installation's scheduled runs.
    tasks: BTreeMap<String, (String, Option<ScheduledRun>)>,
}

/// `arn:...:task-definition/FAMILY:REVISION` (or `FAMILY:REVISION`) to FAMILY.
pub fn family_of(task_definition: &str) -> Option<&str> {
    let name = task_definition
        .rsplit_once(":task-definition/")
        .map_or(task_definition, |(_, name)| name);
    let (family, revision) = name.rsplit_once(':')?;
    (!family.is_empty() && revision.parse::<u32>().is_ok()).then_some(family)
}

/// Which listed tasks need a DescribeTasks: those never described, and
/// those described before ECS listed them as stopped whose description is
/// not final yet.
fn to_describe(
    cached: &BTreeMap<String, (String, Option<ScheduledRun>)>,
    listed: &[(String, String, bool)],
) -> Vec<String> {
    listed
        .iter()
        .filter(|(arn, _, stopped)| match cached.get(arn) {
            None => true,
            Some((_, run)) => {
                *stopped
                    && run
                        .as_ref()
                        .is_some_and(|r| r.last_status.as_str() != STOPPED)
            }
        })
        .map(|(arn, _, _)| arn.clone())
        .collect()
}

impl ScheduledRuns {
    pub fn new(
        client: Client,
        caller: Caller,
        cluster: impl Into<String>,
        owner: impl Into<String>,
    ) -> Self {
        Self {
            client,
            caller,
            cluster: cluster.into(),
            owner: owner.into(),
            cache: Mutex::new(Cache::default()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lists the tasks of `families` and describes the new ones. Tasks ECS
    /// no longer lists leave the cache. Returns the ECS calls made.
    pub async fn read(&self, families: &BTreeSet<String>) -> Result<usize> {
        let mut calls = 0;
        // (task ARN, family, listed as stopped)
        let mut listed: Vec<(String, String, bool)> = Vec::new();
        for family in families {
            for status in [ecs::DesiredStatus::Running, ecs::DesiredStatus::Stopped] {
                let stopped = status == ecs::DesiredStatus::Stopped;
                let (arns, made) = crate::ecs::list_family_tasks(
                    &self.client,
                    &self.caller,
                    &self.cluster,
                    family,
                    status,
                )
                .await?;
                calls += made;
                listed.extend(arns.into_iter().map(|arn| (arn, family.clone(), stopped)));
            }
        }
        let wanted = to_describe(&self.cache().tasks, &listed);
        let (tasks, made) =
            crate::ecs::describe_cluster_tasks(&self.client, &self.caller, &self.cluster, &wanted)
                .await?;
        calls += made;
        let described: BTreeMap<String, Option<ScheduledRun>> = tasks
            .iter()
            .map(|task| (task.arn.clone(), self.run_of(task)))
            .collect();
        let mut cache = self.cache();
        let families_of: BTreeMap<&String, &String> = listed
            .iter()
            .map(|(arn, family, _)| (arn, family))
            .collect();
        cache.tasks.retain(|arn, _| families_of.contains_key(arn));
        for (arn, run) in described {
            if let Some(family) = families_of.get(&arn) {
                cache.tasks.insert(arn, ((*family).clone(), run));
            }
        }
        Ok(calls)
    }

    /// The run a task is, if it is one of this installation's scheduled runs.
    fn run_of(&self, task: &TaskInfo) -> Option<ScheduledRun> {
        let ours = task.group.as_deref() == Some(schedule::RUN_GROUP)
            && task.tags.get(names::TAG_MANAGED_BY) == Some(&self.owner);
        ours.then(|| ScheduledRun {
            task_arn: task.arn.clone(),
            started_at: task.started_at.clone(),
            last_status: task.last_status.clone(),
            exit_code: task.exit_code,
            stop_code: task.stop_code.clone(),
            stopped_reason: task.stopped_reason.clone(),
        })
    }

    /// The cached scheduled runs of `family`, in no particular order.
    pub fn runs(&self, family: &str) -> Vec<ScheduledRun> {
        self.cache()
            .tasks
            .values()
            .filter(|(f, _)| f == family)
            .filter_map(|(_, run)| run.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_come_from_revisions() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:123456789012:task-definition/shop_nightly:3"),
            Some("shop_nightly")
        );
        assert_eq!(family_of("shop_nightly:3"), Some("shop_nightly"));
        assert_eq!(family_of("shop_nightly"), None);
        assert_eq!(family_of(":3"), None);
    }

    fn run(status: &str) -> Option<ScheduledRun> {
        Some(ScheduledRun {
            task_arn: "t".into(),
            started_at: None,
            last_status: status.into(),
            exit_code: None,
            stop_code: None,
            stopped_reason: None,
        })
    }

    #[test]
    fn only_new_tasks_and_tasks_that_stopped_since_are_described() {
        let f = || "shop_nightly".to_owned();
        let cached = BTreeMap::from([
            ("running".to_owned(), (f(), run("RUNNING"))),
            ("stopping".to_owned(), (f(), run("DEPROVISIONING"))),
            ("done".to_owned(), (f(), run("STOPPED"))),
            ("not-a-run".to_owned(), (f(), None)),
        ]);
        let listed = vec![
            ("new".to_owned(), f(), false),
            ("running".to_owned(), f(), false),
            ("stopping".to_owned(), f(), true),
            ("done".to_owned(), f(), true),
            ("not-a-run".to_owned(), f(), true),
        ];
        assert_eq!(to_describe(&cached, &listed), ["new", "stopping"]);
    }
}
