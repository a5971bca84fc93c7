//! What `ferry apply` refuses before writing because the controller could
//! never carry it out with the settings it published: domains outside
//! every public zone or without an internet-facing load balancer, and a
//! blue/green, canary or linear rollout without the ECS infrastructure
//! role or a test listener on a load balancer the process is served on.
//! The controller blocks the same again (the blockers of the same names).

use anyhow::bail;
use ferry_core::blocker::{Blocker, BlockerReason};
use ferry_core::Settings;
use ferry_manifest::{App, LoadedApp};
use ferry_store::{AppChange, Store};

/// Refuses the changes that meet a blocker no AWS state can lift, each
/// located at its key. Skipped until a controller has published its
/// settings.
pub async fn refuse(
    store: &Store,
    apps: &[LoadedApp],
    changes: &[AppChange],
) -> anyhow::Result<()> {
    let nothing_to_judge = changes.iter().all(|c| {
        c.spec.domains.is_empty()
            && c.spec.processes.values().all(|p| {
                !p.rollout
                    .as_ref()
                    .is_some_and(|r| r.strategy.shifts_traffic())
            })
    });
    if nothing_to_judge {
        return Ok(());
    }
    let Some(settings) = store.controller_settings().await? else {
        return Ok(());
    };
    let mut problems = Vec::new();
    for change in changes {
        let file = apps
            .iter()
            .find(|a| a.app.name == change.spec.name)
            .map_or_else(String::new, |a| format!("{}: ", a.file.display()));
        problems.extend(problems_of(&change.spec, &settings, &file));
    }
    if !problems.is_empty() {
        bail!("{}; nothing was applied", problems.join("; "));
    }
    Ok(())
}

/// Each blocker of `app` as `{file}{key}: {reason}: {message}`.
fn problems_of(app: &App, settings: &Settings, file: &str) -> Vec<String> {
    let domains = ferry_core::traffic::domain_blockers(app, &settings.traffic)
        .into_iter()
        .map(|b| format!("{file}spec.domains: {}: {}", b.reason, b.message));
    let strategies = strategy_blockers(app, settings).into_iter().map(|b| {
        format!(
            "{file}spec.processes.{}.rollout.strategy: {}: {}",
            b.process, b.reason, b.message
        )
    });
    domains.chain(strategies).collect()
}

/// A stand-in with the signature of
/// `ferry_core::render::traffic::strategy_blockers`, which the core part
/// writes (the controller's blockers of the same names); at merge this
/// goes and [`problems_of`] calls ferry-core's. A process with a strategy
/// other than `rolling` and a port needs the infrastructure role, and a
/// test listener on the internal load balancer and, when one of the app's
/// domains names it, on the public one.
pub fn strategy_blockers(app: &App, settings: &Settings) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    for (name, process) in &app.processes {
        let Some(rollout) = process.rollout.as_ref() else {
            continue;
        };
        if !rollout.strategy.shifts_traffic() || process.port.is_none() {
            continue;
        }
        let strategy = rollout.strategy.name();
        if settings.infrastructure_role_arn.is_none() {
            blockers.push(Blocker {
                process: name.clone(),
                reason: BlockerReason::NoInfrastructureRole,
                message: format!(
                    "strategy {strategy} needs the ECS infrastructure role: the controller has \
                     no --ecs-infrastructure-role-arn"
                ),
            });
        }
        let public = app.domains.iter().any(|d| &d.process == name);
        let edges = [
            ("internal", settings.traffic.internal.as_ref(), true),
            ("public", settings.traffic.public.as_ref(), public),
        ];
        for (which, edge, served) in edges {
            if served && edge.is_some_and(|e| e.test_listener_arn.is_none()) {
                blockers.push(Blocker {
                    process: name.clone(),
                    reason: BlockerReason::NoTestListener,
                    message: format!(
                        "strategy {strategy} needs a test listener on the {which} load \
                         balancer: the controller has no --{which}-test-listener-arn"
                    ),
                });
            }
        }
    }
    blockers
}

#[cfg(test)]
#[path = "unservable_tests.rs"]
mod tests;
