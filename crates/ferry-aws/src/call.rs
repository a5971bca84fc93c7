//! The one path every AWS call takes: pacing, timeout, metrics, context.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use crate::pacing::{Bucket, Pacing};
use crate::{Error, Result};

/// Error codes AWS uses for throttling, across the services Ferry calls.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "PriorRequestNotComplete",
];

/// `aws_requests_total{service,operation,outcome}` and the latency histogram.
#[derive(Clone)]
pub struct AwsMetrics {
    requests: IntCounterVec,
    latency: HistogramVec,
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
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self { requests, latency })
    }

    /// Metrics that are counted but not exported, for the CLI.
    pub fn unregistered() -> Self {
        // Registering into a fresh registry cannot collide.
        Self::new(&Registry::new()).unwrap_or_else(|_| unreachable!("fresh registry"))
    }
}

/// Sends AWS calls: paced, bounded by a timeout, counted, with context.
#[derive(Clone)]
pub struct Caller {
    pacing: Arc<Pacing>,
    metrics: AwsMetrics,
    timeout: Duration,
}

impl Caller {
    pub fn new(pacing: Arc<Pacing>, metrics: AwsMetrics, timeout: Duration) -> Self {
        Self {
            pacing,
            metrics,
            timeout,
        }
    }

    /// Runs one SDK call. `resource` names what the call is about, for
    /// errors and logs. The timeout covers the SDK's own retries.
    pub async fn call<T, E, R, F>(
        &self,
        service: &'static str,
        operation: &'static str,
        bucket: Bucket,
        resource: &str,
        send: F,
    ) -> Result<T>
    where
        F: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        self.call_raw(service, operation, bucket, resource, send)
            .await?
            .map_err(|err| {
                let message = match (err.code(), err.message()) {
                    (Some(code), Some(message)) => format!("{code}: {message}"),
                    (Some(code), None) => code.to_owned(),
                    _ => DisplayErrorContext(&err).to_string(),
                };
                Error::Call {
                    service,
                    operation,
                    resource: resource.to_owned(),
                    code: err.code().map(str::to_owned),
                    message,
                }
            })
    }

    /// Like [`Caller::call`], but hands AWS's typed error back, for callers
    /// that need more than its code (DynamoDB's cancellation reasons). Only
    /// a timeout is turned into an [`Error`].
    pub async fn call_raw<T, E, R, F>(
        &self,
        service: &'static str,
        operation: &'static str,
        bucket: Bucket,
        resource: &str,
        send: F,
    ) -> Result<Result<T, SdkError<E, R>>>
    where
        F: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        self.pacing.acquire(bucket).await;
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, send).await;
        self.metrics
            .latency
            .with_label_values(&[service, operation])
            .observe(started.elapsed().as_secs_f64());
        let label = match &outcome {
            Ok(Ok(_)) => "success",
            Ok(Err(err)) if err.code().is_some_and(|c| THROTTLING_CODES.contains(&c)) => {
                "throttled"
            }
            Ok(Err(_)) => "error",
            Err(_) => "timeout",
        };
        self.metrics
            .requests
            .with_label_values(&[service, operation, label])
            .inc();
        match outcome {
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
                seconds: self.timeout.as_secs(),
            }),
        }
    }
}
