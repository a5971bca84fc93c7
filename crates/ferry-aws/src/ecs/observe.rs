//! One app's slice of the ECS cache.

use super::*;

impl Ecs {
    /// What exists for one app, from the cache: the services it should have
    /// (whoever owns them), those tagged for it, their task definitions,
    /// and the latest revision of every family whose service does not run
    /// the desired spec. Makes no ECS call except to describe a revision
    /// the cache has not seen (once per revision: they are immutable).
    pub async fn observe(
        &self,
        app: &str,
        owner: &str,
        desired: &[DesiredProcess],
    ) -> Result<Observed> {
        let mut observed = Observed::default();
        {
            let cache = self.cache();
            for process in desired {
                if let Some((_, service)) = cache.services.get(&process.service.name) {
                    observed
                        .services
                        .insert(service.name.clone(), service.clone());
                }
            }
            for (_, service) in cache.services.values() {
                if names::ownership(&service.tags, owner, app) == names::Ownership::Ours {
                    observed
                        .services
                        .insert(service.name.clone(), service.clone());
                }
            }
        }
        for service in observed.services.values_mut() {
            if !service.task_definition_arn.is_empty() {
                service.task_definition = self
                    .task_definition(&service.task_definition_arn)
                    .await?
                    .map(|td| td.spec);
            }
        }
        for process in desired {
            let current = observed
                .services
                .get(&process.service.name)
                .and_then(|s| s.task_definition.as_ref());
            self.observe_latest_unless_running(
                current,
                &process.task_definition,
                &mut observed.latest_task_definitions,
            )
            .await?;
        }
        if let Some(autoscaling) = &self.autoscaling {
            let services: Vec<String> = observed
                .services
                .keys()
                .cloned()
                .chain(desired.iter().map(|p| p.service.name.clone()))
                .collect();
            observed.scalable_targets = autoscaling
                .observe(&self.cluster, app, owner, &services)
                .await?;
        }
        Ok(observed)
    }

    /// Reads the latest revision of `wanted`'s family into `latest`, unless
    /// what runs (`current`) already is `wanted`: the planner reuses that
    /// revision instead of registering an identical one.
    async fn observe_latest_unless_running(
        &self,
        current: Option<&TaskDefinitionSpec>,
        wanted: &TaskDefinitionSpec,
        latest: &mut BTreeMap<String, ferry_core::observed::ObservedTaskDefinition>,
    ) -> Result<()> {
        if current == Some(wanted) {
            return Ok(());
        }
        if let Some(revision) = self.latest_revision(&wanted.family).await? {
            latest.insert(wanted.family.clone(), revision);
        }
        Ok(())
    }

    /// Fills in the task definitions of an app's observed schedules (from
    /// the cache, or described once per revision), and the latest revision
    /// of each scheduled family whose schedule does not run the desired
    /// spec, as [`Ecs::observe`] does for services. Remembers the revisions
    /// schedules run, so hygiene never retires them.
    pub async fn observe_schedule_targets(
        &self,
        desired: &[ferry_core::DesiredSchedule],
        observed: &mut Observed,
    ) -> Result<()> {
        for schedule in observed.schedules.values_mut() {
            let Some(arn) = schedule.task_definition_arn.clone() else {
                continue;
            };
            self.cache()
                .schedule_revisions
                .insert(schedule.name.clone(), arn.clone());
            schedule.task_definition = self.task_definition(&arn).await?.map(|td| td.spec);
        }
        for process in desired {
            let current = observed
                .schedules
                .get(&process.schedule.name)
                .and_then(|s| s.task_definition.as_ref());
            self.observe_latest_unless_running(
                current,
                &process.task_definition,
                &mut observed.latest_task_definitions,
            )
            .await?;
        }
        Ok(())
    }
}
