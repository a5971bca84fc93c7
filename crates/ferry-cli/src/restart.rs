//! `ferry restart`: a new deployment of an app's spec as it is, for tasks
//! to read rotated secrets again (ECS resolves `valueFrom` only when a
//! task starts). Recorded as a release whose spec is the current one.

use anyhow::bail;
use ferry_store::Store;

use crate::apply::Applied;
use crate::next_generation::{self, NextGeneration};

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
    let mut processes = processes.to_vec();
    processes.sort();
    processes.dedup();
    let which = if processes.is_empty() {
        "restart".to_owned()
    } else {
        format!("restart {}", processes.join(", "))
    };
    let next = NextGeneration {
        spec: app.spec.clone(),
        restart: Some(processes),
        message: message.unwrap_or_else(|| which.clone()),
    };
    let restarted = next_generation::write(store, &app, next, "restarting").await?;
    println!(
        "app/{name}: {which} stored as release v{}",
        restarted.generation
    );
    Ok(restarted)
}
