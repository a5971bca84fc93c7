//! The ECS adapter: observes an app's services and task definitions, and
//! executes plans.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use aws_sdk_ecs::types as ecs;
use aws_sdk_ecs::Client;
use ferry_core::names;
use ferry_core::observed::EcsRolloutState;
use ferry_core::traffic::LoadBalancerLink;
use ferry_core::{
    Action, DesiredProcess, NetworkSpec, Observed, ObservedTaskDefinition, ServiceSpec,
    TaskDefinitionRef, TaskDefinitionSpec,
};

use crate::normalize;
use crate::{Error, Result};
use ferry_call::Bucket;
use ferry_call::Caller;

const SERVICE: &str = "ecs";
/// DescribeServices accepts at most this many services per call.
pub const DESCRIBE_SERVICES_BATCH: usize = 10;
/// The largest page ListServices returns.
const LIST_SERVICES_PAGE: i32 = 100;

/// ECS, for one cluster: the cluster's services and task definitions as a
/// shared cache (in the manner of kube-runtime's reflector), and the
/// executor of ECS actions.
///
/// **One writer per kind.** The cache is filled only by batched reads of
/// the whole cluster ([`Ecs::refresh_all`]: ListServices, then
/// DescribeServices 10 at a time), of known names ([`Ecs::refresh`], as
/// resyncs and rollout progress do), and by the responses of Ferry's own
/// writes. Reconciles read it ([`Ecs::observe`]) and never describe
/// services themselves, so ECS reads grow with services / 10 per resync,
/// not with apps × reconciles.
///
/// **Newest wins.** Every read and write takes a sequence number when it
/// is sent; an entry is replaced only by what a later-sent request saw,
/// so a listing sent before a write and answered after it cannot undo
/// what the write's response recorded.
///
/// **Task definitions** are immutable: each revision is described once.
/// The latest revision of every family comes from one listing per term
/// ([`Ecs::load_task_definition_families`]) and from Ferry's own
/// registrations, so a revision registered before a crash is reused
/// without a failing DescribeTaskDefinition before every registration.
pub struct Ecs {
    client: Client,
    caller: Caller,
    cluster: String,
    cache: Mutex<Cache>,
    /// The scalable targets of the cluster's services; `None` observes
    /// none and refuses autoscaling actions.
    autoscaling: Option<crate::Autoscaling>,
}

/// Events kept per cached service: status shows ten, a failure explains
/// itself with a few more.
const CACHED_EVENTS: usize = 20;

#[derive(Default)]
struct Cache {
    /// Sequence numbers handed to reads and writes when they are sent.
    sequence: u64,
    /// Live services by name, each with the sequence of what it came from.
    services: BTreeMap<String, (u64, ferry_core::ObservedService)>,
    /// Names whose absence a request established, with that request's
    /// sequence: a slower, older response must not bring them back.
    gone: HashMap<String, u64>,
    task_definitions: HashMap<String, ObservedTaskDefinition>,
    /// The ARN of the latest ACTIVE revision of each family, as far as the
    /// last family listing and Ferry's own registrations tell.
    latest_revisions: HashMap<String, String>,
    /// Whether `latest_revisions` comes from a complete listing; until it
    /// does, a family's latest revision is asked of ECS directly.
    families_listed: bool,
    /// Every ACTIVE revision of each family, by number: from the listing,
    /// plus Ferry's registrations, less its deregistrations.
    active_revisions: HashMap<String, BTreeSet<u32>>,
    /// Revisions in Ferry's families without this installation's tag:
    /// never retired, and not described again.
    not_ours: HashSet<String>,
    /// The revision each observed schedule runs, by schedule name: in use,
    /// so never retired.
    schedule_revisions: HashMap<String, String>,
    /// Families whose registration failed without a clear answer (a lost
    /// response, a timeout, a 5xx): ECS may have registered the revision
    /// anyway, so the latest revision is asked of ECS before the next
    /// registration, which then reuses it rather than registering a twin.
    uncertain_families: HashSet<String>,
    /// Services Ferry created, by when: within [`CONSISTENCY_GRACE`] a read
    /// that does not find one is not believed.
    created: HashMap<String, std::time::Instant>,
}

/// How long after Ferry created a service a read that misses it is taken
/// for ECS's eventual consistency rather than for the service's absence.
///
/// "The Amazon ECS API follows an eventual consistency model ... If you
/// run a command to modify or describe a resource immediately after
/// creating it, the resource might not be visible yet"
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html>):
/// DescribeServices reports a just-created service as a `MISSING` failure
/// and ListServices leaves it out. Believed, either would make Ferry
/// create it again, which ECS refuses ("Creation of service was not
/// idempotent."). AWS gives no bound; 30 s is well past what is seen.
pub const CONSISTENCY_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

impl Cache {
    fn next(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Records what a request sent at `seq` saw of `service`.
    fn put(&mut self, seq: u64, service: ferry_core::ObservedService) {
        if self.gone.get(&service.name).is_some_and(|g| *g > seq) {
            return;
        }
        match self.services.get(&service.name) {
            Some((held, _)) if *held > seq => {}
            _ => {
                self.gone.remove(&service.name);
                self.services.insert(service.name.clone(), (seq, service));
            }
        }
    }

    /// Records that a request sent at `seq` found no live `name`, unless
    /// Ferry created it within [`CONSISTENCY_GRACE`].
    fn remove(&mut self, seq: u64, name: &str) {
        if self.services.get(name).is_some_and(|(held, _)| *held > seq)
            || self
                .created
                .get(name)
                .is_some_and(|at| at.elapsed() < CONSISTENCY_GRACE)
        {
            return;
        }
        self.services.remove(name);
        self.gone.insert(name.to_owned(), seq);
    }
}

/// Whether a service is still changing: a rollout, tasks starting or
/// stopping, or a deletion draining. Only these are read between resyncs.
pub fn is_settling(service: &ferry_core::ObservedService) -> bool {
    service.status == ferry_core::ServiceStatus::Draining
        || service.deployments.len() != 1
        || service.running_count != service.desired_count
        || service.pending_count > 0
        || service
            .deployments
            .iter()
            .any(|d| d.rollout_state == Some(EcsRolloutState::InProgress))
}

fn built<T, E: std::fmt::Display>(result: Result<T, E>, what: &'static str) -> Result<T> {
    result.map_err(|e| Error::Build {
        what,
        message: e.to_string(),
    })
}

impl Ecs {
    pub fn new(client: Client, caller: Caller, cluster: impl Into<String>) -> Self {
        Self {
            client,
            caller,
            cluster: cluster.into(),
            cache: Mutex::new(Cache::default()),
            autoscaling: None,
        }
    }

    /// Observes and executes autoscaling through `autoscaling` too.
    pub fn with_autoscaling(mut self, autoscaling: crate::Autoscaling) -> Self {
        self.autoscaling = Some(autoscaling);
        self
    }

    /// Reads every scalable target and policy of the cluster's services
    /// into the autoscaling inventory; returns the calls made.
    pub async fn refresh_autoscaling(&self) -> Result<usize> {
        match &self.autoscaling {
            Some(autoscaling) => autoscaling.refresh().await,
            None => Ok(0),
        }
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // Every update leaves the cache whole, so a poisoned lock is usable.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Fails unless the cluster exists and is ACTIVE.
    pub async fn check_cluster(&self) -> Result<()> {
        let out = self
            .caller
            .call(
                SERVICE,
                "DescribeClusters",
                Bucket::ClusterReads,
                &self.cluster,
                || {
                    self.client
                        .describe_clusters()
                        .clusters(&self.cluster)
                        .send()
                },
            )
            .await?;
        let active = out.clusters().iter().any(|c| c.status() == Some("ACTIVE"));
        if active {
            Ok(())
        } else {
            Err(Error::Call {
                service: SERVICE,
                operation: "DescribeClusters",
                resource: self.cluster.clone(),
                code: Some("ClusterNotFoundException".into()),
                message: format!("cluster {} does not exist or is not ACTIVE", self.cluster),
            })
        }
    }

    /// Reads every live service of the cluster into the cache: one
    /// ListServices call per 100 services and one DescribeServices call per
    /// 10. Services that are gone leave the cache. Returns the number of
    /// ECS read calls made.
    pub async fn refresh_all(&self) -> Result<usize> {
        let seq = self.cache().next();
        let mut arns = Vec::new();
        let mut next_token: Option<String> = None;
        let mut calls = 0;
        loop {
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
                            .set_next_token(next_token.clone())
                            .send()
                    },
                )
                .await?;
            calls += 1;
            arns.extend(out.service_arns().iter().cloned());
            next_token = out.next_token().map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
        let (found, described) = self.describe_services(&arns).await?;
        calls += described;
        let listed: BTreeSet<String> = found.iter().map(|s| s.name.clone()).collect();
        {
            let mut cache = self.cache();
            let stale: Vec<String> = cache
                .services
                .iter()
                .filter(|(name, (held, _))| *held < seq && !listed.contains(*name))
                .map(|(name, _)| name.clone())
                .collect();
            for name in stale {
                cache.remove(seq, &name);
            }
            for service in found {
                cache.put(seq, service);
            }
            // Only now can `gone` forget: a full listing is the truth.
            cache.gone.retain(|_, g| *g > seq);
            cache
                .created
                .retain(|_, at| at.elapsed() < CONSISTENCY_GRACE);
        }
        calls += self.describe_task_definitions_in_use().await?;
        self.retain_task_definitions();
        Ok(calls)
    }

    /// Reads the named services again (10 per DescribeServices call), for
    /// a resync of the known services or a rollout's progress. Names ECS
    /// does not know, or knows as INACTIVE, leave the cache. Returns the
    /// number of ECS read calls made.
    pub async fn refresh(&self, names: &[String]) -> Result<usize> {
        let seq = self.cache().next();
        let (found, mut calls) = self.describe_services(names).await?;
        {
            let mut cache = self.cache();
            let live: BTreeSet<&str> = found.iter().map(|s| s.name.as_str()).collect();
            for name in names {
                if !live.contains(name.as_str()) {
                    cache.remove(seq, name);
                }
            }
            for service in found {
                cache.put(seq, service);
            }
        }
        calls += self.describe_task_definitions_in_use().await?;
        Ok(calls)
    }

    /// Names of the cached services tagged for this installation, by app.
    pub fn owned_services(&self, owner: &str) -> BTreeMap<String, BTreeSet<String>> {
        let cache = self.cache();
        let mut by_app: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (name, (_, service)) in &cache.services {
            if service.tags.get(names::TAG_MANAGED_BY).map(String::as_str) != Some(owner) {
                continue;
            }
            if let Some(app) = service.tags.get(names::TAG_APP) {
                by_app.entry(app.clone()).or_default().insert(name.clone());
            }
        }
        by_app
    }

    /// Names of the cached services that are still changing (see
    /// [`is_settling`]), for the progress reads between resyncs.
    pub fn settling(&self, owner: &str) -> Vec<String> {
        self.cache()
            .services
            .values()
            .filter(|(_, s)| s.tags.get(names::TAG_MANAGED_BY).map(String::as_str) == Some(owner))
            .filter(|(_, s)| is_settling(s))
            .map(|(_, s)| s.name.clone())
            .collect()
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
        let mut token: Option<String> = None;
        let mut calls = 0;
        loop {
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
            calls += 1;
            for arn in out.task_definition_arns() {
                let Some((family, revision)) = family_and_revision(arn) else {
                    continue;
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
            }
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
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
        Ok(calls)
    }

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

    /// Describes services by name or ARN, in batches of
    /// [`DESCRIBE_SERVICES_BATCH`]. Missing and INACTIVE services are left
    /// out; an INACTIVE one is gone for sure, so it loses the grace of a
    /// just-created service ([`CONSISTENCY_GRACE`]). Returns them and the
    /// number of calls made.
    async fn describe_services(
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
                            self.cache().created.remove(name);
                        }
                    }
                }
            }
        }
        Ok((found, calls))
    }

    /// Describes, once each, the revisions cached services run that the
    /// cache has not seen. Returns the number of calls made.
    async fn describe_task_definitions_in_use(&self) -> Result<usize> {
        let unseen: BTreeSet<String> = {
            let cache = self.cache();
            cache
                .services
                .values()
                .map(|(_, s)| s.task_definition_arn.clone())
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
    async fn task_definition(&self, arn: &str) -> Result<Option<ObservedTaskDefinition>> {
        if let Some(cached) = self.cache().task_definitions.get(arn).cloned() {
            return Ok(Some(cached));
        }
        let found = self.describe_task_definition(arn).await?;
        if let Some(td) = &found {
            self.remember_task_definition(td.clone(), false);
        }
        Ok(found)
    }

    /// The latest ACTIVE revision of a family: from the family listing when
    /// one was loaded (no call at all for a family that has none), else
    /// asked of ECS.
    async fn latest_revision(&self, family: &str) -> Result<Option<ObservedTaskDefinition>> {
        let (listed, arn) = {
            let cache = self.cache();
            (
                cache.families_listed,
                cache.latest_revisions.get(family).cloned(),
            )
        };
        if self.cache().uncertain_families.contains(family) {
            let latest = self.describe_task_definition(family).await?;
            self.cache().uncertain_families.remove(family);
            if let Some(td) = &latest {
                self.remember_task_definition(td.clone(), true);
            }
            return Ok(latest);
        }
        match (listed, arn) {
            (_, Some(arn)) => self.task_definition(&arn).await,
            (true, None) => Ok(None),
            (false, None) => self.describe_task_definition(family).await,
        }
    }

    async fn describe_task_definition(&self, name: &str) -> Result<Option<ObservedTaskDefinition>> {
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
    fn remember_task_definition(&self, td: ObservedTaskDefinition, registered: bool) {
        let mut cache = self.cache();
        if registered {
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
        let candidates: Vec<(String, u32)> = {
            let cache = self.cache();
            if !cache.families_listed {
                return Ok(0);
            }
            let mut in_use: HashMap<&str, BTreeSet<u32>> = HashMap::new();
            for (_, service) in cache.services.values() {
                let arns = std::iter::once(service.task_definition_arn.as_str()).chain(
                    service
                        .deployments
                        .iter()
                        .map(|d| d.task_definition_arn.as_str()),
                );
                for (family, revision) in arns.filter_map(family_and_revision) {
                    in_use.entry(family).or_default().insert(revision);
                }
            }
            for arn in cache.schedule_revisions.values() {
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

    /// Drops cached revisions that no cached service runs and that are not
    /// the latest of their family, to bound the cache by what is in use.
    fn retain_task_definitions(&self) {
        let mut cache = self.cache();
        let mut keep: BTreeSet<String> = cache
            .services
            .values()
            .map(|(_, s)| s.task_definition_arn.clone())
            .collect();
        keep.extend(cache.latest_revisions.values().cloned());
        keep.extend(cache.schedule_revisions.values().cloned());
        cache.task_definitions.retain(|arn, _| keep.contains(arn));
    }

    /// Records the service a write's response returned.
    fn record(
        &self,
        seq: u64,
        service: Option<&ecs::Service>,
        tags: Option<&BTreeMap<String, String>>,
    ) {
        let Some(service) = service else {
            return;
        };
        let mut cache = self.cache();
        match cacheable(service) {
            Some(mut observed) => {
                // UpdateService answers without tags; they did not change.
                if observed.tags.is_empty() {
                    observed.tags = tags.cloned().unwrap_or_else(|| {
                        cache
                            .services
                            .get(&observed.name)
                            .map(|(_, s)| s.tags.clone())
                            .unwrap_or_default()
                    });
                }
                cache.put(seq, observed);
            }
            None => {
                if let Some(name) = service.service_name() {
                    cache.remove(seq, name);
                }
            }
        }
    }

    /// Runs a plan's actions in order. Stops at the first failure and says
    /// how far it got; the caller reconciles again later, and the planner
    /// then plans what is left.
    /// Executes one ECS action of a plan. `registered` carries the
    /// revisions registered earlier in the same plan; `target_group` turns
    /// a target group name into its ARN. Traffic actions are not ECS's:
    /// they are refused.
    pub async fn execute(
        &self,
        action: &Action,
        registered: &mut BTreeMap<String, String>,
        target_group: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<()> {
        match action {
            Action::Autoscaling(change) => {
                let Some(autoscaling) = &self.autoscaling else {
                    return Err(Error::Build {
                        what: "autoscaling request",
                        message: format!("Application Auto Scaling is not configured: {change}"),
                    });
                };
                autoscaling.execute(change, target_group).await?;
            }
            Action::Traffic(_)
            | Action::CreateSchedule { .. }
            | Action::UpdateSchedule { .. }
            | Action::DeleteSchedule { .. } => {
                return Err(Error::Build {
                    what: "ECS request",
                    message: format!("not an ECS action: {action}"),
                })
            }
            Action::RegisterTaskDefinition { spec, tags } => {
                let td = match self.register(spec, tags).await {
                    Ok(td) => td,
                    Err(err) => {
                        self.cache().uncertain_families.insert(spec.family.clone());
                        return Err(err);
                    }
                };
                registered.insert(spec.family.clone(), td.arn.clone());
                self.remember_task_definition(td, true);
                ferry_call::failpoint::hit("ecs.registered").await;
            }
            Action::CreateService {
                service,
                task_definition,
            } => {
                let arn = resolve(task_definition, registered)?;
                let links = service
                    .load_balancers
                    .iter()
                    .map(|l| load_balancer(l, target_group))
                    .collect::<Result<Vec<_>>>()?;
                self.create_service(service, &arn, links).await?;
            }
            Action::UpdateService {
                name,
                desired_count,
                task_definition,
                network,
                load_balancers,
                health_check_grace_period,
                deployment,
                force_new_deployment,
            } => {
                let arn = task_definition
                    .as_ref()
                    .map(|r| resolve(r, registered))
                    .transpose()?;
                // An empty list detaches the service from every group.
                let links = load_balancers
                    .as_ref()
                    .map(|links| {
                        links
                            .iter()
                            .map(|l| load_balancer(l, target_group))
                            .collect::<Result<Vec<_>>>()
                    })
                    .transpose()?;
                let request = self
                    .client
                    .update_service()
                    .cluster(&self.cluster)
                    .service(name)
                    .set_desired_count(desired_count.map(count))
                    .set_task_definition(arn)
                    .set_network_configuration(
                        network.as_ref().map(network_configuration).transpose()?,
                    )
                    .set_load_balancers(links)
                    .set_deployment_configuration(deployment.as_ref().map(deployment_configuration))
                    .set_health_check_grace_period_seconds(health_check_grace_period.map(count))
                    .force_new_deployment(*force_new_deployment);
                let seq = self.cache().next();
                let out = self
                    .caller
                    .call(
                        SERVICE,
                        "UpdateService",
                        Bucket::ServiceWrites,
                        name,
                        || request.clone().send(),
                    )
                    .await?;
                self.record(seq, out.service(), None);
            }
            Action::DeleteService { name } => {
                let seq = self.cache().next();
                let out = self
                    .caller
                    .call(
                        SERVICE,
                        "DeleteService",
                        Bucket::ServiceWrites,
                        name,
                        || {
                            self.client
                                .delete_service()
                                .cluster(&self.cluster)
                                .service(name)
                                .send()
                        },
                    )
                    .await?;
                // DRAINING until its tasks stop; then the next read drops it.
                self.record(seq, out.service(), None);
            }
        }
        Ok(())
    }

    async fn register(
        &self,
        spec: &TaskDefinitionSpec,
        tags: &BTreeMap<String, String>,
    ) -> Result<ObservedTaskDefinition> {
        let mut container = ecs::ContainerDefinition::builder()
            .name(&spec.container_name)
            .image(&spec.image)
            .essential(true)
            .set_command((!spec.command.is_empty()).then(|| spec.command.clone()))
            .set_environment(Some(
                spec.environment
                    .iter()
                    .map(|(k, v)| ecs::KeyValuePair::builder().name(k).value(v).build())
                    .collect(),
            ));
        for (name, value_from) in &spec.secrets {
            container = container.secrets(built(
                ecs::Secret::builder()
                    .name(name)
                    .value_from(value_from)
                    .build(),
                "ECS secret",
            )?);
        }
        if let Some(port) = spec.container_port {
            container = container.port_mappings(
                ecs::PortMapping::builder()
                    .container_port(i32::from(port))
                    .protocol(ecs::TransportProtocol::Tcp)
                    .build(),
            );
        }
        if let Some(seconds) = spec.stop_timeout {
            container = container.stop_timeout(count(seconds));
        }
        if !spec.log_options.is_empty() {
            container = container.log_configuration(built(
                ecs::LogConfiguration::builder()
                    .log_driver(ecs::LogDriver::Awslogs)
                    .set_options(Some(spec.log_options.clone().into_iter().collect()))
                    .build(),
                "ECS log configuration",
            )?);
        }
        let request = self
            .client
            .register_task_definition()
            .family(&spec.family)
            .container_definitions(container.build())
            .requires_compatibilities(ecs::Compatibility::Fargate)
            .network_mode(ecs::NetworkMode::Awsvpc)
            .cpu(spec.cpu.to_string())
            .memory(spec.memory.to_string())
            .set_execution_role_arn(spec.execution_role_arn.clone())
            .set_tags(Some(ecs_tags(tags)));
        let out = self
            .caller
            .call(
                SERVICE,
                "RegisterTaskDefinition",
                Bucket::TaskDefinitionWrites,
                &spec.family,
                || request.clone().send(),
            )
            .await?;
        let td = out.task_definition().ok_or(Error::Incomplete {
            service: SERVICE,
            operation: "RegisterTaskDefinition",
            resource: spec.family.clone(),
            what: "taskDefinition",
        })?;
        let arn = td.task_definition_arn().ok_or(Error::Incomplete {
            service: SERVICE,
            operation: "RegisterTaskDefinition",
            resource: spec.family.clone(),
            what: "taskDefinitionArn",
        })?;
        Ok(ObservedTaskDefinition {
            arn: arn.to_owned(),
            spec: normalize::task_definition(td),
            tags: tags.clone(),
        })
    }

    async fn create_service(
        &self,
        service: &ServiceSpec,
        task_definition_arn: &str,
        links: Vec<ecs::LoadBalancer>,
    ) -> Result<()> {
        let request = self
            .client
            .create_service()
            .cluster(&self.cluster)
            .service_name(&service.name)
            .task_definition(task_definition_arn)
            .desired_count(count(service.desired_count))
            .launch_type(ecs::LaunchType::Fargate)
            .network_configuration(network_configuration(&service.network)?)
            .deployment_configuration(deployment_configuration(&service.deployment))
            .propagate_tags(ecs::PropagateTags::Service)
            .enable_ecs_managed_tags(true)
            .set_health_check_grace_period_seconds(
                (!links.is_empty())
                    .then_some(service.health_check_grace_period)
                    .flatten()
                    .map(count),
            )
            .set_load_balancers((!links.is_empty()).then_some(links))
            .set_tags(Some(ecs_tags(&service.tags)))
            .client_token(ferry_call::client_token());
        let seq = self.cache().next();
        let out = match self
            .caller
            .call(
                SERVICE,
                "CreateService",
                Bucket::ServiceWrites,
                &service.name,
                || request.clone().send(),
            )
            .await
        {
            Ok(out) => out,
            Err(err) if already_exists(&err) => {
                // The name is ACTIVE though no read showed it: created by an
                // earlier term (or another hand) moments ago, not visible
                // yet. Describe it; until ECS shows it, the reconcile fails
                // and is retried, and nothing is created twice.
                let (found, _) = self
                    .describe_services(std::slice::from_ref(&service.name))
                    .await?;
                let Some(existing) = found.into_iter().next() else {
                    return Err(err);
                };
                self.cache().put(seq, existing);
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        self.cache()
            .created
            .insert(service.name.clone(), std::time::Instant::now());
        self.record(seq, out.service(), Some(&service.tags));
        Ok(())
    }
}

/// Whether CreateService was refused because an ACTIVE service has the
/// name ("Creation of service was not idempotent.", as ECS answers a
/// second CreateService of a live name without the first one's token).
fn already_exists(err: &Error) -> bool {
    matches!(err, Error::Call { code: Some(code), message, .. }
        if code == "InvalidParameterException" && message.contains("not idempotent"))
}

/// Who started a one-off task: `ferry run` sets it, `ferry ps` shows it.
pub const STARTED_BY_RUN: &str = "ferry-run";

/// A one-off task to start.
#[derive(Debug, Clone)]
pub struct OneOff {
    pub task_definition: String,
    pub container: String,
    /// Empty: the task definition's command.
    pub command: Vec<String>,
    pub network: NetworkSpec,
    pub tags: BTreeMap<String, String>,
}

/// A task as `ferry ps` and `ferry run` see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    pub arn: String,
    pub task_definition: String,
    pub last_status: String,
    pub desired_status: String,
    pub started_by: Option<String>,
    /// The ECS task group: `ferry:schedule` for a scheduled run
    /// (`ferry_core::schedule::RUN_GROUP`), `family:...` for `ferry run`.
    pub group: Option<String>,
    /// RFC 3339, once started.
    pub started_at: Option<String>,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    /// The first container's exit code, once it exited.
    pub exit_code: Option<i32>,
    pub tags: BTreeMap<String, String>,
}

impl Ecs {
    /// Starts a one-off Fargate task. Returns its ARN.
    pub async fn run_task(&self, task: &OneOff) -> Result<String> {
        let mut overrides = ecs::ContainerOverride::builder().name(&task.container);
        if !task.command.is_empty() {
            overrides = overrides.set_command(Some(task.command.clone()));
        }
        let request = self
            .client
            .run_task()
            .cluster(&self.cluster)
            .task_definition(&task.task_definition)
            .launch_type(ecs::LaunchType::Fargate)
            .network_configuration(network_configuration(&task.network)?)
            .overrides(
                ecs::TaskOverride::builder()
                    .container_overrides(overrides.build())
                    .build(),
            )
            .started_by(STARTED_BY_RUN)
            .set_tags(Some(ecs_tags(&task.tags)))
            .client_token(ferry_call::client_token());
        let out = self
            .caller
            .call(
                SERVICE,
                "RunTask",
                Bucket::TaskWrites,
                &task.task_definition,
                || request.clone().send(),
            )
            .await?;
        if let Some(failure) = out.failures().first() {
            return Err(Error::Call {
                service: SERVICE,
                operation: "RunTask",
                resource: task.task_definition.clone(),
                code: failure.reason().map(str::to_owned),
                message: format!(
                    "{}: {}",
                    failure.reason().unwrap_or("failed"),
                    failure.detail().unwrap_or_default()
                ),
            });
        }
        out.tasks()
            .first()
            .and_then(|t| t.task_arn())
            .map(str::to_owned)
            .ok_or_else(|| Error::Incomplete {
                service: SERVICE,
                operation: "RunTask",
                resource: task.task_definition.clone(),
                what: "tasks[0].taskArn",
            })
    }

    /// Stops a task (ECS sends its containers SIGTERM, then SIGKILL after
    /// their stop timeout). `reason` is what DescribeTasks shows as its
    /// `stoppedReason`.
    pub async fn stop_task(&self, arn: &str, reason: &str) -> Result<()> {
        self.caller
            .call(SERVICE, "StopTask", Bucket::TaskWrites, arn, || {
                self.client
                    .stop_task()
                    .cluster(&self.cluster)
                    .task(arn)
                    .reason(reason)
                    .send()
            })
            .await?;
        Ok(())
    }

    /// Tasks of a task-definition family that are running or about to.
    pub async fn list_tasks(&self, family: &str) -> Result<Vec<String>> {
        let (arns, _) = list_family_tasks(
            &self.client,
            &self.caller,
            &self.cluster,
            family,
            ecs::DesiredStatus::Running,
        )
        .await?;
        Ok(arns)
    }

    /// Describes tasks, 100 per call, with their tags.
    pub async fn describe_tasks(&self, arns: &[String]) -> Result<Vec<TaskInfo>> {
        let (tasks, _) =
            describe_cluster_tasks(&self.client, &self.caller, &self.cluster, arns).await?;
        Ok(tasks)
    }

    /// The task definition a service runs now.
    pub async fn service_task_definition(&self, service: &str) -> Result<Option<String>> {
        let out = self
            .caller
            .call(
                SERVICE,
                "DescribeServices",
                Bucket::ServiceReads,
                service,
                || {
                    self.client
                        .describe_services()
                        .cluster(&self.cluster)
                        .services(service)
                        .send()
                },
            )
            .await?;
        Ok(out
            .services()
            .iter()
            .find(|s| s.status() == Some("ACTIVE"))
            .and_then(|s| s.task_definition())
            .map(str::to_owned))
    }
}

/// A service as the cache keeps it: `None` for INACTIVE ones, and with
/// only the newest events.
/// The tasks of `family` in `cluster` whose desired status is `status`,
/// every page. Returns the ARNs and the calls made.
pub(crate) async fn list_family_tasks(
    client: &Client,
    caller: &Caller,
    cluster: &str,
    family: &str,
    status: ecs::DesiredStatus,
) -> Result<(Vec<String>, usize)> {
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    let mut calls = 0;
    loop {
        let out = caller
            .call(SERVICE, "ListTasks", Bucket::TaskReads, family, || {
                client
                    .list_tasks()
                    .cluster(cluster)
                    .family(family)
                    .desired_status(status.clone())
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        calls += 1;
        arns.extend(out.task_arns().iter().cloned());
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok((arns, calls))
}

/// DescribeTasks takes at most 100 tasks per call.
pub const DESCRIBE_TASKS_BATCH: usize = 100;

/// Describes `arns` in `cluster`, [`DESCRIBE_TASKS_BATCH`] per call, with
/// their tags. Returns the tasks and the calls made.
pub(crate) async fn describe_cluster_tasks(
    client: &Client,
    caller: &Caller,
    cluster: &str,
    arns: &[String],
) -> Result<(Vec<TaskInfo>, usize)> {
    let mut tasks = Vec::new();
    let mut calls = 0;
    for chunk in arns.chunks(DESCRIBE_TASKS_BATCH) {
        let out = caller
            .call(
                SERVICE,
                "DescribeTasks",
                Bucket::TaskReads,
                &chunk[0],
                || {
                    client
                        .describe_tasks()
                        .cluster(cluster)
                        .set_tasks(Some(chunk.to_vec()))
                        .include(ecs::TaskField::Tags)
                        .send()
                },
            )
            .await?;
        calls += 1;
        for task in out.tasks() {
            let time = |t: Option<&aws_smithy_types::DateTime>| {
                t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
            };
            tasks.push(TaskInfo {
                arn: task.task_arn().unwrap_or_default().to_owned(),
                task_definition: task.task_definition_arn().unwrap_or_default().to_owned(),
                last_status: task.last_status().unwrap_or_default().to_owned(),
                desired_status: task.desired_status().unwrap_or_default().to_owned(),
                started_by: task.started_by().map(str::to_owned),
                group: task.group().map(str::to_owned),
                started_at: time(task.started_at()).or_else(|| time(task.created_at())),
                stop_code: task.stop_code().map(|c| c.as_str().to_owned()),
                stopped_reason: task.stopped_reason().map(str::to_owned),
                exit_code: task.containers().first().and_then(|c| c.exit_code()),
                tags: task
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                    .collect(),
            });
        }
    }
    Ok((tasks, calls))
}

fn cacheable(service: &ecs::Service) -> Option<ferry_core::ObservedService> {
    let mut observed = normalize::service(service)?;
    observed.events.truncate(CACHED_EVENTS);
    Some(observed)
}

/// `family` and `revision` of a task definition ARN
/// (`arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION`).
fn family_and_revision(arn: &str) -> Option<(&str, u32)> {
    let name = arn.rsplit_once('/').map_or(arn, |(_, name)| name);
    let (family, revision) = name.rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

fn resolve(reference: &TaskDefinitionRef, registered: &BTreeMap<String, String>) -> Result<String> {
    match reference {
        TaskDefinitionRef::Existing(arn) => Ok(arn.clone()),
        TaskDefinitionRef::Registered(family) => {
            registered.get(family).cloned().ok_or(Error::Build {
                what: "service request",
                message: format!("plan refers to a revision of {family} it did not register"),
            })
        }
    }
}

fn load_balancer(
    link: &LoadBalancerLink,
    target_group: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<ecs::LoadBalancer> {
    let arn = target_group(&link.target_group).ok_or_else(|| Error::Build {
        what: "service request",
        message: format!(
            "target group {} is not known; it is created before the service",
            link.target_group
        ),
    })?;
    Ok(ecs::LoadBalancer::builder()
        .target_group_arn(arn)
        .container_name(&link.container_name)
        .container_port(i32::from(link.container_port))
        .build())
}

fn deployment_configuration(spec: &ferry_core::DeploymentSpec) -> ecs::DeploymentConfiguration {
    ecs::DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            ecs::DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(spec.rollback)
                .build(),
        )
        .minimum_healthy_percent(count(spec.min_healthy_percent))
        .maximum_percent(count(spec.max_percent))
        .build()
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn ecs_tags(tags: &BTreeMap<String, String>) -> Vec<ecs::Tag> {
    tags.iter()
        .map(|(k, v)| ecs::Tag::builder().key(k).value(v).build())
        .collect()
}

fn network_configuration(network: &NetworkSpec) -> Result<ecs::NetworkConfiguration> {
    let vpc = ecs::AwsVpcConfiguration::builder()
        .set_subnets(Some(network.subnets.clone()))
        .set_security_groups(Some(network.security_groups.clone()))
        .assign_public_ip(if network.assign_public_ip {
            ecs::AssignPublicIp::Enabled
        } else {
            ecs::AssignPublicIp::Disabled
        })
        .build();
    Ok(ecs::NetworkConfiguration::builder()
        .awsvpc_configuration(built(vpc, "awsvpc configuration")?)
        .build())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn service(name: &str) -> ferry_core::ObservedService {
        ferry_core::ObservedService {
            name: name.into(),
            arn: format!("arn:aws:ecs:us-east-1:1:service/c/{name}"),
            status: ferry_core::ServiceStatus::Active,
            tags: BTreeMap::new(),
            desired_count: 1,
            running_count: 0,
            pending_count: 1,
            task_definition_arn: String::new(),
            task_definition: None,
            network: None,
            load_balancers: Vec::new(),
            health_check_grace_period: None,
            deployment: None,
            deployments: Vec::new(),
            events: Vec::new(),
        }
    }

    #[test]
    fn a_service_ferry_just_created_outlives_reads_that_miss_it() {
        let mut cache = Cache::default();
        let created = cache.next();
        cache.put(created, service("shop_web"));
        cache.created.insert("shop_web".into(), Instant::now());
        // A listing sent after the create that does not show it yet.
        let read = cache.next();
        cache.remove(read, "shop_web");
        assert!(
            cache.services.contains_key("shop_web"),
            "kept within the grace"
        );
        // Once the grace has passed, a miss is believed.
        let long_ago = Instant::now()
            .checked_sub(CONSISTENCY_GRACE + Duration::from_secs(1))
            .expect("the clock is past the grace");
        cache.created.insert("shop_web".into(), long_ago);
        let later = cache.next();
        cache.remove(later, "shop_web");
        assert!(!cache.services.contains_key("shop_web"));
        assert_eq!(cache.gone.get("shop_web"), Some(&later));
    }

    #[test]
    fn only_a_refusal_of_a_live_name_is_taken_for_an_existing_service() {
        let refusal = |code: &str, message: &str| Error::Call {
            service: SERVICE,
            operation: "CreateService",
            resource: "shop_web".into(),
            code: Some(code.into()),
            message: message.into(),
        };
        assert!(already_exists(&refusal(
            "InvalidParameterException",
            "InvalidParameterException: Creation of service was not idempotent."
        )));
        assert!(!already_exists(&refusal(
            "InvalidParameterException",
            "InvalidParameterException: subnets can have at most 16 items."
        )));
        assert!(!already_exists(&refusal(
            "ClientException",
            "not idempotent"
        )));
    }
}
