//! The controller's Prometheus metrics, named as operators know them from
//! Kubernetes controllers.

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub reconcile_total: IntCounterVec,
    pub reconcile_errors_total: IntCounterVec,
    pub reconcile_time_seconds: Histogram,
    pub workqueue_depth: IntGauge,
    pub workqueue_retries_total: IntCounter,
    pub leader_election_master_status: IntGauge,
    /// Apps whose condition is True, by condition; exported by the leader
    /// only, so the sum over replicas is the number of apps.
    pub apps: IntGaugeVec,
    pub drift_corrections_total: IntCounter,
    pub task_definitions_deregistered_total: IntCounter,
    /// ECS reads made to keep the shared cache current, by purpose
    /// (`resync`, `progress`).
    pub ecs_reads_total: IntCounterVec,
    /// CloudWatch Logs reads of stopped tasks' last lines (GetLogEvents,
    /// one per failed task that ran).
    pub log_reads_total: IntCounter,
    /// ECS reads the last resync made (budget: services / 10 + 5).
    pub ecs_reads_per_resync: IntGauge,
    /// Resyncs (and term starts) that read the cluster.
    pub resyncs_total: IntCounter,
    /// The resync interval in force, after adapting to the read budget.
    pub resync_interval_seconds: IntGauge,
    pub apps_without_spec: IntGauge,
    pub aws: ferry_aws::AwsMetrics,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let reconcile_total = IntCounterVec::new(
            Opts::new("reconcile_total", "Reconciles by result"),
            &["result"],
        )?;
        let reconcile_errors_total = IntCounterVec::new(
            Opts::new(
                "reconcile_errors_total",
                "Reconciles that failed, by reason",
            ),
            &["reason"],
        )?;
        let reconcile_time_seconds = Histogram::with_opts(
            HistogramOpts::new("reconcile_time_seconds", "Duration of one app's reconcile")
                .buckets(vec![
                    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                ]),
        )?;
        let workqueue_depth = IntGauge::new(
            "workqueue_depth",
            "Apps due for a reconcile and not yet started, plus requests parked behind a running reconcile",
        )?;
        let workqueue_retries_total = IntCounter::new(
            "workqueue_retries_total",
            "Reconciles scheduled again with backoff after a failure",
        )?;
        let leader_election_master_status = IntGauge::new(
            "leader_election_master_status",
            "1 while this replica holds the leader lease, else 0",
        )?;
        let apps = IntGaugeVec::new(
            Opts::new(
                "apps",
                "Apps whose condition is True, as last written to status",
            ),
            &["condition"],
        )?;
        let drift_corrections_total = IntCounter::new(
            "drift_corrections_total",
            "Changes made to undo edits made outside Ferry",
        )?;
        let task_definitions_deregistered_total = IntCounter::new(
            "task_definitions_deregistered_total",
            "Unused task-definition revisions Ferry registered and deregistered",
        )?;
        let ecs_reads_total = IntCounterVec::new(
            Opts::new(
                "ecs_reads_total",
                "ECS reads made to keep the shared cache of services current, by purpose",
            ),
            &["purpose"],
        )?;
        let log_reads_total = IntCounter::new(
            "log_reads_total",
            "CloudWatch Logs reads of stopped tasks' last lines (one per failed task that ran)",
        )?;
        let ecs_reads_per_resync = IntGauge::new(
            "ecs_reads_per_resync",
            "ECS reads the last resync (or term start) made",
        )?;
        let resyncs_total = IntCounter::new(
            "resyncs_total",
            "Resyncs and term starts that read the cluster's services",
        )?;
        let apps_without_spec = IntGauge::new(
            "apps_without_spec",
            "Apps with services tagged for this installation but no spec: left untouched",
        )?;
        let resync_interval_seconds = IntGauge::new(
            "resync_interval_seconds",
            "The resync interval in force, stretched to keep reads within their share",
        )?;
        registry.register(Box::new(ecs_reads_total.clone()))?;
        registry.register(Box::new(log_reads_total.clone()))?;
        registry.register(Box::new(ecs_reads_per_resync.clone()))?;
        registry.register(Box::new(resyncs_total.clone()))?;
        registry.register(Box::new(resync_interval_seconds.clone()))?;
        registry.register(Box::new(apps_without_spec.clone()))?;
        registry.register(Box::new(reconcile_total.clone()))?;
        registry.register(Box::new(reconcile_errors_total.clone()))?;
        registry.register(Box::new(reconcile_time_seconds.clone()))?;
        registry.register(Box::new(workqueue_depth.clone()))?;
        registry.register(Box::new(workqueue_retries_total.clone()))?;
        registry.register(Box::new(leader_election_master_status.clone()))?;
        registry.register(Box::new(apps.clone()))?;
        registry.register(Box::new(drift_corrections_total.clone()))?;
        registry.register(Box::new(task_definitions_deregistered_total.clone()))?;
        for condition in [
            ferry_core::status::READY,
            ferry_core::status::PROGRESSING,
            ferry_core::status::DEGRADED,
        ] {
            apps.with_label_values(&[condition.as_str()]).set(0);
        }
        let aws = ferry_aws::AwsMetrics::new(&registry)?;
        Ok(Self {
            registry,
            reconcile_total,
            reconcile_errors_total,
            reconcile_time_seconds,
            workqueue_depth,
            workqueue_retries_total,
            leader_election_master_status,
            apps,
            drift_corrections_total,
            task_definitions_deregistered_total,
            ecs_reads_total,
            log_reads_total,
            ecs_reads_per_resync,
            resyncs_total,
            resync_interval_seconds,
            apps_without_spec,
            aws,
        })
    }
}
