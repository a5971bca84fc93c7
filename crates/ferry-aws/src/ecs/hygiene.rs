//! Task-definition hygiene: deregisters the revisions Ferry registered and
//! no longer uses.

use super::*;

impl Ecs {
    /// Deregisters revisions Ferry registered and no longer uses, oldest
    /// first and at most `max`: in the families of `apps` (`{app}_*`),
    /// those [`ferry_core::tidy::revisions_to_retire`] picks (beyond the
    /// newest `keep`, run by no deployment of any cached service), and only
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
            let mut in_use: HashMap<&str, BTreeSet<u32>> = HashMap::new();
            for arn in deployed.iter().chain(&cache.schedule_revisions) {
                if let Some((family, revision)) = family_and_revision(arn) {
                    in_use.entry(family).or_default().insert(revision);
                }
            }
            let none = BTreeSet::new();
            cache
                .active_revisions
                .iter()
                .filter(|(family, _)| {
                    ferry_core::names::app_of_family(owner, family)
                        .is_some_and(|app| apps.contains(app))
                })
                .flat_map(|(family, active)| {
                    let used = in_use.get(family.as_str()).unwrap_or(&none);
                    ferry_core::tidy::revisions_to_retire(active, used, keep.max(1))
                        .into_iter()
                        .map(|revision| (family.clone(), revision))
                })
                .filter(|(family, revision)| {
                    !cache.not_ours.contains(&format!("{family}:{revision}"))
                })
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
