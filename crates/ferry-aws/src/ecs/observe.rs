//! One app's slice of the ECS cache: a synchronous read, no ECS call.
//!
//! When the cache lacks something the slice needs (a revision nobody has
//! described yet, a family whose latest revision is in doubt), the slice
//! is not taken: [`Missing`] names what to read, [`Ecs::fill`] reads it
//! (paced like every read), and the slice is taken again.

use super::*;

/// What the caches lack to take an app's snapshot; [`Ecs::fill`] and the
/// inventories' refreshes read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Missing {
    /// Revisions, by ARN, that a service or schedule runs (or that is the
    /// latest of a family) and that the cache has not described.
    pub task_definitions: BTreeSet<String>,
    /// Families whose latest revision the cache cannot tell: before the
    /// term's family listing, or after a registration without a clear
    /// answer.
    pub families: BTreeSet<String>,
    /// The scalable targets are not loaded (or a write failed since).
    pub autoscaling: bool,
    /// The load balancers' and zones' inventory is not loaded (or a write
    /// failed since).
    pub traffic: bool,
    /// The installation's alarms are not loaded (or a write failed since).
    pub alarms: bool,
}

impl Missing {
    pub fn is_empty(&self) -> bool {
        *self == Missing::default()
    }
}

impl Ecs {
    /// What exists for one app, from the cache: the services it should have
    /// (whoever owns them), those tagged for it, their stopped tasks (as
    /// the last progress ticks read them), their task definitions,
    /// the task definitions its observed schedules run, the latest revision
    /// of every family whose service or schedule does not run the desired
    /// spec, and the scalable targets. Makes no AWS call: what the cache
    /// lacks is returned as [`Missing`].
    pub fn snapshot(
        &self,
        app: &str,
        owner: &str,
        desired: &Desired,
        schedules: BTreeMap<String, ferry_core::ObservedSchedule>,
    ) -> std::result::Result<Observed, Missing> {
        let mut missing = Missing::default();
        let mut observed = Observed {
            schedules,
            ..Observed::default()
        };
        observed.services = self.services.read(|services| {
            let wanted = desired
                .processes
                .iter()
                .filter_map(|p| services.get(&p.service.name));
            let ours = services
                .values()
                .filter(|s| names::ownership(&s.tags, owner, app) == names::Ownership::Ours);
            wanted
                .chain(ours)
                .map(|s| (s.name.clone(), s.clone()))
                .collect()
        });
        observed.stopped_tasks = observed
            .services
            .keys()
            .map(|name| (name.clone(), self.stopped_tasks_of(name)))
            .filter(|(_, stops)| !stops.is_empty())
            .collect();
        observed.service_deployments = observed
            .services
            .keys()
            .filter_map(|name| Some((name.clone(), self.service_deployment_of(name)?)))
            .collect();
        let cache = self.cache();
        for service in observed.services.values_mut() {
            if !service.task_definition_arn.is_empty() {
                service.task_definition = cache
                    .described(&service.task_definition_arn, &mut missing)
                    .map(|td| td.spec);
            }
        }
        for schedule in observed.schedules.values_mut() {
            if let Some(arn) = &schedule.task_definition_arn {
                schedule.task_definition = cache.described(arn, &mut missing).map(|td| td.spec);
            }
        }
        let running = desired
            .processes
            .iter()
            .map(|p| {
                let current = observed.services.get(&p.service.name);
                (
                    current.and_then(|s| s.task_definition.as_ref()),
                    &p.task_definition,
                )
            })
            .chain(desired.schedules.iter().map(|s| {
                let current = observed.schedules.get(&s.schedule.name);
                (
                    current.and_then(|s| s.task_definition.as_ref()),
                    &s.task_definition,
                )
            }));
        for (current, wanted) in running.collect::<Vec<_>>() {
            // What runs already is the desired spec: the planner reuses it,
            // and needs no latest revision to compare with.
            if current == Some(wanted) {
                continue;
            }
            if let Some(revision) = cache.latest(&wanted.family, &mut missing) {
                observed
                    .latest_task_definitions
                    .insert(wanted.family.clone(), revision);
            }
        }
        drop(cache);
        if let Some(autoscaling) = &self.autoscaling {
            let services: Vec<String> = observed
                .services
                .keys()
                .cloned()
                .chain(desired.processes.iter().map(|p| p.service.name.clone()))
                .collect();
            match autoscaling.snapshot(&self.cluster, app, owner, &services) {
                Some(targets) => observed.scalable_targets = targets,
                None => missing.autoscaling = true,
            }
        }
        if missing.is_empty() {
            Ok(observed)
        } else {
            Err(missing)
        }
    }

    /// Reads what a snapshot found missing of ECS's and the scalable
    /// targets' (not traffic's): each revision described once, each
    /// family's latest revision asked of ECS. Returns the calls made.
    pub async fn fill(&self, missing: &Missing) -> Result<usize> {
        let mut calls = 0;
        for arn in &missing.task_definitions {
            calls += 1;
            if self.task_definition(arn).await?.is_none() {
                // ECS has it no more: known as absent, not asked again.
                self.cache().vanished.insert(arn.clone());
            }
        }
        for family in &missing.families {
            calls += 1;
            let latest = self.describe_task_definition(family).await?;
            let mut cache = self.cache();
            cache.uncertain_families.remove(family);
            match latest {
                Some(td) => {
                    drop(cache);
                    self.remember_task_definition(td, true);
                }
                None => {
                    cache.empty_families.insert(family.clone());
                }
            }
        }
        if missing.autoscaling {
            calls += self.refresh_autoscaling().await?;
        }
        Ok(calls)
    }
}

impl Cache {
    /// A revision the cache has described, or `None` when ECS has it no
    /// more; what it has not described yet goes to `missing`.
    pub(super) fn described(
        &self,
        arn: &str,
        missing: &mut Missing,
    ) -> Option<ObservedTaskDefinition> {
        if let Some(td) = self.task_definitions.get(arn) {
            return Some(td.clone());
        }
        if !self.vanished.contains(arn) {
            missing.task_definitions.insert(arn.to_owned());
        }
        None
    }

    /// The latest ACTIVE revision of a family: from the family listing
    /// and Ferry's registrations (no call at all for a family that has
    /// none), unless a registration without a clear answer left it in
    /// doubt; what must be read first goes to `missing`.
    pub(super) fn latest(
        &self,
        family: &str,
        missing: &mut Missing,
    ) -> Option<ObservedTaskDefinition> {
        if self.uncertain_families.contains(family) {
            missing.families.insert(family.to_owned());
            return None;
        }
        match self.latest_revisions.get(family) {
            Some(arn) => self.described(arn, missing),
            None if self.families_listed || self.empty_families.contains(family) => None,
            None => {
                missing.families.insert(family.to_owned());
                None
            }
        }
    }
}
