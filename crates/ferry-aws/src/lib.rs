//! Ferry's adapters over AWS: ECS (with Application Auto Scaling for its
//! services' desired counts), and ELBv2 with Route53 for traffic.
//!
//! Every call goes through [`Caller`] (crate `ferry-call`), which paces it
//! at AWS's request token buckets, fairly across apps, retries throttled
//! calls, bounds it with a timeout, and counts it by service, operation
//! and outcome. Observation is batched and paginated. Each
//! adapter executes one action of a [`ferry_core::Plan`] at a time; the
//! controller runs a plan's actions in order and stops at the first
//! failure, which is safe because planning is level-triggered: the next
//! reconcile plans the remainder again.

pub mod autoscaling;
pub mod ecs;
mod normalize;
pub mod traffic;

pub use autoscaling::Autoscaling;
pub use ecs::Ecs;
pub use traffic::{Traffic, TrafficConfig};

pub use ferry_call::{
    is_mutating, pacing, AwsMetrics, Caller, Error, FailureKind, Pacing, Result, WriteGate,
};

/// The SDK configuration for the ECS, ELBv2 and Route53 clients: the SDK
/// sends each request once, and [`Caller`] retries. Left to the SDK, a
/// throttled request would be retried without waiting for a token and
/// without Ferry's pacing ever hearing of it; [`Caller`] instead lowers the
/// bucket's rate and waits for a token before each attempt.
pub fn paced_sdk_config(sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
    sdk.to_builder()
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .build()
}
