//! Leader election over the lease item in the store.
//!
//! The timing follows client-go and controller-runtime (lease 15 s, renew
//! deadline 10 s, retry 2 s) and so do the guarantees:
//!
//! - A candidate takes the lease only when it is free, handed back, or
//!   unchanged for a whole lease duration as measured on the candidate's
//!   own monotonic clock; the write is conditional on the version it saw.
//! - The leader renews every retry period. It counts its leadership from
//!   the moment it *sent* its last successful renewal, and steps down when
//!   `renew deadline` passes without another, before any candidate can have
//!   seen the lease unchanged for `lease duration`.
//! - Each acquisition increments the fencing token; the leader's store
//!   writes carry it, so a write delayed past its leadership fails.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ferry_call::WriteGate;
use ferry_store::{Fence, LeaseRecord, LeaseWrite};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::flag::until_true;

/// The lease operations the elector needs; [`ferry_store::Store`] in
/// production, an in-memory lease in tests.
pub trait LeaseStore: Send + Sync + 'static {
    fn read(&self) -> impl Future<Output = ferry_store::Result<Option<LeaseRecord>>> + Send;
    fn acquire(
        &self,
        holder: &str,
        seen: Option<&LeaseRecord>,
        duration: Duration,
    ) -> impl Future<Output = ferry_store::Result<Option<LeaseRecord>>> + Send;
    fn renew(
        &self,
        fence: &Fence,
        duration: Duration,
    ) -> impl Future<Output = ferry_store::Result<LeaseWrite>> + Send;
    fn release(
        &self,
        fence: &Fence,
    ) -> impl Future<Output = ferry_store::Result<LeaseWrite>> + Send;
}

fn now_rfc3339() -> String {
    ferry_core::status::rfc3339(time::OffsetDateTime::now_utc())
}

impl LeaseStore for ferry_store::Store {
    async fn read(&self) -> ferry_store::Result<Option<LeaseRecord>> {
        self.read_lease().await
    }

    async fn acquire(
        &self,
        holder: &str,
        seen: Option<&LeaseRecord>,
        duration: Duration,
    ) -> ferry_store::Result<Option<LeaseRecord>> {
        self.acquire_lease(holder, seen, duration.as_secs(), &now_rfc3339())
            .await
    }

    async fn renew(&self, fence: &Fence, duration: Duration) -> ferry_store::Result<LeaseWrite> {
        self.renew_lease(fence, duration.as_secs(), &now_rfc3339())
            .await
    }

    async fn release(&self, fence: &Fence) -> ferry_store::Result<LeaseWrite> {
        self.release_lease(fence).await
    }
}

#[derive(Debug, Clone, Copy)]
pub struct LeaseTiming {
    /// How long candidates wait for an unchanged lease before taking it.
    pub lease_duration: Duration,
    /// How long the leader keeps acting without a successful renewal.
    pub renew_deadline: Duration,
    /// How often candidates look and the leader renews.
    pub retry_period: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl LeaseTiming {
    /// Checks the ordering the guarantees depend on.
    pub fn validate(&self) -> Result<(), String> {
        if self.renew_deadline >= self.lease_duration {
            return Err(format!(
                "the renew deadline ({:?}) must be shorter than the lease duration ({:?}), or a deposed leader could still act when its successor starts",
                self.renew_deadline, self.lease_duration
            ));
        }
        if self.retry_period >= self.renew_deadline {
            return Err(format!(
                "the retry period ({:?}) must be shorter than the renew deadline ({:?}), or the leader could not renew in time",
                self.retry_period, self.renew_deadline
            ));
        }
        Ok(())
    }
}

/// What this replica may do right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Follower,
    Leader(Fence),
}

pub struct Elector<S> {
    store: Arc<S>,
    /// The name written into the lease: the replica's id and a random
    /// suffix drawn once per process, so that two processes given the same
    /// `--id` (or a restarted one) never take each other's lease for their
    /// own.
    holder: String,
    timing: LeaseTiming,
    role: watch::Sender<Role>,
    gauge: Option<prometheus::IntGauge>,
    gate: WriteGate,
}

impl<S: LeaseStore> Elector<S> {
    pub fn new(store: Arc<S>, id: String, timing: LeaseTiming) -> Self {
        let (role, _) = watch::channel(Role::Follower);
        Self {
            store,
            holder: holder_name(&id),
            timing,
            role,
            gauge: None,
            gate: WriteGate::always_open(),
        }
    }

    /// Opens `gate` while this replica leads, until its renew deadline,
    /// which each renewal moves on, and closes it when it stops leading.
    /// The gate closes by the clock alone, before the lease can expire for
    /// anyone else, however late this process gets to run again.
    pub fn with_gate(mut self, gate: WriteGate) -> Self {
        gate.close();
        self.gate = gate;
        self
    }

    /// Reports leadership in `leader_election_master_status`.
    pub fn with_gauge(mut self, gauge: prometheus::IntGauge) -> Self {
        gauge.set(0);
        self.gauge = Some(gauge);
        self
    }

    /// Follows this replica's role.
    pub fn subscribe(&self) -> watch::Receiver<Role> {
        self.role.subscribe()
    }

    fn set_role(&self, role: Role) {
        if role == Role::Follower {
            self.gate.close();
        }
        if let Some(gauge) = &self.gauge {
            gauge.set(i64::from(matches!(role, Role::Leader(_))));
        }
        self.role.send_replace(role);
    }

    /// Campaigns and leads until `resign` turns true; then hands the lease
    /// back if it holds it. The caller resigns only after it has stopped
    /// acting as leader.
    pub async fn run(self, mut resign: watch::Receiver<bool>) {
        // The record last seen, and when (locally) it was first seen so.
        let mut seen: Option<(Option<LeaseRecord>, Instant)> = None;
        loop {
            if *resign.borrow() {
                return;
            }
            if let Some((fence, sent)) = self.try_acquire(&mut seen).await {
                info!(holder = %self.holder, token = fence.token, "became the leader");
                let ended = self.lead(&fence, sent, &mut resign).await;
                self.set_role(Role::Follower);
                seen = None;
                if ended == Led::Resigned {
                    // The gate closed with the role; writes already under
                    // way end (or are abandoned) within their budget. Only
                    // then may a successor start at once.
                    self.gate.drained().await;
                    match self.store.release(&fence).await {
                        Ok(LeaseWrite::Done) => info!("lease handed back"),
                        Ok(LeaseWrite::Lost) => info!("the lease had been taken over already"),
                        Err(err) => {
                            warn!(error = %err, "handing the lease back failed; it expires on its own")
                        }
                    }
                    return;
                }
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.timing.retry_period) => {}
                () = until_true(&mut resign) => return,
            }
        }
    }

    /// One look at the lease, and a bid for it if it is free or expired.
    /// On success, returns the fence and when the winning write was sent.
    async fn try_acquire(
        &self,
        seen: &mut Option<(Option<LeaseRecord>, Instant)>,
    ) -> Option<(Fence, Instant)> {
        let record = match self.store.read().await {
            Ok(record) => record,
            Err(err) => {
                warn!(error = %err, "reading the leader lease failed");
                return None;
            }
        };
        let now = Instant::now();
        let since = match seen {
            Some((last, since)) if *last == record => *since,
            _ => {
                *seen = Some((record.clone(), now));
                now
            }
        };
        let free = match record.as_ref().and_then(|r| r.holder.as_ref()) {
            None => true,
            Some(holder) => *holder == self.holder || now >= since + self.timing.lease_duration,
        };
        if !free {
            return None;
        }
        let sent = Instant::now();
        match self
            .store
            .acquire(&self.holder, record.as_ref(), self.timing.lease_duration)
            .await
        {
            Ok(Some(new)) => Some((
                Fence {
                    holder: self.holder.clone(),
                    token: new.token,
                },
                sent,
            )),
            Ok(None) => None,
            Err(err) => {
                warn!(error = %err, "taking the leader lease failed");
                None
            }
        }
    }

    /// Opens the gate for the leadership counted from `renewed`: writes
    /// start until the renew deadline and are abandoned by the time a
    /// candidate may take the lease over.
    fn open_gate(&self, renewed: Instant) {
        self.gate.open_until(
            renewed + self.timing.renew_deadline,
            renewed + self.timing.lease_duration,
        );
    }

    /// Leads until the lease is lost, the renew deadline passes, or
    /// `resign` turns true.
    async fn lead(
        &self,
        fence: &Fence,
        mut renewed: Instant,
        resign: &mut watch::Receiver<bool>,
    ) -> Led {
        self.open_gate(renewed);
        self.set_role(Role::Leader(fence.clone()));
        loop {
            let deadline = renewed + self.timing.renew_deadline;
            let next = (Instant::now() + self.timing.retry_period).min(deadline);
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                () = until_true(resign) => return Led::Resigned,
            }
            // A test may stall the elector here, as a starved task would be.
            ferry_call::failpoint::hit("leader.renew").await;
            let attempt = Instant::now();
            if attempt >= deadline {
                warn!(token = fence.token, "renew deadline passed; stepping down");
                return Led::Lost;
            }
            match tokio::time::timeout_at(
                deadline,
                self.store.renew(fence, self.timing.lease_duration),
            )
            .await
            {
                Ok(Ok(LeaseWrite::Done)) => {
                    renewed = attempt;
                    self.open_gate(renewed);
                }
                Ok(Ok(LeaseWrite::Lost)) => {
                    warn!(
                        token = fence.token,
                        "the lease was taken over; stepping down"
                    );
                    return Led::Lost;
                }
                Ok(Err(err)) => {
                    warn!(error = %err, "renewing the lease failed; retrying until the renew deadline");
                }
                Err(_) => {
                    warn!(token = fence.token, "renew deadline passed; stepping down");
                    return Led::Lost;
                }
            }
        }
    }
}

/// `id#xxxxxxxx`: the replica's name and 32 random bits of this process.
fn holder_name(id: &str) -> String {
    format!("{id}#{:08x}", fastrand::u32(..))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Led {
    Resigned,
    Lost,
}

#[cfg(test)]
mod tests {
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
}
