//! Client-side pacing below AWS's request token buckets.
//!
//! ECS throttles per account and region with token buckets
//! (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html>).
//! Ferry waits for a token of its own bucket before each call, with the
//! burst and refill set to 80% of the documented ones, so that other
//! clients in the account keep headroom and Ferry never needs the SDK's
//! throttling retries in normal operation.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// The share of each documented bucket Ferry allows itself.
const SHARE: f64 = 0.8;

/// Which documented bucket a call draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// RegisterTaskDefinition and DeregisterTaskDefinition: burst 20, 1/s.
    TaskDefinitionWrites,
    /// CreateService, UpdateService, DeleteService: burst 50, 5/s.
    ServiceWrites,
    /// DescribeServices, ListServices and other reads: burst 100, 20/s.
    Reads,
    /// ELBv2 reads. ELBv2 does not document its buckets; these are set
    /// conservatively (burst 20, 10/s) and shared by every reconcile.
    ElbReads,
    /// ELBv2 writes (target groups, rules): burst 10, 5/s, undocumented.
    ElbWrites,
    /// Route53: 5 requests per second per account, documented in
    /// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html>.
    Route53,
    /// Calls to other services: paced by the SDK's retries only.
    Unpaced,
}

/// One rate limiter per bucket, shared by every reconcile of a process.
pub struct Pacing {
    task_definition_writes: DefaultDirectRateLimiter,
    service_writes: DefaultDirectRateLimiter,
    reads: DefaultDirectRateLimiter,
    elb_reads: DefaultDirectRateLimiter,
    elb_writes: DefaultDirectRateLimiter,
    route53: DefaultDirectRateLimiter,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            task_definition_writes: limiter(20, 1.0),
            service_writes: limiter(50, 5.0),
            reads: limiter(100, 20.0),
            elb_reads: limiter(20, 10.0),
            elb_writes: limiter(10, 5.0),
            route53: limiter(5, 5.0),
        }
    }
}

impl Pacing {
    /// Waits until a call from `bucket` may be sent.
    pub async fn acquire(&self, bucket: Bucket) {
        let limiter = match bucket {
            Bucket::TaskDefinitionWrites => &self.task_definition_writes,
            Bucket::ServiceWrites => &self.service_writes,
            Bucket::Reads => &self.reads,
            Bucket::ElbReads => &self.elb_reads,
            Bucket::ElbWrites => &self.elb_writes,
            Bucket::Route53 => &self.route53,
            Bucket::Unpaced => return,
        };
        limiter.until_ready().await;
    }
}

fn limiter(documented_burst: u32, documented_per_second: f64) -> DefaultDirectRateLimiter {
    let burst = ((f64::from(documented_burst) * SHARE) as u32).max(1);
    let period = Duration::from_secs_f64(1.0 / (documented_per_second * SHARE));
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
    RateLimiter::direct(quota)
}
