//! `ferry rollback`: a new release (and generation) made from an earlier
//! release's spec, through the same conditional write as `ferry apply`.

use anyhow::{bail, Context};
use ferry_store::{AppChange, ApplyContext, Release, ReleaseOutcome, Store};

use crate::apply::{self, Applied};
use crate::confirm;

/// How many versions back a rollback goes without confirmation, as in
/// Empire: further back is more likely a mistyped version.
pub const MAX_UNCONFIRMED_STEPS: u64 = 9;

/// `v3` or `3`.
pub fn parse_version(text: &str) -> anyhow::Result<u64> {
    let digits = text.strip_prefix('v').unwrap_or(text);
    match digits.parse::<u64>() {
        Ok(version) if version > 0 => Ok(version),
        _ => {
            bail!("{text:?} is not a release version: expected vN or N, as `ferry releases` lists")
        }
    }
}

/// Whether going from generation `current` back to release `target` must
/// be confirmed: more than [`MAX_UNCONFIRMED_STEPS`] versions back.
pub fn needs_confirmation(current: u64, target: u64) -> bool {
    current.saturating_sub(target) > MAX_UNCONFIRMED_STEPS
}

/// The release to roll back to: `requested`, or else the newest release
/// that succeeded and is older than the current generation.
pub fn choose_target<'a>(
    app: &str,
    releases: &'a [Release],
    current: u64,
    requested: Option<u64>,
) -> anyhow::Result<&'a Release> {
    match requested {
        Some(version) => releases
            .iter()
            .find(|r| r.version == version)
            .ok_or_else(|| {
                ferry_store::Error::ReleaseNotFound {
                    app: app.to_owned(),
                    version,
                }
                .into()
            }),
        None => releases
            .iter()
            .filter(|r| r.version < current && r.outcome == Some(ReleaseOutcome::Succeeded))
            .max_by_key(|r| r.version)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "app {app} has no release that succeeded before generation {current}; \
                     name the version to roll back to: ferry rollback {app} vN"
                )
            }),
    }
}

/// Writes the rollback as a new generation; returns it, for `--wait`.
pub async fn rollback(
    store: &Store,
    name: &str,
    version: Option<&str>,
    message: Option<String>,
    yes: bool,
) -> anyhow::Result<Applied> {
    let requested = version.map(parse_version).transpose()?;
    let app = store.get_app(name).await?;
    if app.as_ref().is_some_and(|app| app.deleting) {
        bail!("app {name} is being deleted; it cannot be rolled back until the deletion finishes");
    }
    let releases = store.releases(name).await?;
    // A deleted app comes back from its release: the generation it would
    // get is one past its newest release.
    let current = match &app {
        Some(app) => app.generation,
        None if releases.is_empty() => {
            bail!(ferry_store::Error::NotFound {
                app: name.to_owned()
            })
        }
        None => releases.iter().map(|r| r.version).max().unwrap_or(0) + 1,
    };
    let target = choose_target(name, &releases, current, requested)?;
    if let Some(app) = &app {
        if app.spec == target.spec {
            bail!(
                "app {name} already runs the spec of v{} (generation {}); nothing was written",
                target.version,
                app.generation
            );
        }
    }
    if needs_confirmation(current, target.version) {
        let steps = current - target.version;
        let why = format!(
            "rolling app {name} back to v{} goes back {steps} versions (more than \
             {MAX_UNCONFIRMED_STEPS}); nothing was written",
            target.version
        );
        let question = format!(
            "Roll app {name} back {steps} versions, from generation {current} to v{}?",
            target.version
        );
        if !confirm::confirm("", &question, yes, &why)? {
            bail!("rollback not confirmed; nothing was written");
        }
    }
    // The release's own text keeps `ferry diff` meaningful afterwards.
    let manifest = match &target.manifest {
        Some(text) => text.clone(),
        None => crate::manifest::render(&target.spec)?,
    };
    let change = AppChange {
        spec: target.spec.clone(),
        manifest,
        source: app.as_ref().and_then(|app| app.source.clone()),
        expected_generation: app.as_ref().map(|app| app.generation),
        previous_domains: app
            .iter()
            .flat_map(|app| app.spec.domains.iter().map(|d| d.name.clone()))
            .collect(),
        // A rollback continues the app; one that re-creates a deleted app
        // starts a new one.
        created_at: apply::created_at(store, app.as_ref()).await?,
        restart: None,
    };
    let context = ApplyContext {
        message: message.unwrap_or_else(|| format!("rollback to v{}", target.version)),
        user: apply::user(),
        // The commit the spec came from.
        git: target.git.clone(),
        now: apply::now(),
    };
    let generations = store
        .apply(&[change], &context)
        .await
        .with_context(|| format!("rolling back app {name}"))?;
    let generation = generations
        .first()
        .copied()
        .context("the store returned no generation")?;
    let how = if app.is_some() {
        "rolled back to"
    } else {
        "re-created from its release"
    };
    println!(
        "app/{name} {how} v{} (new release v{generation})",
        target.version
    );
    Ok(Applied {
        name: name.to_owned(),
        generation,
        changed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(version: u64, outcome: Option<ReleaseOutcome>) -> Release {
        Release {
            app: "web".into(),
            version,
            spec: ferry_manifest::App {
                name: "web".into(),
                image: format!("acme/web:{version}"),
                env: Default::default(),
                secrets: Default::default(),
                domains: Vec::new(),
                processes: Default::default(),
                ..Default::default()
            },
            message: String::new(),
            user: "me".into(),
            git: None,
            created_at: String::new(),
            manifest: None,
            outcome,
            outcome_reason: None,
        }
    }

    /// Newest first, as the store returns them.
    fn history() -> Vec<Release> {
        use ReleaseOutcome::*;
        vec![
            release(5, None),
            release(4, Some(Failed)),
            release(3, Some(Superseded)),
            release(2, Some(Succeeded)),
            release(1, Some(Succeeded)),
        ]
    }

    #[test]
    fn the_default_target_is_the_newest_success_before_the_current_generation() {
        let releases = history();
        let target = choose_target("web", &releases, 5, None).expect("target");
        assert_eq!(target.version, 2);
        // A success at the current generation is not a step back.
        let mut releases = history();
        releases[0].outcome = Some(ReleaseOutcome::Succeeded);
        assert_eq!(
            choose_target("web", &releases, 5, None)
                .expect("target")
                .version,
            2
        );
        assert_eq!(
            choose_target("web", &releases, 6, None)
                .expect("target")
                .version,
            5
        );
    }

    #[test]
    fn without_a_success_a_version_must_be_named() {
        let releases: Vec<Release> = history().into_iter().take(3).collect();
        let err = choose_target("web", &releases, 5, None).expect_err("no success");
        assert_eq!(
            err.to_string(),
            "app web has no release that succeeded before generation 5; name the version to \
             roll back to: ferry rollback web vN"
        );
    }

    #[test]
    fn a_named_version_is_taken_whatever_its_outcome() {
        let releases = history();
        assert_eq!(
            choose_target("web", &releases, 5, Some(4))
                .expect("target")
                .version,
            4
        );
        let err = choose_target("web", &releases, 5, Some(9)).expect_err("missing");
        assert_eq!(err.to_string(), "app web has no release v9");
    }

    #[test]
    fn more_than_nine_versions_back_needs_confirmation() {
        assert!(!needs_confirmation(10, 1));
        assert!(needs_confirmation(11, 1));
        assert!(!needs_confirmation(4, 3));
        assert!(!needs_confirmation(3, 3));
        assert!(!needs_confirmation(3, 4), "no underflow");
    }

    #[test]
    fn versions_read_with_or_without_v() {
        assert_eq!(parse_version("v3").expect("v3"), 3);
        assert_eq!(parse_version("12").expect("12"), 12);
        for bad in ["v", "v0", "x3", "-1", "v3.1"] {
            assert!(parse_version(bad).is_err(), "{bad}");
        }
    }
}
