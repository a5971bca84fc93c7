//! The one path every AWS call takes: pacing, retries of throttled calls,
//! timeout, metrics, context.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use crate::gate::{is_mutating, stopped_by_gate, WriteGate};
use crate::pacing::{Bucket, Pacing};
use crate::{Error, Result};

/// How many times a call is sent at most while AWS throttles it. Each
/// attempt waits for a token of its bucket again, and each throttle halves
/// the bucket's rate, so the attempts spread out by themselves.
pub const MAX_ATTEMPTS: u32 = 6;

/// Whether the SDK's [`GateInterceptor`](crate::GateInterceptor) stopped
/// the request before it was sent (it surfaces as a dispatch failure).
fn refused_by_gate<E, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::DispatchFailure(failure) => failure
            .as_connector_error()
            .is_some_and(|cause| stopped_by_gate(cause)),
        _ => false,
    }
}

/// Error codes AWS uses for throttling, across the services Ferry calls.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "PriorRequestNotComplete",
];

pub(crate) fn is_throttling_code(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// Error codes AWS uses for a failure on its side that a retry may not see.
const SERVER_ERROR_CODES: &[&str] = &[
    "ServerException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Whether a failed attempt may succeed when sent again: the request did
/// not get an answer, or AWS failed on its side. Since Ferry's clients
/// leave retries to [`Caller`] (so that it sees every throttle), this is
/// the SDK's standard retry classification, kept small.
fn is_transient<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => err.code().is_some_and(|c| SERVER_ERROR_CODES.contains(&c)) || is_conflict(err),
    }
}

/// Operations AWS performs again when sent again, with neither a client
/// token nor a unique name to make the second a no-op: each would leave a
/// twin (a second task-definition revision, a second listener rule). A
/// transient failure of one of them may have been performed (the answer
/// was lost, or AWS failed after acting), so [`Caller`] does not send it
/// again; the reconcile fails, and the next one observes what exists.
/// (CreateService and RunTask carry a client token,
/// [`crate::client_token`]; CreateTargetGroup of an existing name with the
/// same settings returns it; a Route53 CREATE of an existing record is
/// refused.)
const NOT_IDEMPOTENT: &[&str] = &["RegisterTaskDefinition", "CreateRule"];

/// DynamoDB refused a write because a transaction in flight holds one of
/// its items: nothing was written, and DynamoDB's guide says to retry with
/// backoff ("Transaction conflict handling in DynamoDB",
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html>).
/// A single-item write gets `TransactionConflictException`; a transaction
/// is canceled with `TransactionConflict` among its reasons, and is
/// retried only when no condition of it failed (that is an answer, not a
/// conflict).
fn is_conflict<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err.code() {
        Some("TransactionConflictException") => true,
        Some("TransactionCanceledException") => err.message().is_some_and(|m| {
            m.contains("TransactionConflict") && !m.contains("ConditionalCheckFailed")
        }),
        _ => false,
    }
}

/// `aws_requests_total{service,operation,outcome}` and the latency histogram.
#[derive(Clone)]
pub struct AwsMetrics {
    requests: IntCounterVec,
    latency: HistogramVec,
    throttle_retries: IntCounterVec,
}

impl AwsMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new("aws_requests_total", "AWS API calls by outcome"),
            &["service", "operation", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "aws_request_duration_seconds",
                "AWS API call latency, including SDK retries",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["service", "operation"],
        )?;
        let throttle_retries = IntCounterVec::new(
            Opts::new(
                "aws_throttle_retries_total",
                "AWS calls sent again because AWS throttled them",
            ),
            &["service", "operation"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(throttle_retries.clone()))?;
        Ok(Self {
            requests,
            latency,
            throttle_retries,
        })
    }

    /// Metrics that are counted but not exported, for the CLI.
    pub fn unregistered() -> Self {
        // Registering into a fresh registry cannot collide.
        Self::new(&Registry::new()).unwrap_or_else(|_| unreachable!("fresh registry"))
    }
}

/// The pause before sending again after a transient failure: 100 ms
/// doubling, with full jitter, as the SDKs' standard mode does.
fn transient_backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_millis(100).saturating_mul(1 << attempt.min(6));
    ceiling.mul_f64(fastrand::f64())
}

/// Sends AWS calls: paced, bounded by a timeout, counted, with context,
/// and mutating ones only while its [`WriteGate`] is open.
#[derive(Clone)]
pub struct Caller {
    pacing: Arc<Pacing>,
    metrics: AwsMetrics,
    timeout: Duration,
    gate: WriteGate,
}

impl Caller {
    pub fn new(pacing: Arc<Pacing>, metrics: AwsMetrics, timeout: Duration) -> Self {
        Self {
            pacing,
            metrics,
            timeout,
            gate: WriteGate::always_open(),
        }
    }

    /// This caller, sending mutating calls only while `gate` is open. The
    /// controller gates its ECS, ELBv2 and Route53 calls on leadership;
    /// its DynamoDB writes carry the lease's token instead (a lease
    /// renewal must go out whatever the gate says).
    pub fn gated(mut self, gate: WriteGate) -> Self {
        self.gate = gate;
        self
    }

    /// Runs one SDK call. `send` sends the request (it is called again for
    /// each retry). `resource` names what the call is about, for errors and
    /// logs. The timeout bounds each attempt.
    pub async fn call<T, E, R, F, Fut>(
        &self,
        service: &'static str,
        operation: &'static str,
        bucket: Bucket,
        resource: &str,
        send: F,
    ) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        self.call_raw(service, operation, bucket, resource, send)
            .await?
            .map_err(|err| Error::from_sdk(service, operation, resource, &err))
    }

    /// Like [`Caller::call`], but hands AWS's typed error back, for callers
    /// that need more than its code (DynamoDB's cancellation reasons). Only
    /// a timeout is turned into an [`Error`].
    pub async fn call_raw<T, E, R, F, Fut>(
        &self,
        service: &'static str,
        operation: &'static str,
        bucket: Bucket,
        resource: &str,
        send: F,
    ) -> Result<Result<T, SdkError<E, R>>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let mut attempt = 1;
        loop {
            self.pacing.acquire(bucket).await;
            // Looked at after the wait for a token, right before sending:
            // the wait may have outlasted the leadership.
            let mutating = is_mutating(operation);
            let now = tokio::time::Instant::now();
            // A write may take only until the lease may be someone else's:
            // abandoned then, it cannot reach AWS after a successor's first
            // write from this side of the wire.
            let budget = if mutating {
                self.gate.write_budget(now)
            } else {
                None
            };
            if mutating && (!self.gate.is_open(now) || budget == Some(Duration::ZERO)) {
                return Err(Error::NotLeading {
                    service,
                    operation,
                    resource: resource.to_owned(),
                });
            }
            // A test may hold a write here, past the early look and before
            // the SDK signs it: only the gate's second look stands between
            // it and the wire (`ferry_call::failpoint`; debug builds only).
            #[cfg(debug_assertions)]
            if mutating {
                crate::failpoint::hit(&format!("call.before_send.{operation}")).await;
            }
            let limit = budget.map_or(self.timeout, |b| b.min(self.timeout));
            let _writing = mutating.then(|| self.gate.begin_write());
            let started = Instant::now();
            let outcome = tokio::time::timeout(limit, send()).await;
            drop(_writing);
            self.metrics
                .latency
                .with_label_values(&[service, operation])
                .observe(started.elapsed().as_secs_f64());
            if matches!(&outcome, Ok(Err(err)) if refused_by_gate(err)) {
                return Err(Error::NotLeading {
                    service,
                    operation,
                    resource: resource.to_owned(),
                });
            }
            let throttled =
                matches!(&outcome, Ok(Err(err)) if err.code().is_some_and(is_throttling_code));
            let label = match &outcome {
                Ok(Ok(_)) => "success",
                Ok(Err(_)) if throttled => "throttled",
                Ok(Err(_)) => "error",
                Err(_) => "timeout",
            };
            self.metrics
                .requests
                .with_label_values(&[service, operation, label])
                .inc();
            if throttled {
                self.pacing.throttled(bucket);
                if attempt < MAX_ATTEMPTS {
                    tracing::debug!(
                        service,
                        operation,
                        resource,
                        attempt,
                        "throttled by AWS; retrying at a lower rate"
                    );
                    self.metrics
                        .throttle_retries
                        .with_label_values(&[service, operation])
                        .inc();
                    attempt += 1;
                    continue;
                }
            } else if let Ok(result) = &outcome {
                self.pacing.succeeded(bucket);
                if result.as_ref().err().is_some_and(is_transient)
                    && !NOT_IDEMPOTENT.contains(&operation)
                    && attempt < MAX_ATTEMPTS
                {
                    tracing::debug!(
                        service,
                        operation,
                        resource,
                        attempt,
                        "transient failure; retrying"
                    );
                    tokio::time::sleep(transient_backoff(attempt)).await;
                    attempt += 1;
                    continue;
                }
            }
            return match outcome {
                Ok(result) => {
                    if let Err(err) = &result {
                        tracing::debug!(service, operation, resource, err = %DisplayErrorContext(err), "AWS call failed");
                    }
                    Ok(result)
                }
                Err(_) => Err(Error::Timeout {
                    service,
                    operation,
                    resource: resource.to_owned(),
                    seconds: limit.as_secs(),
                }),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_write_is_abandoned_when_the_lease_may_be_someone_elses() {
        let gate = WriteGate::closed_with_clock(|| Duration::from_secs(1000));
        let (caller, _, _) = caller();
        let caller = caller.gated(gate.clone());
        let now = tokio::time::Instant::now();
        gate.open_until(now + Duration::from_secs(1), now + Duration::from_secs(2));
        let started = tokio::time::Instant::now();
        let result: Result<(), Error> = caller
            .call(
                "ecs",
                "UpdateService",
                Bucket::ServiceWrites,
                "web",
                || async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok::<(), SdkError<ErrorMetadata, ()>>(())
                },
            )
            .await;
        assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        // A read is bounded by the caller's timeout only.
        let read: Result<(), Error> = caller
            .call(
                "ecs",
                "DescribeServices",
                Bucket::ServiceReads,
                "web",
                || async {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    Ok::<(), SdkError<ErrorMetadata, ()>>(())
                },
            )
            .await;
        assert!(read.is_ok(), "{read:?}");
    }

    fn throttle() -> SdkError<ErrorMetadata, ()> {
        SdkError::service_error(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
            (),
        )
    }

    fn caller() -> (Caller, Arc<Pacing>, AwsMetrics) {
        let pacing = Arc::new(Pacing::default());
        let metrics = AwsMetrics::unregistered();
        let caller = Caller::new(Arc::clone(&pacing), metrics.clone(), Duration::from_secs(5));
        (caller, pacing, metrics)
    }

    fn count(metrics: &AwsMetrics, outcome: &str) -> u64 {
        metrics
            .requests
            .with_label_values(&["ecs", "UpdateService", outcome])
            .get()
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_may_have_been_performed_is_sent_again_only_if_idempotent() {
        let (caller, _, _) = caller();
        for (operation, sent_times) in [("UpdateService", 2), ("RegisterTaskDefinition", 1)] {
            let attempts = AtomicU32::new(0);
            let _ = caller
                .call(
                    "ecs",
                    operation,
                    Bucket::ServiceWrites,
                    "app_web",
                    || async {
                        match attempts.fetch_add(1, Ordering::SeqCst) {
                            0 => Err(SdkError::<ErrorMetadata, ()>::service_error(
                                ErrorMetadata::builder().code("ServerException").build(),
                                (),
                            )),
                            n => Ok(n),
                        }
                    },
                )
                .await;
            assert_eq!(attempts.load(Ordering::SeqCst), sent_times, "{operation}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_call_is_sent_again_at_a_lower_rate() {
        let (caller, pacing, metrics) = caller();
        let attempts = AtomicU32::new(0);
        let result: Result<u32> = caller
            .call(
                "ecs",
                "UpdateService",
                Bucket::ServiceWrites,
                "app_web",
                || async {
                    match attempts.fetch_add(1, Ordering::SeqCst) {
                        0 | 1 => Err(throttle()),
                        n => Ok(n),
                    }
                },
            )
            .await;
        assert_eq!(result.expect("third attempt goes through"), 2);
        assert_eq!(count(&metrics, "throttled"), 2);
        assert_eq!(count(&metrics, "success"), 1);
        let full = pacing
            .configured_rate(Bucket::ServiceWrites)
            .expect("paced");
        let rate = pacing.rate(Bucket::ServiceWrites).expect("paced");
        assert!(rate < full, "the rate went down: {rate} < {full}");
    }

    #[test]
    fn transaction_conflicts_are_transient_and_failed_conditions_are_not() {
        let canceled = |message: &str| -> SdkError<ErrorMetadata, ()> {
            SdkError::service_error(
                ErrorMetadata::builder()
                    .code("TransactionCanceledException")
                    .message(message)
                    .build(),
                (),
            )
        };
        let reasons =
            "Transaction cancelled, please refer cancellation reasons for specific reasons";
        assert!(is_transient(&canceled(&format!(
            "{reasons} [None, TransactionConflict]"
        ))));
        assert!(!is_transient(&canceled(&format!(
            "{reasons} [ConditionalCheckFailed, TransactionConflict]"
        ))));
        assert!(!is_transient(&canceled(&format!(
            "{reasons} [ConditionalCheckFailed]"
        ))));
        let single: SdkError<ErrorMetadata, ()> = SdkError::service_error(
            ErrorMetadata::builder()
                .code("TransactionConflictException")
                .build(),
            (),
        );
        assert!(is_transient(&single));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_throttled_every_time_fails_with_the_throttling_code() {
        let (caller, _, metrics) = caller();
        let result: Result<()> = caller
            .call(
                "ecs",
                "UpdateService",
                Bucket::ServiceWrites,
                "app_web",
                || async { Err(throttle()) },
            )
            .await;
        let err = result.expect_err("always throttled");
        assert!(err.is_throttling(), "{err}");
        assert_eq!(count(&metrics, "throttled"), u64::from(MAX_ATTEMPTS));
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_gate_stops_writes_before_they_are_sent_and_lets_reads_through() {
        let (caller, _, metrics) = caller();
        let gate = WriteGate::closed();
        let caller = caller.gated(gate.clone());
        let sent = AtomicU32::new(0);
        let send = || async {
            sent.fetch_add(1, Ordering::SeqCst);
            Ok::<_, SdkError<ErrorMetadata, ()>>(())
        };
        let refused = caller
            .call(
                "ecs",
                "UpdateService",
                Bucket::ServiceWrites,
                "app_web",
                send,
            )
            .await
            .expect_err("closed");
        assert!(matches!(refused, Error::NotLeading { .. }), "{refused}");
        assert_eq!(sent.load(Ordering::SeqCst), 0, "nothing was sent");
        assert_eq!(count(&metrics, "success") + count(&metrics, "error"), 0);
        caller
            .call(
                "ecs",
                "DescribeServices",
                Bucket::ServiceReads,
                "app_web",
                send,
            )
            .await
            .expect("reads need no leadership");
        assert_eq!(sent.load(Ordering::SeqCst), 1);

        gate.open_until(
            tokio::time::Instant::now() + Duration::from_secs(10),
            tokio::time::Instant::now() + Duration::from_secs(15),
        );
        caller
            .call(
                "ecs",
                "UpdateService",
                Bucket::ServiceWrites,
                "app_web",
                send,
            )
            .await
            .expect("open");
        assert_eq!(sent.load(Ordering::SeqCst), 2);
        // The deadline passes while the call waits for nothing else: the
        // clock alone closes the gate, without anyone calling close().
        tokio::time::advance(Duration::from_secs(10)).await;
        let late = caller
            .call(
                "ecs",
                "UpdateService",
                Bucket::ServiceWrites,
                "app_web",
                send,
            )
            .await
            .expect_err("past the deadline");
        assert!(matches!(late, Error::NotLeading { .. }), "{late}");
        assert_eq!(sent.load(Ordering::SeqCst), 2);
    }
}
