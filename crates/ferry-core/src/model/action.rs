//! The changes a plan makes to AWS ([`Action`]; one UpdateService's in
//! [`ServiceUpdate`]) and the plan itself ([`Plan`]): its actions in the
//! order they must run, and what blocks the rest.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::alarms::AlarmAction;
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
    /// Changes a service's settings or starts a new deployment.
    UpdateService(ServiceUpdate),
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
    /// A change to an alarm Ferry owns (`alarms: default`).
    Alarm(AlarmAction),
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
        Action::UpdateService(ServiceUpdate {
            capacity_provider_strategy,
            enable_execute_command,
            force_new_deployment: true,
            ..ServiceUpdate::new(name)
        })
    }

    /// Name of the resource the action changes: a family or a service.
    pub fn target(&self) -> &str {
        match self {
            Action::RegisterTaskDefinition { spec, .. } => &spec.family,
            Action::CreateService { service, .. } => &service.name,
            Action::UpdateService(update) => &update.name,
            Action::DeleteService { name } => name,
            Action::Traffic(action) => action.target(),
            Action::CreateSchedule { schedule, .. } | Action::UpdateSchedule { schedule, .. } => {
                &schedule.name
            }
            Action::DeleteSchedule { name, .. } => name,
            Action::Autoscaling(action) => action.service(),
            Action::Alarm(AlarmAction::Put { spec }) => &spec.name,
            Action::Alarm(AlarmAction::Delete { name }) => name,
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
            Action::UpdateService(update) => update.fmt(f),
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
            Action::Alarm(AlarmAction::Put { spec }) => write!(f, "put alarm {}", spec.name),
            Action::Alarm(AlarmAction::Delete { name }) => write!(f, "delete alarm {name}"),
        }
    }
}

/// The changes one UpdateService makes to service `name`: each `None`
/// (and `force_new_deployment: false`) leaves that setting as it is.
/// Write one as `ServiceUpdate { desired_count: Some(0),
/// ..ServiceUpdate::new(name) }`.
///
/// Serialized with snake_case field names, as the struct variant it
/// replaces was (the enum's `rename_all` renamed only variants).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceUpdate {
    pub name: String,
    pub desired_count: Option<u32>,
    pub task_definition: Option<TaskDefinitionRef>,
    pub network: Option<NetworkSpec>,
    /// The target groups to attach, all of them; `Some` of an empty
    /// list detaches the service from every target group.
    pub load_balancers: Option<Vec<LoadBalancerLink>>,
    pub health_check_grace_period: Option<u32>,
    pub deployment: Option<DeploymentSpec>,
    /// The new capacity provider strategy; `Some` of an empty list
    /// returns the service to the FARGATE launch type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderItem>>,
    /// Turns ECS Exec on or off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,
    /// Start a new deployment even if nothing else changed (`ferry
    /// restart`, a new capacity strategy, ECS Exec turned on or off):
    /// ECS replaces every task with a fresh one.
    pub force_new_deployment: bool,
}

impl ServiceUpdate {
    /// An update of `name` that changes nothing (yet).
    pub fn new(name: impl Into<String>) -> ServiceUpdate {
        ServiceUpdate {
            name: name.into(),
            ..ServiceUpdate::default()
        }
    }

    /// Whether sending it would change anything: a setting or a new
    /// deployment. A plan leaves out an update that changes nothing.
    pub fn changes_anything(&self) -> bool {
        // Against the no-op update, so a field added later counts too.
        *self != ServiceUpdate::new(self.name.as_str())
    }
}

/// `ferry diff`'s line for the update (its text is tested there).
impl fmt::Display for ServiceUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "update service {}:", self.name)?;
        if self.force_new_deployment {
            // A restart forces one with no other change.
            let why = if self.capacity_provider_strategy.is_some()
                || self.enable_execute_command.is_some()
            {
                ""
            } else {
                " (restart)"
            };
            write!(f, " new deployment{why}")?;
        }
        match self.capacity_provider_strategy.as_deref() {
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
        match self.enable_execute_command {
            Some(true) => write!(f, " exec on")?,
            Some(false) => write!(f, " exec off")?,
            None => {}
        }
        if let Some(d) = &self.deployment {
            write!(
                f,
                " deployment {}%..{}%{}",
                d.min_healthy_percent,
                d.max_percent,
                if d.rollback { " with rollback" } else { "" }
            )?;
        }
        match self.load_balancers.as_deref() {
            Some([]) => write!(f, " no target group")?,
            Some(links) => {
                let names: Vec<&str> = links.iter().map(|l| l.target_group.as_str()).collect();
                write!(f, " target groups {}", names.join(", "))?;
            }
            None => {}
        }
        if let Some(grace) = self.health_check_grace_period {
            write!(f, " health check grace period {grace}s")?;
        }
        if let Some(count) = self.desired_count {
            write!(f, " desired count {count}")?;
        }
        if let Some(td) = &self.task_definition {
            write!(f, " task definition {td}")?;
        }
        if self.network.is_some() {
            write!(f, " network configuration")?;
        }
        Ok(())
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

#[cfg(test)]
#[path = "action_tests.rs"]
mod tests;
