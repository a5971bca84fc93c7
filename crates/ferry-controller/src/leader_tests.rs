use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use super::*;

const HEALTHY: u8 = 0;
const FAILING: u8 = 1;
const HANGING: u8 = 2;

/// One replica's view of a lease shared in memory, with the same
/// conditional semantics as the store, and a switch to cut it off.
#[derive(Clone)]
struct MemoryLease {
    lease: Arc<Mutex<Option<LeaseRecord>>>,
    link: Arc<AtomicU8>,
}

impl MemoryLease {
    fn replica(&self) -> Self {
        Self {
            lease: Arc::clone(&self.lease),
            link: Arc::new(AtomicU8::new(HEALTHY)),
        }
    }

    async fn reach(&self) -> ferry_store::Result<()> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        match self.link.load(Ordering::SeqCst) {
            FAILING => Err(ferry_store::Error::Aws(ferry_aws::Error::Timeout {
                service: "dynamodb",
                operation: "UpdateItem",
                resource: "lease".into(),
                seconds: 1,
            })),
            HANGING => std::future::pending().await,
            _ => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<LeaseRecord>> {
        self.lease.lock().expect("lease")
    }

    fn update(&self, fence: &Fence, holder: Option<String>) -> LeaseWrite {
        let mut lease = self.lock();
        match lease.as_mut() {
            Some(r) if r.holder.as_ref() == Some(&fence.holder) && r.token == fence.token => {
                r.version += 1;
                r.holder = holder;
                LeaseWrite::Done
            }
            _ => LeaseWrite::Lost,
        }
    }
}

impl LeaseStore for MemoryLease {
    async fn read(&self) -> ferry_store::Result<Option<LeaseRecord>> {
        self.reach().await?;
        Ok(self.lock().clone())
    }

    async fn acquire(
        &self,
        holder: &str,
        seen: Option<&LeaseRecord>,
        _: Duration,
    ) -> ferry_store::Result<Option<LeaseRecord>> {
        self.reach().await?;
        let mut lease = self.lock();
        if lease.as_ref() != seen {
            return Ok(None);
        }
        let record = LeaseRecord {
            holder: Some(holder.to_owned()),
            token: seen.map_or(1, |r| r.token + 1),
            version: seen.map_or(1, |r| r.version + 1),
            renewed_at: String::new(),
            acquired_at: String::new(),
            duration_seconds: 15,
        };
        *lease = Some(record.clone());
        Ok(Some(record))
    }

    async fn renew(&self, fence: &Fence, _: Duration) -> ferry_store::Result<LeaseWrite> {
        self.reach().await?;
        Ok(self.update(fence, Some(fence.holder.clone())))
    }

    async fn release(&self, fence: &Fence) -> ferry_store::Result<LeaseWrite> {
        self.reach().await?;
        Ok(self.update(fence, None))
    }
}

/// A running elector and the times its role changed.
struct Replica {
    link: Arc<AtomicU8>,
    resign: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    changes: Arc<Mutex<Vec<(Instant, Role)>>>,
    role: watch::Receiver<Role>,
    gate: WriteGate,
}

impl Replica {
    fn start(shared: &MemoryLease, id: &str) -> Self {
        let store = shared.replica();
        let link = Arc::clone(&store.link);
        let gate = WriteGate::closed();
        let elector = Elector::new(Arc::new(store), id.to_owned(), LeaseTiming::default())
            .with_gate(gate.clone());
        let role = elector.subscribe();
        let changes = Arc::new(Mutex::new(Vec::new()));
        let mut watching = elector.subscribe();
        let log = Arc::clone(&changes);
        tokio::spawn(async move {
            while watching.changed().await.is_ok() {
                let role = watching.borrow_and_update().clone();
                log.lock().expect("log").push((Instant::now(), role));
            }
        });
        let (resign, resigned) = watch::channel(false);
        let task = tokio::spawn(elector.run(resigned));
        Self {
            link,
            resign,
            task,
            changes,
            role,
            gate,
        }
    }

    fn leads(&self) -> bool {
        matches!(*self.role.borrow(), Role::Leader(_))
    }

    fn token(&self) -> Option<u64> {
        match &*self.role.borrow() {
            Role::Leader(fence) => Some(fence.token),
            Role::Follower => None,
        }
    }

    /// When this replica last became leader / stopped leading.
    fn last(&self, leading: bool) -> Option<Instant> {
        self.changes
            .lock()
            .expect("log")
            .iter()
            .rev()
            .find(|(_, role)| matches!(role, Role::Leader(_)) == leading)
            .map(|(at, _)| *at)
    }
}

/// Replica `a` started first (so it leads), `b` a second later, and
/// then `settled` for both to see each other.
async fn a_leads_then_b_follows(settled: Duration) -> (MemoryLease, Replica, Replica) {
    let shared = MemoryLease {
        lease: Arc::default(),
        link: Arc::default(),
    };
    let a = Replica::start(&shared, "a");
    settle(Duration::from_secs(1)).await;
    let b = Replica::start(&shared, "b");
    settle(settled).await;
    (shared, a, b)
}

async fn settle(duration: Duration) {
    tokio::time::sleep(duration).await;
}

fn leaders(replicas: &[&Replica]) -> usize {
    replicas.iter().filter(|r| r.leads()).count()
}

#[tokio::test(start_paused = true)]
async fn exactly_one_of_two_replicas_leads() {
    let shared = MemoryLease {
        lease: Arc::default(),
        link: Arc::default(),
    };
    let a = Replica::start(&shared, "a");
    let b = Replica::start(&shared, "b");
    for _ in 0..60 {
        settle(Duration::from_millis(500)).await;
        assert!(leaders(&[&a, &b]) <= 1);
    }
    assert_eq!(leaders(&[&a, &b]), 1);
    assert_eq!(a.token().or(b.token()), Some(1));
}

#[tokio::test(start_paused = true)]
async fn a_killed_leader_is_replaced_within_the_lease_duration() {
    let shared = MemoryLease {
        lease: Arc::default(),
        link: Arc::default(),
    };
    let a = Replica::start(&shared, "a");
    settle(Duration::from_secs(1)).await;
    assert!(a.leads());
    let b = Replica::start(&shared, "b");
    settle(Duration::from_secs(30)).await;
    assert!(a.leads() && !b.leads(), "a renews, b waits");

    // SIGKILL: the task vanishes without handing the lease back.
    a.task.abort();
    let killed = Instant::now();
    settle(Duration::from_secs(30)).await;
    let took_over = b.last(true).expect("b leads");
    let gap = took_over - killed;
    let timing = LeaseTiming::default();
    assert!(
        gap <= timing.lease_duration + timing.retry_period + Duration::from_secs(1),
        "took {gap:?}"
    );
    assert_eq!(b.token(), Some(2), "a new term, a new fencing token");
}

#[tokio::test(start_paused = true)]
async fn two_processes_given_the_same_id_never_both_lead() {
    let shared = MemoryLease {
        lease: Arc::default(),
        link: Arc::default(),
    };
    let a = Replica::start(&shared, "same");
    let b = Replica::start(&shared, "same");
    for _ in 0..60 {
        settle(Duration::from_millis(500)).await;
        assert!(leaders(&[&a, &b]) <= 1, "both lead");
        assert!(
            !(a.gate.is_open(Instant::now()) && b.gate.is_open(Instant::now())),
            "both gates open"
        );
    }
    assert_eq!(leaders(&[&a, &b]), 1);
    assert_eq!(
        shared.lock().as_ref().map(|r| r.token),
        Some(1),
        "one term: neither took the other's lease for its own"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hand_back_waits_for_the_writes_under_way() {
    let (shared, a, b) = a_leads_then_b_follows(Duration::from_secs(5)).await;
    let writing = a.gate.begin_write();
    a.resign.send_replace(true);
    settle(Duration::from_secs(3)).await;
    assert!(!a.leads() && !a.gate.is_open(Instant::now()));
    assert!(
        shared
            .lock()
            .as_ref()
            .and_then(|r| r.holder.clone())
            .is_some(),
        "the lease was handed back with a write under way"
    );
    assert!(!b.leads());
    drop(writing);
    settle(Duration::from_secs(3)).await;
    assert!(a.task.is_finished());
    assert!(b.leads(), "the successor starts once the write ended");
}

#[tokio::test(start_paused = true)]
async fn resigning_hands_the_lease_over_at_once() {
    let (shared, a, b) = a_leads_then_b_follows(Duration::from_secs(5)).await;
    a.resign.send_replace(true);
    let resigned = Instant::now();
    settle(Duration::from_secs(5)).await;
    assert!(a.task.is_finished());
    assert!(!a.leads());
    assert_eq!(shared.lock().as_ref().map(|r| r.token), Some(2));
    let gap = b.last(true).expect("b leads") - resigned;
    assert!(
        gap <= LeaseTiming::default().retry_period + Duration::from_millis(200),
        "took {gap:?}"
    );
}

/// A leader cut off from the store (failing or hanging calls) stops
/// acting before anyone else can start.
async fn cut_off_leader_steps_down_first(mode: u8) {
    let (_shared, a, b) = a_leads_then_b_follows(Duration::from_secs(7)).await;
    a.link.store(mode, Ordering::SeqCst);
    let cut = Instant::now();
    settle(Duration::from_secs(40)).await;
    let a_stopped = a.last(false).expect("a stepped down");
    let b_started = b.last(true).expect("b took over");
    assert!(
        a_stopped < b_started,
        "{:?} vs {:?}",
        a_stopped - cut,
        b_started - cut
    );
    assert!(a_stopped - cut <= LeaseTiming::default().renew_deadline);
    // Reconnected, a stays a follower: the lease is b's now.
    a.link.store(HEALTHY, Ordering::SeqCst);
    settle(Duration::from_secs(30)).await;
    assert!(!a.leads() && b.leads());
}

/// A leader that stops running altogether (a paused process) cannot
/// close anything itself: its gate closes by the clock, at its renew
/// deadline, before a successor can lead.
#[tokio::test(start_paused = true)]
async fn a_stalled_leaders_gate_closes_before_a_successor_leads() {
    let (_shared, a, b) = a_leads_then_b_follows(Duration::from_secs(7)).await;
    assert!(a.leads() && a.gate.is_open(Instant::now()));
    assert!(
        !b.gate.is_open(Instant::now()),
        "a follower's gate is closed"
    );
    a.task.abort();
    let stalled = Instant::now();
    settle(Duration::from_secs(40)).await;
    let b_started = b.last(true).expect("b took over");
    assert!(b.gate.is_open(Instant::now()));
    // a never ran again, yet its gate was closed before b led, and it
    // closed within a renew deadline of the stall.
    assert!(!a.gate.is_open(b_started));
    assert!(!a
        .gate
        .is_open(stalled + LeaseTiming::default().renew_deadline));
}

#[tokio::test(start_paused = true)]
async fn a_leader_whose_renewals_fail_steps_down_before_a_successor_starts() {
    cut_off_leader_steps_down_first(FAILING).await;
}

#[tokio::test(start_paused = true)]
async fn a_leader_whose_renewals_hang_steps_down_before_a_successor_starts() {
    cut_off_leader_steps_down_first(HANGING).await;
}

#[test]
fn timing_must_leave_a_margin() {
    assert!(LeaseTiming::default().validate().is_ok());
    let bad = LeaseTiming {
        renew_deadline: Duration::from_secs(15),
        ..LeaseTiming::default()
    };
    assert!(bad.validate().is_err());
    let bad = LeaseTiming {
        retry_period: Duration::from_secs(10),
        ..LeaseTiming::default()
    };
    assert!(bad.validate().is_err());
}
