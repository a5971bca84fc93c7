//! The reads that keep the ECS cache current: full listings of the
//! cluster, named reads of services, and task definitions, each described
//! once (they are immutable).

use super::*;

impl Ecs {
    /// Reads every live service of the cluster into the cache: one
    /// ListServices call per 100 services and one DescribeServices call per
    /// 10. Services that are gone leave the cache. Returns the number of
    /// ECS read calls made.
    pub async fn refresh_all(&self) -> Result<usize> {
        let seq = self.services.begin();
        let (arns, mut calls) = paginate(|token: Option<String>| async move {
            let out = self
                .caller
                .call(
                    SERVICE,
                    "ListServices",
                    Bucket::ServiceReads,
                    &self.cluster,
                    || {
                        self.client
                            .list_services()
                            .cluster(&self.cluster)
                            .max_results(LIST_SERVICES_PAGE)
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await?;
            Ok(Page::new(
                out.service_arns().to_vec(),
                next_token(out.next_token()),
            ))
        })
        .await?;
        let (found, described) = self.describe_services(&arns).await?;
        calls += described;
        self.services.apply_listing(seq, found);
        calls += self.describe_task_definitions_in_use().await?;
        self.retain_task_definitions();
        Ok(calls)
    }

    /// Reads the named services again (10 per DescribeServices call), for
    /// a resync of the known services or a rollout's progress. Names ECS
    /// does not know, or knows as INACTIVE, leave the cache. Returns the
    /// number of ECS read calls made.
    pub async fn refresh(&self, names: &[String]) -> Result<usize> {
        let seq = self.services.begin();
        let (found, mut calls) = self.describe_services(names).await?;
        let live: BTreeSet<&str> = found.iter().map(|s| s.name.as_str()).collect();
        for name in names {
            if !live.contains(name.as_str()) {
                self.services.remove(seq, name);
            }
        }
        for service in found {
            self.services.put(seq, service);
        }
        calls += self.describe_task_definitions_in_use().await?;
        Ok(calls)
    }

    /// Names of the cached services tagged for this installation, by app.
    pub fn owned_services(&self, owner: &str) -> BTreeMap<String, BTreeSet<String>> {
        self.services.read(|services| {
            let mut by_app: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (name, service) in services.iter() {
                if service.tags.get(names::TAG_MANAGED_BY).map(String::as_str) != Some(owner) {
                    continue;
                }
                if let Some(app) = service.tags.get(names::TAG_APP) {
                    by_app.entry(app.clone()).or_default().insert(name.clone());
                }
            }
            by_app
        })
    }

    /// Names of the cached services of the installation `owner` that are
    /// still changing (see [`is_settling`]; with a strategy other than
    /// rolling, also while the current service deployment is not known to
    /// be final) or were within
    /// [`WATCH_AFTER_SETTLED`], for the progress reads between resyncs.
    pub fn settling(&self, owner: &str) -> Vec<String> {
        self.settling_at(owner, std::time::Instant::now())
    }

    pub(crate) fn settling_at(&self, owner: &str, now: std::time::Instant) -> Vec<String> {
        let (now_settling, owned): (Vec<String>, HashSet<String>) =
            self.services.read(|services| {
                let owned: Vec<&ferry_core::ObservedService> = services
                    .values()
                    .filter(|s| {
                        s.tags.get(names::TAG_MANAGED_BY).map(String::as_str) == Some(owner)
                    })
                    .collect();
                (
                    owned
                        .iter()
                        .filter(|s| {
                            is_settling(s)
                                || super::deployments::settles_by_deployment(&self.deployments, s)
                        })
                        .map(|s| s.name.clone())
                        .collect(),
                    owned.iter().map(|s| s.name.clone()).collect(),
                )
            });
        let mut last = self
            .last_settling
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for name in &now_settling {
            last.insert(name.clone(), now);
        }
        last.retain(|name, at| {
            owned.contains(name) && now.saturating_duration_since(*at) < WATCH_AFTER_SETTLED
        });
        let mut names: Vec<String> = last.keys().cloned().collect();
        names.sort();
        names
    }

    /// Lists the ACTIVE task definitions of the account (100 per call) and
    /// remembers the latest revision of each family of the installation
    /// `owner` (those starting with its
    /// [`family_prefix`](ferry_core::names::family_prefix)). Called when a
    /// term starts; afterwards Ferry's own registrations keep it current.
    /// Returns the number of calls made.
    ///
    /// The listing cannot be narrowed on AWS's side: ListTaskDefinitions'
    /// `familyPrefix` is "the full family name" (API_ListTaskDefinitions),
    /// one family, not a prefix.
    pub async fn load_task_definition_families(&self, owner: &str) -> Result<usize> {
        let mut latest: HashMap<String, (u32, String)> = HashMap::new();
        let mut active: HashMap<String, BTreeSet<u32>> = HashMap::new();
        let calls = for_each_page(
            |token: Option<String>| async move {
                let out = self
                    .caller
                    .call(
                        SERVICE,
                        "ListTaskDefinitions",
                        Bucket::TaskDefinitionReads,
                        &self.cluster,
                        || {
                            self.client
                                .list_task_definitions()
                                .status(ecs::TaskDefinitionStatus::Active)
                                .max_results(100)
                                .set_next_token(token.clone())
                                .send()
                        },
                    )
                    .await?;
                Ok(Page::new(
                    out.task_definition_arns().to_vec(),
                    next_token(out.next_token()),
                ))
            },
            |arn: String| {
                let Some((family, revision)) = family_and_revision(&arn) else {
                    return;
                };
                if ferry_core::names::app_of_family(owner, family).is_some() {
                    active
                        .entry(family.to_owned())
                        .or_default()
                        .insert(revision);
                    let newer = latest.get(family).is_none_or(|(r, _)| revision > *r);
                    if newer {
                        latest.insert(family.to_owned(), (revision, arn.clone()));
                    }
                }
            },
        )
        .await?;
        let mut cache = self.cache();
        for (family, revisions) in active {
            // Registrations since the listing was sent stay known.
            cache
                .active_revisions
                .entry(family)
                .or_default()
                .extend(revisions);
        }
        for (family, (revision, arn)) in latest {
            // A registration since the listing was sent may be newer.
            let known = cache
                .latest_revisions
                .get(&family)
                .and_then(|a| family_and_revision(a))
                .map(|(_, r)| r);
            if known.is_none_or(|r| r < revision) {
                cache.latest_revisions.insert(family, arn);
            }
        }
        cache.families_listed = true;
        // The listing tells of every family: what a describe found empty
        // before it is no longer needed.
        cache.empty_families.clear();
        Ok(calls)
    }

    /// Describes services by name or ARN, in batches of
    /// [`DESCRIBE_SERVICES_BATCH`]. Missing and INACTIVE services are left
    /// out; an INACTIVE one is gone for sure, so it loses the grace of a
    /// just-created service ([`CONSISTENCY_GRACE`]). Returns them and the
    /// number of calls made.
    pub(super) async fn describe_services(
        &self,
        services: &[String],
    ) -> Result<(Vec<ferry_core::ObservedService>, usize)> {
        let mut found = Vec::new();
        let mut calls = 0;
        for batch in services.chunks(DESCRIBE_SERVICES_BATCH) {
            let out = self
                .caller
                .call(
                    SERVICE,
                    "DescribeServices",
                    Bucket::ServiceReads,
                    &batch.join(","),
                    || {
                        self.client
                            .describe_services()
                            .cluster(&self.cluster)
                            .set_services(Some(batch.to_vec()))
                            .include(ecs::ServiceField::Tags)
                            .send()
                    },
                )
                .await?;
            calls += 1;
            for service in out.services() {
                match cacheable(service) {
                    Some(observed) => found.push(observed),
                    // Described, and INACTIVE: ECS's answer that it is gone,
                    // not a read that missed it (no grace applies).
                    None => {
                        if let Some(name) = service.service_name() {
                            self.services.inactive(name);
                        }
                    }
                }
            }
        }
        Ok((found, calls))
    }

    /// Describes, once each, the revisions cached services run that the
    /// cache has not seen. Returns the number of calls made.
    pub(super) async fn describe_task_definitions_in_use(&self) -> Result<usize> {
        let running = self.running_revisions();
        let unseen: BTreeSet<String> = {
            let cache = self.cache();
            running
                .into_iter()
                .filter(|arn| !arn.is_empty() && !cache.task_definitions.contains_key(arn))
                .collect()
        };
        let mut calls = 0;
        for arn in unseen {
            calls += 1;
            self.task_definition(&arn).await?;
        }
        Ok(calls)
    }

    /// A revision by ARN, from the cache or ECS. `None` if ECS no longer
    /// has it.
    pub(super) async fn task_definition(
        &self,
        arn: &str,
    ) -> Result<Option<ObservedTaskDefinition>> {
        if let Some(cached) = self.cache().task_definitions.get(arn).cloned() {
            return Ok(Some(cached));
        }
        let found = self.describe_task_definition(arn).await?;
        if let Some(td) = &found {
            self.remember_task_definition(td.clone(), false);
        }
        Ok(found)
    }

    pub(super) async fn describe_task_definition(
        &self,
        name: &str,
    ) -> Result<Option<ObservedTaskDefinition>> {
        let result = self
            .caller
            .call(
                SERVICE,
                "DescribeTaskDefinition",
                Bucket::TaskDefinitionReads,
                name,
                || {
                    self.client
                        .describe_task_definition()
                        .task_definition(name)
                        .include(ecs::TaskDefinitionField::Tags)
                        .send()
                },
            )
            .await;
        let out = match result {
            Ok(out) => out,
            // ECS answers an unknown family or revision with a
            // ClientException ("Unable to describe task definition").
            Err(err) if err.code() == Some("ClientException") => return Ok(None),
            Err(err) => return Err(err),
        };
        let Some(td) = out.task_definition() else {
            return Ok(None);
        };
        if td.status() != Some(&ecs::TaskDefinitionStatus::Active) && !name.contains(':') {
            return Ok(None);
        }
        Ok(Some(ObservedTaskDefinition {
            arn: td.task_definition_arn().unwrap_or(name).to_owned(),
            spec: normalize::task_definition(td),
            tags: normalize::tags(out.tags()),
        }))
    }

    /// Caches a revision; `registered` ones are the newest of their family.
    pub(super) fn remember_task_definition(&self, td: ObservedTaskDefinition, registered: bool) {
        let mut cache = self.cache();
        if registered {
            cache.empty_families.remove(&td.spec.family);
            cache
                .latest_revisions
                .insert(td.spec.family.clone(), td.arn.clone());
            if let Some((family, revision)) = family_and_revision(&td.arn) {
                cache
                    .active_revisions
                    .entry(family.to_owned())
                    .or_default()
                    .insert(revision);
            }
        }
        cache.task_definitions.insert(td.arn.clone(), td);
    }

    /// Drops cached revisions that no cached service runs and that are not
    /// the latest of their family, to bound the cache by what is in use.
    pub(super) fn retain_task_definitions(&self) {
        let mut keep = self.running_revisions();
        let mut cache = self.cache();
        keep.extend(cache.latest_revisions.values().cloned());
        keep.extend(cache.schedule_revisions.iter().cloned());
        cache.task_definitions.retain(|arn, _| keep.contains(arn));
    }

    /// Records the revisions the installation's schedules run (from the
    /// scheduler's cache, after each of its refreshes): hygiene never
    /// retires them, and the cache keeps them described.
    pub fn note_scheduled_revisions(&self, arns: impl IntoIterator<Item = String>) {
        self.cache().schedule_revisions = arns.into_iter().collect();
    }

    /// The revisions the cached services run now.
    fn running_revisions(&self) -> BTreeSet<String> {
        self.services.read(|services| {
            services
                .values()
                .map(|s| s.task_definition_arn.clone())
                .collect()
        })
    }
}
