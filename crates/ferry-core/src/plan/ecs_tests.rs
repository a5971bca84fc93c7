use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::names;
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
                    arn: format!("arn:foreign/{name}"),
                    tags,
                    task_definition_arn: "foreign:1".into(),
                    ..crate::testing::active_service(&name)
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
                    ..Default::default()
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
                task_role_arn: None,
                runtime_platform: None,
                ephemeral_storage: None,
                health_check: None,
                sidecars: Vec::new(),
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
            prop_assert_eq!(
                &service.capacity_provider_strategy,
                &process.service.capacity_provider_strategy
            );
            prop_assert_eq!(
                service.enable_execute_command,
                process.service.enable_execute_command
            );
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
                Action::UpdateService(ServiceUpdate { task_definition: Some(TaskDefinitionRef::Existing(arn)), .. })
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
            matches!(a, Action::UpdateService(ServiceUpdate { task_definition: None, network: None, .. }))
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
        ..Default::default()
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
        Action::UpdateService(ServiceUpdate {
            desired_count: None,
            task_definition: Some(TaskDefinitionRef::Registered(_)),
            ..
        })
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
                Action::UpdateService(ServiceUpdate {
                    task_definition: Some(TaskDefinitionRef::Registered(_)),
                    ..
                })
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
        Action::UpdateService(ServiceUpdate { task_definition: Some(TaskDefinitionRef::Existing(arn)), .. }) if arn.ends_with(":99")
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
