//! Capacity and ECS Exec: a change is an UpdateService with a new
//! deployment and nothing else, and once carried out it is not planned
//! again.

use std::collections::BTreeMap;

use ferry_manifest::{App, Capacity, Process};

use super::*;
use crate::model::task::{CapacityProviderItem, FARGATE, FARGATE_SPOT};
use crate::render::render;
use crate::testing::{execute, settings, OWNER};

fn worker(capacity: Option<Capacity>, exec: bool) -> App {
    App {
        name: "acme".into(),
        image: "acme:1".into(),
        processes: BTreeMap::from([(
            "worker".to_owned(),
            Process {
                capacity,
                ..Default::default()
            },
        )]),
        exec,
        ..Default::default()
    }
}

const SPOT: Capacity = Capacity {
    on_demand_base: 0,
    on_demand_weight: 0,
    spot_weight: 1,
};

/// Plans `app` on `observed`, executes the plan, and returns it with what
/// exists afterwards.
fn step(app: &App, observed: &Observed) -> (Plan, Observed) {
    let desired = render(app, &settings());
    let plan = plan("acme", OWNER, &desired, observed);
    let next = execute(observed, &plan.actions);
    (plan, next)
}

#[test]
fn a_new_capacity_is_a_forced_deployment_of_the_same_revision_and_does_not_flap() {
    let (_, on_demand) = step(&worker(None, false), &Observed::default());
    let service = &on_demand.services["acme_worker"];
    assert!(service.capacity_provider_strategy.is_empty(), "launch type");

    let (to_spot, on_spot) = step(&worker(Some(SPOT), false), &on_demand);
    assert_eq!(
        to_spot.actions,
        // The task definition does not change: no new revision.
        [Action::new_deployment(
            "acme_worker",
            Some(vec![CapacityProviderItem {
                capacity_provider: FARGATE_SPOT.into(),
                base: 0,
                weight: 1,
            }]),
            None,
        )]
    );
    assert_eq!(
        to_spot.actions[0].to_string(),
        "update service acme_worker: new deployment capacity FARGATE_SPOT base 0 weight 1"
    );
    let (again, _) = step(&worker(Some(SPOT), false), &on_spot);
    assert_eq!(again, Plan::default(), "converged: nothing more");

    // Back to the launch type: an empty strategy, and a new deployment.
    let (back, on_demand_again) = step(&worker(None, false), &on_spot);
    assert!(matches!(
        back.actions.as_slice(),
        [Action::UpdateService(ServiceUpdate {
            capacity_provider_strategy: Some(strategy),
            force_new_deployment: true,
            task_definition: None,
            ..
        })] if strategy.is_empty()
    ));
    assert_eq!(
        back.actions[0].to_string(),
        format!("update service acme_worker: new deployment capacity launch type {FARGATE}")
    );
    assert_eq!(
        step(&worker(None, false), &on_demand_again).0,
        Plan::default()
    );
}

#[test]
fn a_mixed_capacity_puts_the_base_on_demand_and_the_rest_on_spot() {
    let mixed = Capacity {
        on_demand_base: 2,
        on_demand_weight: 0,
        spot_weight: 3,
    };
    let desired = render(&worker(Some(mixed), false), &settings());
    assert_eq!(
        desired[0].service.capacity_provider_strategy,
        [
            CapacityProviderItem {
                capacity_provider: FARGATE.into(),
                base: 2,
                weight: 0,
            },
            CapacityProviderItem {
                capacity_provider: FARGATE_SPOT.into(),
                base: 0,
                weight: 3,
            },
        ]
    );
}

#[test]
fn turning_exec_on_or_off_is_a_forced_deployment_and_does_not_flap() {
    let (_, without) = step(&worker(None, false), &Observed::default());
    let (on, with) = step(&worker(None, true), &without);
    assert!(
        matches!(
            on.actions.as_slice(),
            [Action::UpdateService(ServiceUpdate {
                enable_execute_command: Some(true),
                capacity_provider_strategy: None,
                task_definition: None,
                force_new_deployment: true,
                ..
            })]
        ),
        "{:?}",
        on.actions
    );
    assert_eq!(
        on.actions[0].to_string(),
        "update service acme_worker: new deployment exec on"
    );
    assert_eq!(step(&worker(None, true), &with).0, Plan::default());
    let (off, _) = step(&worker(None, false), &with);
    assert!(matches!(
        off.actions.as_slice(),
        [Action::UpdateService(ServiceUpdate {
            enable_execute_command: Some(false),
            force_new_deployment: true,
            ..
        })]
    ));
}

#[test]
fn a_new_service_is_created_with_its_capacity_and_exec() {
    let (create, _) = step(&worker(Some(SPOT), true), &Observed::default());
    let service = create.actions.iter().find_map(|a| match a {
        Action::CreateService { service, .. } => Some(service),
        _ => None,
    });
    let service = service.expect("a CreateService");
    assert_eq!(service.capacity_provider_strategy.len(), 1);
    assert!(service.enable_execute_command);
}
