//! Ferry's adapters over AWS: ECS (with Application Auto Scaling for its
//! services' desired counts), ELBv2 with Route53 for traffic, EventBridge
//! Scheduler for scheduled processes, and CloudWatch Logs for the CLI's
//! `logs` and `run`.
//!
//! Every call goes through [`Caller`] (crate `ferry-call`), which paces it
//! at AWS's request token buckets, fairly across apps, retries throttled
//! calls, bounds it with a timeout, and counts it by service, operation
//! and outcome. Observation is batched and paginated. Each
//! adapter executes one action of a [`ferry_core::Plan`] at a time; the
//! controller runs a plan's actions in order and stops at the first
//! failure, which is safe because planning is level-triggered: the next
//! reconcile plans the remainder again.

pub mod alarms;
pub mod autoscaling;
pub mod cache;
pub mod dead_letters;
pub mod ecs;
pub mod logs;
mod normalize;
pub mod paginate;
pub mod resolve;
pub mod runs;
pub mod scheduler;
pub mod traffic;
pub mod world;

#[cfg(test)]
mod test_support;

pub use alarms::Alarms;
pub use autoscaling::Autoscaling;
pub use cache::{Cache, Seq};
pub use dead_letters::DeadLetters;
pub use ecs::Ecs;
pub use ecs::Missing;
pub use logs::Logs;
pub use normalize::service_deployment;
pub use runs::ScheduledRuns;
pub use scheduler::Scheduler;
pub use traffic::{Traffic, TrafficConfig};
pub use world::{Aws, Snapshot, Stopped, TrafficGuard};

pub use ferry_call::{
    is_mutating, pacing, AwsMetrics, Caller, Error, FailureKind, Pacing, Result, WriteGate,
};

/// The SDK configuration for the ECS, ELBv2 and Route53 clients: the SDK
/// sends each request once, and [`Caller`] retries. Left to the SDK, a
/// throttled request would be retried without waiting for a token and
/// without Ferry's pacing ever hearing of it; [`Caller`] instead lowers the
/// bucket's rate and waits for a token before each attempt.
///
/// A connection is given [`CONNECT_TIMEOUT`] to open: a write must be done
/// (or abandoned) within the time its lease is still safe
/// ([`WriteGate::write_budget`](ferry_call::WriteGate::write_budget), at
/// least the 5 s between renew deadline and lease expiry), and a connect
/// that hangs should fail early enough to leave room for a retry.
pub fn paced_sdk_config(sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
    sdk.to_builder()
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .build(),
        )
        .build()
}

/// How long the SDK waits for a TCP (and TLS) connection to open.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// An ECS client for an endpoint nothing listens on, with the gate's
    /// interceptor: a request that gets past the gate fails to connect.
    async fn ecs_client(gate: &WriteGate) -> aws_sdk_ecs::Client {
        let sdk = crate::test_support::unreachable_sdk().await;
        aws_sdk_ecs::Client::from_conf(
            aws_sdk_ecs::config::Builder::from(&sdk)
                .interceptor(gate.interceptor())
                .build(),
        )
    }

    async fn update(caller: &Caller, client: &aws_sdk_ecs::Client) -> Result<()> {
        caller
            .call_raw(
                "ecs",
                "UpdateService",
                pacing::Bucket::Unpaced,
                "web",
                || client.update_service().service("web").send(),
            )
            .await
            .map(|_| ())
    }

    /// The interceptor alone (the caller here is not gated) stops a write
    /// after the SDK built and signed it, and lets reads through.
    #[tokio::test]
    async fn the_sdk_interceptor_stops_writes_once_the_gate_closed() {
        let gate = WriteGate::closed();
        let client = ecs_client(&gate).await;
        let caller = crate::test_support::caller();

        let refused = update(&caller, &client).await;
        assert!(
            matches!(
                refused,
                Err(Error::NotLeading {
                    operation: "UpdateService",
                    ..
                })
            ),
            "{refused:?}"
        );
        let read = caller
            .call_raw(
                "ecs",
                "DescribeServices",
                pacing::Bucket::Unpaced,
                "web",
                || client.describe_services().services("web").send(),
            )
            .await;
        assert!(
            !matches!(read, Err(Error::NotLeading { .. })),
            "a read is not gated: {read:?}"
        );

        gate.open_until(
            tokio::time::Instant::now() + Duration::from_secs(60),
            tokio::time::Instant::now() + Duration::from_secs(65),
        );
        let sent = update(&caller, &client).await;
        assert!(
            !matches!(sent, Err(Error::NotLeading { .. })),
            "an open gate lets the write go (to a closed port): {sent:?}"
        );
    }
}
