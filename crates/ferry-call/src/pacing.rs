//! Client-side pacing at AWS's request token buckets, fair across apps.
//!
//! ECS, ELBv2 and Route53 throttle per account and region with token
//! buckets, documented per category of action (see [`Bucket`]). Ferry
//! keeps a bucket of its own per documented bucket, with the
//! documented burst and refill times a configurable share (`--aws-share`,
//! default 1.0 of the documented rates; lower it when other tools in the
//! account need headroom), and waits for a token before each call. So in
//! normal operation AWS never has to throttle Ferry, and a bulk rollout
//! runs at the quota, not below it. The refill keeps [`CLOCK_MARGIN`] of
//! headroom: AWS's bucket and Ferry's run on different clocks, and a call
//! that arrives a few milliseconds before AWS's bucket refilled would be
//! throttled.
//!
//! **Fairness.** Tokens are not first come, first served. Each call is made
//! on behalf of a [`Claimant`] (the app a reconcile works for, set with
//! [`on_behalf_of`]); when calls wait, the bucket serves the claimants with
//! the highest priority first and takes turns, one token each, among
//! claimants of equal priority. The controller sets the priority from the
//! time of the app's last apply, so a one-app apply made during a bulk
//! rollout of hundreds of apps gets the next token, not the last. Calls
//! made on behalf of no app (the shared cache's batched reads) come first:
//! they are few, bounded by their own cadence, and every app needs them.
//!
//! **Adapting.** Other tools share AWS's buckets, so Ferry's view of the
//! bucket can be optimistic. When AWS throttles a call anyway, the bucket
//! halves its rate and empties (AWS just said it is empty): multiplicative
//! decrease. Every call that goes through adds back a twentieth of the
//! configured rate: additive increase, up to the configured rate. This is
//! AIMD, as TCP and the AWS SDKs' adaptive retry mode do it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

/// Which documented bucket a call draws from.
///
/// ECS: <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html>
/// ("All API actions in a category share the same token bucket", per
/// Region). ELBv2: <https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html>
/// (every request also draws from an account-level bucket). Route53:
/// <https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/throttling-api-requests.html>
/// (an account-level bucket and one per action, both 50 and 10/s for the
/// actions Ferry calls). EventBridge Scheduler:
/// <https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.html>
/// (a request rate per operation, "rejects requests for this operation
/// for the remainder of the interval": no burst beyond one second's worth).
/// CloudWatch Logs: the quotas page,
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html>,
/// gives FilterLogEvents 5 transactions per second per account and Region
/// (also <https://repost.aws/knowledge-center/cloudwatch-logs-throttling>),
/// and no burst: Ferry allows one second's worth. The same page gives
/// GetLogEvents 25 transactions per second per account and Region, a
/// bucket of its own ([`Bucket::LogsTailReads`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// ECS "task definition modify": Register/DeregisterTaskDefinition,
    /// burst 20, 1/s.
    TaskDefinitionWrites,
    /// ECS "task definition read": DescribeTaskDefinition,
    /// ListTaskDefinitions; burst 50, 20/s.
    TaskDefinitionReads,
    /// ECS "service modify": Create/Update/DeleteService; burst 50, 5/s.
    ServiceWrites,
    /// ECS "service read": DescribeServices, ListServices; burst 100, 20/s.
    ServiceReads,
    /// ECS "cluster read": DescribeClusters; burst 50, 20/s.
    ClusterReads,
    /// ECS "cluster resource modify": RunTask, StopTask; burst 100, 40/s.
    TaskWrites,
    /// ECS "cluster resource read": ListTasks, DescribeTasks; burst 100, 20/s.
    TaskReads,
    /// ELBv2 "non-mutating" (Describe*): burst 40, 10/s, and the account
    /// bucket.
    ElbReads,
    /// ELBv2 "mutating" (target groups, rules, tags): burst 20, 3/s, and
    /// the account bucket.
    ElbWrites,
    /// The ELBv2 account-level bucket every ELBv2 request draws from:
    /// burst 40, 10/s.
    ElbAccount,
    /// Route53, account level: burst 50, 10/s.
    Route53,
    /// EventBridge Scheduler Create/Update/Delete/Get/ListSchedules: each
    /// 50 requests/s by default in every Region (the lowest the quotas page
    /// has given; primary Regions allow more). One bucket for all five is
    /// stricter than AWS, whose rates are per operation.
    SchedulerSchedules,
    /// EventBridge Scheduler CreateScheduleGroup, GetScheduleGroup and
    /// ListTagsForResource: 10 requests/s each.
    SchedulerGroups,
    /// CloudWatch Logs FilterLogEvents: 5/s per account and Region; burst 5.
    LogsReads,
    /// CloudWatch Logs GetLogEvents (the controller's read of a stopped
    /// task's last lines): 25/s per account and Region; burst 25.
    LogsTailReads,
    /// CloudWatch PutMetricAlarm, DeleteAlarms and TagResource (the
    /// alarms Ferry owns, `alarms: default`): 3 transactions per second per
    /// account and Region, the PutMetricAlarm and DeleteAlarms quotas of
    /// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html>;
    /// no burst is documented, so Ferry allows one second's worth. One
    /// bucket for the three is stricter than AWS, whose rates are per
    /// operation.
    AlarmWrites,
    /// CloudWatch DescribeAlarms and ListTagsForResource: 9 transactions
    /// per second, the DescribeAlarms quota of the same page; burst one
    /// second's worth.
    AlarmReads,
    /// Application Auto Scaling: every action, burst 10, 2/s. AWS says
    /// that Application Auto Scaling has an API throttle bucket of its own
    /// per account and Region, shared by all its actions ("Amazon EC2 Auto
    /// Scaling, AWS Auto Scaling, and AWS Application Auto Scaling have
    /// their own API throttle buckets",
    /// <https://repost.aws/knowledge-center/autoscaling-api-calls-throttled>),
    /// but publishes no rate for it, neither there nor in the service's
    /// quotas (<https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-quotas.html>).
    /// These numbers are therefore Ferry's own, deliberately low: Ferry
    /// makes two paginated reads per resync and a few writes per changed
    /// process, so they cost nothing in practice, and if AWS throttles
    /// anyway the bucket adapts downward like every other.
    Autoscaling,
    /// Amazon SQS, the schedules' dead-letter queue: GetQueueUrl,
    /// ReceiveMessage, DeleteMessage; burst 10, 10/s. SQS documents no
    /// request bucket for standard queues ("a nearly unlimited number of
    /// API calls per second, per API action",
    /// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/DistributedQueues.html>),
    /// so these numbers are Ferry's own: a few calls per resync, paced and
    /// counted like every other so that a flood of dead letters cannot
    /// crowd out the rest.
    Sqs,
    /// Calls to other services (DynamoDB on demand): paced by AWS only.
    Unpaced,
}

/// A documented token bucket: how many calls may go at once, and how fast
/// the bucket refills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub burst: u32,
    pub per_second: f64,
}

impl Bucket {
    /// Every paced bucket, in a fixed order.
    pub const PACED: [Bucket; 19] = [
        Bucket::TaskDefinitionWrites,
        Bucket::TaskDefinitionReads,
        Bucket::ServiceWrites,
        Bucket::ServiceReads,
        Bucket::ClusterReads,
        Bucket::TaskWrites,
        Bucket::TaskReads,
        Bucket::ElbReads,
        Bucket::ElbWrites,
        Bucket::ElbAccount,
        Bucket::Route53,
        Bucket::SchedulerSchedules,
        Bucket::SchedulerGroups,
        Bucket::LogsReads,
        Bucket::LogsTailReads,
        Bucket::AlarmWrites,
        Bucket::AlarmReads,
        Bucket::Autoscaling,
        Bucket::Sqs,
    ];

    /// The bucket as AWS documents it.
    pub fn documented(self) -> Option<Rate> {
        let (burst, per_second) = match self {
            Bucket::TaskDefinitionWrites => (20, 1.0),
            Bucket::TaskDefinitionReads => (50, 20.0),
            Bucket::ServiceWrites => (50, 5.0),
            Bucket::ServiceReads => (100, 20.0),
            Bucket::ClusterReads => (50, 20.0),
            Bucket::TaskWrites => (100, 40.0),
            Bucket::TaskReads => (100, 20.0),
            Bucket::ElbReads => (40, 10.0),
            Bucket::ElbWrites => (20, 3.0),
            Bucket::ElbAccount => (40, 10.0),
            Bucket::Route53 => (50, 10.0),
            Bucket::SchedulerSchedules => (50, 50.0),
            Bucket::SchedulerGroups => (10, 10.0),
            Bucket::LogsReads => (5, 5.0),
            Bucket::LogsTailReads => (25, 25.0),
            Bucket::AlarmWrites => (3, 3.0),
            Bucket::AlarmReads => (9, 9.0),
            Bucket::Autoscaling => (10, 2.0),
            Bucket::Sqs => (10, 10.0),
            Bucket::Unpaced => return None,
        };
        Some(Rate { burst, per_second })
    }

    /// A bucket the call draws from as well (the account-level one).
    pub fn also(self) -> Option<Bucket> {
        match self {
            Bucket::ElbReads | Bucket::ElbWrites => Some(Bucket::ElbAccount),
            _ => None,
        }
    }

    fn index(self) -> Option<usize> {
        Bucket::PACED.iter().position(|b| *b == self)
    }
}

/// On whose behalf calls are made: who waits in line for a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant {
    /// The app; claimants with the same key share one place in the line.
    pub key: Arc<str>,
    /// Higher goes first. The controller uses the app's last apply time in
    /// seconds, so the most recent apply is served first.
    pub priority: i64,
}

impl Claimant {
    pub fn new(key: impl Into<Arc<str>>, priority: i64) -> Self {
        Self {
            key: key.into(),
            priority,
        }
    }

    /// Work done for every app at once: served before any single app.
    fn shared() -> Self {
        Self::new("", i64::MAX)
    }
}

tokio::task_local! {
    static CLAIMANT: Claimant;
}

/// Runs `work` with every AWS call in it made on behalf of `claimant`.
pub async fn on_behalf_of<F: Future>(claimant: Claimant, work: F) -> F::Output {
    CLAIMANT.scope(claimant, work).await
}

fn current_claimant() -> Claimant {
    CLAIMANT
        .try_with(Clone::clone)
        .unwrap_or_else(|_| Claimant::shared())
}

/// The fraction of the refill rate Ferry leaves unused so that network
/// jitter never makes a call arrive before AWS's bucket has refilled.
pub const CLOCK_MARGIN: f64 = 0.01;

/// One fair bucket per documented bucket, shared by every caller in the
/// process.
pub struct Pacing {
    buckets: Vec<Arc<FairBucket>>,
}

impl Default for Pacing {
    /// The documented rates, in full.
    fn default() -> Self {
        Self::with_share(1.0)
    }
}

impl Pacing {
    /// Buckets at `share` (clamped to 0.01..=1) of the documented ones.
    pub fn with_share(share: f64) -> Self {
        let share = if share.is_finite() {
            share.clamp(0.01, 1.0)
        } else {
            1.0
        };
        let buckets = Bucket::PACED
            .iter()
            .filter_map(|b| b.documented())
            .map(|rate| {
                Arc::new(FairBucket::new(
                    (f64::from(rate.burst) * share).max(1.0),
                    rate.per_second * share * (1.0 - CLOCK_MARGIN),
                ))
            })
            .collect();
        Self { buckets }
    }

    fn bucket(&self, bucket: Bucket) -> Option<&Arc<FairBucket>> {
        bucket.index().and_then(|i| self.buckets.get(i))
    }

    /// Waits until a call from `bucket` may be sent, in turn with the
    /// other claimants waiting. Cancel-safe: a waiter that is dropped
    /// takes no token.
    pub async fn acquire(&self, bucket: Bucket) {
        let claimant = current_claimant();
        for draw in std::iter::once(bucket).chain(bucket.also()) {
            if let Some(fair) = self.bucket(draw) {
                FairBucket::acquire(fair, claimant.clone()).await;
            }
        }
    }

    /// AWS throttled a call from `bucket`: halve the rate, empty the bucket.
    pub fn throttled(&self, bucket: Bucket) {
        // Which of the buckets AWS found empty, it does not say: both slow.
        for draw in std::iter::once(bucket).chain(bucket.also()) {
            if let Some(fair) = self.bucket(draw) {
                fair.throttled();
            }
        }
    }

    /// A call from `bucket` went through: recover towards the full rate.
    pub fn succeeded(&self, bucket: Bucket) {
        for draw in std::iter::once(bucket).chain(bucket.also()) {
            if let Some(fair) = self.bucket(draw) {
                fair.succeeded();
            }
        }
    }

    /// The rate `bucket` refills at now, in calls per second.
    pub fn rate(&self, bucket: Bucket) -> Option<f64> {
        self.bucket(bucket).map(|fair| fair.state().rate)
    }

    /// The rate `bucket` refills at when AWS is not throttling.
    pub fn configured_rate(&self, bucket: Bucket) -> Option<f64> {
        self.bucket(bucket).map(|fair| fair.max_rate)
    }
}

/// How far one throttle cuts the rate, and the floor it never goes below
/// (as fractions of the configured rate).
const DECREASE: f64 = 0.5;
const FLOOR: f64 = 0.05;
/// Throttles within this long of a cut are the same congestion event.
const DECREASE_WINDOW: Duration = Duration::from_secs(1);
/// What each call that goes through adds back, as a fraction of the
/// configured rate.
const INCREASE: f64 = 0.05;

/// Claimants of one priority, in turn order, each with its waiters in
/// arrival order.
type Ring = VecDeque<(Arc<str>, VecDeque<oneshot::Sender<()>>)>;

/// A token bucket whose tokens are handed out by priority, then in turns.
struct FairBucket {
    burst: f64,
    max_rate: f64,
    state: Mutex<State>,
}

struct State {
    tokens: f64,
    refilled: Instant,
    rate: f64,
    /// When the rate was last cut.
    decreased: Option<Instant>,
    /// Waiters by priority (highest first), then a ring of claimants, each
    /// with its waiters in arrival order.
    lines: BTreeMap<Reverse<i64>, Ring>,
    /// Whether a dispatcher task is handing out tokens.
    dispatching: bool,
}

impl State {
    fn refill(&mut self, burst: f64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(burst);
        self.refilled = now;
    }

    fn has_waiters(&self) -> bool {
        !self.lines.is_empty()
    }

    fn enqueue(&mut self, claimant: Claimant, waiter: oneshot::Sender<()>) {
        let ring = self.lines.entry(Reverse(claimant.priority)).or_default();
        match ring.iter_mut().find(|(key, _)| *key == claimant.key) {
            Some((_, waiters)) => waiters.push_back(waiter),
            None => ring.push_back((claimant.key, VecDeque::from([waiter]))),
        }
    }

    /// The next waiter in line, taken out: the first claimant of the
    /// highest priority gives up one waiter and goes to the back of its
    /// ring.
    fn next_waiter(&mut self) -> Option<oneshot::Sender<()>> {
        let mut entry = self.lines.first_entry()?;
        let ring = entry.get_mut();
        let (key, mut waiters) = ring.pop_front()?;
        let waiter = waiters.pop_front();
        if !waiters.is_empty() {
            ring.push_back((key, waiters));
        }
        if ring.is_empty() {
            entry.remove();
        }
        waiter
    }
}

impl FairBucket {
    fn new(burst: f64, rate: f64) -> Self {
        Self {
            burst,
            max_rate: rate,
            state: Mutex::new(State {
                tokens: burst,
                refilled: Instant::now(),
                rate,
                decreased: None,
                lines: BTreeMap::new(),
                dispatching: false,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update leaves the state whole, so a poisoned lock is usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn acquire(this: &Arc<Self>, claimant: Claimant) {
        let (tx, rx) = oneshot::channel();
        {
            let mut state = this.state();
            state.refill(this.burst, Instant::now());
            if !state.has_waiters() && state.tokens >= 1.0 {
                state.tokens -= 1.0;
                return;
            }
            state.enqueue(claimant, tx);
            if !state.dispatching {
                state.dispatching = true;
                tokio::spawn(Arc::clone(this).dispatch());
            }
        }
        // The dispatcher only drops a sender after sending on it, or when
        // the runtime shuts down; either way there is nothing to wait for.
        let _ = rx.await;
    }

    /// Hands out tokens to waiters as the bucket refills; ends when no one
    /// waits.
    async fn dispatch(self: Arc<Self>) {
        loop {
            let wait = {
                let mut state = self.state();
                state.refill(self.burst, Instant::now());
                while state.tokens >= 1.0 {
                    let Some(waiter) = state.next_waiter() else {
                        break;
                    };
                    // A waiter that gave up (cancelled) takes no token.
                    if waiter.send(()).is_ok() {
                        state.tokens -= 1.0;
                    }
                }
                if !state.has_waiters() {
                    state.dispatching = false;
                    return;
                }
                Duration::from_secs_f64(((1.0 - state.tokens) / state.rate).max(0.001))
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn throttled(&self) {
        let now = Instant::now();
        let mut state = self.state();
        state.refill(self.burst, now);
        state.tokens = state.tokens.min(0.0);
        let recent = state
            .decreased
            .is_some_and(|at| now.saturating_duration_since(at) < DECREASE_WINDOW);
        if !recent {
            state.rate = (state.rate * DECREASE).max(self.max_rate * FLOOR);
            state.decreased = Some(now);
        }
    }

    fn succeeded(&self) {
        let mut state = self.state();
        if state.rate < self.max_rate {
            state.refill(self.burst, Instant::now());
            state.rate = (state.rate + self.max_rate * INCREASE).min(self.max_rate);
        }
    }
}

#[cfg(test)]
#[path = "pacing_tests.rs"]
mod tests;
