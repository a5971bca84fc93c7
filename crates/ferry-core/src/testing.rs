//! Test support: a model of ECS that executes plans, and (in this crate's
//! own tests) generators. Other crates' tests use the model through the
//! `testing` feature.

use std::collections::BTreeMap;

#[cfg(test)]
use ferry_manifest::{
    App, Autoscaling, Capacity, ContainerHealthCheck, DependencyCondition, Platform, Process,
    Sidecar,
};
#[cfg(test)]
use proptest::prelude::*;

use crate::model::action::{Action, TaskDefinitionRef};
use crate::model::autoscaling::{ObservedPolicy, ObservedScalableTarget, ScalingAction};
use crate::model::desired::Settings;
use crate::model::observed::{
    Observed, ObservedSchedule, ObservedService, ObservedTaskDefinition, ServiceStatus,
};

mod traffic;

pub use traffic::{execute_traffic, settings_for_strategies, target_group_arn};

pub const OWNER: &str = "ferry";

pub fn settings() -> Settings {
    Settings {
        cluster: "test".into(),
        subnets: vec!["subnet-b".into(), "subnet-a".into()],
        security_groups: vec!["sg-1".into()],
        assign_public_ip: false,
        execution_role_arn: Some("arn:aws:iam::123456789012:role/exec".into()),
        log_group: Some("/ferry/test".into()),
        region: "us-east-1".into(),
        owner: OWNER.into(),
        traffic: Default::default(),
        scheduler_role_arn: Some("arn:aws:iam::123456789012:role/scheduler".into()),
        schedule_dlq_arn: Some("arn:aws:sqs:us-east-1:123456789012:ferry-schedule-dlq".into()),
        secrets: Default::default(),
        app_role_path: crate::model::desired::DEFAULT_APP_ROLE_PATH.into(),
        crash_loop_stops: crate::model::desired::DEFAULT_CRASH_LOOP_STOPS,
        infrastructure_role_arn: None,
    }
}

/// An active service of one running task, with nothing else known: a
/// start for tests that set the fields they look at.
pub fn active_service(name: &str) -> ObservedService {
    ObservedService {
        name: name.into(),
        arn: format!("arn:aws:ecs:us-east-1:123456789012:service/test/{name}"),
        status: ServiceStatus::Active,
        tags: Default::default(),
        desired_count: 1,
        running_count: 1,
        pending_count: 0,
        task_definition_arn: String::new(),
        task_definition: None,
        network: None,
        load_balancers: Vec::new(),
        health_check_grace_period: None,
        deployment: None,
        capacity_provider_strategy: Vec::new(),
        enable_execute_command: false,
        deployments: Vec::new(),
        events: Vec::new(),
        current_deployment: None,
    }
}

/// Executes actions the way ECS (and Application Auto Scaling) would, with
/// revision numbers per family. Panics on an action AWS would refuse: a
/// target for a service that does not exist, a policy without its target.
pub fn execute(observed: &Observed, actions: &[Action]) -> Observed {
    let mut next = observed.clone();
    let mut registered: BTreeMap<String, String> = BTreeMap::new();
    let resolve = |r: &TaskDefinitionRef, registered: &BTreeMap<String, String>| match r {
        TaskDefinitionRef::Existing(arn) => arn.clone(),
        TaskDefinitionRef::Registered(family) => registered
            .get(family)
            .cloned()
            .expect("a plan registers before it refers to the revision"),
    };
    let spec_of = |arn: &str, observed: &Observed| {
        observed
            .latest_task_definitions
            .values()
            .find(|td| td.arn == arn)
            .map(|td| td.spec.clone())
    };
    for action in actions {
        match action {
            Action::RegisterTaskDefinition { spec, tags } => {
                let revision = next
                    .latest_task_definitions
                    .get(&spec.family)
                    .and_then(|td| td.arn.rsplit(':').next()?.parse::<u32>().ok())
                    .unwrap_or(0)
                    + 1;
                let arn = format!("{}:{revision}", spec.family);
                registered.insert(spec.family.clone(), arn.clone());
                next.latest_task_definitions.insert(
                    spec.family.clone(),
                    ObservedTaskDefinition {
                        arn,
                        spec: spec.clone(),
                        tags: tags.clone(),
                    },
                );
            }
            Action::CreateService {
                service,
                task_definition,
            } => {
                assert!(
                    !next.services.contains_key(&service.name),
                    "create of existing service {}",
                    service.name
                );
                let arn = resolve(task_definition, &registered);
                next.services.insert(
                    service.name.clone(),
                    ObservedService {
                        name: service.name.clone(),
                        arn: format!("arn:service/{}", service.name),
                        status: ServiceStatus::Active,
                        tags: service.tags.clone(),
                        desired_count: service.desired_count,
                        running_count: 0,
                        pending_count: service.desired_count,
                        task_definition: spec_of(&arn, &next),
                        task_definition_arn: arn,
                        network: Some(service.network.clone()),
                        load_balancers: service.load_balancers.clone(),
                        health_check_grace_period: service.health_check_grace_period,
                        deployment: Some(service.deployment.clone()),
                        capacity_provider_strategy: service.capacity_provider_strategy.clone(),
                        enable_execute_command: service.enable_execute_command,
                        deployments: Vec::new(),
                        events: Vec::new(),
                        current_deployment: None,
                    },
                );
            }
            Action::UpdateService(update) => {
                // ECS applies a new strategy only with a new deployment.
                assert!(
                    update.capacity_provider_strategy.is_none() || update.force_new_deployment,
                    "a capacity change of {} without a new deployment",
                    update.name
                );
                let arn = update
                    .task_definition
                    .as_ref()
                    .map(|r| resolve(r, &registered));
                let spec = arn.as_deref().and_then(|arn| spec_of(arn, &next));
                let service = next
                    .services
                    .get_mut(&update.name)
                    .expect("update of missing service");
                assert_eq!(service.status, ServiceStatus::Active);
                if let Some(count) = update.desired_count {
                    service.desired_count = count;
                }
                if let Some(arn) = arn {
                    service.task_definition_arn = arn;
                    service.task_definition = spec;
                }
                if let Some(network) = &update.network {
                    service.network = Some(network.clone());
                }
                if let Some(links) = &update.load_balancers {
                    service.load_balancers = links.clone();
                }
                if let Some(grace) = update.health_check_grace_period {
                    service.health_check_grace_period = Some(grace);
                }
                if let Some(deployment) = update.deployment.clone() {
                    service.deployment = Some(deployment);
                }
                if let Some(strategy) = &update.capacity_provider_strategy {
                    service.capacity_provider_strategy = strategy.clone();
                }
                if let Some(exec) = update.enable_execute_command {
                    service.enable_execute_command = exec;
                }
            }
            // Traffic is modelled by the traffic module's own tests.
            Action::Traffic(_) => {}
            Action::CreateSchedule {
                schedule,
                task_definition,
            }
            | Action::UpdateSchedule {
                schedule,
                task_definition,
            } => {
                let exists = next.schedules.contains_key(&schedule.name);
                assert_eq!(
                    exists,
                    matches!(action, Action::UpdateSchedule { .. }),
                    "create of an existing or update of a missing schedule {}",
                    schedule.name
                );
                let arn = resolve(task_definition, &registered);
                next.schedules.insert(
                    schedule.name.clone(),
                    ObservedSchedule {
                        task_definition: spec_of(&arn, &next),
                        ..ObservedSchedule::written(schedule, arn)
                    },
                );
            }
            Action::DeleteSchedule { name, .. } => {
                assert!(
                    next.schedules.remove(name).is_some(),
                    "delete of missing schedule {name}"
                );
            }
            Action::Autoscaling(action) => scale(&mut next, action),
            Action::Alarm(crate::model::alarms::AlarmAction::Put { spec }) => {
                next.alarms.insert(
                    spec.name.clone(),
                    crate::model::alarms::ObservedAlarm {
                        name: spec.name.clone(),
                        arn: format!(
                            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{}",
                            spec.name
                        ),
                        tags: spec.tags.clone(),
                        spec: Some(spec.clone()),
                        state: "OK".into(),
                    },
                );
            }
            Action::Alarm(crate::model::alarms::AlarmAction::Delete { name }) => {
                assert!(
                    next.alarms.remove(name).is_some(),
                    "delete of missing alarm {name}"
                );
            }
            Action::DeleteService { name } => {
                let service = next
                    .services
                    .get_mut(name)
                    .expect("delete of missing service");
                assert_eq!(
                    service.desired_count, 0,
                    "ECS refuses to delete a scaled service"
                );
                service.status = ServiceStatus::Draining;
            }
        }
    }
    next
}

/// Applies one Application Auto Scaling change, as the API would.
fn scale(next: &mut Observed, action: &ScalingAction) {
    let service = action.service().to_owned();
    match action {
        ScalingAction::RegisterScalableTarget {
            resource_id,
            min,
            max,
            tags,
            ..
        } => {
            assert!(
                next.services
                    .get(&service)
                    .is_some_and(|s| s.status == ServiceStatus::Active),
                "a scalable target for service {service}, which does not exist"
            );
            let target = next
                .scalable_targets
                .entry(service.clone())
                .or_insert_with(|| ObservedScalableTarget {
                    arn: format!("arn:scalable-target/{service}"),
                    resource_id: resource_id.clone(),
                    min: *min,
                    max: *max,
                    tags: tags.clone().unwrap_or_default(),
                    policies: BTreeMap::new(),
                });
            target.min = *min;
            target.max = *max;
        }
        ScalingAction::PutScalingPolicy { policy, .. } => {
            let target = next
                .scalable_targets
                .get_mut(&service)
                .expect("a policy needs its scalable target");
            target.policies.insert(
                policy.name.clone(),
                ObservedPolicy {
                    name: policy.name.clone(),
                    metric: Some(policy.metric),
                    target: Some(policy.target),
                    resource_label: policy.label.as_ref().and_then(|l| l.resolved.clone()),
                },
            );
        }
        ScalingAction::DeleteScalingPolicy { name, .. } => {
            let target = next
                .scalable_targets
                .get_mut(&service)
                .expect("a policy of a missing target");
            assert!(target.policies.remove(name).is_some(), "no policy {name}");
        }
        ScalingAction::DeregisterScalableTarget { .. } => {
            assert!(
                next.scalable_targets.remove(&service).is_some(),
                "no scalable target for {service}"
            );
        }
    }
}

#[cfg(test)]
fn autoscaling_strategy() -> impl Strategy<Value = Option<Autoscaling>> {
    prop::option::of((
        0u32..3,
        0u32..4,
        prop::sample::select(vec![
            (Some(50), None, None),
            (None, Some(70), None),
            (Some(60), Some(80), None),
            // Request-count targets need a load balancer, which these
            // settings have none of: autoscaling.rs and the end-to-end
            // tests cover them.
        ]),
    ))
    .prop_map(|scaling| {
        scaling.map(|(min, span, (cpu, memory, requests))| Autoscaling {
            min,
            max: min + span,
            cpu,
            memory,
            requests_per_target: requests,
        })
    })
}

#[cfg(test)]
fn process_strategy() -> impl Strategy<Value = Process> {
    (
        prop::sample::select(vec![
            vec![],
            vec!["server".to_owned()],
            vec!["worker".to_owned(), "-v".to_owned()],
        ]),
        0u32..4,
        prop::sample::select(vec![
            (256u32, 512u32),
            (256, 1024),
            (512, 1024),
            (1024, 2048),
        ]),
        prop::option::of(prop::sample::select(vec![80u16, 8080])),
        // Deployment settings, as manifests may set them (never 100/100).
        (
            prop::option::of(prop::sample::select(vec![0u32, 50, 100])),
            prop::option::of(prop::sample::select(vec![150u32, 200])),
            prop::option::of(any::<bool>()),
            prop::option::of(prop::sample::select(vec![2u32, 30, 120])),
        ),
        autoscaling_strategy(),
        task_options_strategy(),
    )
        .prop_map(
            |(
                command,
                scale,
                (cpu, memory),
                port,
                (min, max, rollback, stop),
                scaling,
                (sidecars, platform, capacity, ephemeral_storage, container_health_check),
            )| Process {
                command,
                scale,
                cpu,
                memory,
                port,
                health_check: None,
                drain_timeout: None,
                health_check_grace_period: None,
                min_healthy_percent: min,
                max_percent: max,
                stop_timeout: stop,
                rollback,
                schedule: None,
                // A request-count target only with a port, as validation
                // requires.
                autoscaling: scaling.map(|mut a| {
                    if port.is_none() {
                        a.requests_per_target = None;
                        a.cpu = a.cpu.or(Some(50));
                    }
                    a
                }),
                sidecars,
                platform,
                capacity,
                ephemeral_storage,
                container_health_check,
                progress_deadline: None,
                rollout: None,
            },
        )
}

/// The sidecars an app may have, by name; [`app_strategy`] keeps those a
/// process names and the app has.
#[cfg(test)]
const SIDECARS: [&str; 2] = ["agent", "log-router"];

/// Issue 21's per-process task options: sidecars (a sorted subset of
/// [`SIDECARS`]), platform, capacity, ephemeral storage and a container
/// health check.
#[cfg(test)]
#[allow(clippy::type_complexity)]
fn task_options_strategy() -> impl Strategy<
    Value = (
        Vec<String>,
        Option<Platform>,
        Option<Capacity>,
        Option<u32>,
        Option<ContainerHealthCheck>,
    ),
> {
    (
        prop::sample::subsequence(SIDECARS.to_vec(), 0..=SIDECARS.len())
            .prop_map(|names| names.into_iter().map(str::to_owned).collect()),
        prop::option::of(prop::sample::select(vec![
            Platform::Arm64,
            Platform::X86_64,
        ])),
        prop::option::of(prop::sample::select(vec![
            Capacity {
                spot_weight: 1,
                ..Default::default()
            },
            Capacity {
                on_demand_weight: 1,
                ..Default::default()
            },
            Capacity {
                on_demand_base: 2,
                spot_weight: 3,
                ..Default::default()
            },
        ])),
        prop::option::of(prop::sample::select(vec![21u32, 100, 200])),
        prop::option::of(prop::sample::select(vec![
            ContainerHealthCheck {
                command: vec!["CMD-SHELL".into(), "curl -f localhost/health".into()],
                ..Default::default()
            },
            ContainerHealthCheck {
                command: vec!["CMD".into(), "/bin/check".into()],
                interval: Some(10),
                timeout: Some(2),
                retries: Some(5),
                start_period: Some(60),
            },
        ])),
    )
}

/// The app-level options of issue 21: roles under the default path,
/// ECS Exec, and the app's sidecars (a subset of [`SIDECARS`]).
#[cfg(test)]
#[allow(clippy::type_complexity)]
fn app_options_strategy() -> impl Strategy<
    Value = (
        Option<String>,
        Option<String>,
        bool,
        BTreeMap<String, Sidecar>,
    ),
> {
    (
        prop::option::of(Just(
            "arn:aws:iam::123456789012:role/ferry-apps/acme".to_owned(),
        )),
        prop::option::of(Just(
            "arn:aws:iam::123456789012:role/ferry-apps/acme-exec".to_owned(),
        )),
        any::<bool>(),
        prop::sample::subsequence(SIDECARS.to_vec(), 0..=SIDECARS.len()),
        any::<bool>(),
    )
        .prop_map(|(role, execution_role, exec, names, essential)| {
            let sidecars = names
                .into_iter()
                .map(|name| {
                    let sidecar = match name {
                        "log-router" => Sidecar {
                            image: "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
                                .into(),
                            essential,
                            memory: Some(64),
                            env: BTreeMap::from([("LEVEL".into(), "info".into())]),
                            ..Default::default()
                        },
                        _ => Sidecar {
                            image: "datadog/agent:7".into(),
                            command: vec!["agent".into(), "run".into()],
                            cpu: Some(64),
                            secrets: BTreeMap::from([(
                                "DD_API_KEY".into(),
                                "arn:aws:ssm:us-east-1:123456789012:parameter/acme/dd".into(),
                            )]),
                            depends_on: BTreeMap::from([(
                                ferry_manifest::APP_CONTAINER.into(),
                                DependencyCondition::Start,
                            )]),
                            ..Default::default()
                        },
                    };
                    (name.to_owned(), sidecar)
                })
                .collect();
            (role, execution_role, exec, sidecars)
        })
}

/// Apps named `acme` with processes from a small pool, so that generated
/// apps overlap with each other and with generated foreign services.
#[cfg(test)]
pub fn app_strategy() -> impl Strategy<Value = App> {
    (
        prop::sample::select(vec![
            "acme:1",
            "acme:2",
            "registry.example.com/acme@sha256:abcd",
        ]),
        prop::collection::btree_map(
            prop::sample::select(vec!["web", "worker", "api", "cron"]).prop_map(str::to_owned),
            process_strategy(),
            0..4,
        ),
        prop::collection::btree_map(
            prop::sample::select(vec!["A", "B", "RAILS_ENV"]).prop_map(str::to_owned),
            prop::sample::select(vec!["1", "2", "production"]).prop_map(str::to_owned),
            0..3,
        ),
        prop::collection::btree_map(
            prop::sample::select(vec!["DB", "TOKEN"]).prop_map(str::to_owned),
            prop::sample::select(vec![
                "arn:aws:ssm:us-east-1:123456789012:parameter/acme/db",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:acme-token",
            ])
            .prop_map(str::to_owned),
            0..2,
        ),
        app_options_strategy(),
    )
        .prop_map(
            |(image, mut processes, env, secrets, (role, execution_role, exec, sidecars))| {
                // A process runs only sidecars the app has, as validation
                // guarantees.
                for process in processes.values_mut() {
                    process.sidecars.retain(|name| sidecars.contains_key(name));
                }
                App {
                    name: "acme".into(),
                    image: image.into(),
                    env,
                    secrets,
                    domains: Vec::new(),
                    processes,
                    role,
                    execution_role,
                    exec,
                    sidecars,
                }
            },
        )
}
