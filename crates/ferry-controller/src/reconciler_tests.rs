//! The reconciler against in-memory fakes of the world and the store: what
//! it executes, writes and asks for next, with nothing on the wire.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use ferry_aws::{Snapshot, Stopped, TrafficGuard};
use ferry_core::decide;
use ferry_core::observed::{DeploymentStatus, EcsRolloutState, ObservedDeployment};
use ferry_core::status::{
    AppStatus, ConditionReason, ConditionStatus, ConditionType, DEGRADED, READY,
};
use ferry_core::{
    Action, Desired, Observed, Plan, ReleaseOutcome, ServiceUpdate, Settings, TaskDefinitionRef,
};
use ferry_manifest::{App, Process};
use ferry_store::{AppRecord, Fence};

use super::*;
use crate::controller::Reconcile;

const OWNER: &str = "ferry";

/// AWS as a map of services, executing actions as ferry-core's model of
/// ECS does. Counts what it is asked. With `scheduling`, every schedule an
/// app should have exists, with one failed run and its dead letter.
#[derive(Default)]
struct FakeWorld {
    state: Mutex<WorldState>,
    scheduling: bool,
    /// Dead letters it was asked to delete.
    deleted: Mutex<Vec<String>>,
    traffic_lock: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
struct WorldState {
    observed: Observed,
    executed: Vec<String>,
    refreshes: usize,
    /// Apps whose every ECS write fails.
    failing: BTreeSet<String>,
    /// What each resync asked to retire: (apps, keep, max).
    retire_requests: Vec<(BTreeSet<String>, usize, usize)>,
    /// How many services settle, as the progress read reports it.
    settling: usize,
    /// What each read of the stopped tasks reports having called.
    stop_reads: ferry_aws::ecs::StopReadCalls,
    /// The progress tick's reads, in order: `services`, `stopped`.
    progress_reads: Vec<&'static str>,
}

impl FakeWorld {
    fn state(&self) -> std::sync::MutexGuard<'_, WorldState> {
        self.state.lock().expect("world")
    }

    fn deleted(&self) -> Vec<String> {
        self.deleted.lock().expect("deleted").clone()
    }

    fn executed(&self) -> Vec<String> {
        self.state().executed.clone()
    }

    /// Every rollout completes: one PRIMARY deployment, all tasks running.
    fn settle(&self) {
        for service in self.state().observed.services.values_mut() {
            service.running_count = service.desired_count;
            service.pending_count = 0;
            service.deployments = vec![deployment(
                &service.task_definition_arn,
                service.desired_count,
                EcsRolloutState::Completed,
            )];
        }
    }

    /// The circuit breaker fails the rollout of every service of `app` and
    /// rolls it back to `back_to`.
    fn fail_rollouts(&self, app: &str, back_to: &BTreeMap<String, String>) {
        for service in self.state().observed.services.values_mut() {
            if service
                .tags
                .get(ferry_core::names::TAG_APP)
                .map(String::as_str)
                != Some(app)
            {
                continue;
            }
            let failed = service.task_definition_arn.clone();
            let previous = back_to[&service.name].clone();
            let mut rolled_back =
                deployment(&previous, service.desired_count, EcsRolloutState::Completed);
            rolled_back.status = DeploymentStatus::Primary;
            let mut broken = deployment(&failed, 0, EcsRolloutState::Failed);
            broken.status = DeploymentStatus::Active;
            broken.rollout_state_reason = Some("tasks failed to start".into());
            service.deployments = vec![rolled_back, broken];
        }
    }
}

fn deployment(task_definition: &str, running: u32, state: EcsRolloutState) -> ObservedDeployment {
    ObservedDeployment {
        id: format!("ecs-svc/{task_definition}"),
        status: DeploymentStatus::Primary,
        task_definition_arn: task_definition.to_owned(),
        desired_count: running,
        running_count: running,
        pending_count: 0,
        failed_tasks: 0,
        rollout_state: Some(state),
        rollout_state_reason: None,
        created_at: None,
    }
}

impl FakeWorld {
    fn observed(&self, app: &str, desired: &Desired) -> Observed {
        let state = self.state();
        let mut observed = Observed::default();
        for (name, service) in &state.observed.services {
            let wanted = desired.processes.iter().any(|p| &p.service.name == name);
            let ours = ferry_core::names::ownership(&service.tags, OWNER, app)
                == ferry_core::names::Ownership::Ours;
            if wanted || ours {
                observed.services.insert(name.clone(), service.clone());
                if let Some(stops) = state.observed.stopped_tasks.get(name) {
                    observed.stopped_tasks.insert(name.clone(), stops.clone());
                }
            }
        }
        for process in &desired.processes {
            let family = &process.task_definition.family;
            if let Some(td) = state.observed.latest_task_definitions.get(family) {
                observed
                    .latest_task_definitions
                    .insert(family.clone(), td.clone());
            }
        }
        if self.scheduling {
            for d in &desired.schedules {
                let arn = format!("{}:1", d.task_definition.family);
                let mut s = ferry_core::ObservedSchedule::written(&d.schedule, arn);
                s.task_definition = Some(d.task_definition.clone());
                observed.schedules.insert(d.schedule.name.clone(), s);
            }
            observed.schedule_runs = observed
                .schedules
                .keys()
                .map(|name| (name.clone(), failed_run(name)))
                .collect();
        }
        observed
    }

    fn execute_one(
        &self,
        action: &Action,
        registered: &mut BTreeMap<String, String>,
    ) -> ferry_aws::Result<()> {
        if self.scheduling
            && matches!(
                action,
                Action::CreateSchedule { .. }
                    | Action::UpdateSchedule { .. }
                    | Action::DeleteSchedule { .. }
            )
        {
            return Ok(());
        }
        let mut state = self.state();
        let app = action
            .target()
            .split('_')
            .next()
            .unwrap_or_default()
            .to_owned();
        if state.failing.contains(&app) {
            return Err(ferry_aws::Error::Call {
                service: "ecs",
                operation: "UpdateService",
                resource: action.target().to_owned(),
                code: Some("ServerException".into()),
                message: "ServerException: injected".into(),
            });
        }
        // The model resolves revisions registered within one call; this
        // adapter is called per action, so earlier ones are resolved here.
        let resolved = |r: &TaskDefinitionRef| match r {
            TaskDefinitionRef::Registered(family) => {
                TaskDefinitionRef::Existing(registered[family].clone())
            }
            existing => existing.clone(),
        };
        let action = match action {
            Action::CreateService {
                service,
                task_definition,
            } => Action::CreateService {
                service: service.clone(),
                task_definition: resolved(task_definition),
            },
            Action::UpdateService(update) => Action::UpdateService(ServiceUpdate {
                task_definition: update.task_definition.as_ref().map(resolved),
                ..update.clone()
            }),
            other => other.clone(),
        };
        state.observed =
            ferry_core::testing::execute(&state.observed, std::slice::from_ref(&action));
        if let Action::RegisterTaskDefinition { spec, .. } = &action {
            let arn = state.observed.latest_task_definitions[&spec.family]
                .arn
                .clone();
            registered.insert(spec.family.clone(), arn);
        }
        state.executed.push(action.to_string());
        Ok(())
    }
}

/// One failed run of the schedule `name`, with its dead letter.
fn failed_run(name: &str) -> ferry_core::schedule_runs::ObservedRuns {
    ferry_core::schedule_runs::ObservedRuns {
        failures: vec![ferry_core::schedule_runs::FailedInvocation {
            id: format!("{name}-e1"),
            scheduled_time: Some("2026-12-06T03:00:00Z".into()),
            error_code: "ClientException".into(),
            error_message: "Unable to find task definition.".into(),
            retry_attempts: Some(2),
            exhausted_retry_condition: Some("MaximumRetryAttempts".into()),
        }],
        dead_letter_messages: vec![format!("{name}-m1")],
        runs: Vec::new(),
    }
}

impl World for FakeWorld {
    async fn observe(
        &self,
        spec: &App,
        deleting: bool,
        _: Option<&TrafficGuard>,
    ) -> ferry_aws::Result<Snapshot> {
        let desired = ferry_core::render::desired(spec, deleting, &settings());
        Ok(Snapshot {
            observed: self.observed(&spec.name, &desired),
            desired,
            traffic: Default::default(),
        })
    }

    async fn hold_traffic(&self) -> TrafficGuard {
        self.traffic_lock.clone().lock_owned().await
    }

    async fn execute(&self, plan: &Plan, _: Option<TrafficGuard>) -> Result<(), Stopped> {
        let mut registered = BTreeMap::new();
        for (completed, action) in plan.actions.iter().enumerate() {
            self.execute_one(action, &mut registered)
                .map_err(|error| Stopped { completed, error })?;
        }
        Ok(())
    }

    async fn delete_dead_letters(&self, messages: &[String]) -> ferry_aws::Result<usize> {
        self.deleted
            .lock()
            .expect("deleted")
            .extend(messages.iter().cloned());
        Ok(messages.len())
    }

    async fn read_schedule_runs(&self) -> usize {
        0
    }

    async fn refresh_all(&self) -> ferry_aws::Result<usize> {
        self.state().refreshes += 1;
        Ok(1)
    }

    async fn refresh_services(&self, _: &[String]) -> ferry_aws::Result<usize> {
        self.state().refreshes += 1;
        Ok(1)
    }

    async fn load_task_definition_families(&self) -> ferry_aws::Result<usize> {
        Ok(1)
    }

    async fn read_progress(&self) -> (usize, ferry_aws::Result<usize>) {
        let mut state = self.state();
        state.progress_reads.push("services");
        let settling = state.settling;
        (settling, Ok(settling.div_ceil(10)))
    }

    async fn read_stopped_tasks(&self) -> ferry_aws::Result<ferry_aws::ecs::StopReadCalls> {
        let mut state = self.state();
        state.progress_reads.push("stopped");
        Ok(state.stop_reads)
    }

    async fn read_service_deployments(&self) -> ferry_aws::Result<usize> {
        self.state().progress_reads.push("deployments");
        Ok(0)
    }

    fn owned_services(&self) -> BTreeMap<String, BTreeSet<String>> {
        BTreeMap::new()
    }

    async fn retire_task_definitions(
        &self,
        apps: &BTreeSet<String>,
        keep: usize,
        max: usize,
    ) -> ferry_aws::Result<usize> {
        self.state().retire_requests.push((apps.clone(), keep, max));
        Ok(0)
    }
}

#[derive(Default)]
struct FakeStore {
    state: Mutex<StoreState>,
}

#[derive(Default)]
struct StoreState {
    /// Every status write fails while set.
    failing_writes: bool,
    statuses: HashMap<String, AppStatus>,
    status_writes: usize,
    outcomes: Vec<(String, u64, ReleaseOutcome)>,
    removed: Vec<String>,
}

impl FakeStore {
    fn state(&self) -> std::sync::MutexGuard<'_, StoreState> {
        self.state.lock().expect("store")
    }

    fn status(&self, app: &str) -> AppStatus {
        self.state().statuses[app].clone()
    }
}

impl StatusStore for FakeStore {
    async fn list_statuses(&self) -> ferry_store::Result<HashMap<String, AppStatus>> {
        Ok(self.state().statuses.clone())
    }

    async fn put_status(&self, status: &AppStatus, _: &Fence) -> ferry_store::Result<()> {
        let mut state = self.state();
        if state.failing_writes {
            return Err(ferry_store::Error::Conflict {
                apps: status.name.clone(),
                message: "the fake store refuses writes".into(),
            });
        }
        state.status_writes += 1;
        state.statuses.insert(status.name.clone(), status.clone());
        Ok(())
    }

    async fn set_release_outcome(
        &self,
        app: &str,
        version: u64,
        outcome: ReleaseOutcome,
        _: Option<&str>,
        _: &Fence,
    ) -> ferry_store::Result<()> {
        self.state()
            .outcomes
            .push((app.to_owned(), version, outcome));
        Ok(())
    }

    async fn remove_app(&self, name: &str, _: u64, _: &Fence) -> ferry_store::Result<()> {
        self.state().removed.push(name.to_owned());
        Ok(())
    }

    async fn put_controller_settings(&self, _: &Settings, _: &Fence) -> ferry_store::Result<()> {
        Ok(())
    }
}

type Subject = Reconciler<FakeWorld, FakeStore>;

fn reconciler() -> Subject {
    with_world(FakeWorld::default())
}

fn with_world(world: FakeWorld) -> Subject {
    Reconciler::new(
        world,
        FakeStore::default(),
        settings(),
        Metrics::new().expect("metrics"),
    )
}

/// The controller's settings, for the reconciler and the world alike.
fn settings() -> Settings {
    Settings {
        owner: OWNER.into(),
        ..ferry_core::testing::settings()
    }
}

fn fence() -> Fence {
    Fence {
        holder: "me".into(),
        token: 1,
    }
}

fn process(scale: u32) -> Process {
    Process {
        command: vec!["serve".into()],
        scale,
        cpu: 256,
        memory: 512,
        ..Default::default()
    }
}

fn record(name: &str, generation: u64, image: &str) -> AppRecord {
    AppRecord {
        name: name.to_owned(),
        generation,
        spec: App {
            name: name.to_owned(),
            image: image.to_owned(),
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            domains: Vec::new(),
            processes: BTreeMap::from([("web".into(), process(2)), ("worker".into(), process(1))]),
            ..Default::default()
        },
        deleting: false,
        source: None,
        manifest: None,
        created_at: None,
        updated_at: "2026-12-01T10:00:00Z".into(),
        restart: None,
    }
}

fn condition(status: &AppStatus, type_: ConditionType) -> (ConditionStatus, ConditionReason) {
    let c = status.condition(type_).expect("condition");
    (c.status, c.reason.clone())
}

#[tokio::test]
async fn a_new_app_converges_and_its_release_succeeds() {
    let r = reconciler();
    let app = record("shop", 1, "shop:1");
    let outcome = r.reconcile(&app, &fence()).await;
    assert_eq!(
        outcome.ok(),
        Some(Next::Requeue(decide::PROGRESS_REQUEUE)),
        "requeued while rolling out"
    );
    let executed = r.world.executed();
    assert_eq!(
        executed.len(),
        4,
        "two registrations, two creates: {executed:?}"
    );
    assert_eq!(
        condition(&r.store.status("shop"), READY).0,
        ConditionStatus::False
    );
    assert_eq!(
        r.world.state().refreshes,
        0,
        "a reconcile never reads ECS itself"
    );

    r.world.settle();
    assert_eq!(
        r.reconcile(&app, &fence()).await.ok(),
        Some(Next::Converged)
    );
    let status = r.store.status("shop");
    assert_eq!(
        condition(&status, READY),
        (ConditionStatus::True, "Converged".into())
    );
    assert_eq!(r.world.executed().len(), 4, "nothing more to do");
    assert_eq!(
        r.store.state().outcomes,
        [("shop".to_owned(), 1, ReleaseOutcome::Succeeded)]
    );

    // A steady state writes nothing.
    let writes = r.store.state().status_writes;
    assert_eq!(
        r.reconcile(&app, &fence()).await.ok(),
        Some(Next::Converged)
    );
    assert_eq!(r.store.state().status_writes, writes);
}

#[tokio::test]
async fn a_failed_rollout_is_reported_and_never_pushed_again() {
    let r = reconciler();
    let v1 = record("shop", 1, "shop:1");
    r.reconcile(&v1, &fence()).await.expect("reconcile");
    r.world.settle();
    r.reconcile(&v1, &fence()).await.expect("reconcile");
    let good: BTreeMap<String, String> = r
        .world
        .state()
        .observed
        .services
        .values()
        .map(|s| (s.name.clone(), s.task_definition_arn.clone()))
        .collect();

    let v2 = record("shop", 2, "shop:broken");
    r.reconcile(&v2, &fence()).await.expect("reconcile");
    let pushed = r.world.executed().len();
    assert_eq!(pushed, 8, "v2 registered and rolled out");
    r.world.fail_rollouts("shop", &good);

    let outcome = r.reconcile(&v2, &fence()).await;
    assert_eq!(outcome.ok(), Some(Next::Converged), "nothing to wait for");
    let status = r.store.status("shop");
    assert_eq!(
        condition(&status, DEGRADED),
        (ConditionStatus::True, "RolloutFailed".into())
    );
    assert!(r
        .store
        .state()
        .outcomes
        .contains(&("shop".to_owned(), 2, ReleaseOutcome::Failed)));
    for _ in 0..3 {
        r.reconcile(&v2, &fence()).await.expect("reconcile");
    }
    assert_eq!(
        r.world.executed().len(),
        pushed,
        "the failed generation is not pushed again"
    );

    // A new generation is.
    let v3 = record("shop", 3, "shop:2");
    r.reconcile(&v3, &fence()).await.expect("reconcile");
    assert!(r.world.executed().len() > pushed);
}

#[tokio::test]
async fn drift_is_undone_and_reported() {
    let r = reconciler();
    let app = record("shop", 1, "shop:1");
    r.reconcile(&app, &fence()).await.expect("reconcile");
    r.world.settle();
    r.reconcile(&app, &fence()).await.expect("reconcile");

    // A console edit scales the web service.
    r.world
        .state()
        .observed
        .services
        .get_mut("shop_web")
        .expect("shop_web")
        .desired_count = 7;
    r.reconcile(&app, &fence()).await.expect("reconcile");
    assert_eq!(
        r.world.state().observed.services["shop_web"].desired_count,
        2,
        "scaled back"
    );
    let status = r.store.status("shop");
    assert!(
        status
            .events
            .iter()
            .any(|e| e.message.starts_with("(ferry) corrected drift")),
        "{:?}",
        status.events
    );
    assert_eq!(r.metrics.drift_corrections_total.get(), 1);
}

#[tokio::test]
async fn a_deleted_app_is_torn_down_then_removed() {
    let r = reconciler();
    let app = record("shop", 1, "shop:1");
    r.reconcile(&app, &fence()).await.expect("reconcile");
    r.world.settle();
    r.reconcile(&app, &fence()).await.expect("reconcile");

    let mut deleting = record("shop", 2, "shop:1");
    deleting.deleting = true;
    let mut outcome = Ok(Next::Converged);
    for _ in 0..5 {
        outcome = r.reconcile(&deleting, &fence()).await;
        if matches!(outcome, Ok(Next::Removed)) {
            break;
        }
    }
    assert_eq!(outcome.ok(), Some(Next::Removed));
    assert!(
        r.world
            .state()
            .observed
            .services
            .values()
            .all(|s| s.status == ferry_core::ServiceStatus::Draining),
        "every service deleted"
    );
    assert_eq!(r.store.state().removed, ["shop"]);
}

#[tokio::test]
async fn an_error_on_one_app_does_not_hold_back_another() {
    let r = reconciler();
    r.world.state().failing.insert("bad".into());
    let outcome = r.reconcile(&record("bad", 1, "bad:1"), &fence()).await;
    assert!(matches!(outcome, Err(Error::Execute { .. })), "{outcome:?}");
    let status = r.store.status("bad");
    assert_eq!(
        condition(&status, DEGRADED),
        (ConditionStatus::True, "ReconcileError".into())
    );
    assert_eq!(
        status.observed_generation, 0,
        "generation 1 was not acted on"
    );

    let outcome = r.reconcile(&record("good", 1, "good:1"), &fence()).await;
    assert_eq!(outcome.ok(), Some(Next::Requeue(decide::PROGRESS_REQUEUE)));
    assert_eq!(r.store.status("good").observed_generation, 1);
}

#[tokio::test]
async fn dead_letters_are_deleted_only_once_status_records_their_failures() {
    let r = with_world(FakeWorld {
        scheduling: true,
        ..FakeWorld::default()
    });
    let mut app = record("shop", 1, "shop:1");
    app.spec.processes.insert(
        "nightly".into(),
        Process {
            schedule: Some(ferry_manifest::Schedule {
                expression: "rate(1 hour)".into(),
                timezone: "UTC".into(),
            }),
            ..process(1)
        },
    );
    r.store.state().failing_writes = true;
    r.reconcile(&app, &fence()).await.expect("reconcile");
    assert!(
        r.world.deleted().is_empty(),
        "status was not written: keep the message"
    );

    r.store.state().failing_writes = false;
    r.reconcile(&app, &fence()).await.expect("reconcile");
    let status = r.store.status("shop");
    let failures = &status.schedules["nightly"].failed_invocations;
    assert_eq!(failures.len(), 1, "{status:?}");
    assert_eq!(failures[0].error_code, "ClientException");
    assert_eq!(r.world.deleted(), ["shop_nightly-m1"]);

    // Delivered again before the delete landed: shown once, deleted again.
    r.reconcile(&app, &fence()).await.expect("reconcile");
    assert_eq!(
        r.store.status("shop").schedules["nightly"]
            .failed_invocations
            .len(),
        1
    );
    assert_eq!(r.world.deleted(), ["shop_nightly-m1", "shop_nightly-m1"]);
}

#[tokio::test]
async fn hygiene_tidies_only_the_apps_observed_in_this_term() {
    let r = reconciler();
    let apps: BTreeSet<String> = ["shop".to_owned(), "idle".to_owned()].into();
    // Before any reconcile of this term, the cache may not know what an
    // app's schedules run: nothing of theirs is tidied.
    Reconcile::resync(&r, apps.clone()).await;
    r.reconcile(&record("shop", 1, "shop:1"), &fence())
        .await
        .expect("reconcile");
    Reconcile::resync(&r, apps.clone()).await;
    // A new term starts from nothing again.
    Reconcile::end_term(&r);
    Reconcile::resync(&r, apps).await;
    let asked: Vec<BTreeSet<String>> = r
        .world
        .state()
        .retire_requests
        .iter()
        .map(|(apps, _, _)| apps.clone())
        .collect();
    assert_eq!(
        asked,
        vec![BTreeSet::new(), ["shop".to_owned()].into(), BTreeSet::new()]
    );
}

#[tokio::test]
async fn a_progress_tick_reads_stopped_tasks_after_the_services_and_counts_them() {
    let r = reconciler();
    {
        let mut state = r.world.state();
        state.settling = 3;
        state.stop_reads = ferry_aws::ecs::StopReadCalls { ecs: 50, logs: 2 };
    }
    let pause = r.progress().await;
    assert_eq!(
        r.world.state().progress_reads,
        ["services", "stopped", "deployments"]
    );
    let reads = r
        .metrics
        .ecs_reads_total
        .with_label_values(&["progress"])
        .get();
    assert_eq!(reads, 1 + 50, "one DescribeServices and the 50 task reads");
    assert_eq!(r.metrics.log_reads_total.get(), 2);
    assert_eq!(
        pause,
        crate::read_share::read_pause(50, 0.5),
        "the pause leaves room for the task reads too"
    );

    // Nothing settles: the stopped-task read is still asked (it makes no
    // call, and forgets what settled long ago), and the tick is the shortest.
    r.world.state().settling = 0;
    r.world.state().stop_reads = Default::default();
    assert_eq!(r.progress().await, crate::term::PROGRESS_TICK);
}

/// `process` of `app` rolls out from `previous` (no task of the new
/// deployment runs yet), and a task of its new deployment crashed, as the
/// adapter's stopped-task cache keeps it, with its last log lines.
fn crash_of(world: &FakeWorld, app: &str, process: &str, previous: &str) {
    let mut state = world.state();
    let name = ferry_core::names::service_name(app, process);
    let service = state.observed.services.get_mut(&name).expect("the service");
    let new = deployment(&service.task_definition_arn, 0, EcsRolloutState::InProgress);
    let mut old = deployment(previous, service.desired_count, EcsRolloutState::Completed);
    old.status = DeploymentStatus::Active;
    let deployment = new.id.clone();
    service.deployments = vec![new, old];
    let service = service.clone();
    let crash = ferry_core::model::stops::StoppedTask {
        task_arn: "arn:aws:ecs:us-east-1:1:task/c/7f1a3b28c0de4f00".into(),
        deployment_id: deployment,
        task_definition_arn: service.task_definition_arn.clone(),
        started_at: Some("2026-12-01T10:00:01Z".into()),
        stopped_at: Some("2026-12-01T10:00:05Z".into()),
        stop_code: Some(ferry_core::model::stops::ESSENTIAL_CONTAINER_EXITED.into()),
        stopped_reason: Some("Essential container in task exited".into()),
        containers: vec![ferry_core::model::stops::StoppedContainer {
            name: process.into(),
            exit_code: Some(1),
            reason: None,
        }],
        log_container: Some(process.into()),
        log_tail: Some(vec!["booting".into(), "KeyError: 'DATABASE_URL'".into()]),
    };
    state.observed.stopped_tasks.insert(name, vec![crash]);
}

/// Needs the core part of issue 22 (ferry-core's status filling
/// `lastFailure` from `Observed.stopped_tasks`): until it is merged, the
/// status has no last failure.
#[tokio::test]
async fn a_crashed_task_of_the_new_deployment_is_the_last_failure_in_status() {
    let r = reconciler();
    let v1 = record("shop", 1, "shop:1");
    r.reconcile(&v1, &fence()).await.expect("reconcile");
    r.world.settle();
    r.reconcile(&v1, &fence()).await.expect("reconcile");
    let web = ferry_core::names::service_name("shop", "web");
    let good = r.world.state().observed.services[&web]
        .task_definition_arn
        .clone();
    let v2 = record("shop", 2, "shop:crash");
    r.reconcile(&v2, &fence()).await.expect("reconcile");
    crash_of(&r.world, "shop", "web", &good);

    r.reconcile(&v2, &fence()).await.expect("reconcile");
    let status = r.store.status("shop");
    let failure = status.processes["web"]
        .last_failure
        .clone()
        .expect("processes.web.lastFailure");
    assert_eq!(failure.task, "7f1a3b28c0de4f00");
    assert_eq!(failure.exit_code, Some(1));
    assert_eq!(failure.container.as_deref(), Some("web"));
    assert_eq!(failure.log_tail, ["booting", "KeyError: 'DATABASE_URL'"]);
    let json = serde_json::to_value(&status).expect("json");
    assert_eq!(
        json["processes"]["web"]["lastFailure"]["logTail"][1],
        "KeyError: 'DATABASE_URL'"
    );
    assert!(status.processes["worker"].last_failure.is_none());
}
