//! `ferry restart`: a new deployment of an app's spec as it is, for tasks
//! to read rotated secrets again (ECS resolves `valueFrom` only when a
//! task starts). Recorded as a release whose spec is the current one.

use anyhow::{bail, Context};
use ferry_store::{AppChange, ApplyContext, Store};

use crate::apply::{self, Applied};

/// Stores the restart as a new generation; returns it for `--wait`.
pub async fn restart(
    store: &Store,
    name: &str,
    processes: &[String],
    message: Option<String>,
) -> anyhow::Result<Applied> {
    store.check_table().await?;
    let Some(app) = store.get_app(name).await? else {
        bail!(ferry_store::Error::NotFound {
            app: name.to_owned()
        });
    };
    if app.deleting {
        bail!("app {name} is being deleted; there is nothing to restart");
    }
    let unknown: Vec<&str> = processes
        .iter()
        .filter(|p| !app.spec.processes.contains_key(p.as_str()))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = app.spec.processes.keys().map(String::as_str).collect();
        bail!(
            "app {name} has no process {}; its processes are {}; nothing was written",
            unknown.join(", "),
            known.join(", ")
        );
    }
    let manifest = match &app.manifest {
        Some(text) => text.clone(),
        None => crate::manifest::render(&app.spec)?,
    };
    let mut processes = processes.to_vec();
    processes.sort();
    processes.dedup();
    let which = if processes.is_empty() {
        "restart".to_owned()
    } else {
        format!("restart {}", processes.join(", "))
    };
    let change = AppChange {
        spec: app.spec.clone(),
        manifest,
        source: app.source.clone(),
        expected_generation: Some(app.generation),
        previous_domains: app.spec.domains.iter().map(|d| d.name.clone()).collect(),
        created_at: apply::created_at(store, Some(&app)).await?,
        restart: Some(processes),
    };
    let context = ApplyContext {
        message: message.unwrap_or_else(|| which.clone()),
        user: apply::user(),
        git: None,
        now: apply::now(),
    };
    let generation = store
        .apply(&[change], &context)
        .await
        .with_context(|| format!("restarting app {name}"))?
        .first()
        .copied()
        .context("the store returned no generation")?;
    println!("app/{name}: {which} stored as release v{generation}");
    Ok(Applied {
        name: name.to_owned(),
        generation,
        changed: true,
    })
}
