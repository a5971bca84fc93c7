//! Writes to AWS only while this replica may believe it leads.
//!
//! DynamoDB writes are fenced by the lease's token, a condition DynamoDB
//! checks. ECS, ELBv2 and Route53 have no such condition, so the only
//! defence against a deposed leader (paused by the kernel, a GC-like stall,
//! a stopped VM) writing after its successor is to look at the local clock
//! immediately before each mutating call: the elector opens the gate until
//! its renew deadline, which comes before the lease can expire for anyone
//! else, and a call that finds the deadline passed is never sent.
//!
//! The gate is looked at twice: by the [`Caller`](crate::Caller) before a
//! call waits for its pacing token (so a closed gate costs no token), and
//! by [`GateInterceptor`] inside the SDK, after the request is signed and
//! right before it is handed to the HTTP client. The second look is the
//! one that counts: everything the SDK does between the first look and
//! the wire (serialising, resolving the endpoint, signing, which may
//! yield to other tasks) happens before it.
//!
//! A write that passed the last look may take only until the lease may be
//! someone else's ([`WriteGate::write_budget`]: the lease duration from
//! the last renewal, at least the 5 s margin past the renew deadline);
//! the [`Caller`](crate::Caller) abandons it then, connection and all. On
//! hand-back the elector closes the gate and waits for the writes under
//! way ([`WriteGate::drained`]) before it clears the lease. Deadlines are
//! judged on the boot clock too, which counts a suspend.
//!
//! Caveat: what remains cannot be closed from the client. A request whose
//! bytes left before it was abandoned may still be acted on by AWS after
//! the successor's first write (a network or service delay past the
//! margin), and a process stopped between the last look and the write of
//! the bytes sends a signed call on waking, if its budget is not spent:
//! such a call carries a signing time (`X-Amz-Date`) from before the stop.
//! AWS offers no condition on these writes that would refuse it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::clock::boot_time;

/// Whether mutating calls may be sent, and until when; how long one that
/// is sent may take; and how many are in flight. Clones share the state.
/// [`WriteGate::always_open`] is for callers that are not elected (the
/// CLI, tests).
///
/// Every deadline is kept on two clocks, and passes when either says so:
/// tokio's monotonic clock (which tests can pause) and the boot clock
/// ([`boot_time`]), which keeps counting while the machine is suspended.
#[derive(Debug, Clone)]
pub struct WriteGate(Option<Arc<Shared>>);

#[derive(Debug)]
struct Shared {
    window: Mutex<Option<Window>>,
    /// Mutating attempts under way: what a hand-back waits for.
    in_flight: watch::Sender<usize>,
    boot_clock: fn() -> Duration,
}

/// One leadership window, on both clocks.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// Until when a write may start (the renew deadline).
    deadline: Instant,
    /// Until when a write may still be under way: after it, a successor
    /// may lead (the lease duration from the last renewal).
    safe_until: Instant,
    boot_deadline: Duration,
    boot_safe_until: Duration,
}

impl WriteGate {
    /// A gate that starts closed and opens only through [`WriteGate::open_until`].
    pub fn closed() -> Self {
        Self::closed_with_clock(boot_time)
    }

    /// [`WriteGate::closed`] with another boot clock (tests stand in for a
    /// suspend with it).
    pub fn closed_with_clock(boot_clock: fn() -> Duration) -> Self {
        Self(Some(Arc::new(Shared {
            window: Mutex::new(None),
            in_flight: watch::channel(0).0,
            boot_clock,
        })))
    }

    /// A gate that never closes.
    pub fn always_open() -> Self {
        Self(None)
    }

    /// Lets mutating calls start until `deadline` and be under way until
    /// `safe_until` (by tokio's clock; the boot clock gets the same spans
    /// from now).
    pub fn open_until(&self, deadline: Instant, safe_until: Instant) {
        if let Some(shared) = &self.0 {
            let now = Instant::now();
            let boot = (shared.boot_clock)();
            let window = Window {
                deadline,
                safe_until: safe_until.max(deadline),
                boot_deadline: boot + deadline.saturating_duration_since(now),
                boot_safe_until: boot + safe_until.max(deadline).saturating_duration_since(now),
            };
            *shared.window.lock().unwrap_or_else(PoisonError::into_inner) = Some(window);
        }
    }

    /// Refuses mutating calls from now on.
    pub fn close(&self) {
        if let Some(shared) = &self.0 {
            *shared.window.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
    }

    fn window(&self) -> Option<(Window, Duration)> {
        let shared = self.0.as_ref()?;
        let window = *shared.window.lock().unwrap_or_else(PoisonError::into_inner);
        window.map(|w| (w, (shared.boot_clock)()))
    }

    /// Whether a mutating call may be sent at `now`.
    pub fn is_open(&self, now: Instant) -> bool {
        if self.0.is_none() {
            return true;
        }
        self.window()
            .is_some_and(|(w, boot)| now < w.deadline && boot < w.boot_deadline)
    }

    /// How long a mutating call that starts at `now` may take before it
    /// must be abandoned: until the lease may be someone else's. `None`:
    /// no bound (an ungated caller). Zero when the gate is closed.
    pub fn write_budget(&self, now: Instant) -> Option<Duration> {
        self.0.as_ref()?;
        Some(match self.window() {
            Some((w, boot)) if now < w.deadline && boot < w.boot_deadline => w
                .safe_until
                .saturating_duration_since(now)
                .min(w.boot_safe_until.saturating_sub(boot)),
            _ => Duration::ZERO,
        })
    }

    /// Counts a mutating attempt as under way until the guard is dropped.
    pub fn begin_write(&self) -> WriteInFlight {
        if let Some(shared) = &self.0 {
            shared.in_flight.send_modify(|n| *n += 1);
        }
        WriteInFlight(self.0.clone())
    }

    /// Waits until no mutating attempt is under way. Each is bounded by
    /// its [`write_budget`](Self::write_budget), so after
    /// [`close`](Self::close) this ends by the window's `safe_until`.
    pub async fn drained(&self) {
        if let Some(shared) = &self.0 {
            let mut in_flight = shared.in_flight.subscribe();
            let _ = in_flight.wait_for(|n| *n == 0).await;
        }
    }
}

/// A mutating attempt under way; see [`WriteGate::begin_write`].
#[derive(Debug)]
pub struct WriteInFlight(Option<Arc<Shared>>);

impl Drop for WriteInFlight {
    fn drop(&mut self) {
        if let Some(shared) = &self.0 {
            shared.in_flight.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
}

impl WriteGate {
    /// The SDK interceptor that enforces this gate on a client's requests;
    /// register it on every client whose writes this gate guards.
    pub fn interceptor(&self) -> GateInterceptor {
        GateInterceptor { gate: self.clone() }
    }
}

/// An SDK interceptor that fails a mutating request, after signing and
/// before transmitting it, when its [`WriteGate`] is closed. The call then
/// fails with a dispatch failure caused by [`GateClosed`], which the
/// [`Caller`](crate::Caller) reports as [`Error::NotLeading`](crate::Error::NotLeading).
#[derive(Debug, Clone)]
pub struct GateInterceptor {
    gate: WriteGate,
}

impl Intercept for GateInterceptor {
    fn name(&self) -> &'static str {
        "FerryWriteGate"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // An operation the SDK left unnamed is taken for a write.
        let mutating = cfg
            .load::<Metadata>()
            .is_none_or(|metadata| is_mutating(metadata.name()));
        if mutating && !self.gate.is_open(Instant::now()) {
            return Err(Box::new(GateClosed));
        }
        Ok(())
    }
}

/// Why [`GateInterceptor`] stopped a request.
#[derive(Debug, thiserror::Error)]
#[error("not sent: this replica no longer leads (its write gate closed)")]
pub struct GateClosed;

/// Whether `error`, or anything in its chain of causes, is [`GateClosed`].
pub fn stopped_by_gate(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(err) = cause {
        if err.is::<GateClosed>() {
            return true;
        }
        cause = err.source();
    }
    false
}

impl Default for WriteGate {
    fn default() -> Self {
        Self::always_open()
    }
}

/// Whether an AWS operation may change something: every operation except
/// the read-only families (`Describe*`, `List*`, `Get*`, and DynamoDB's
/// `Query`, `Scan`, `BatchGetItem`).
pub fn is_mutating(operation: &str) -> bool {
    const READ_PREFIXES: &[&str] = &["Describe", "List", "Get", "Query", "Scan", "BatchGet"];
    !READ_PREFIXES.iter().any(|p| operation.starts_with(p))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_gate_is_open_only_before_its_deadline() {
        let gate = WriteGate::closed();
        let now = Instant::now();
        assert!(!gate.is_open(now));
        assert_eq!(gate.write_budget(now), Some(Duration::ZERO));
        gate.open_until(now + Duration::from_secs(1), now + Duration::from_secs(6));
        assert!(gate.clone().is_open(now));
        assert!(!gate.is_open(now + Duration::from_secs(1)));
        gate.open_until(now + Duration::from_secs(5), now + Duration::from_secs(10));
        gate.close();
        assert!(!gate.is_open(now));
        assert!(WriteGate::always_open().is_open(now + Duration::from_secs(3600)));
        assert_eq!(WriteGate::always_open().write_budget(now), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_may_take_only_until_the_lease_may_be_someone_elses() {
        let gate = WriteGate::closed_with_clock(|| Duration::from_secs(1000));
        let now = Instant::now();
        gate.open_until(now + Duration::from_secs(10), now + Duration::from_secs(15));
        assert_eq!(gate.write_budget(now), Some(Duration::from_secs(15)));
        let later = now + Duration::from_secs(9);
        assert_eq!(gate.write_budget(later), Some(Duration::from_secs(6)));
        // Past the renew deadline nothing starts, whatever is left.
        assert_eq!(
            gate.write_budget(now + Duration::from_secs(10)),
            Some(Duration::ZERO)
        );
    }

    /// Runs the interceptor's look on a request of `operation` (None: an
    /// operation the SDK left unnamed), signed and about to be sent.
    fn look(gate: &WriteGate, operation: Option<&str>) -> Result<(), BoxError> {
        use aws_smithy_runtime_api::client::interceptors::context::{Input, InterceptorContext};
        use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
        use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
        use aws_smithy_types::config_bag::Layer;

        let mut context = InterceptorContext::new(Input::doesnt_matter());
        context.enter_serialization_phase();
        let _ = context.take_input();
        context.set_request(HttpRequest::empty());
        context.enter_before_transmit_phase();
        let components = RuntimeComponentsBuilder::for_tests().build()?;
        let mut cfg = ConfigBag::base();
        if let Some(operation) = operation {
            let mut layer = Layer::new("operation");
            layer.store_put(Metadata::new(operation.to_owned(), "ecs"));
            cfg.push_layer(layer);
        }
        gate.interceptor()
            .read_before_transmit(&(&context).into(), &components, &mut cfg)
    }

    #[tokio::test(start_paused = true)]
    async fn the_interceptor_stops_a_signed_write_once_the_gate_closed() {
        let gate = WriteGate::closed_with_clock(|| Duration::from_secs(1000));
        let now = Instant::now();
        gate.open_until(now + Duration::from_secs(1), now + Duration::from_secs(6));
        assert!(look(&gate, Some("UpdateService")).is_ok(), "open: sent");
        // The request was held (by a pause, a slow signer) past the deadline
        // after the caller's early look let it through.
        tokio::time::advance(Duration::from_secs(2)).await;
        let refused = look(&gate, Some("UpdateService")).expect_err("closed: refused");
        assert!(stopped_by_gate(refused.as_ref()), "{refused}");
        assert!(
            look(&gate, None).is_err(),
            "an unnamed operation is taken for a write"
        );
        assert!(look(&gate, Some("DescribeServices")).is_ok(), "reads pass");
        assert!(look(&WriteGate::always_open(), Some("UpdateService")).is_ok());
    }

    static SUSPENDED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

    fn suspendable_clock() -> Duration {
        Duration::from_secs(1000 + SUSPENDED.load(std::sync::atomic::Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn a_suspend_closes_the_gate_though_the_monotonic_clock_stood_still() {
        let gate = WriteGate::closed_with_clock(suspendable_clock);
        let now = Instant::now();
        gate.open_until(now + Duration::from_secs(10), now + Duration::from_secs(15));
        assert!(gate.is_open(now));
        // The VM is suspended for a minute: CLOCK_MONOTONIC (tokio's clock)
        // did not move, CLOCK_BOOTTIME did.
        SUSPENDED.store(60, std::sync::atomic::Ordering::SeqCst);
        assert!(!gate.is_open(now), "open after a suspend past the deadline");
        assert_eq!(gate.write_budget(now), Some(Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn draining_waits_for_the_writes_under_way() {
        let gate = WriteGate::closed();
        let now = Instant::now();
        gate.open_until(now + Duration::from_secs(10), now + Duration::from_secs(15));
        gate.drained().await;
        let writing = gate.begin_write();
        let drained = tokio::spawn({
            let gate = gate.clone();
            async move { gate.drained().await }
        });
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!drained.is_finished(), "drained with a write under way");
        drop(writing);
        tokio::time::timeout(Duration::from_secs(1), drained)
            .await
            .expect("drained once the write ended")
            .expect("task");
    }

    #[test]
    fn reads_are_not_mutating() {
        for read in [
            "DescribeServices",
            "ListTasks",
            "GetItem",
            "Query",
            "BatchGetItem",
        ] {
            assert!(!is_mutating(read), "{read}");
        }
        for write in [
            "UpdateService",
            "CreateRule",
            "ChangeResourceRecordSets",
            "RunTask",
            "TransactWriteItems",
            "AddTags",
        ] {
            assert!(is_mutating(write), "{write}");
        }
    }
}
