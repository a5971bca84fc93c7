use std::sync::atomic::{AtomicUsize, Ordering};

use ferry_core::model::stops::{ESSENTIAL_CONTAINER_EXITED, TASK_FAILED_TO_START};

use super::*;

/// A fake ECS and log group: what ListTasks lists, what DescribeTasks
/// answers for each ARN, and the lines of each stream; counts the calls.
#[derive(Default)]
struct Fake {
    listed: Mutex<Vec<String>>,
    tasks: Mutex<BTreeMap<String, DescribedStop>>,
    streams: BTreeMap<String, Vec<String>>,
    no_log_group: bool,
    lists: AtomicUsize,
    describes: AtomicUsize,
    described: Mutex<Vec<String>>,
    tails: Mutex<Vec<String>>,
}

impl StopReads for Fake {
    async fn list_stopped(&self) -> Result<(Vec<String>, usize)> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        let listed = self.listed.lock().expect("listed").clone();
        let pages = listed.len().div_ceil(100).max(1);
        Ok((listed, pages))
    }

    async fn describe(&self, batch: &[String]) -> Result<Vec<DescribedStop>> {
        assert!(batch.len() <= DESCRIBE_TASKS_BATCH, "{} ARNs", batch.len());
        self.describes.fetch_add(1, Ordering::SeqCst);
        self.described
            .lock()
            .expect("described")
            .extend(batch.iter().cloned());
        let tasks = self.tasks.lock().expect("tasks");
        Ok(batch.iter().filter_map(|a| tasks.get(a).cloned()).collect())
    }

    async fn log_tail(&self, stream: &str) -> Option<Result<Vec<String>>> {
        if self.no_log_group {
            return None;
        }
        self.tails.lock().expect("tails").push(stream.to_owned());
        Some(
            self.streams
                .get(stream)
                .cloned()
                .ok_or_else(|| crate::Error::Build {
                    what: "stream",
                    message: "ResourceNotFoundException".into(),
                }),
        )
    }
}

impl Fake {
    fn stop(&self, stop: DescribedStop) {
        self.listed
            .lock()
            .expect("listed")
            .push(stop.task.task_arn.clone());
        self.tasks
            .lock()
            .expect("tasks")
            .insert(stop.task.task_arn.clone(), stop);
    }

    fn describes(&self) -> usize {
        self.describes.load(Ordering::SeqCst)
    }

    fn tails(&self) -> Vec<String> {
        self.tails.lock().expect("tails").clone()
    }
}

/// A task of `service` that ran and whose container `web` exited with `exit`.
fn crashed(service: &str, id: &str, stopped_ms: i64, exit: i32) -> DescribedStop {
    DescribedStop {
        group: Some(format!("service:{service}")),
        last_status: STOPPED.into(),
        stopped_ms,
        task: StoppedTask {
            task_arn: format!("arn:aws:ecs:us-east-1:1:task/c/{id}"),
            deployment_id: "ecs-svc/1".into(),
            task_definition_arn: "arn:aws:ecs:us-east-1:1:task-definition/shop_web:2".into(),
            started_at: Some("2026-12-06T19:00:00Z".into()),
            stopped_at: Some("2026-12-06T19:00:05Z".into()),
            stop_code: Some(ESSENTIAL_CONTAINER_EXITED.into()),
            stopped_reason: Some("Essential container in task exited".into()),
            containers: vec![StoppedContainer {
                name: "web".into(),
                exit_code: Some(exit),
                reason: None,
            }],
            log_container: Some("web".into()),
            log_tail: None,
        },
    }
}

fn never_started(service: &str, id: &str, stopped_ms: i64) -> DescribedStop {
    let mut stop = crashed(service, id, stopped_ms, 0);
    stop.task.started_at = None;
    stop.task.stop_code = Some(TASK_FAILED_TO_START.into());
    stop.task.containers[0].exit_code = None;
    stop.task.containers[0].reason = Some("CannotPullContainerError: not found".into());
    stop
}

fn settling(names: &[&str]) -> BTreeMap<String, String> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), "shop".to_owned()))
        .collect()
}

/// One tick now.
async fn tick(
    cache: &StoppedTasks,
    fake: &Fake,
    settling: &BTreeMap<String, String>,
) -> StopReadCalls {
    tick_at(cache, fake, settling, Instant::now()).await
}

async fn tick_at(
    cache: &StoppedTasks,
    fake: &Fake,
    settling: &BTreeMap<String, String>,
    now: Instant,
) -> StopReadCalls {
    cache.read_tick(fake, settling, now).await.expect("read")
}

fn arns(stops: &[StoppedTask]) -> Vec<&str> {
    stops.iter().map(StoppedTask::task_id).collect()
}

#[tokio::test]
async fn nothing_settling_makes_no_call() {
    let fake = Fake::default();
    fake.stop(crashed("shop_web", "a", 1, 1));
    let cache = StoppedTasks::default();
    let calls = tick(&cache, &fake, &BTreeMap::new()).await;
    assert_eq!(calls, StopReadCalls::default());
    assert_eq!(fake.lists.load(Ordering::SeqCst), 0);
    assert_eq!(fake.describes(), 0);
}

#[tokio::test]
async fn new_stopped_tasks_are_described_100_per_call_and_a_stopped_one_never_again() {
    let fake = Fake::default();
    for i in 0..250 {
        fake.stop(crashed("shop_web", &format!("t{i:03}"), i, 0));
    }
    let cache = StoppedTasks::default();
    let web = settling(&["shop_web"]);
    let calls = tick(&cache, &fake, &web).await;
    assert_eq!(fake.describes(), 3, "⌈250/100⌉ DescribeTasks");
    assert_eq!(calls.ecs, 3 + 3, "3 pages of ListTasks and 3 DescribeTasks");

    // The next tick: one new task, and one still deprovisioning.
    let mut deprovisioning = crashed("shop_web", "late", 300, 1);
    deprovisioning.last_status = "DEPROVISIONING".into();
    fake.stop(deprovisioning);
    tick(&cache, &fake, &web).await;
    assert_eq!(fake.describes(), 4, "one call for the one new task");
    // Once more: only the task not yet STOPPED is described again.
    fake.described.lock().expect("described").clear();
    tick(&cache, &fake, &web).await;
    assert_eq!(
        *fake.described.lock().expect("described"),
        ["arn:aws:ecs:us-east-1:1:task/c/late"]
    );
    fake.tasks
        .lock()
        .expect("tasks")
        .get_mut("arn:aws:ecs:us-east-1:1:task/c/late")
        .expect("late")
        .last_status = STOPPED.into();
    tick(&cache, &fake, &web).await;
    let before = fake.describes();
    tick(&cache, &fake, &web).await;
    assert_eq!(fake.describes(), before, "a STOPPED description is final");
}

#[tokio::test]
async fn only_tasks_of_settling_services_are_kept_newest_first() {
    let fake = Fake::default();
    fake.stop(crashed("shop_web", "old", 1, 1));
    fake.stop(crashed("shop_web", "new", 2, 1));
    fake.stop(crashed("shop_worker", "steady", 3, 1));
    let mut run = crashed("shop_web", "run", 4, 1);
    run.group = Some("family:shop_web".into());
    fake.stop(run);
    let cache = StoppedTasks::default();
    tick(&cache, &fake, &settling(&["shop_web"])).await;
    assert_eq!(arns(&cache.of("shop_web")), ["new", "old"]);
    assert!(cache.of("shop_worker").is_empty(), "not settling");
}

#[tokio::test]
async fn one_log_read_per_failed_task_that_ran_the_newest_first() {
    let mut fake = Fake::default();
    fake.streams.insert(
        "shop/web/c3".into(),
        vec!["booting".into(), "KeyError: 'DATABASE_URL'".into()],
    );
    fake.stop(crashed("shop_web", "c1", 1, 1));
    fake.stop(crashed("shop_web", "c3", 3, 1));
    fake.stop(crashed("shop_web", "c2", 2, 1));
    fake.stop(never_started("shop_web", "pull", 4));
    let cache = StoppedTasks::default();
    let web = settling(&["shop_web"]);
    let t0 = Instant::now();
    let calls = tick_at(&cache, &fake, &web, t0).await;
    assert_eq!(calls.logs, 0, "its last lines may not be readable yet");
    let settled = t0 + LOG_SETTLE;
    let calls = tick_at(&cache, &fake, &web, settled).await;
    assert_eq!(calls.logs, 1);
    assert_eq!(fake.tails(), ["shop/web/c3"], "the newest that ran, only");
    let stops = cache.of("shop_web");
    assert_eq!(arns(&stops), ["pull", "c3", "c2", "c1"]);
    assert_eq!(stops[0].log_tail, None, "a task that never ran is not read");
    assert_eq!(
        stops[1].log_tail.as_deref(),
        Some(&["booting".to_owned(), "KeyError: 'DATABASE_URL'".to_owned()][..])
    );
    assert_eq!(stops[2].log_tail, None, "an older failure is never read");

    // Nothing new: no read. A new crash whose stream is missing: one read,
    // an empty tail, and never again.
    let calls = tick_at(&cache, &fake, &web, settled).await;
    assert_eq!(calls.logs, 0);
    fake.stop(crashed("shop_web", "c5", 5, 137));
    let seen = settled + Duration::from_secs(1);
    tick_at(&cache, &fake, &web, seen).await;
    let calls = tick_at(&cache, &fake, &web, seen + LOG_SETTLE).await;
    assert_eq!(calls.logs, 1);
    assert_eq!(cache.of("shop_web")[0].log_tail, Some(Vec::new()));
    tick_at(&cache, &fake, &web, seen + LOG_SETTLE * 2).await;
    assert_eq!(fake.tails(), ["shop/web/c3", "shop/web/c5"]);
}

#[tokio::test]
async fn a_stop_on_purpose_or_no_log_group_reads_no_log() {
    let fake = Fake {
        no_log_group: true,
        ..Fake::default()
    };
    fake.stop(crashed("shop_web", "c1", 1, 1));
    let cache = StoppedTasks::default();
    let t0 = Instant::now();
    let web = settling(&["shop_web"]);
    tick_at(&cache, &fake, &web, t0).await;
    let calls = tick_at(&cache, &fake, &web, t0 + LOG_SETTLE).await;
    assert_eq!(calls.logs, 0);
    assert_eq!(cache.of("shop_web")[0].log_tail, None);

    let fake = Fake::default();
    let mut scaled_in = crashed("shop_web", "scaled_in", 1, 143);
    scaled_in.task.stop_code = Some("ServiceSchedulerInitiated".into());
    scaled_in.task.stopped_reason =
        Some("Scaling activity initiated by (deployment ecs-svc/1)".into());
    fake.stop(scaled_in);
    let cache = StoppedTasks::default();
    tick_at(&cache, &fake, &web, t0).await;
    tick_at(&cache, &fake, &web, t0 + LOG_SETTLE).await;
    assert!(fake.tails().is_empty(), "a scale-in is no failure");
}

#[tokio::test]
async fn a_settling_service_keeps_its_tasks_until_it_has_settled_for_a_while() {
    let fake = Fake::default();
    fake.stop(crashed("shop_web", "c1", 1, 1));
    let cache = StoppedTasks::default();
    let start = Instant::now();
    let web = settling(&["shop_web"]);
    cache.read_tick(&fake, &web, start).await.expect("read");
    // ECS no longer lists it (an hour on): kept while the service settles.
    fake.listed.lock().expect("listed").clear();
    let later = start + FORGET_AFTER * 2;
    cache.read_tick(&fake, &web, later).await.expect("read");
    assert_eq!(arns(&cache.of("shop_web")), ["c1"]);
    // Settled: kept for a while, then forgotten.
    let calls = cache
        .read_tick(&fake, &BTreeMap::new(), later + FORGET_AFTER / 2)
        .await
        .expect("read");
    assert_eq!(calls, StopReadCalls::default());
    assert_eq!(arns(&cache.of("shop_web")), ["c1"]);
    cache
        .read_tick(&fake, &BTreeMap::new(), later + FORGET_AFTER)
        .await
        .expect("read");
    assert!(cache.of("shop_web").is_empty());
}

#[tokio::test]
async fn at_most_max_stopped_tasks_are_kept_per_deployment() {
    let fake = Fake::default();
    for i in 0..(MAX_STOPPED_PER_DEPLOYMENT as i64 + 5) {
        fake.stop(crashed("shop_web", &format!("a{i:03}"), i, 1));
    }
    let mut other = crashed("shop_web", "b", -1, 1);
    other.task.deployment_id = "ecs-svc/2".into();
    fake.stop(other);
    let cache = StoppedTasks::default();
    tick(&cache, &fake, &settling(&["shop_web"])).await;
    let stops = cache.of("shop_web");
    assert_eq!(stops.len(), MAX_STOPPED_PER_DEPLOYMENT + 1);
    assert_eq!(stops[0].task_id(), "a054", "newest first");
    assert_eq!(stops.last().map(StoppedTask::task_id), Some("b"));
}

#[test]
fn the_log_container_is_the_first_that_failed_else_the_first_that_exited_else_the_first() {
    let container = |name: &str, exit: Option<i32>, reason: Option<&str>| StoppedContainer {
        name: name.into(),
        exit_code: exit,
        reason: reason.map(str::to_owned),
    };
    assert_eq!(
        log_container(&[
            container("sidecar", Some(0), None),
            container("web", Some(1), None)
        ])
        .as_deref(),
        Some("web")
    );
    assert_eq!(
        log_container(&[
            container("pending", None, None),
            container("web", Some(0), None)
        ])
        .as_deref(),
        Some("web")
    );
    // Stopped for failed health checks: nothing exited; the process's
    // container, listed first, says why it was unhealthy.
    assert_eq!(
        log_container(&[
            container("web", None, None),
            container("sidecar", None, None)
        ])
        .as_deref(),
        Some("web")
    );
    assert_eq!(log_container(&[]), None);
}

#[test]
fn a_described_task_keeps_ecs_words() {
    let at = aws_smithy_types::DateTime::from_secs(1_796_000_000);
    let task = ecs::Task::builder()
        .task_arn("arn:aws:ecs:us-east-1:1:task/c/7f1a")
        .group("service:shop_web")
        .started_by("ecs-svc/123")
        .last_status("STOPPED")
        .started_at(at)
        .stopped_at(at)
        .stop_code(ecs::TaskStopCode::EssentialContainerExited)
        .stopped_reason("Essential container in task exited")
        .containers(
            ecs::Container::builder()
                .name("web")
                .exit_code(137)
                .reason("OutOfMemoryError: Container killed due to memory usage")
                .build(),
        )
        .build();
    let stop = described_stop(&task);
    assert_eq!(stop.group.as_deref(), Some("service:shop_web"));
    assert_eq!(stop.stopped_ms, 1_796_000_000_000);
    assert_eq!(stop.task.deployment_id, "ecs-svc/123");
    assert_eq!(
        stop.task.stop_code.as_deref(),
        Some(ESSENTIAL_CONTAINER_EXITED)
    );
    assert_eq!(stop.task.log_container.as_deref(), Some("web"));
    assert_eq!(stop.task.containers[0].exit_code, Some(137));
    assert!(stop
        .task
        .started_at
        .as_deref()
        .is_some_and(|t| t.starts_with("2026-")));
}

#[tokio::test]
async fn a_snapshot_holds_the_stopped_tasks_of_the_apps_services_without_a_call() {
    let sdk = crate::test_support::unreachable_sdk().await;
    let ecs = Ecs::new(
        aws_sdk_ecs::Client::new(&sdk),
        crate::test_support::caller(),
        "c",
    );
    let seq = ecs.services.begin();
    for (name, app) in [("shop_web", "shop"), ("blog_web", "blog")] {
        let mut service = crate::ecs::tests::service(name);
        service.tags = BTreeMap::from([
            (names::TAG_MANAGED_BY.to_owned(), "ferry".to_owned()),
            (names::TAG_APP.to_owned(), app.to_owned()),
        ]);
        ecs.services.put(seq, service);
    }
    let both = BTreeMap::from([
        ("shop_web".to_owned(), "shop".to_owned()),
        ("blog_web".to_owned(), "blog".to_owned()),
    ]);
    let stops = vec![
        crashed("shop_web", "c1", 1, 1),
        crashed("blog_web", "b1", 2, 1),
    ];
    let listed: Vec<String> = stops.iter().map(|s| s.task.task_arn.clone()).collect();
    ecs.stopped.record(&listed, stops, &both, Instant::now());

    // Desiring nothing: the app's services are those tagged for it.
    let nothing = ferry_core::Desired {
        processes: Vec::new(),
        traffic: Default::default(),
        schedules: Vec::new(),
        alarms: Vec::new(),
    };
    let observed = ecs
        .snapshot("shop", "ferry", &nothing, BTreeMap::new())
        .expect("nothing missing");
    assert_eq!(
        observed.stopped_tasks.keys().collect::<Vec<_>>(),
        ["shop_web"],
        "the app's services only"
    );
    assert_eq!(arns(&observed.stopped_tasks["shop_web"]), ["c1"]);
}

#[tokio::test]
async fn a_crash_loop_faster_than_the_settle_time_still_gets_a_tail_each_tick() {
    let fake = Fake::default();
    let cache = StoppedTasks::default();
    let web = settling(&["shop_web"]);
    let t0 = Instant::now();
    let half = LOG_SETTLE / 2;
    // A crash every half settle time: there is always a newer one whose
    // lines are not readable yet.
    for (i, id) in ["c1", "c2", "c3", "c4"].into_iter().enumerate() {
        fake.stop(crashed("shop_web", id, i as i64, 1));
        tick_at(
            &cache,
            &fake,
            &web,
            t0 + half * u32::try_from(i).expect("small"),
        )
        .await;
    }
    assert_eq!(
        fake.tails(),
        ["shop/web/c1", "shop/web/c2"],
        "the newest settled one each tick"
    );
}
