use std::sync::Mutex;

use super::*;

fn record(name: &str, generation: u64) -> AppRecord {
    AppRecord {
        name: name.to_owned(),
        generation,
        spec: ferry_manifest::App {
            name: name.to_owned(),
            image: "acme:1".to_owned(),
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            domains: Vec::new(),
            processes: BTreeMap::new(),
            ..Default::default()
        },
        deleting: false,
        source: None,
        manifest: None,
        created_at: None,
        updated_at: String::new(),
        restart: None,
    }
}

/// The store, in memory: counts reads, can fail the first listings.
#[derive(Clone, Default)]
struct FakeStore(Arc<Mutex<StoreState>>);

#[derive(Default)]
struct StoreState {
    revision: u64,
    apps: BTreeMap<String, AppRecord>,
    revision_reads: usize,
    listings: usize,
    failing_listings: usize,
}

impl FakeStore {
    fn with(apps: &[&str]) -> Self {
        let store = Self::default();
        for name in apps {
            store.apply(name);
        }
        store
    }

    fn state(&self) -> std::sync::MutexGuard<'_, StoreState> {
        self.0.lock().expect("store")
    }

    /// An apply: a new generation and a revision bump.
    fn apply(&self, name: &str) -> u64 {
        let mut state = self.state();
        let generation = state.apps.get(name).map_or(1, |a| a.generation + 1);
        state.apps.insert(name.to_owned(), record(name, generation));
        state.revision += 1;
        generation
    }
}

impl DesiredState for FakeStore {
    async fn revision(&self) -> ferry_store::Result<u64> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let mut state = self.state();
        state.revision_reads += 1;
        Ok(state.revision)
    }

    async fn list_apps(&self) -> ferry_store::Result<Vec<AppRecord>> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut state = self.state();
        state.listings += 1;
        if state.failing_listings > 0 {
            state.failing_listings -= 1;
            return Err(ferry_store::Error::TableMissing {
                table: "ferry".into(),
            });
        }
        Ok(state.apps.values().cloned().collect())
    }
}

/// One reconcile, as the fake saw it.
#[derive(Debug, Clone)]
struct Run {
    app: String,
    generation: u64,
    token: u64,
    started: Instant,
    finished: Option<Instant>,
}

#[derive(Default)]
struct FakeReconciler {
    took: Duration,
    runs: Mutex<Vec<Run>>,
    resyncs: Mutex<Vec<Instant>>,
    /// ECS reads each resync reports.
    reads: usize,
    progress_reads: Mutex<usize>,
    terms: Mutex<(usize, usize)>,
}

impl FakeReconciler {
    fn runs(&self) -> Vec<Run> {
        self.runs.lock().expect("runs").clone()
    }
}

impl Reconcile for FakeReconciler {
    async fn start_term(&self, _: &Fence) {
        self.terms.lock().expect("terms").0 += 1;
    }

    fn end_term(&self) {
        self.terms.lock().expect("terms").1 += 1;
    }

    async fn resync(&self, _: BTreeSet<String>) -> usize {
        self.resyncs.lock().expect("resyncs").push(Instant::now());
        self.reads
    }

    async fn progress(&self) -> Duration {
        *self.progress_reads.lock().expect("progress") += 1;
        Duration::from_secs(2)
    }

    async fn reconcile(&self, app: &AppRecord, fence: &Fence) -> Outcome {
        let index = {
            let mut runs = self.runs.lock().expect("runs");
            runs.push(Run {
                app: app.name.clone(),
                generation: app.generation,
                token: fence.token,
                started: Instant::now(),
                finished: None,
            });
            runs.len() - 1
        };
        tokio::time::sleep(self.took).await;
        self.runs.lock().expect("runs")[index].finished = Some(Instant::now());
        Ok(Next::Converged)
    }
}

fn leader(token: u64) -> Role {
    Role::Leader(Fence {
        holder: "me".into(),
        token,
    })
}

struct Harness {
    store: FakeStore,
    reconciler: Arc<FakeReconciler>,
    role: watch::Sender<Role>,
    stop: watch::Sender<bool>,
    ready: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
    start: Instant,
}

fn start(store: FakeStore, took: Duration, role: Role) -> Harness {
    start_with(store, took, role, 0)
}

/// `reads`: the ECS reads each resync of the fake reports.
fn start_with(store: FakeStore, took: Duration, role: Role, reads: usize) -> Harness {
    let reconciler = Arc::new(FakeReconciler {
        took,
        reads,
        ..FakeReconciler::default()
    });
    let ready = Arc::new(AtomicBool::new(false));
    let controller = Controller {
        store: store.clone(),
        reconciler: Arc::clone(&reconciler),
        metrics: Metrics::new().expect("metrics"),
        ready: Arc::clone(&ready),
        settings: LoopSettings {
            poll_interval: Duration::from_secs(1),
            resync_interval: Duration::from_secs(30),
            resync_read_share: 0.1,
            concurrency: 4,
            shutdown_timeout: Duration::from_secs(20),
        },
    };
    let (role_tx, role_rx) = watch::channel(role);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(controller.run(role_rx, stopped));
    Harness {
        store,
        reconciler,
        role: role_tx,
        stop,
        ready,
        task,
        start: Instant::now(),
    }
}

async fn sleep(secs: f64) {
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
}

#[tokio::test(start_paused = true)]
async fn nothing_is_reconciled_before_the_first_full_read() {
    let store = FakeStore::with(&["a", "b"]);
    store.state().failing_listings = 3;
    let h = start(store, Duration::ZERO, leader(1));
    sleep(2.5).await;
    assert!(
        h.reconciler.runs().is_empty(),
        "reconciled before reading the store"
    );
    assert!(!h.ready.load(Ordering::Acquire));
    sleep(2.0).await;
    assert!(h.ready.load(Ordering::Acquire));
    let runs = h.reconciler.runs();
    let apps: BTreeSet<&str> = runs.iter().map(|r| r.app.as_str()).collect();
    assert_eq!(apps, BTreeSet::from(["a", "b"]));
    assert!(runs
        .iter()
        .all(|r| r.started - h.start >= Duration::from_secs(3)));
}

#[tokio::test(start_paused = true)]
async fn an_apply_is_noticed_within_two_seconds_with_one_read_per_poll() {
    let store = FakeStore::with(&["a", "b"]);
    let h = start(store, Duration::ZERO, leader(1));
    sleep(10.0).await;
    let reads_before = h.store.state().revision_reads;
    let listings_before = h.store.state().listings;
    let generation = h.store.apply("a");
    let applied = Instant::now();
    sleep(10.0).await;
    let run = h
        .reconciler
        .runs()
        .into_iter()
        .find(|r| r.app == "a" && r.generation == generation)
        .expect("the new generation was reconciled");
    assert!(
        run.started - applied <= Duration::from_secs(2),
        "{:?}",
        run.started - applied
    );
    let state = h.store.state();
    let reads = state.revision_reads - reads_before;
    assert!((9..=11).contains(&reads), "{reads} revision reads in 10 s");
    assert_eq!(
        state.listings - listings_before,
        1,
        "one listing per change"
    );
}

#[tokio::test(start_paused = true)]
async fn every_app_is_resynced_each_interval() {
    let h = start(FakeStore::with(&["a", "b", "c"]), Duration::ZERO, leader(1));
    sleep(65.0).await;
    let runs = h.reconciler.runs();
    for app in ["a", "b", "c"] {
        let times: Vec<u64> = runs
            .iter()
            .filter(|r| r.app == app)
            .map(|r| (r.started - h.start).as_secs())
            .collect();
        assert_eq!(times.len(), 3, "{app}: {times:?}");
        assert!(
            times[1] >= 29 && times[1] <= 31 && times[2] >= 59 && times[2] <= 61,
            "{times:?}"
        );
    }
    let resyncs: Vec<u64> = h
        .reconciler
        .resyncs
        .lock()
        .expect("resyncs")
        .iter()
        .map(|at| (*at - h.start).as_secs())
        .collect();
    assert_eq!(
        resyncs,
        [30, 60],
        "the term's start was the first full look"
    );
}

#[tokio::test(start_paused = true)]
async fn resyncs_stretch_to_keep_their_reads_within_the_share() {
    // 2,000 services: 205 reads per resync; at 10 % of 20 reads/s that
    // is one resync every 102.5 s, not every 30 s.
    let h = start_with(FakeStore::with(&["a"]), Duration::ZERO, leader(1), 205);
    sleep(400.0).await;
    let resyncs: Vec<u64> = h
        .reconciler
        .resyncs
        .lock()
        .expect("resyncs")
        .iter()
        .map(|at| (*at - h.start).as_secs())
        .collect();
    // The first resync comes at the configured interval; once its reads
    // are known (when its refresh is done), the next ones stretch.
    assert_eq!(resyncs[0], 30, "{resyncs:?}");
    assert!(resyncs.len() >= 3, "{resyncs:?}");
    for pair in resyncs.windows(2) {
        assert!(pair[1] - pair[0] >= 102, "{resyncs:?}");
    }
    assert!(
        *h.reconciler.progress_reads.lock().expect("progress") >= 190,
        "progress is read every 2 s for the whole term"
    );
}

#[tokio::test(start_paused = true)]
async fn losing_leadership_cancels_reconciles_and_stops_all_work() {
    let h = start(
        FakeStore::with(&["a", "b"]),
        Duration::from_secs(10),
        leader(1),
    );
    sleep(2.0).await;
    assert_eq!(h.reconciler.runs().len(), 2);
    h.role.send_replace(Role::Follower);
    sleep(0.1).await;
    h.store.apply("a");
    sleep(120.0).await;
    let runs = h.reconciler.runs();
    assert_eq!(runs.len(), 2, "a follower starts nothing: {runs:?}");
    assert!(
        runs.iter().all(|r| r.finished.is_none()),
        "cancelled mid-way: {runs:?}"
    );
    assert_eq!(*h.reconciler.terms.lock().expect("terms"), (1, 1));

    // Leading again: a new term, a new fence, every app looked at.
    h.role.send_replace(leader(2));
    sleep(11.0).await;
    let runs = h.reconciler.runs();
    let new: Vec<&Run> = runs.iter().skip(2).collect();
    assert_eq!(new.len(), 2);
    assert!(new.iter().all(|r| r.token == 2 && r.finished.is_some()));
    assert!(new.iter().any(|r| r.app == "a" && r.generation == 2));
}

#[tokio::test(start_paused = true)]
async fn a_follower_reads_the_store_but_reconciles_nothing() {
    let h = start(FakeStore::with(&["a"]), Duration::ZERO, Role::Follower);
    sleep(60.0).await;
    assert!(h.ready.load(Ordering::Acquire), "warm: the store was read");
    assert!(h.reconciler.runs().is_empty());
    assert!(h.reconciler.resyncs.lock().expect("resyncs").is_empty());
    assert_eq!(*h.reconciler.terms.lock().expect("terms"), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_reconciles_in_flight() {
    let h = start(FakeStore::with(&["a"]), Duration::from_secs(5), leader(1));
    sleep(1.0).await;
    h.stop.send_replace(true);
    h.task.await.expect("the loop ends");
    let runs = h.reconciler.runs();
    assert_eq!(runs.len(), 1);
    let finished = runs[0].finished.expect("finished, not cancelled");
    assert!(finished - h.start >= Duration::from_secs(5));
}
