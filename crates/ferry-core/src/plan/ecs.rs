//! Plans the ECS side of one app: task definitions, services, and (through
//! [`super::autoscaling`]) their autoscaling.

use super::autoscaling::{plan_process, ScalingPlan};
use crate::model::action::{Action, Plan, ServiceUpdate, TaskDefinitionRef};
use crate::model::autoscaling;
use crate::model::blocker::{Blocker, BlockerReason};
use crate::model::desired::{DesiredProcess, TaskDefinitionSpec};
use crate::model::observed::{Observed, ObservedService, ServiceStatus};
use crate::model::ownership::{self, Ownership};
use crate::model::traffic::LoadBalancerLink;

/// Plans the ECS side of one app: its task definitions, services and
/// their autoscaling, not its traffic or schedules (see
/// [`super::plan_app`], which orders all of them).
///
/// `desired` is empty for an app being deleted: then every service the app
/// owns is scaled to zero and deleted. `owner` is this installation's
/// `ferry:managed-by` value.
pub fn plan(app: &str, owner: &str, desired: &[DesiredProcess], observed: &Observed) -> Plan {
    let mut registers = Vec::new();
    let mut creates_and_updates = Vec::new();
    let mut scale_downs = Vec::new();
    let mut deletes = Vec::new();
    let mut blockers = Vec::new();
    // Autoscaling: removals go first, registrations after the services.
    let mut scaling = ScalingPlan::default();
    let mut plan_scaling = |process: &str, service: &str, spec| {
        let part = plan_process(
            app,
            owner,
            process,
            service,
            spec,
            observed.scalable_targets.get(service),
        );
        scaling.apply.extend(part.apply);
        scaling.remove.extend(part.remove);
        scaling.blockers.extend(part.blockers);
    };

    for process in desired {
        let name = &process.service.name;
        let service = observed.services.get(name);
        if let Some(service) = service {
            if let Some(blocker) = foreign_blocker(app, owner, process, service) {
                blockers.push(blocker);
                continue;
            }
            if service.status == ServiceStatus::Draining {
                blockers.push(Blocker {
                    process: process.process.clone(),
                    reason: BlockerReason::ServiceDraining,
                    message: format!(
                        "service {name} is still draining after a delete; it is created again once ECS has removed it"
                    ),
                });
                continue;
            }
        }

        let runs_desired_revision =
            service.is_some_and(|s| s.task_definition.as_ref() == Some(&process.task_definition));
        let task_definition = if runs_desired_revision {
            None
        } else {
            match reusable_revision(app, owner, &process.task_definition, observed) {
                Some(arn) => Some(TaskDefinitionRef::Existing(arn)),
                None => {
                    registers.push(Action::RegisterTaskDefinition {
                        spec: process.task_definition.clone(),
                        tags: process.task_definition_tags().clone(),
                    });
                    Some(TaskDefinitionRef::Registered(
                        process.task_definition.family.clone(),
                    ))
                }
            }
        };

        match service {
            None => creates_and_updates.push(Action::CreateService {
                service: process.service.clone(),
                // A missing service never runs the desired revision.
                task_definition: task_definition.unwrap_or_else(|| {
                    TaskDefinitionRef::Registered(process.task_definition.family.clone())
                }),
            }),
            Some(service) => {
                let desired_count = autoscaling::count_to_set(
                    process.service.desired_count,
                    service.desired_count,
                    process.autoscaling.as_ref(),
                    observed.scalable_targets.get(name),
                    owner,
                    app,
                );
                let network = (service.network.as_ref() != Some(&process.service.network))
                    .then(|| process.service.network.clone());
                let load_balancers =
                    links_update(&service.load_balancers, &process.service.load_balancers);
                let health_check_grace_period = process
                    .service
                    .health_check_grace_period
                    .filter(|grace| service.health_check_grace_period != Some(*grace));
                let deployment = service
                    .deployment
                    .as_ref()
                    .filter(|d| **d != process.service.deployment)
                    .map(|_| process.service.deployment.clone());
                let capacity_provider_strategy = (service.capacity_provider_strategy
                    != process.service.capacity_provider_strategy)
                    .then(|| process.service.capacity_provider_strategy.clone());
                let enable_execute_command = (service.enable_execute_command
                    != process.service.enable_execute_command)
                    .then_some(process.service.enable_execute_command);
                // A new strategy takes effect only with a new deployment
                // (and an empty one, back to the launch type, "doesn't
                // trigger a new service deployment" by itself: UpdateService,
                // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html);
                // ECS Exec applies only to tasks started after it is turned
                // on (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html).
                let force_new_deployment =
                    capacity_provider_strategy.is_some() || enable_execute_command.is_some();
                let update = ServiceUpdate {
                    desired_count,
                    task_definition,
                    network,
                    load_balancers,
                    health_check_grace_period,
                    deployment,
                    capacity_provider_strategy,
                    enable_execute_command,
                    force_new_deployment,
                    ..ServiceUpdate::new(name.clone())
                };
                if update.changes_anything() {
                    creates_and_updates.push(Action::UpdateService(update));
                }
            }
        }
        plan_scaling(&process.process, name, process.autoscaling.as_ref());
    }

    for service in observed.services.values() {
        let wanted = desired.iter().any(|p| p.service.name == service.name);
        if wanted
            || service.status != ServiceStatus::Active
            || ownership::ownership(&service.tags, owner, app) != Ownership::Ours
        {
            continue;
        }
        let process = service
            .tags
            .get(ownership::TAG_PROCESS)
            .map_or(service.name.as_str(), String::as_str);
        plan_scaling(process, &service.name, None);
        // ECS refuses to delete a service that still wants tasks.
        if service.desired_count > 0 {
            scale_downs.push(Action::UpdateService(ServiceUpdate {
                desired_count: Some(0),
                ..ServiceUpdate::new(service.name.clone())
            }));
        }
        deletes.push(Action::DeleteService {
            name: service.name.clone(),
        });
    }

    // Owned targets of services that are gone (deleted outside Ferry).
    for (service, target) in &observed.scalable_targets {
        let known = desired.iter().any(|p| &p.service.name == service)
            || observed.services.contains_key(service);
        if !known {
            let process = target
                .tags
                .get(ownership::TAG_PROCESS)
                .map_or(service.as_str(), String::as_str);
            plan_scaling(process, service, None);
        }
    }

    let mut actions: Vec<Action> = scaling
        .remove
        .into_iter()
        .map(Action::Autoscaling)
        .collect();
    actions.append(&mut registers);
    actions.append(&mut creates_and_updates);
    actions.extend(scaling.apply.into_iter().map(Action::Autoscaling));
    actions.append(&mut scale_downs);
    actions.append(&mut deletes);
    blockers.extend(scaling.blockers);
    Plan { actions, blockers }
}

fn foreign_blocker(
    app: &str,
    owner: &str,
    process: &DesiredProcess,
    service: &ObservedService,
) -> Option<Blocker> {
    let whose = match ownership::ownership(&service.tags, owner, app) {
        Ownership::Ours => return None,
        Ownership::OtherApp(other) => format!("Ferry app {other}"),
        Ownership::Foreign => "something other than Ferry".to_owned(),
    };
    Some(Blocker {
        process: process.process.clone(),
        reason: BlockerReason::NameConflict,
        message: format!(
            "ECS service {} exists and belongs to {whose}; Ferry leaves it untouched",
            service.name
        ),
    })
}

/// The latest revision of `task_definition`'s family, if it is ours and
/// has that content; `None` means "register one". Services and schedules
/// both reuse revisions so.
///
/// A latest revision that is not ours (someone registered into the
/// family) is never reused, and never blocks either: Ferry registers its
/// own, which becomes the latest. Families carry the installation in their
/// name, so only an outsider puts revisions there, and freezing an app
/// must not be that easy.
pub(crate) fn reusable_revision(
    app: &str,
    owner: &str,
    task_definition: &TaskDefinitionSpec,
    observed: &Observed,
) -> Option<String> {
    let latest = observed
        .latest_task_definitions
        .get(&task_definition.family)?;
    let reusable = ownership::ownership(&latest.tags, owner, app) == Ownership::Ours
        && latest.spec == *task_definition;
    reusable.then(|| latest.arn.clone())
}

#[cfg(test)]
#[path = "ecs_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "ecs_capacity_tests.rs"]
mod capacity_tests;

/// The links to send in an UpdateService, or `None` when the service's
/// `current` links are `desired` ones but for which group of a pair is
/// live ([`LoadBalancerLink::same_as`]: that is ECS's to swap). When an
/// update is needed, a pair ECS swapped is sent in the order ECS has it,
/// so the update does not move production traffic.
pub(crate) fn links_update(
    current: &[LoadBalancerLink],
    desired: &[LoadBalancerLink],
) -> Option<Vec<LoadBalancerLink>> {
    let matched = |a: &[LoadBalancerLink], b: &[LoadBalancerLink]| {
        a.iter()
            .all(|link| b.iter().any(|other| link.same_as(other)))
    };
    if current.len() == desired.len() && matched(current, desired) && matched(desired, current) {
        return None;
    }
    Some(
        desired
            .iter()
            .map(|link| {
                current
                    .iter()
                    .find(|c| link.same_as(c))
                    .unwrap_or(link)
                    .clone()
            })
            .collect(),
    )
}
