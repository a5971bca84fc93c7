//! The planner: (desired, observed) to ordered actions.
//!
//! Guarantees, each covered by property tests:
//! - a plan on converged state is empty;
//! - executing a plan converges: planning again afterwards yields nothing;
//! - no action names a resource whose tags say Ferry does not own it for
//!   this app;
//! - a task definition is registered only when no owned revision with the
//!   same normalised content exists, so scaling never registers one;
//! - an autoscaled process's desired count is set only to clamp it into
//!   its range (see [`crate::autoscaling`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::autoscaling::{self, ScalingAction};
pub use crate::blocker::{Blocker, BlockerReason};
use crate::names::{self, Ownership};
use crate::observed::{Observed, ObservedService, ServiceStatus};
use crate::render::{
    DeploymentSpec, Desired, DesiredProcess, NetworkSpec, ServiceSpec, TaskDefinitionSpec,
};
use crate::schedule::{self, ScheduleSpec};
use crate::traffic::{self, LoadBalancerLink, ObservedTraffic, TrafficAction, TrafficSettings};

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
        /// Start a new deployment even if nothing else changed (`ferry
        /// restart`): ECS replaces every task with a fresh one.
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
                force_new_deployment,
            } => {
                write!(f, "update service {name}:")?;
                if *force_new_deployment {
                    write!(f, " new deployment (restart)")?;
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

/// Plans one app.
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
    let mut scaling = autoscaling::ScalingPlan::default();
    let mut plan_scaling = |process: &str, service: &str, spec| {
        let part = autoscaling::plan_process(
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
                let load_balancers = (service.load_balancers != process.service.load_balancers)
                    .then(|| process.service.load_balancers.clone());
                let health_check_grace_period = process
                    .service
                    .health_check_grace_period
                    .filter(|grace| service.health_check_grace_period != Some(*grace));
                let deployment = service
                    .deployment
                    .filter(|d| *d != process.service.deployment)
                    .map(|_| process.service.deployment);
                if desired_count.is_some()
                    || task_definition.is_some()
                    || network.is_some()
                    || load_balancers.is_some()
                    || health_check_grace_period.is_some()
                    || deployment.is_some()
                {
                    creates_and_updates.push(Action::UpdateService {
                        name: name.clone(),
                        desired_count,
                        task_definition,
                        network,
                        load_balancers,
                        health_check_grace_period,
                        deployment,
                        force_new_deployment: false,
                    });
                }
            }
        }
        plan_scaling(&process.process, name, process.autoscaling.as_ref());
    }

    for service in observed.services.values() {
        let wanted = desired.iter().any(|p| p.service.name == service.name);
        if wanted
            || service.status != ServiceStatus::Active
            || names::ownership(&service.tags, owner, app) != Ownership::Ours
        {
            continue;
        }
        let process = service
            .tags
            .get(names::TAG_PROCESS)
            .map_or(service.name.as_str(), String::as_str);
        plan_scaling(process, &service.name, None);
        // ECS refuses to delete a service that still wants tasks.
        if service.desired_count > 0 {
            scale_downs.push(Action::UpdateService {
                name: service.name.clone(),
                desired_count: Some(0),
                task_definition: None,
                network: None,
                load_balancers: None,
                health_check_grace_period: None,
                deployment: None,
                force_new_deployment: false,
            });
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
                .get(names::TAG_PROCESS)
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

/// Plans one app, traffic included: target groups, rules and records that
/// services need come first, then the ECS changes, then the removal of
/// traffic resources nothing uses any more. `desired` is empty for an app
/// being deleted.
pub fn plan_app(
    app: &str,
    owner: &str,
    settings: &TrafficSettings,
    desired: &Desired,
    observed: &Observed,
    observed_traffic: &ObservedTraffic,
) -> Plan {
    let traffic = traffic::plan(app, owner, settings, &desired.traffic, observed_traffic);
    // A process whose traffic cannot change keeps the link it has.
    let blocked: Vec<&str> = traffic
        .blockers
        .iter()
        .filter(|b| b.reason == BlockerReason::NameConflict)
        .map(|b| b.process.as_str())
        .collect();
    let processes: Vec<DesiredProcess> = desired
        .processes
        .iter()
        .map(|process| {
            let mut process = process.clone();
            // A group whose rule cannot be made (its name is taken, say)
            // has no load balancer, and ECS refuses to link it.
            process
                .service
                .load_balancers
                .retain(|link| traffic.routed.contains(&link.target_group));
            if traffic.frozen || blocked.contains(&process.process.as_str()) {
                let current = observed.services.get(&process.service.name);
                process.service.load_balancers = current
                    .map(|s| s.load_balancers.clone())
                    .unwrap_or_default();
                process.service.health_check_grace_period =
                    current.and_then(|s| s.health_check_grace_period);
            }
            resolve_request_label(&mut process, observed_traffic);
            process
        })
        .collect();
    let ecs = plan(app, owner, &processes, observed);
    let schedules = schedule::plan_schedules(app, owner, &desired.schedules, observed);
    let mut actions: Vec<Action> = traffic.before.into_iter().map(Action::Traffic).collect();
    actions.extend(schedules.registers);
    actions.extend(ecs.actions);
    actions.extend(schedules.changes);
    actions.extend(schedules.deletes);
    actions.extend(traffic.after.into_iter().map(Action::Traffic));
    let mut blockers = ecs.blockers;
    blockers.extend(schedules.blockers);
    blockers.extend(traffic.blockers);
    Plan { actions, blockers }
}

/// A request-count policy counts at a target group the service is linked
/// to, or cannot be made (its label is dropped, and the planner reports
/// it); the whole label is known once the group exists.
fn resolve_request_label(process: &mut DesiredProcess, observed_traffic: &ObservedTraffic) {
    let links = &process.service.load_balancers;
    let Some(spec) = process.autoscaling.as_mut() else {
        return;
    };
    for policy in &mut spec.policies {
        let Some(label) = policy.label.as_mut() else {
            continue;
        };
        if !links.iter().any(|l| l.target_group == label.target_group) {
            policy.label = None;
            continue;
        }
        label.resolved = observed_traffic
            .target_groups
            .get(&label.target_group)
            .and_then(|group| autoscaling::resource_label(&label.load_balancer_arn, &group.arn));
    }
}

fn foreign_blocker(
    app: &str,
    owner: &str,
    process: &DesiredProcess,
    service: &ObservedService,
) -> Option<Blocker> {
    let whose = match names::ownership(&service.tags, owner, app) {
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
    task_definition: &crate::render::TaskDefinitionSpec,
    observed: &Observed,
) -> Option<String> {
    let latest = observed
        .latest_task_definitions
        .get(&task_definition.family)?;
    let reusable = names::ownership(&latest.tags, owner, app) == Ownership::Ours
        && latest.spec == *task_definition;
    reusable.then(|| latest.arn.clone())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::observed::ObservedTaskDefinition;
    use crate::render::render;
    use crate::testing::{app_strategy, execute, settings, OWNER};

    /// An out-of-band change to what exists, as a console user might make.
    #[derive(Debug, Clone)]
    enum Drift {
        Scale(usize, u32),
        RunOtherRevision(usize),
        DeleteService(usize),
        /// A service without this app's tags from this installation, named
        /// like one of the app's: untagged, another installation's, another
        /// app's, or with Ferry's app tag but no installation tag.
        ForeignService(&'static str, ForeignTags),
        /// One of the app's services, deleted and still draining.
        Draining(usize),
        /// A foreign revision is the newest of one of the app's families.
        ForeignFamily(&'static str),
    }

    #[derive(Debug, Clone, Copy)]
    enum ForeignTags {
        None,
        OtherInstallation,
        OtherApp,
        NoInstallation,
    }

    fn drift_strategy() -> impl Strategy<Value = Drift> {
        let process = prop::sample::select(vec!["web", "worker", "api", "cron"]);
        let tags = prop::sample::select(vec![
            ForeignTags::None,
            ForeignTags::OtherInstallation,
            ForeignTags::OtherApp,
            ForeignTags::NoInstallation,
        ]);
        prop_oneof![
            (0usize..4, 0u32..5).prop_map(|(i, n)| Drift::Scale(i, n)),
            (0usize..4).prop_map(Drift::RunOtherRevision),
            (0usize..4).prop_map(Drift::DeleteService),
            (process.clone(), tags).prop_map(|(p, t)| Drift::ForeignService(p, t)),
            process.prop_map(Drift::ForeignFamily),
            (0usize..4).prop_map(Drift::Draining),
        ]
    }

    fn apply_drift(observed: &mut Observed, drift: &Drift) {
        let names: Vec<String> = observed.services.keys().cloned().collect();
        let pick = |i: usize| (!names.is_empty()).then(|| names[i % names.len()].clone());
        match drift {
            Drift::Scale(i, n) => {
                if let Some(name) = pick(*i) {
                    if let Some(s) = observed.services.get_mut(&name) {
                        s.desired_count = *n;
                    }
                }
            }
            Drift::RunOtherRevision(i) => {
                if let Some(name) = pick(*i) {
                    if let Some(s) = observed.services.get_mut(&name) {
                        if let Some(spec) = s.task_definition.as_mut() {
                            spec.image = "console-edit:latest".into();
                            s.task_definition_arn = format!("{}:999", spec.family);
                        }
                    }
                }
            }
            Drift::DeleteService(i) => {
                if let Some(name) = pick(*i) {
                    observed.services.remove(&name);
                }
            }
            Drift::Draining(i) => {
                if let Some(name) = pick(*i) {
                    if let Some(s) = observed.services.get_mut(&name) {
                        s.status = ServiceStatus::Draining;
                    }
                }
            }
            Drift::ForeignService(process, foreign) => {
                let name = crate::names::service_name("acme", process);
                let tags = match foreign {
                    ForeignTags::None => BTreeMap::new(),
                    ForeignTags::OtherInstallation => {
                        crate::names::ownership_tags("someone-else", "acme", Some(process))
                    }
                    ForeignTags::OtherApp => {
                        crate::names::ownership_tags(OWNER, "other", Some(process))
                    }
                    ForeignTags::NoInstallation => {
                        let mut tags = crate::names::ownership_tags(OWNER, "acme", Some(process));
                        tags.remove(crate::names::TAG_MANAGED_BY);
                        tags
                    }
                };
                observed.services.insert(
                    name.clone(),
                    ObservedService {
                        name: name.clone(),
                        arn: format!("arn:foreign/{name}"),
                        status: ServiceStatus::Active,
                        tags,
                        desired_count: 1,
                        running_count: 1,
                        pending_count: 0,
                        task_definition_arn: "foreign:1".into(),
                        task_definition: None,
                        network: None,
                        load_balancers: Vec::new(),
                        health_check_grace_period: None,
                        deployment: None,
                        deployments: Vec::new(),
                        events: Vec::new(),
                    },
                );
            }
            Drift::ForeignFamily(process) => {
                let family = crate::names::task_family(OWNER, "acme", process);
                let mut spec = render(
                    &ferry_manifest::App {
                        name: "acme".into(),
                        image: "foreign".into(),
                        env: BTreeMap::new(),
                        secrets: BTreeMap::new(),
                        domains: Vec::new(),
                        processes: BTreeMap::new(),
                    },
                    &settings(),
                )
                .into_iter()
                .next()
                .map(|p| p.task_definition);
                let spec = spec.take().unwrap_or_else(|| TaskDefinitionSpec {
                    family: family.clone(),
                    container_name: (*process).into(),
                    image: "foreign".into(),
                    command: Vec::new(),
                    environment: BTreeMap::new(),
                    secrets: BTreeMap::new(),
                    cpu: 256,
                    memory: 512,
                    container_port: None,
                    execution_role_arn: None,
                    log_options: BTreeMap::new(),
                    stop_timeout: None,
                });
                observed.latest_task_definitions.insert(
                    family.clone(),
                    ObservedTaskDefinition {
                        arn: format!("{family}:500"),
                        spec,
                        tags: BTreeMap::new(),
                    },
                );
            }
        }
    }

    fn is_foreign(observed: &Observed, name: &str) -> bool {
        observed
            .services
            .get(name)
            .is_some_and(|s| names::ownership(&s.tags, OWNER, "acme") != Ownership::Ours)
    }

    fn converge_from_empty(app: &ferry_manifest::App) -> Observed {
        let desired = render(app, &settings());
        let first = plan("acme", OWNER, &desired, &Observed::default());
        execute(&Observed::default(), &first.actions)
    }

    proptest! {
        #[test]
        fn plan_on_converged_state_is_empty(app in app_strategy()) {
            let observed = converge_from_empty(&app);
            let desired = render(&app, &settings());
            prop_assert_eq!(plan("acme", OWNER, &desired, &observed), Plan::default());
        }

        #[test]
        fn executing_a_plan_converges(
            before in app_strategy(),
            after in app_strategy(),
            drifts in prop::collection::vec(drift_strategy(), 0..4),
        ) {
            let mut observed = converge_from_empty(&before);
            for drift in &drifts {
                apply_drift(&mut observed, drift);
            }
            let desired = render(&after, &settings());
            let first = plan("acme", OWNER, &desired, &observed);
            let next = execute(&observed, &first.actions);
            let second = plan("acme", OWNER, &desired, &next);
            prop_assert!(second.actions.is_empty(), "second plan: {:?}", second.actions);
            prop_assert_eq!(&second.blockers, &first.blockers);
            // Every unblocked process now runs exactly its spec.
            for process in &desired {
                if first.blockers.iter().any(|b| b.process == process.process) {
                    continue;
                }
                let service = &next.services[&process.service.name];
                let target = next.scalable_targets.get(&process.service.name);
                let foreign = target.is_some_and(|t| names::ownership(&t.tags, OWNER, "acme") != Ownership::Ours);
                match &process.autoscaling {
                    Some(spec) => {
                        prop_assert!((spec.min..=spec.max).contains(&service.desired_count));
                        prop_assert_eq!(target.map(|t| (t.min, t.max)), Some((spec.min, spec.max)));
                        let names: Vec<&String> = target.map(|t| t.policies.keys().collect()).unwrap_or_default();
                        let wanted: Vec<&String> = spec.policies.iter().map(|p| &p.name).collect();
                        prop_assert_eq!(names, wanted);
                    }
                    None if foreign => {}
                    None => {
                        prop_assert_eq!(service.desired_count, process.service.desired_count);
                        prop_assert!(target.is_none(), "a target Ferry no longer wants");
                    }
                }
                prop_assert_eq!(service.task_definition.as_ref(), Some(&process.task_definition));
            }
        }

        #[test]
        fn no_action_touches_what_ferry_does_not_own(
            before in app_strategy(),
            after in app_strategy(),
            drifts in prop::collection::vec(drift_strategy(), 1..5),
        ) {
            let mut observed = converge_from_empty(&before);
            for drift in &drifts {
                apply_drift(&mut observed, drift);
            }
            let desired = render(&after, &settings());
            for action in plan("acme", OWNER, &desired, &observed).actions {
                match &action {
                    // A registration makes a new revision, tagged as
                    // Ferry's, beside whatever the family holds.
                    Action::RegisterTaskDefinition { tags, .. } => {
                        prop_assert_eq!(names::ownership(tags, OWNER, "acme"), Ownership::Ours);
                    }
                    // A foreign revision is never what a service is moved to.
                    Action::UpdateService { task_definition: Some(TaskDefinitionRef::Existing(arn)), .. }
                    | Action::CreateService { task_definition: TaskDefinitionRef::Existing(arn), .. } => {
                        let foreign = observed.latest_task_definitions.values().any(|td| {
                            &td.arn == arn && names::ownership(&td.tags, OWNER, "acme") != Ownership::Ours
                        });
                        prop_assert!(!foreign, "{action} runs a foreign revision");
                        prop_assert!(!is_foreign(&observed, action.target()), "{action}");
                    }
                    other => prop_assert!(!is_foreign(&observed, other.target()), "{other}"),
                }
            }
        }

        #[test]
        fn name_conflicts_are_reported_only_for_what_is_really_foreign(
            before in app_strategy(),
            after in app_strategy(),
            drifts in prop::collection::vec(drift_strategy(), 0..5),
        ) {
            let mut observed = converge_from_empty(&before);
            for drift in &drifts {
                apply_drift(&mut observed, drift);
            }
            let desired = render(&after, &settings());
            for blocker in plan("acme", OWNER, &desired, &observed).blockers {
                let service = names::service_name("acme", &blocker.process);
                match blocker.reason {
                    // A foreign revision in a family never blocks: Ferry
                    // registers its own beside it.
                    BlockerReason::NameConflict => prop_assert!(
                        is_foreign(&observed, &service),
                        "{blocker:?} for a name that is Ferry's"
                    ),
                    BlockerReason::ServiceDraining => prop_assert_eq!(
                        observed.services.get(&service).map(|s| s.status),
                        Some(ServiceStatus::Draining)
                    ),
                    _ => {}
                }
            }
        }

        #[test]
        fn scaling_never_registers_a_task_definition(app in app_strategy(), scale in 0u32..10) {
            let observed = converge_from_empty(&app);
            let mut scaled = app.clone();
            for process in scaled.processes.values_mut() {
                process.scale = scale;
            }
            let desired = render(&scaled, &settings());
            let plan = plan("acme", OWNER, &desired, &observed);
            let only_counts = plan.actions.iter().all(|a| {
                matches!(a, Action::UpdateService { task_definition: None, network: None, .. })
            });
            prop_assert!(only_counts, "{:?}", plan.actions);
        }
    }

    fn app(image: &str, processes: &[(&str, u32)]) -> ferry_manifest::App {
        ferry_manifest::App {
            name: "acme".into(),
            image: image.into(),
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            domains: Vec::new(),
            processes: processes
                .iter()
                .map(|(name, scale)| {
                    (
                        (*name).to_owned(),
                        ferry_manifest::Process {
                            command: vec![],
                            scale: *scale,
                            cpu: 256,
                            memory: 512,
                            ..Default::default()
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn new_app_registers_then_creates() {
        let desired = render(&app("acme:1", &[("web", 2), ("worker", 1)]), &settings());
        let plan = plan("acme", OWNER, &desired, &Observed::default());
        let kinds: Vec<String> = plan.actions.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            kinds,
            [
                "register task definition ferry_acme_web (image acme:1)",
                "register task definition ferry_acme_worker (image acme:1)",
                "create service acme_web (desired 2, task definition ferry_acme_web:<new revision>)",
                "create service acme_worker (desired 1, task definition ferry_acme_worker:<new revision>)",
            ]
        );
    }

    #[test]
    fn image_change_registers_one_revision_per_process_and_updates() {
        let observed = converge_from_empty(&app("acme:1", &[("web", 2)]));
        let desired = render(&app("acme:2", &[("web", 2)]), &settings());
        let plan = plan("acme", OWNER, &desired, &observed);
        assert_eq!(plan.actions.len(), 2);
        assert!(matches!(
            plan.actions[0],
            Action::RegisterTaskDefinition { .. }
        ));
        assert!(matches!(
            &plan.actions[1],
            Action::UpdateService {
                desired_count: None,
                task_definition: Some(TaskDefinitionRef::Registered(_)),
                ..
            }
        ));
    }

    #[test]
    fn removed_process_is_scaled_down_then_deleted_last() {
        let observed = converge_from_empty(&app("acme:1", &[("web", 2), ("worker", 1)]));
        let desired = render(&app("acme:2", &[("web", 2)]), &settings());
        let plan = plan("acme", OWNER, &desired, &observed);
        let kinds: Vec<String> = plan.actions.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            kinds[kinds.len() - 2..],
            [
                "update service acme_worker: desired count 0",
                "delete service acme_worker"
            ]
        );
    }

    #[test]
    fn deleting_an_app_removes_only_its_own_services() {
        let mut observed = converge_from_empty(&app("acme:1", &[("web", 0)]));
        apply_drift(
            &mut observed,
            &Drift::ForeignService("worker", ForeignTags::None),
        );
        let plan = plan("acme", OWNER, &[], &observed);
        assert_eq!(
            plan.actions,
            [Action::DeleteService {
                name: "acme_web".into()
            }]
        );
    }

    #[test]
    fn a_revision_registered_before_a_crash_is_reused() {
        let desired = render(&app("acme:1", &[("web", 1)]), &settings());
        let registered = execute(
            &Observed::default(),
            &plan("acme", OWNER, &desired, &Observed::default()).actions[..1],
        );
        let plan = plan("acme", OWNER, &desired, &registered);
        assert_eq!(plan.actions.len(), 1);
        assert!(matches!(
            &plan.actions[0],
            Action::CreateService { task_definition: TaskDefinitionRef::Existing(arn), .. } if arn == "ferry_acme_web:1"
        ));
    }

    #[test]
    fn a_foreign_revision_in_the_family_neither_blocks_nor_is_reused() {
        let mut observed = converge_from_empty(&app("acme:1", &[("web", 1)]));
        apply_drift(&mut observed, &Drift::ForeignFamily("web"));
        let desired = render(&app("acme:2", &[("web", 1)]), &settings());
        let plan = plan("acme", OWNER, &desired, &observed);
        assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
        assert!(
            matches!(
                &plan.actions[..],
                [
                    Action::RegisterTaskDefinition { .. },
                    Action::UpdateService {
                        task_definition: Some(TaskDefinitionRef::Registered(_)),
                        ..
                    }
                ]
            ),
            "{:?}",
            plan.actions
        );
    }

    #[test]
    fn a_foreign_revision_with_the_very_content_wanted_is_not_reused() {
        let observed = converge_from_empty(&app("acme:1", &[("web", 1)]));
        let desired = render(&app("acme:2", &[("web", 1)]), &settings());
        let wanted = desired[0].task_definition.clone();
        let mut observed = observed;
        observed.latest_task_definitions.insert(
            wanted.family.clone(),
            ObservedTaskDefinition {
                arn: format!("{}:99", wanted.family),
                spec: wanted,
                tags: BTreeMap::new(),
            },
        );
        let plan = plan("acme", OWNER, &desired, &observed);
        assert!(
            matches!(&plan.actions[0], Action::RegisterTaskDefinition { .. }),
            "{:?}",
            plan.actions
        );
        assert!(plan.actions.iter().all(|a| !matches!(
            a,
            Action::UpdateService { task_definition: Some(TaskDefinitionRef::Existing(arn)), .. } if arn.ends_with(":99")
        )));
    }

    #[test]
    fn a_foreign_service_with_our_name_blocks_with_name_conflict() {
        let mut observed = Observed::default();
        apply_drift(
            &mut observed,
            &Drift::ForeignService("web", ForeignTags::None),
        );
        let desired = render(&app("acme:1", &[("web", 1)]), &settings());
        let plan = plan("acme", OWNER, &desired, &observed);
        assert!(plan.actions.is_empty());
        assert_eq!(plan.blockers[0].reason, BlockerReason::NameConflict);
    }
}

#[cfg(test)]
#[path = "plan_autoscaling_tests.rs"]
mod autoscaling_tests;
