//! Semantic validation and resolution: from a `Manifest` that has the right
//! shape to the `App` Ferry stores, or every reason it cannot be one.
//!
//! This module holds the entry point ([`resolve`]) and the [`Validator`]
//! that reports; each area's checks are a module of their own, each adding
//! methods to the validator: [`app`] (env, secrets, roles, task-definition
//! size), [`commands`] (Procfile and commands), [`process`],
//! [`health_check`], [`placement`] (platform, capacity), [`sidecars`],
//! [`schedule`], [`autoscaling`] and [`traffic`] (domains).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use crate::diagnostic::{quote, FieldPath, Pos, Report};
use crate::rules;
use crate::structure::Broken;
use crate::types::{App, Manifest, ManifestProcess, API_VERSION, KIND};
use crate::yaml::Document;

mod app;
mod autoscaling;
mod commands;
mod health_check;
mod placement;
mod process;
mod rollout;
mod schedule;
mod sidecars;
mod traffic;

pub(crate) use commands::procfile_path;

/// The process a bare domain name routes to.
pub const DEFAULT_DOMAIN_PROCESS: &str = "web";
/// Seconds between the load balancer's health checks when `interval` is
/// unset: what the renderer sets (ferry-core's `DEFAULT_HEALTH_INTERVAL`,
/// 10, not the ALB's own 30), used to check `timeout < interval`, which the
/// ALB requires.
pub const DEFAULT_HEALTH_CHECK_INTERVAL: u32 = 10;
/// Seconds before a health check fails when `timeout` is unset (the ALB
/// default for HTTP target groups), used to check `timeout < interval`.
pub const DEFAULT_HEALTH_CHECK_TIMEOUT: u32 = 5;

/// A problem was found and is already in the report; the value it was
/// about has no resolution.
#[derive(Debug, Clone, Copy)]
struct Reported;

/// Where the parts of a valid manifest are, for checks across files.
#[derive(Debug, Clone)]
pub(crate) struct Anchors {
    pub(crate) name: Pos,
    /// Each resolved domain's position, in `App::domains` order.
    pub(crate) domains: Vec<Pos>,
}

/// Validates `manifest` and resolves it into an [`App`]. Every problem goes
/// into `report`, which may hold the structural pass's problems already;
/// values under a path in `broken` were reported there and are not
/// checked again, nor is anything that depends on them. Warnings (commands
/// that expect a shell) go into `report` too. The app is returned only if
/// `report` holds no error.
pub(crate) fn resolve(
    manifest: &Manifest,
    document: &Document,
    broken: &Broken,
    file: &Path,
    read_procfile: &dyn Fn(&Path) -> io::Result<String>,
    report: &mut Report,
) -> Option<(App, Anchors)> {
    let mut v = Validator {
        document,
        report,
        file,
        broken,
    };
    let spec = &manifest.spec;

    if manifest.api_version != API_VERSION && !v.is_broken("apiVersion") {
        v.error(
            "apiVersion",
            format!(
                "unsupported apiVersion {}; expected `{API_VERSION}`",
                quote(&manifest.api_version)
            ),
        );
    }
    if manifest.kind != KIND && !v.is_broken("kind") {
        v.error(
            "kind",
            format!(
                "unsupported kind {}; expected `{KIND}`",
                quote(&manifest.kind)
            ),
        );
    }
    if !v.is_broken("metadata.name") {
        if let Err(message) = rules::app_name(&manifest.metadata.name) {
            v.error("metadata.name", message);
        }
    }
    if !v.is_broken("spec.image") {
        if let Err(message) = rules::image_reference(&spec.image) {
            v.error("spec.image", message);
        }
    }
    v.check_env_and_secrets(manifest);

    // A broken `procfile` field is as unknown as an unreadable file.
    let procfile_broken = v.is_broken("spec.procfile");
    let procfile = if procfile_broken {
        None
    } else {
        v.load_procfile(spec.procfile.as_deref(), read_procfile)
    };
    let mut processes = v.resolve_processes(&spec.processes, procfile.as_deref());
    v.check_roles(spec);
    let platform = v.resolve_platform(&FieldPath::of("spec.platform"), spec.platform.as_ref());
    for process in processes.values_mut() {
        process.platform = process.platform.or(platform.ok().flatten());
    }
    let sidecars = v.resolve_sidecars(&spec.sidecars);
    v.assign_sidecars(&spec.processes, &mut processes, &sidecars, &spec.sidecars);
    // The Procfile's process names; unknown if it could not be used.
    let from_procfile: Option<BTreeSet<&str>> = match (&spec.procfile, &procfile) {
        _ if procfile_broken => None,
        (Some(_), None) => None,
        (_, entries) => Some(
            entries
                .iter()
                .flatten()
                .map(|entry| entry.name.as_str())
                .collect(),
        ),
    };
    // A Procfile that could not be used may hold processes: only complain
    // about there being none when that is known.
    if spec.processes.is_empty()
        && !v.is_broken("spec.processes")
        && from_procfile.as_ref().is_some_and(BTreeSet::is_empty)
    {
        v.error(
            "spec.processes",
            "the app has no processes; define them under `spec.processes` or in a Procfile \
             named by `spec.procfile`",
        );
    }
    let (domains, domain_positions) = v.resolve_domains(
        &spec.domains,
        &Targets {
            declared: &spec.processes,
            from_procfile,
        },
    );

    let name_pos = v.document.locate(&FieldPath::of("metadata.name"));
    let app = App {
        name: manifest.metadata.name.clone(),
        image: spec.image.clone(),
        env: spec.env.clone(),
        secrets: spec.secrets.clone(),
        domains,
        processes,
        role: spec.role.clone(),
        execution_role: spec.execution_role.clone(),
        exec: spec.exec.unwrap_or(false),
        sidecars,
    };
    // The processes that resolved are checked even when others did not:
    // an oversized `env` is worth knowing about at once.
    v.check_task_definition_size(&app);
    let procfile_file = spec
        .procfile
        .as_deref()
        .map(|relative| procfile_path(file, relative));
    let procfile_entries = procfile_file.as_deref().zip(procfile.as_deref());
    v.warn_about_shell_syntax(&app, &spec.processes, procfile_entries);
    if v.report.has_errors() {
        return None;
    }
    let anchors = Anchors {
        name: name_pos,
        domains: domain_positions,
    };
    Some((app, anchors))
}

/// Processes whose task definitions are too large because of one part of
/// the manifest.
struct Oversized<'a> {
    /// Each process and its estimate.
    processes: Vec<(&'a str, usize)>,
    /// The part's size in the first of them.
    bytes: usize,
    /// The part, as a message names it.
    part: &'static str,
}

/// The processes a domain may route to. Only the manifest gives ports, so
/// whether a target has one is known even when the Procfile is not.
struct Targets<'a> {
    declared: &'a BTreeMap<String, ManifestProcess>,
    /// The Procfile's process names; `None` if it could not be read.
    from_procfile: Option<BTreeSet<&'a str>>,
}

struct Validator<'a> {
    document: &'a Document,
    report: &'a mut Report,
    file: &'a Path,
    broken: &'a Broken,
}

impl Validator<'_> {
    /// Whether the value at the dotted `path` (or a parent) was reported
    /// by the structural pass.
    fn is_broken(&self, path: &str) -> bool {
        self.broken.at(&FieldPath::of(path))
    }

    /// Reports a problem with the value at `path`.
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.error_at(&FieldPath::of(path), message);
    }

    fn error_at(&mut self, path: &FieldPath, message: impl Into<String>) {
        let pos = self.document.locate(path);
        self.report.error(pos, path, message);
    }

    /// Reports a problem with the key at `path` (a name, not its value).
    fn key_error_at(&mut self, path: &FieldPath, message: impl Into<String>) {
        let pos = self.document.locate_key(path);
        self.report.error(pos, path, message);
    }
}

/// Most names a message lists.
const MAX_LISTED_NAMES: usize = 10;

/// "a, b, c" of at most [`MAX_LISTED_NAMES`] names, each shortened, then
/// how many more there are.
fn name_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    let mut listed: Vec<String> = names
        .iter()
        .take(MAX_LISTED_NAMES)
        .map(|name| quote(name))
        .collect();
    if names.len() > MAX_LISTED_NAMES {
        listed.push(format!("and {} more", names.len() - MAX_LISTED_NAMES));
    }
    listed.join(", ")
}

/// `; hint` for a hint, nothing without one.
fn hint_suffix(hint: Option<String>) -> String {
    hint.map(|hint| format!("; {hint}")).unwrap_or_default()
}

/// The last key of `path`, to name the field in a message.
fn field_name(path: &FieldPath) -> String {
    match path.segments().last() {
        Some(crate::diagnostic::Segment::Key(key)) => key.clone(),
        _ => "value".to_owned(),
    }
}
