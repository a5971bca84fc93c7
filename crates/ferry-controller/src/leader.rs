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
#[path = "leader_tests.rs"]
mod tests;
