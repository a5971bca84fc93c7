//! `ferry validate`, `ferry apply` and `ferry delete`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ferry_manifest::LoadedApp;
use ferry_store::{AppChange, AppRecord, ApplyContext, Store};

use crate::{confirm, git, unservable};

/// What invalid manifests mean to the command that loads them, and so
/// what its failure says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInvalid {
    /// `validate`: finding the problems is the whole job.
    Report,
    /// `apply` and `diff`: the command stops before writing anything.
    NothingApplied,
}

/// Loads and validates every manifest; on any problem prints every
/// diagnostic and fails before the caller does anything with them.
/// Warnings of valid manifests go to stderr as `warning:
/// file:line:col: field: message`.
pub fn load(paths: &[PathBuf], on_invalid: OnInvalid) -> anyhow::Result<Vec<LoadedApp>> {
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
            bail!(problems_found(diagnostics.0.len(), on_invalid))
        }
    }
}

/// The one-line failure of a load that found `count` problems.
fn problems_found(count: usize, on_invalid: OnInvalid) -> String {
    let found = format!("{count} problem(s) found in the manifests");
    match on_invalid {
        OnInvalid::Report => found,
        OnInvalid::NothingApplied => format!("{found}; nothing was applied"),
    }
}

pub fn now() -> String {
    ferry_core::status::rfc3339(time::OffsetDateTime::now_utc())
}

/// Who applies, as releases record it: `FERRY_USER`, else `USER`, else
/// the name of the OS user the process runs as (cron, containers and
/// `env -i` leave `USER` unset), else `unknown`. Empty values count as
/// unset.
pub fn user() -> String {
    pick_user(env_value("FERRY_USER"), env_value("USER"), os_user)
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The first of the user names given, in order of preference; the OS is
/// asked only when the environment names none.
fn pick_user(
    ferry_user: Option<String>,
    user: Option<String>,
    os_user: impl FnOnce() -> Option<String>,
) -> String {
    ferry_user
        .or(user)
        .or_else(os_user)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The login name of the process's effective user, from the password
/// database (`/etc/passwd`, or NSS); `None` when it has no entry.
#[cfg(unix)]
fn os_user() -> Option<String> {
    use std::ffi::CStr;
    /// The largest buffer tried: entries are far smaller.
    const MAX_BUFFER: usize = 1 << 20;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut buffer = vec![0u8; 1024];
    loop {
        // SAFETY: an all-zero `passwd` is valid (null pointers, zero ids);
        // getpwuid_r only writes it.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is to a live local of the right type, and
        // `buffer.len()` is the size of the buffer passed. getpwuid_r is
        // the reentrant variant: it keeps the strings `entry` points to in
        // `buffer` (not in static storage), so they live while `buffer`
        // does, and nothing else writes either.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut entry,
                buffer.as_mut_ptr().cast::<libc::c_char>(),
                buffer.len(),
                &mut found,
            )
        };
        if rc == libc::ERANGE && buffer.len() < MAX_BUFFER {
            buffer.resize(buffer.len() * 2, 0);
            continue;
        }
        if rc != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        // SAFETY: on success `pw_name` points to a NUL-terminated string
        // in `buffer`, which is still alive and not written meanwhile.
        let name = unsafe { CStr::from_ptr(entry.pw_name) };
        return name
            .to_str()
            .ok()
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
    }
}

#[cfg(not(unix))]
fn os_user() -> Option<String> {
    None
}

/// The creation time a change of `current` carries (`None` for a new
/// app): the record's, or for a record stored before creation times were
/// recorded, the time of its name's oldest release. That costs one read,
/// once: the change records it.
pub async fn created_at(
    store: &Store,
    current: Option<&AppRecord>,
) -> anyhow::Result<Option<String>> {
    match current {
        None => Ok(None),
        Some(record) if record.created_at.is_some() => Ok(record.created_at.clone()),
        Some(record) => Ok(store.first_release_created_at(&record.name).await?),
    }
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
            created_at: created_at(store, current.as_ref()).await?,
            restart: None,
        });
    }
    unservable::refuse(store, apps, &changes).await?;
    refuse_what_the_installation_withholds(store, apps, &changes).await?;
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

/// Refuses, before anything is written, a changed app that reaches past
/// what the installation gives it, each problem located at its key:
/// - a secret (the app's or a sidecar's) outside its part of the
///   installation's secrets (`<prefix><app>/` or the shared prefix), unless
///   the app has its own `executionRole`;
/// - a `role` or `executionRole` outside the app role path, the only roles
///   the controller may pass (its `iam:PassRole` is scoped to that path).
///
/// The limits are those the controller published; the defaults until a
/// controller has. Apps stored unchanged are not judged again: an upgrade
/// does not break what runs.
async fn refuse_what_the_installation_withholds(
    store: &Store,
    apps: &[LoadedApp],
    changes: &[AppChange],
) -> anyhow::Result<()> {
    let reaches_out = |app: &ferry_manifest::App| {
        !app.secrets.is_empty()
            || app.sidecars.values().any(|s| !s.secrets.is_empty())
            || app.role.is_some()
            || app.execution_role.is_some()
    };
    if !changes.iter().any(|c| reaches_out(&c.spec)) {
        return Ok(());
    }
    let settings = store.controller_settings().await?;
    let role_path = settings.as_ref().map_or_else(
        || ferry_core::DEFAULT_APP_ROLE_PATH.to_owned(),
        |settings| settings.app_role_path.clone(),
    );
    let scope = settings
        .map(|settings| settings.secrets)
        .unwrap_or_default();
    let problems: Vec<ferry_manifest::Diagnostic> = apps
        .iter()
        .filter(|loaded| changes.iter().any(|c| c.spec.name == loaded.app.name))
        .flat_map(|loaded| {
            let mut found = ferry_manifest::check_secret_scope(loaded, &scope);
            found.extend(ferry_manifest::check_app_roles(loaded, &role_path));
            found.sort_by_key(|d| (d.line, d.column));
            found
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!(problems_found(problems.len(), OnInvalid::NothingApplied))
}

fn verb(change: &AppChange) -> &'static str {
    if change.expected_generation.is_some() {
        "configured"
    } else {
        "created"
    }
}

pub async fn delete(store: &Store, name: &str) -> anyhow::Result<()> {
    let app = store.require_app(name).await?;
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
                ..Default::default()
            },
            deleting,
            source: source.map(str::to_owned),
            manifest: None,
            created_at: None,
            updated_at: String::new(),
            restart: None,
        }
    }

    #[test]
    fn only_commands_that_apply_say_nothing_was_applied() {
        assert_eq!(
            problems_found(2, OnInvalid::Report),
            "2 problem(s) found in the manifests"
        );
        assert_eq!(
            problems_found(1, OnInvalid::NothingApplied),
            "1 problem(s) found in the manifests; nothing was applied"
        );
    }

    #[test]
    fn the_user_is_ferry_user_then_user_then_the_os_user() {
        let some = |name: &str| Some(name.to_owned());
        let os = || some("os");
        assert_eq!(pick_user(some("ferry"), some("user"), os), "ferry");
        assert_eq!(pick_user(None, some("user"), os), "user");
        assert_eq!(pick_user(None, None, os), "os");
        assert_eq!(pick_user(None, None, || None), "unknown");
    }

    /// The OS user is who `id -un` says the process runs as.
    #[cfg(unix)]
    #[test]
    fn the_os_user_is_the_effective_users_login_name() {
        let Ok(out) = std::process::Command::new("id").arg("-un").output() else {
            return;
        };
        if !out.status.success() {
            // No password entry (an arbitrary uid in a container): none
            // is found either way.
            assert_eq!(os_user(), None);
            return;
        }
        let expected = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(os_user(), Some(expected));
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
