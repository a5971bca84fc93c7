//! `ferry validate`, `ferry apply` and `ferry delete`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ferry_manifest::LoadedApp;
use ferry_store::{AppChange, ApplyContext, Store};

use crate::git;

/// Loads and validates every manifest; on any problem prints every
/// diagnostic and fails, so nothing is written.
pub fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<LoadedApp>> {
    match ferry_manifest::load_paths(paths) {
        Ok(apps) => Ok(apps),
        Err(diagnostics) => {
            for diagnostic in &diagnostics.0 {
                eprintln!("{diagnostic}");
            }
            bail!(
                "{} problem(s) found in the manifests; nothing was applied",
                diagnostics.0.len()
            )
        }
    }
}

pub fn now() -> String {
    ferry_core::status::rfc3339(time::OffsetDateTime::now_utc())
}

fn user() -> String {
    std::env::var("FERRY_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Where an app was applied from: the canonical path of the argument that
/// named its file.
fn source_of(file: &Path, paths: &[PathBuf]) -> Option<String> {
    let file = file.canonicalize().ok()?;
    paths
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .find(|p| file.starts_with(p))
        .map(|p| p.display().to_string())
}

/// An app that `apply` wrote, and the generation it waits for.
pub struct Applied {
    pub name: String,
    pub generation: u64,
}

pub async fn apply(
    store: &Store,
    paths: &[PathBuf],
    apps: &[LoadedApp],
    dry_run: bool,
    message: String,
) -> anyhow::Result<Vec<Applied>> {
    store.check_table().await?;
    let mut changes = Vec::new();
    let mut applied = Vec::new();
    for loaded in apps {
        let current = store.get_app(&loaded.app.name).await?;
        if let Some(current) = &current {
            if current.deleting {
                bail!(ferry_store::Error::Deleting {
                    app: current.name.clone()
                });
            }
            if current.spec == loaded.app {
                println!(
                    "app/{} unchanged (generation {})",
                    current.name, current.generation
                );
                applied.push(Applied {
                    name: current.name.clone(),
                    generation: current.generation,
                });
                continue;
            }
        }
        changes.push(AppChange {
            spec: loaded.app.clone(),
            manifest: loaded.text.clone(),
            source: source_of(&loaded.file, paths),
            expected_generation: current.as_ref().map(|c| c.generation),
            previous_domains: current
                .iter()
                .flat_map(|c| c.spec.domains.iter().map(|d| d.name.clone()))
                .collect(),
        });
    }
    if dry_run {
        // The real apply checks claims in its transaction; a dry run reads
        // them, so that it fails where the apply would.
        store.check_domains(&changes).await?;
        for change in &changes {
            let verb = if change.expected_generation.is_some() {
                "configured"
            } else {
                "created"
            };
            println!("app/{} {verb} (dry run)", change.spec.name);
        }
        return Ok(applied);
    }
    if changes.is_empty() {
        return Ok(applied);
    }
    let files: Vec<&Path> = apps.iter().map(|a| a.file.as_path()).collect();
    let context = ApplyContext {
        message,
        user: user(),
        git: git::info(&files),
        now: now(),
    };
    let generations = store.apply(&changes, &context).await.context("applying")?;
    for (change, generation) in changes.iter().zip(generations) {
        let verb = if change.expected_generation.is_some() {
            "configured"
        } else {
            "created"
        };
        println!(
            "app/{} {verb} (generation {generation}, release v{generation})",
            change.spec.name
        );
        applied.push(Applied {
            name: change.spec.name.clone(),
            generation,
        });
    }
    Ok(applied)
}

pub async fn delete(store: &Store, name: &str) -> anyhow::Result<()> {
    let app = store
        .get_app(name)
        .await?
        .ok_or_else(|| ferry_store::Error::NotFound {
            app: name.to_owned(),
        })?;
    if app.deleting {
        println!("app/{name} is already being deleted");
        return Ok(());
    }
    let generation = store.mark_deleting(&app, &now()).await?;
    println!("app/{name} marked for deletion (generation {generation}); the controller removes its resources, releases are kept");
    Ok(())
}
