//! The changes a plan makes to AWS ([`Action`]) and the plan itself
//! ([`Plan`]): its actions in the order they must run, and what blocks
//! the rest.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::autoscaling::ScalingAction;
use super::blocker::Blocker;
use super::desired::{DeploymentSpec, NetworkSpec, ScheduleSpec, ServiceSpec, TaskDefinitionSpec};
use super::task::{CapacityProviderItem, FARGATE};
use super::traffic::{LoadBalancerLink, TrafficAction};

/// The task definition a service should run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskDefinitionRef {
    /// A revision that exists already.
    Existing(String),
    /// The revision registered earlier in the same plan for this family.
    Registered(String),
}

/// One change to AWS. A plan lists them in the order they must run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Action {
    RegisterTaskDefinition {
        spec: TaskDefinitionSpec,
        tags: BTreeMap<String, String>,
    },
    CreateService {
        service: ServiceSpec,
        task_definition: TaskDefinitionRef,
    },
    UpdateService {
        name: String,
        desired_count: Option<u32>,
        task_definition: Option<TaskDefinitionRef>,
        network: Option<NetworkSpec>,
        /// The target groups to attach, all of them; `Some` of an empty
        /// list detaches the service from every target group.
        load_balancers: Option<Vec<LoadBalancerLink>>,
        health_check_grace_period: Option<u32>,
        deployment: Option<DeploymentSpec>,
        /// The new capacity provider strategy; `Some` of an empty list
        /// returns the service to the FARGATE launch type.
        #[serde(skip_serializing_if = "Option::is_none")]
        capacity_provider_strategy: Option<Vec<CapacityProviderItem>>,
        /// Turns ECS Exec on or off.
        #[serde(skip_serializing_if = "Option::is_none")]
        enable_execute_command: Option<bool>,
        /// Start a new deployment even if nothing else changed (`ferry
        /// restart`, a new capacity strategy, ECS Exec turned on or off):
        /// ECS replaces every task with a fresh one.
        force_new_deployment: bool,
    },
    /// Deletes a service already scaled to zero.
    DeleteService {
        name: String,
    },
    /// A target group, listener rule or DNS change.
    Traffic(TrafficAction),
    /// Creates a scheduled process's EventBridge Scheduler schedule.
    CreateSchedule {
        schedule: ScheduleSpec,
        task_definition: TaskDefinitionRef,
    },
    /// Replaces a schedule's settings and target (UpdateSchedule replaces
    /// them all).
    UpdateSchedule {
        schedule: ScheduleSpec,
        task_definition: TaskDefinitionRef,
    },
    DeleteSchedule {
        name: String,
        group: String,
    },
    /// An Application Auto Scaling target or policy change.
    Autoscaling(ScalingAction),
}

impl Action {
    /// An UpdateService of `name` that starts a new deployment and changes
    /// only the capacity provider strategy and ECS Exec given (`ferry
    /// restart` gives neither).
    pub fn new_deployment(
        name: impl Into<String>,
        capacity_provider_strategy: Option<Vec<CapacityProviderItem>>,
        enable_execute_command: Option<bool>,
    ) -> Action {
        Action::UpdateService {
            name: name.into(),
            desired_count: None,
            task_definition: None,
            network: None,
            load_balancers: None,
            health_check_grace_period: None,
            deployment: None,
            capacity_provider_strategy,
            enable_execute_command,
            force_new_deployment: true,
        }
    }

    /// Name of the resource the action changes: a family or a service.
    pub fn target(&self) -> &str {
        match self {
            Action::RegisterTaskDefinition { spec, .. } => &spec.family,
            Action::CreateService { service, .. } => &service.name,
            Action::UpdateService { name, .. } | Action::DeleteService { name } => name,
            Action::Traffic(action) => action.target(),
            Action::CreateSchedule { schedule, .. } | Action::UpdateSchedule { schedule, .. } => {
                &schedule.name
            }
            Action::DeleteSchedule { name, .. } => name,
            Action::Autoscaling(action) => action.service(),
        }
    }
}

impl fmt::Display for TaskDefinitionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskDefinitionRef::Existing(arn) => f.write_str(arn),
            TaskDefinitionRef::Registered(family) => write!(f, "{family}:<new revision>"),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::RegisterTaskDefinition { spec, .. } => {
                write!(
                    f,
                    "register task definition {} (image {})",
                    spec.family, spec.image
                )
            }
            Action::CreateService {
                service,
                task_definition,
            } => write!(
                f,
                "create service {} (desired {}, task definition {task_definition})",
                service.name, service.desired_count
            ),
            Action::UpdateService {
                name,
                desired_count,
                task_definition,
                network,
                load_balancers,
                health_check_grace_period,
                deployment,
                capacity_provider_strategy,
                enable_execute_command,
                force_new_deployment,
            } => {
                write!(f, "update service {name}:")?;
                if *force_new_deployment {
                    // A restart forces one with no other change.
                    let why = if capacity_provider_strategy.is_some()
                        || enable_execute_command.is_some()
                    {
                        ""
                    } else {
                        " (restart)"
                    };
                    write!(f, " new deployment{why}")?;
                }
                match capacity_provider_strategy.as_deref() {
                    Some([]) => write!(f, " capacity launch type {FARGATE}")?,
                    Some(items) => {
                        let items: Vec<String> = items
                            .iter()
                            .map(|i| {
                                format!(
                                    "{} base {} weight {}",
                                    i.capacity_provider, i.base, i.weight
                                )
                            })
                            .collect();
                        write!(f, " capacity {}", items.join(", "))?;
                    }
                    None => {}
                }
                match enable_execute_command {
                    Some(true) => write!(f, " exec on")?,
                    Some(false) => write!(f, " exec off")?,
                    None => {}
                }
                if let Some(d) = deployment {
                    write!(
                        f,
                        " deployment {}%..{}%{}",
                        d.min_healthy_percent,
                        d.max_percent,
                        if d.rollback { " with rollback" } else { "" }
                    )?;
                }
                match load_balancers.as_deref() {
                    Some([]) => write!(f, " no target group")?,
                    Some(links) => {
                        let names: Vec<&str> =
                            links.iter().map(|l| l.target_group.as_str()).collect();
                        write!(f, " target groups {}", names.join(", "))?;
                    }
                    None => {}
                }
                if let Some(grace) = health_check_grace_period {
                    write!(f, " health check grace period {grace}s")?;
                }
                if let Some(count) = desired_count {
                    write!(f, " desired count {count}")?;
                }
                if let Some(td) = task_definition {
                    write!(f, " task definition {td}")?;
                }
                if network.is_some() {
                    write!(f, " network configuration")?;
                }
                Ok(())
            }
            Action::DeleteService { name } => write!(f, "delete service {name}"),
            Action::Traffic(action) => action.fmt(f),
            Action::CreateSchedule {
                schedule,
                task_definition,
            } => write!(
                f,
                "create schedule {} ({} {}, task definition {task_definition})",
                schedule.name, schedule.expression, schedule.timezone
            ),
            Action::UpdateSchedule {
                schedule,
                task_definition,
            } => write!(
                f,
                "update schedule {} ({} {}, task definition {task_definition})",
                schedule.name, schedule.expression, schedule.timezone
            ),
            Action::DeleteSchedule { name, group } => {
                write!(f, "delete schedule {name} (group {group})")
            }
            Action::Autoscaling(action) => action.fmt(f),
        }
    }
}

/// The outcome of planning one app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub blockers: Vec<Blocker>,
}

impl Plan {
    /// Nothing to do and nothing in the way.
    pub fn is_converged(&self) -> bool {
        self.actions.is_empty() && self.blockers.is_empty()
    }
}
