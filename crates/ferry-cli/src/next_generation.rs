//! A new generation of a stored app that the CLI makes without a manifest
//! (`ferry restart`, `ferry scale`): written through the same conditional
//! write as `ferry apply`, with the manifest text the app was applied from.

use anyhow::Context;
use ferry_manifest::App;
use ferry_store::{AppChange, AppRecord, ApplyContext, Store};

use crate::apply::{self, Applied};

/// What the new generation holds.
pub struct NextGeneration {
    pub spec: App,
    /// `Some`: a restart of these processes (empty: all).
    pub restart: Option<Vec<String>>,
    /// Recorded on the release.
    pub message: String,
}

/// Stores `next` as the generation after `app`'s, with `app`'s manifest
/// text (rendered from its spec when none was recorded), source and
/// creation time; released by the user `ferry` runs as. Conditional on
/// `app.generation`: a racing apply or delete makes it fail with a
/// conflict and write nothing. `doing` names the command in errors
/// (`scaling`). Returns the new generation for `--wait`.
pub async fn write(
    store: &Store,
    app: &AppRecord,
    next: NextGeneration,
    doing: &str,
) -> anyhow::Result<Applied> {
    let manifest = match &app.manifest {
        Some(text) => text.clone(),
        None => crate::manifest::render(&app.spec)?,
    };
    let change = AppChange {
        spec: next.spec,
        manifest,
        source: app.source.clone(),
        expected_generation: Some(app.generation),
        previous_domains: app.spec.domains.iter().map(|d| d.name.clone()).collect(),
        created_at: apply::created_at(store, Some(app)).await?,
        restart: next.restart,
    };
    let context = ApplyContext {
        message: next.message,
        user: apply::user(),
        git: None,
        now: apply::now(),
    };
    let generation = store
        .apply(&[change], &context)
        .await
        .with_context(|| format!("{doing} app {}", app.name))?
        .first()
        .copied()
        .context("the store returned no generation")?;
    Ok(Applied {
        name: app.name.clone(),
        generation,
        changed: true,
    })
}
