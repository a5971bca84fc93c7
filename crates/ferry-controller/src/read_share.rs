//! How long ECS reads take at a share of their bucket: the pause that
//! keeps resyncs and progress reads within the share they may use.

use std::time::Duration;

/// How long `calls` ECS reads take at `share` of the read bucket's
/// documented refill (20/s): the pause that keeps reads within the share.
pub fn read_pause(calls: usize, share: f64) -> Duration {
    let refill = ferry_call::Bucket::ServiceReads
        .documented()
        .map_or(20.0, |rate| rate.per_second);
    let calls = u32::try_from(calls).unwrap_or(u32::MAX);
    Duration::from_secs_f64(f64::from(calls) / (refill * share.clamp(0.001, 1.0)))
}
