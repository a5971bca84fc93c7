//! Renders the AWS resources an app should have.
//!
//! The rendered types hold exactly the fields Ferry manages, in a normal
//! form (maps sorted, lists in a fixed order). The AWS adapter converts what
//! ECS *returns* into the same types, so the planner compares like with like
//! and a field ECS fills with a default never looks like a change.

use std::collections::BTreeMap;

use ferry_manifest::App;
use serde::{Deserialize, Serialize};

use crate::autoscaling::{self, LabelRef, Metric, PolicySpec, ScalingSpec};
use crate::names;
use crate::schedule::DesiredSchedule;
use crate::traffic::{self, DesiredTraffic, LoadBalancerLink, TrafficSettings};

/// The environment an app is deployed into: everything the controller is
/// configured with that shapes rendered resources. Serializable, so the
/// controller can publish it for the CLI to plan with (`ferry diff`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// ECS cluster every service runs in.
    pub cluster: String,
    /// Subnets for awsvpc networking.
    pub subnets: Vec<String>,
    /// Security groups for awsvpc networking.
    pub security_groups: Vec<String>,
    /// Whether tasks get a public IP (only for public subnets without NAT).
    pub assign_public_ip: bool,
    /// Task execution role: pulls images, reads secrets, writes logs.
    pub execution_role_arn: Option<String>,
    /// CloudWatch Logs group for the `awslogs` driver; no logging when unset.
    pub log_group: Option<String>,
    /// Region of the log group.
    pub region: String,
    /// Value of the `ferry:managed-by` tag: identifies this installation.
    pub owner: String,
    /// Load balancers and zones for exposed processes.
    #[serde(default)]
    pub traffic: TrafficSettings,
    /// The role EventBridge Scheduler assumes to run scheduled processes'
    /// tasks (`--scheduler-role-arn`); without it none is scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler_role_arn: Option<String>,
    /// Where the apps may take their secrets from (`--secrets-prefix`,
    /// `--shared-secrets-prefix`): `ferry apply` refuses any other.
    #[serde(default)]
    pub secrets: ferry_manifest::SecretScope,
    /// The SQS queue schedules send the invocations Scheduler gave up on
    /// to (`--schedule-dlq-arn`); without it failures are not reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_dlq_arn: Option<String>,
}

/// The container-level and task-level fields of a task definition that
/// Ferry manages. Two equal specs need no new revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionSpec {
    pub family: String,
    /// Name of the single container; the process name.
    pub container_name: String,
    pub image: String,
    /// Empty means the image's default command.
    pub command: Vec<String>,
    pub environment: BTreeMap<String, String>,
    /// Name to `valueFrom` ARN; never the secret's value.
    pub secrets: BTreeMap<String, String>,
    /// Task-level CPU units.
    pub cpu: u32,
    /// Task-level memory, MiB.
    pub memory: u32,
    pub container_port: Option<u16>,
    pub execution_role_arn: Option<String>,
    /// `awslogs` driver options, empty when logging is not configured.
    pub log_options: BTreeMap<String, String>,
    /// Seconds between SIGTERM and SIGKILL; ECS's default (30) when unset.
    #[serde(default)]
    pub stop_timeout: Option<u32>,
}

/// How ECS replaces a service's tasks. The circuit breaker is always on:
/// a deployment that cannot start its tasks must fail, not hang.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    pub min_healthy_percent: u32,
    pub max_percent: u32,
    /// Roll back to the last completed deployment when the breaker trips.
    pub rollback: bool,
}

impl Default for DeploymentSpec {
    fn default() -> Self {
        Self {
            min_healthy_percent: 100,
            max_percent: 200,
            rollback: true,
        }
    }
}

/// awsvpc network configuration of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSpec {
    /// Sorted.
    pub subnets: Vec<String>,
    /// Sorted.
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

/// The fields of an ECS service that Ferry manages, besides its task
/// definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    pub name: String,
    pub desired_count: u32,
    pub network: NetworkSpec,
    pub tags: BTreeMap<String, String>,
    /// The target groups its tasks register with, for an exposed process:
    /// one per load balancer that serves it, sorted by name.
    pub load_balancers: Vec<LoadBalancerLink>,
    /// Seconds ECS ignores failing load-balancer health checks of a new
    /// task; only with a load balancer (ECS rejects it otherwise).
    pub health_check_grace_period: Option<u32>,
    pub deployment: DeploymentSpec,
}

/// Everything one process of an app should be in AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredProcess {
    pub process: String,
    pub task_definition: TaskDefinitionSpec,
    /// `desired_count` is the count the service is created with; for an
    /// autoscaled process the autoscaler owns it afterwards.
    pub service: ServiceSpec,
    /// The scalable target and policies of an autoscaled process.
    pub autoscaling: Option<ScalingSpec>,
}

impl DesiredProcess {
    /// Tags for the task definitions of this process.
    pub fn task_definition_tags(&self) -> &BTreeMap<String, String> {
        // Task definitions carry the same ownership tags as their service.
        &self.service.tags
    }
}

/// Everything an app should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// In process-name order; scheduled processes are in `schedules`.
    pub processes: Vec<DesiredProcess>,
    pub traffic: DesiredTraffic,
    /// The scheduled processes, in process-name order.
    pub schedules: Vec<DesiredSchedule>,
}

/// Renders every process of `app` and its traffic.
pub fn render_app(app: &App, settings: &Settings) -> Desired {
    let traffic = traffic::render(app, &settings.owner, &settings.traffic);
    let mut processes = render(app, settings);
    for process in &mut processes {
        if let Some((links, grace)) = traffic.links.get(&process.process) {
            process.service.load_balancers = links.clone();
            process.service.health_check_grace_period = Some(*grace);
        }
    }
    Desired {
        processes,
        traffic,
        schedules: crate::schedule::render_schedules(app, settings),
    }
}

/// Renders every process of `app` that runs as a service (not the
/// scheduled ones: see [`crate::schedule::render_schedules`]), in
/// process-name order, without their load balancer links (see
/// [`render_app`]).
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
            let log_options = match &settings.log_group {
                Some(group) => BTreeMap::from([
                    ("awslogs-group".to_owned(), group.clone()),
                    ("awslogs-region".to_owned(), settings.region.clone()),
                    ("awslogs-stream-prefix".to_owned(), app.name.clone()),
                ]),
                None => BTreeMap::new(),
            };
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
                    tags: names::ownership_tags(&settings.owner, &app.name, Some(process_name)),
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
                task_definition: TaskDefinitionSpec {
                    family: names::task_family(&settings.owner, &app.name, process_name),
                    container_name: process_name.clone(),
                    image: app.image.clone(),
                    command: process.command.clone(),
                    environment: app.env.clone(),
                    secrets: app.secrets.clone(),
                    cpu: process.cpu,
                    memory: process.memory,
                    container_port: process.port,
                    execution_role_arn: settings.execution_role_arn.clone(),
                    log_options,
                    stop_timeout: process.stop_timeout,
                },
                service: ServiceSpec {
                    name: service_name,
                    desired_count: scaling
                        .as_ref()
                        .map_or(process.scale, |s| s.clamp(process.scale)),
                    network: network.clone(),
                    tags: names::ownership_tags(&settings.owner, &app.name, Some(process_name)),
                    load_balancers: Vec::new(),
                    health_check_grace_period: None,
                    deployment: DeploymentSpec {
                        min_healthy_percent: process.min_healthy_percent.unwrap_or(100),
                        max_percent: process.max_percent.unwrap_or(200),
                        rollback: process.rollback.unwrap_or(true),
                    },
                },
                autoscaling: scaling,
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
