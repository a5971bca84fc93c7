//! Task-definition hygiene: deregisters the revisions Ferry registered and
//! no longer uses.

use super::*;

impl Ecs {
    /// Deregisters revisions Ferry registered and no longer uses, oldest
    /// first and at most `max`: those [`ferry_core::tidy::to_retire`] picks
    /// (in the families of `apps`, beyond the newest `keep`, run by no
    /// deployment of any cached service nor by a schedule), and only
    /// those tagged as managed by `owner`, as a DescribeTaskDefinition of
    /// each confirms. Does nothing before the term's family listing. The
    /// caller paces it behind every app's own work (its claimant).
    ///
    /// `keep` must be at least 1: the latest revision is what the next
    /// deploy of an unchanged spec reuses.
    pub async fn retire_task_definitions(
        &self,
        apps: &BTreeSet<String>,
        owner: &str,
        keep: usize,
        max: usize,
    ) -> Result<usize> {
        // Every revision a deployment of a cached service runs.
        let deployed: Vec<String> = self.services.read(|services| {
            services
                .values()
                .flat_map(|service| {
                    std::iter::once(service.task_definition_arn.clone()).chain(
                        service
                            .deployments
                            .iter()
                            .map(|d| d.task_definition_arn.clone()),
                    )
                })
                .collect()
        });
        let candidates: Vec<(String, u32)> = {
            let cache = self.cache();
            if !cache.families_listed {
                return Ok(0);
            }
            let in_use: Vec<&str> = deployed
                .iter()
                .chain(&cache.schedule_revisions)
                .map(String::as_str)
                .collect();
            // Every candidate, in order: the loop below stops after `max`
            // deregistrations, so one found gone or not ours makes room
            // for the next.
            ferry_core::tidy::to_retire(&ferry_core::tidy::Known {
                owner,
                apps,
                active: &cache.active_revisions,
                in_use: &in_use,
                not_ours: &cache.not_ours,
                keep,
                max: usize::MAX,
            })
            .into_iter()
            .map(|r| (r.family, r.revision))
            .collect()
        };
        let mut retired = 0;
        for (family, revision) in candidates {
            if retired >= max {
                break;
            }
            let name = format!("{family}:{revision}");
            let owned = match self.describe_task_definition(&name).await? {
                Some(td) => {
                    td.tags
                        .get(ferry_core::names::TAG_MANAGED_BY)
                        .map(String::as_str)
                        == Some(owner)
                }
                // Gone already (or never there): nothing to do.
                None => {
                    self.forget_revision(&family, revision);
                    continue;
                }
            };
            if !owned {
                // Not Ferry's (or another installation's): never touched.
                self.cache().not_ours.insert(name);
                continue;
            }
            let result = self
                .caller
                .call(
                    SERVICE,
                    "DeregisterTaskDefinition",
                    Bucket::TaskDefinitionWrites,
                    &family,
                    || {
                        self.client
                            .deregister_task_definition()
                            .task_definition(&name)
                            .send()
                    },
                )
                .await;
            match result {
                Ok(_) => retired += 1,
                // Deregistered already (by a previous leader whose answer
                // was lost, or by hand): ECS refuses it as a client error.
                Err(err) if err.code() == Some("ClientException") => {}
                Err(err) => return Err(err),
            }
            self.forget_revision(&family, revision);
        }
        Ok(retired)
    }

    fn forget_revision(&self, family: &str, revision: u32) {
        let mut cache = self.cache();
        if let Some(active) = cache.active_revisions.get_mut(family) {
            active.remove(&revision);
        }
        cache
            .task_definitions
            .retain(|arn, _| family_and_revision(arn) != Some((family, revision)));
    }
}
