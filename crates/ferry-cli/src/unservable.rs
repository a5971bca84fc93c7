//! What `ferry apply` refuses before writing because the controller could
//! never carry it out with the settings it published: domains outside
//! every public zone or without an internet-facing load balancer, and a
//! blue/green, canary or linear rollout without the ECS infrastructure
//! role or a test listener on a load balancer the process is served on.
//! The controller blocks the same again (the blockers of the same names).

use anyhow::bail;
use ferry_core::traffic::strategy_blockers;
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

#[cfg(test)]
#[path = "unservable_tests.rs"]
mod tests;
