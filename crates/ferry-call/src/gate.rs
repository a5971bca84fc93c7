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
//! Caveat: the last look and the send are still not atomic. A process
//! stopped between them (checking out a connection and writing the bytes)
//! sends one already-signed call late, like a request delayed in the
//! network; nothing short of a condition on AWS's side closes that window.
//! Such a call carries a signing time (`X-Amz-Date`) from before the stop.

use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use tokio::time::Instant;

/// Whether mutating calls may be sent, and until when. Clones share the
/// state. [`WriteGate::always_open`] is for callers that are not elected
/// (the CLI, tests).
#[derive(Debug, Clone)]
pub struct WriteGate(Option<Arc<Mutex<Option<Instant>>>>);

impl WriteGate {
    /// A gate that starts closed and opens only through [`WriteGate::open_until`].
    pub fn closed() -> Self {
        Self(Some(Arc::new(Mutex::new(None))))
    }

    /// A gate that never closes.
    pub fn always_open() -> Self {
        Self(None)
    }

    /// Lets mutating calls through until `deadline` (by this process's
    /// monotonic clock, which keeps running while the process is stopped).
    pub fn open_until(&self, deadline: Instant) {
        if let Some(state) = &self.0 {
            *state.lock().unwrap_or_else(PoisonError::into_inner) = Some(deadline);
        }
    }

    /// Refuses mutating calls from now on.
    pub fn close(&self) {
        if let Some(state) = &self.0 {
            *state.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
    }

    /// Whether a mutating call may be sent at `now`.
    pub fn is_open(&self, now: Instant) -> bool {
        match &self.0 {
            None => true,
            Some(state) => state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_some_and(|deadline| now < deadline),
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
        gate.open_until(now + Duration::from_secs(1));
        assert!(gate.clone().is_open(now));
        assert!(!gate.is_open(now + Duration::from_secs(1)));
        gate.open_until(now + Duration::from_secs(5));
        gate.close();
        assert!(!gate.is_open(now));
        assert!(WriteGate::always_open().is_open(now + Duration::from_secs(3600)));
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
