//! DescribeServiceDeployments' answer into [`ObservedServiceDeployment`]
//! (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html>).

use aws_sdk_ecs::types as ecs;
use ferry_core::model::deployments::{
    HookDetail, HookStatus, LifecycleStage, ObservedServiceDeployment, RevisionSummary,
    ServiceDeploymentState,
};

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// A weight in percent (a double) as tenths.
fn tenths(weight: Option<f64>) -> Option<u32> {
    weight
        .filter(|w| w.is_finite() && *w >= 0.0)
        .map(|w| (w * 10.0).round() as u32)
}

fn revision(r: &ecs::ServiceRevisionSummary) -> RevisionSummary {
    RevisionSummary {
        arn: r.arn().unwrap_or_default().to_owned(),
        requested_tasks: count(r.requested_task_count()),
        running_tasks: count(r.running_task_count()),
        pending_tasks: count(r.pending_task_count()),
        production_weight_tenths: tenths(r.requested_production_traffic_weight()),
        test_weight_tenths: tenths(r.requested_test_traffic_weight()),
    }
}

/// `None` without an ARN or with a status Ferry does not know (left out
/// rather than guessed at, like a service's deployments).
pub fn service_deployment(d: &ecs::ServiceDeployment) -> Option<ObservedServiceDeployment> {
    Some(ObservedServiceDeployment {
        arn: d.service_deployment_arn()?.to_owned(),
        service_arn: d.service_arn().unwrap_or_default().to_owned(),
        status: ServiceDeploymentState::from_ecs(d.status()?.as_str())?,
        status_reason: d.status_reason().map(str::to_owned),
        lifecycle_stage: d
            .lifecycle_stage()
            .and_then(|s| LifecycleStage::from_ecs(s.as_str())),
        target: d.target_service_revision().map(revision),
        sources: d.source_service_revisions().iter().map(revision).collect(),
        rollback_reason: d.rollback().and_then(|r| r.reason()).map(str::to_owned),
        hooks: d
            .lifecycle_hook_details()
            .iter()
            .filter_map(|h| {
                Some(HookDetail {
                    hook_id: h.hook_id()?.to_owned(),
                    target_type: h
                        .target_type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    status: HookStatus::from_ecs(h.status()?.as_str())?,
                    expires_at: time(h.expires_at()),
                    timeout_action: h.timeout_action().map(|a| a.as_str().to_owned()),
                })
            })
            .collect(),
        triggered_alarms: {
            let mut names: Vec<String> = d
                .alarms()
                .map(|a| a.triggered_alarm_names().to_vec())
                .unwrap_or_default();
            names.sort();
            names
        },
        created_at: time(d.created_at()),
        updated_at: time(d.updated_at()),
        finished_at: time(d.finished_at()),
    })
}
