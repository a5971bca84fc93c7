//! Renders the ECS side of an app: a task definition and a service for
//! each process (and an autoscaling spec for an autoscaled one).

use ferry_manifest::App;

use super::task_definition;

use crate::model::autoscaling::{LabelRef, Metric, PolicySpec, ScalingSpec};
use crate::model::desired::*;
use crate::model::ownership;
use crate::model::task::capacity_provider_strategy;
use crate::names::{self, autoscaling, traffic};

/// Renders every process of `app` that runs as a service (not the
/// scheduled ones: see [`super::schedule::render_schedules`]), in
/// process-name order, without their load balancer links (see
/// [`super::render_app`]).
pub fn render(app: &App, settings: &Settings) -> Vec<DesiredProcess> {
    render_all(app, settings)
        .into_iter()
        .filter(|p| {
            app.processes
                .get(&p.process)
                .is_some_and(|process| process.schedule.is_none())
        })
        .collect()
}

/// Renders every process of `app` as if it ran as a service.
pub(crate) fn render_all(app: &App, settings: &Settings) -> Vec<DesiredProcess> {
    let network = NetworkSpec {
        subnets: sorted(&settings.subnets),
        security_groups: sorted(&settings.security_groups),
        assign_public_ip: settings.assign_public_ip,
    };
    app.processes
        .iter()
        .map(|(process_name, process)| {
            let service_name = names::service_name(&app.name, process_name);
            let scaling = process.autoscaling.map(|a| {
                let targets = [
                    (Metric::Cpu, a.cpu),
                    (Metric::Memory, a.memory),
                    (Metric::Requests, a.requests_per_target),
                ];
                ScalingSpec {
                    resource_id: autoscaling::resource_id(&settings.cluster, &service_name),
                    min: a.min,
                    max: a.max,
                    tags: ownership::ownership_tags(&settings.owner, &app.name, Some(process_name)),
                    policies: targets
                        .into_iter()
                        .filter_map(|(metric, target)| {
                            Some(PolicySpec {
                                name: autoscaling::policy_name(&service_name, metric),
                                metric,
                                target: target?,
                                label: (metric == Metric::Requests)
                                    .then(|| {
                                        request_label(app, process_name, process.port, settings)
                                    })
                                    .flatten(),
                            })
                        })
                        .collect(),
                }
            });
            DesiredProcess {
                process: process_name.clone(),
                task_definition: task_definition::render(app, settings, process_name, process),
                service: ServiceSpec {
                    name: service_name,
                    desired_count: scaling
                        .as_ref()
                        .map_or(process.scale, |s| s.clamp(process.scale)),
                    network: network.clone(),
                    tags: ownership::ownership_tags(&settings.owner, &app.name, Some(process_name)),
                    load_balancers: Vec::new(),
                    health_check_grace_period: None,
                    deployment: super::rollout::deployment_spec(
                        app,
                        process_name,
                        process,
                        settings,
                    ),
                    capacity_provider_strategy: capacity_provider_strategy(
                        process.capacity.as_ref(),
                    ),
                    enable_execute_command: app.exec,
                },
                autoscaling: scaling,
                progress_deadline_secs: process
                    .progress_deadline
                    .unwrap_or(ferry_manifest::DEFAULT_PROGRESS_DEADLINE),
            }
        })
        .collect()
}

/// The target group a process's request-count policy counts at: its
/// group on the internal load balancer. Every process with a port has
/// that one (a public group exists only with domains), so the policy
/// stays put when domains come and go. `None` without a port or an
/// internal load balancer.
fn request_label(
    app: &App,
    process: &str,
    port: Option<u16>,
    settings: &Settings,
) -> Option<LabelRef> {
    let edge = settings.traffic.internal.as_ref()?;
    Some(LabelRef {
        load_balancer_arn: edge.load_balancer_arn.clone(),
        target_group: traffic::target_group_name(&settings.owner, &app.name, process, port?),
        resolved: None,
    })
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    items
}
