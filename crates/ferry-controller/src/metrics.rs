//! The controller's Prometheus metrics, named as operators know them from
//! Kubernetes controllers.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub reconcile_total: IntCounterVec,
    pub reconcile_errors_total: IntCounter,
    pub reconcile_time_seconds: Histogram,
    pub workqueue_depth: IntGauge,
    pub aws: ferry_aws::AwsMetrics,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let reconcile_total = IntCounterVec::new(
            Opts::new("reconcile_total", "Reconciles by result"),
            &["result"],
        )?;
        let reconcile_errors_total =
            IntCounter::new("reconcile_errors_total", "Reconciles that failed")?;
        let reconcile_time_seconds = Histogram::with_opts(
            HistogramOpts::new("reconcile_time_seconds", "Duration of one app's reconcile")
                .buckets(vec![
                    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                ]),
        )?;
        let workqueue_depth = IntGauge::new("workqueue_depth", "Apps due for a reconcile")?;
        registry.register(Box::new(reconcile_total.clone()))?;
        registry.register(Box::new(reconcile_errors_total.clone()))?;
        registry.register(Box::new(reconcile_time_seconds.clone()))?;
        registry.register(Box::new(workqueue_depth.clone()))?;
        let aws = ferry_aws::AwsMetrics::new(&registry)?;
        Ok(Self {
            registry,
            reconcile_total,
            reconcile_errors_total,
            reconcile_time_seconds,
            workqueue_depth,
            aws,
        })
    }
}
