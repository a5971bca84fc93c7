//! `ferry scale`: a new generation and release of an app's current spec
//! with other process counts, as `emp scale` made one, through the same
//! conditional write as `ferry apply` and `ferry rollback`.
//!
//! The release keeps the manifest text of the generation it scales: that
//! text is what git holds, so `ferry diff -f manifests/` afterwards
//! compares git with a spec whose counts differ, and says so (see
//! [`crate::diff::scale_differences`]).

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use ferry_manifest::{App, MAX_SCALE};
use ferry_store::Store;

use crate::apply::Applied;
use crate::next_generation::{self, NextGeneration};

/// The counts asked for, by process name.
pub type Counts = BTreeMap<String, u32>;

/// Reads `PROCESS=COUNT` arguments; each process at most once, each count
/// a whole number from 0 to [`MAX_SCALE`].
pub fn parse_counts(args: &[String]) -> anyhow::Result<Counts> {
    let mut counts = Counts::new();
    for arg in args {
        let Some((name, count)) = arg.split_once('=').filter(|(n, _)| !n.is_empty()) else {
            bail!("{arg:?} is not a scale: expected PROCESS=COUNT, such as web=3");
        };
        let count = count
            .parse::<u32>()
            .ok()
            .filter(|c| i64::from(*c) <= MAX_SCALE && !count.starts_with('+'))
            .with_context(|| {
                format!("{arg}: the count must be a whole number from 0 to {MAX_SCALE}")
            })?;
        if let Some(earlier) = counts.insert(name.to_owned(), count) {
            bail!("{name} is scaled twice ({name}={earlier}, {name}={count}); give it once");
        }
    }
    Ok(counts)
}

/// `scale web=3 worker=1`: the default release message.
pub fn message(counts: &Counts) -> String {
    format!("scale {}", pairs(counts))
}

/// `web=3 worker=1`.
fn pairs(counts: &Counts) -> String {
    let pairs: Vec<String> = counts.iter().map(|(n, c)| format!("{n}={c}")).collect();
    pairs.join(" ")
}

/// `spec` with the new counts, or why it cannot be scaled so: a process
/// it does not have, one Application Auto Scaling owns the count of, or a
/// scheduled one (no service, no count). `None`: every count is already
/// the stored one.
pub fn scaled(spec: &App, counts: &Counts) -> anyhow::Result<Option<App>> {
    let unknown: Vec<&str> = counts
        .keys()
        .filter(|name| !spec.processes.contains_key(*name))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = spec.processes.keys().map(String::as_str).collect();
        bail!(
            "app {} has no process {}; its processes are {}; nothing was written",
            spec.name,
            unknown.join(", "),
            known.join(", ")
        );
    }
    let mut next = spec.clone();
    for (name, count) in counts {
        let Some(process) = next.processes.get_mut(name) else {
            continue;
        };
        if process.autoscaling.is_some() {
            bail!(
                "{name} is autoscaled: change autoscaling.min and max in its manifest instead; \
                 nothing was written"
            );
        }
        if process.schedule.is_some() {
            bail!(
                "{name} is scheduled: it runs as a task on its schedule and has no scale; \
                 nothing was written"
            );
        }
        process.scale = *count;
    }
    Ok((next != *spec).then_some(next))
}

/// Stores the scale as a new generation, conditional on the generation
/// read (a racing apply makes one of the two fail with a conflict).
/// Returns it for `--wait`, or `None` when nothing changed and nothing
/// was written.
pub async fn scale(
    store: &Store,
    name: &str,
    counts: &Counts,
    message: Option<String>,
) -> anyhow::Result<Option<Applied>> {
    store.check_table().await?;
    let app = store.require_app(name).await?;
    if app.deleting {
        bail!("app {name} is being deleted; it cannot be scaled");
    }
    let Some(spec) = scaled(&app.spec, counts)? else {
        println!(
            "app/{name}: {} already (generation {}); nothing was written",
            pairs(counts),
            app.generation
        );
        return Ok(None);
    };
    let next = NextGeneration {
        spec,
        restart: None,
        message: message.unwrap_or_else(|| self::message(counts)),
    };
    let scaled = next_generation::write(store, &app, next, "scaling").await?;
    println!(
        "app/{name}: {} stored as release v{}",
        pairs(counts),
        scaled.generation
    );
    Ok(Some(scaled))
}

#[cfg(test)]
#[path = "scale_tests.rs"]
mod tests;
