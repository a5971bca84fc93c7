//! ECS, for one cluster: the cluster's services and task definitions as a
//! shared cache, the reads that keep it current, the snapshot reconciles
//! take of it, the executor of ECS actions, task-definition hygiene, and
//! the one-off tasks of the CLI, each in a module of its own.

mod deployments;
mod exec;
mod execute;
mod hygiene;
mod observe;
mod reads;
mod requests;
mod services;
mod stopped;
mod strategy;
mod task_definition;
mod tasks;

pub use deployments::DESCRIBE_SERVICE_DEPLOYMENTS_BATCH;
pub use exec::{ExecContainer, ExecSession, ExecTask, EXECUTE_COMMAND_AGENT};
pub use observe::Missing;
pub use stopped::{StopReadCalls, FORGET_AFTER as STOPPED_TASKS_FORGET_AFTER};

pub(crate) use tasks::{describe_cluster_tasks, list_family_tasks};
pub use tasks::{OneOff, TaskInfo, DESCRIBE_TASKS_BATCH, STARTED_BY_RUN};

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use aws_sdk_ecs::types as ecs;
use aws_sdk_ecs::Client;
use ferry_core::names;
use ferry_core::observed::EcsRolloutState;
use ferry_core::traffic::LoadBalancerLink;
use ferry_core::{
    Action, Desired, NetworkSpec, Observed, ObservedTaskDefinition, ServiceSpec, ServiceUpdate,
    TaskDefinitionRef, TaskDefinitionSpec,
};

use crate::normalize;
use crate::paginate::{for_each_page, next_token, paginate, Page};
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
/// writes. Reconciles read it ([`Ecs::snapshot`]) and never describe
/// services themselves, so ECS reads grow with services / 10 per resync,
/// not with apps × reconciles.
///
/// **Newest wins.** The services are the generic [`crate::cache::Cache`]:
/// every read and write takes a sequence number when it is sent; an entry
/// is replaced only by what a later-sent request saw, so a listing sent
/// before a write and answered after it cannot undo what the write's
/// response recorded.
///
/// **Task definitions** are immutable: each revision is described once.
/// No answer about an ARN can be older than another, so they need no
/// sequence numbers and sit in a plain map beside the services.
/// The latest revision of every family comes from one listing per term
/// ([`Ecs::load_task_definition_families`]) and from Ferry's own
/// registrations, so a revision registered before a crash is reused
/// without a failing DescribeTaskDefinition before every registration.
pub struct Ecs {
    client: Client,
    caller: Caller,
    cluster: String,
    /// The cluster's live services.
    services: services::Services,
    /// The settling services' stopped tasks, read once per progress tick.
    stopped: stopped::StoppedTasks,
    /// The current service deployments of settling services with a
    /// strategy other than rolling, read once per progress tick.
    deployments: deployments::ServiceDeployments,
    /// When each service of the installation was last seen settling: a
    /// service stays in the progress reads for [`WATCH_AFTER_SETTLED`]
    /// after it looks settled.
    last_settling: Mutex<HashMap<String, std::time::Instant>>,
    /// Task definitions, their families and what hygiene knows of them.
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
    /// The revisions the installation's schedules run, as the scheduler's
    /// cache last told ([`Ecs::note_scheduled_revisions`]): in use, so
    /// never retired, and kept described.
    schedule_revisions: BTreeSet<String>,
    /// Revisions ECS no longer has, as a DescribeTaskDefinition answered:
    /// not asked again.
    vanished: HashSet<String>,
    /// Families ECS said have no ACTIVE revision, asked before the term's
    /// family listing: not asked again until Ferry registers one.
    empty_families: HashSet<String>,
    /// Families whose registration failed without a clear answer (a lost
    /// response, a timeout, a 5xx): ECS may have registered the revision
    /// anyway, so the latest revision is asked of ECS before the next
    /// registration, which then reuses it rather than registering a twin.
    uncertain_families: HashSet<String>,
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

/// How long a service is still read between resyncs after it last looked
/// settling: ECS completes a deployment as soon as its tasks run, and
/// Ferry calls the rollout complete only once they ran
/// [`MIN_STABLE_SECS`](ferry_core::rollout::MIN_STABLE_SECS) without a
/// crash, so a crash in that window must be seen (its stopped task read)
/// before the next resync. Twice the window, so that a tick late or two
/// still see it.
pub const WATCH_AFTER_SETTLED: std::time::Duration =
    std::time::Duration::from_secs(2 * ferry_core::rollout::MIN_STABLE_SECS as u64);

/// Whether a service is still changing: a rollout, tasks starting or
/// stopping, or a deletion draining. Only these are read between resyncs
/// (and, for [`WATCH_AFTER_SETTLED`], those that were).
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
            services: services::Services::default(),
            stopped: stopped::StoppedTasks::default(),
            deployments: deployments::ServiceDeployments::default(),
            last_settling: Mutex::new(HashMap::new()),
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
}

/// A service as the cache keeps it: `None` for INACTIVE ones, and with
/// only the newest events.
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

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
#[path = "requests_tests.rs"]
mod requests_tests;
