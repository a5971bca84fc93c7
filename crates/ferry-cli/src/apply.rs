//! `ferry validate`, `ferry apply` and `ferry delete`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ferry_manifest::LoadedApp;
use ferry_store::{AppChange, AppRecord, ApplyContext, Store};

use crate::{confirm, git};

/// Loads and validates every manifest; on any problem prints every
/// diagnostic and fails, so nothing is written. Warnings of valid
/// manifests go to stderr as `warning: file:line:col: field: message`.
pub fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<LoadedApp>> {
    match ferry_manifest::load_paths(paths) {
        Ok(apps) => {
            for warning in apps.iter().flat_map(|app| &app.warnings) {
                eprintln!("warning: {warning}");
            }
            Ok(apps)
        }
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

pub fn user() -> String {
    std::env::var("FERRY_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Where an app was applied from: the canonical path of the argument that
/// named its file.
fn source_of(file: &Path, paths: &[PathBuf]) -> Option<String> {
    let file = file.canonicalize().ok()?;
    sources(paths)
        .into_iter()
        .find(|p| file.starts_with(p))
        .map(|p| p.display().to_string())
}

/// The canonical paths an apply names: the sources it records on apps.
fn sources(paths: &[PathBuf]) -> Vec<PathBuf> {
    paths.iter().filter_map(|p| p.canonicalize().ok()).collect()
}

/// The stored apps that `apply --prune` deletes: those recorded as applied
/// from one of this apply's `sources` whose name is not among `applied`.
/// Never an app from another source or with none recorded, and never one
/// already being deleted. In name order, as stored.
pub fn prune_candidates<'a>(
    stored: &'a [AppRecord],
    sources: &BTreeSet<String>,
    applied: &BTreeSet<&str>,
) -> Vec<&'a AppRecord> {
    stored
        .iter()
        .filter(|app| !app.deleting && !applied.contains(app.name.as_str()))
        .filter(|app| app.source.as_ref().is_some_and(|s| sources.contains(s)))
        .collect()
}

/// An app that `apply` wrote, and the generation it waits for.
pub struct Applied {
    pub name: String,
    pub generation: u64,
    /// Whether this apply wrote a new generation (progress is shown only
    /// for those).
    pub changed: bool,
}

/// How `ferry apply` was asked to run.
pub struct Options {
    /// Print what would change, write nothing.
    pub dry_run: bool,
    /// Delete stored apps from the same sources that the files no longer have.
    pub prune: bool,
    /// Prune without asking.
    pub yes: bool,
    pub message: String,
}

/// How many apps' records are read at once: a bulk apply of hundreds of
/// apps should not wait for one round trip per app.
const CONCURRENT_READS: usize = 16;

/// The stored record of each loaded app, in the same order.
pub async fn current(store: &Store, apps: &[LoadedApp]) -> anyhow::Result<Vec<Option<AppRecord>>> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let records = stream::iter(apps)
        .map(|loaded| store.get_app(&loaded.app.name))
        .buffered(CONCURRENT_READS)
        .try_collect()
        .await?;
    Ok(records)
}

pub async fn apply(
    store: &Store,
    paths: &[PathBuf],
    apps: &[LoadedApp],
    options: &Options,
) -> anyhow::Result<Vec<Applied>> {
    store.check_table().await?;
    let records = current(store, apps).await?;
    let mut changes = Vec::new();
    let mut unchanged = Vec::new();
    for (loaded, current) in apps.iter().zip(&records) {
        if let Some(current) = current {
            if current.deleting {
                bail!(ferry_store::Error::Deleting {
                    app: current.name.clone()
                });
            }
            if current.spec == loaded.app {
                unchanged.push(Applied {
                    name: current.name.clone(),
                    generation: current.generation,
                    changed: false,
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
    refuse_unservable_domains(store, apps, &changes).await?;
    let stored = if options.prune {
        store.list_apps().await?
    } else {
        Vec::new()
    };
    let sources: BTreeSet<String> = sources(paths)
        .into_iter()
        .map(|p| p.display().to_string())
        .collect();
    let names: BTreeSet<&str> = apps.iter().map(|a| a.app.name.as_str()).collect();
    let prune = prune_candidates(&stored, &sources, &names);

    if options.dry_run {
        // The real apply checks claims in its transaction; a dry run reads
        // them, so that it fails where the apply would.
        store.check_domains(&changes).await?;
        crate::diff::report(store, apps, &records).await?;
        println!();
        for applied in &unchanged {
            println!(
                "app/{} unchanged (generation {})",
                applied.name, applied.generation
            );
        }
        for change in &changes {
            println!("app/{} {} (dry run)", change.spec.name, verb(change));
        }
        for app in &prune {
            println!("app/{} pruned (dry run)", app.name);
        }
        return Ok(unchanged);
    }

    if !prune.is_empty() {
        let listed: Vec<&str> = prune.iter().map(|a| a.name.as_str()).collect();
        let details = format!(
            "--prune deletes {} app(s) applied from {} that the files no longer have:\n  {}",
            prune.len(),
            sources.iter().cloned().collect::<Vec<_>>().join(", "),
            listed.join("\n  ")
        );
        let why = format!(
            "--prune would delete {} app(s) ({}); nothing was applied",
            prune.len(),
            listed.join(", ")
        );
        if !confirm::confirm(&details, "Apply and delete them?", options.yes, &why)? {
            bail!("pruning not confirmed; nothing was applied");
        }
    }

    for applied in &unchanged {
        println!(
            "app/{} unchanged (generation {})",
            applied.name, applied.generation
        );
    }
    let mut applied = unchanged;
    if !changes.is_empty() {
        let files: Vec<&Path> = apps.iter().map(|a| a.file.as_path()).collect();
        let context = ApplyContext {
            message: options.message.clone(),
            user: user(),
            git: git::info(&files),
            now: now(),
        };
        let generations = store
            .apply(&changes, &context)
            .await
            .map_err(|err| locate(err, apps))?;
        for (change, generation) in changes.iter().zip(generations) {
            println!(
                "app/{} {} (generation {generation}, release v{generation})",
                change.spec.name,
                verb(change)
            );
            applied.push(Applied {
                name: change.spec.name.clone(),
                generation,
                changed: true,
            });
        }
    }
    for app in prune {
        // Conditional on the generation listed: an app changed since is
        // reported as a conflict, never deleted unseen.
        let generation = store
            .mark_deleting(app, &now())
            .await
            .with_context(|| format!("pruning app {}", app.name))?;
        println!(
            "app/{} pruned (marked for deletion, generation {generation})",
            app.name
        );
    }
    Ok(applied)
}

/// A store error about one app's size, located at its file (the whole
/// file: the stored text is the problem); any other as it is.
fn locate(err: ferry_store::Error, apps: &[LoadedApp]) -> anyhow::Error {
    if let ferry_store::Error::TooLarge { apps: name, .. } = &err {
        if let Some(loaded) = apps.iter().find(|a| &a.app.name == name) {
            return anyhow::anyhow!("{}:1:1: {err}", loaded.file.display());
        }
    }
    anyhow::Error::new(err).context("applying")
}

/// Refuses, before anything is written, domains the controller can never
/// serve with the settings it published: outside every public zone, or
/// without an internet-facing load balancer. Skipped until a controller
/// has published its settings.
async fn refuse_unservable_domains(
    store: &Store,
    apps: &[LoadedApp],
    changes: &[AppChange],
) -> anyhow::Result<()> {
    if changes.iter().all(|c| c.spec.domains.is_empty()) {
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
        for blocker in ferry_core::traffic::domain_blockers(&change.spec, &settings.traffic) {
            problems.push(format!(
                "{file}spec.domains: {}: {}",
                blocker.reason, blocker.message
            ));
        }
    }
    if !problems.is_empty() {
        bail!("{}; nothing was applied", problems.join("; "));
    }
    Ok(())
}

fn verb(change: &AppChange) -> &'static str {
    if change.expected_generation.is_some() {
        "configured"
    } else {
        "created"
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(name: &str, source: Option<&str>, deleting: bool) -> AppRecord {
        AppRecord {
            name: name.into(),
            generation: 1,
            spec: ferry_manifest::App {
                name: name.into(),
                image: "acme:1".into(),
                env: Default::default(),
                secrets: Default::default(),
                domains: Vec::new(),
                processes: Default::default(),
            },
            deleting,
            source: source.map(str::to_owned),
            manifest: None,
            updated_at: String::new(),
        }
    }

    #[test]
    fn prune_takes_only_absent_apps_of_the_same_source() {
        let apps = vec![
            stored("kept", Some("/repo/a"), false),
            stored("gone", Some("/repo/a"), false),
            stored("other-source", Some("/repo/b"), false),
            stored("no-source", None, false),
            stored("already-deleting", Some("/repo/a"), true),
            stored("nested-source", Some("/repo/a/sub"), false),
        ];
        let sources = BTreeSet::from(["/repo/a".to_owned()]);
        let applied = BTreeSet::from(["kept"]);
        let names: Vec<&str> = prune_candidates(&apps, &sources, &applied)
            .into_iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, vec!["gone"]);
        // Every source an apply names counts.
        let sources = BTreeSet::from(["/repo/a".to_owned(), "/repo/b".to_owned()]);
        let names: Vec<&str> = prune_candidates(&apps, &sources, &applied)
            .into_iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, vec!["gone", "other-source"]);
        assert!(prune_candidates(&apps, &BTreeSet::new(), &applied).is_empty());
    }
}
