//! The app's `sidecars` and which of them run beside each process.
//!
//! A sidecar's own fields are checked once, under `spec.sidecars`; what
//! depends on the task it runs in (its `dependsOn` targets, its share of
//! the task's CPU and memory, a name that clashes with the process's
//! container) is checked per process, and located at the sidecar with the
//! process named in the message. The container dependency rules are ECS's
//! ([ContainerDependency](https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDependency.html)):
//! `HEALTHY` needs a container health check on the dependency, and
//! `COMPLETE`/`SUCCESS` need a dependency that is not essential.

use std::collections::{BTreeMap, BTreeSet};

use super::{hint_suffix, name_list, Reported, Validator};
use crate::diagnostic::{quote, FieldPath};
use crate::limits;
use crate::rules;
use crate::structure::closest;
use crate::types::{
    DependencyCondition, ManifestProcess, ManifestSidecar, Process, Sidecar, APP_CONTAINER,
};
use DependencyCondition::{Complete, Success};

impl Validator<'_> {
    /// Checks and resolves every sidecar of the app; one that does not
    /// resolve is left out (and reported).
    pub(super) fn resolve_sidecars(
        &mut self,
        written: &BTreeMap<String, ManifestSidecar>,
    ) -> BTreeMap<String, Sidecar> {
        let sidecars_path = FieldPath::of("spec.sidecars");
        let mut resolved = BTreeMap::new();
        for (name, sidecar) in written {
            let path = sidecars_path.key(name);
            let name_ok = match rules::sidecar_name(name) {
                Ok(()) => true,
                Err(message) => {
                    self.key_error_at(&path, message);
                    false
                }
            };
            if self.broken.at(&path) {
                continue;
            }
            if let (Ok(sidecar), true) = (self.resolve_sidecar(&path, name, sidecar), name_ok) {
                resolved.insert(name.clone(), sidecar);
            }
        }
        self.check_dependency_cycles(&resolved);
        resolved
    }

    fn resolve_sidecar(
        &mut self,
        path: &FieldPath,
        name: &str,
        written: &ManifestSidecar,
    ) -> Result<Sidecar, Reported> {
        let errors_before = self.report.error_count();
        if !self.broken.at(&path.key("image")) {
            if let Err(message) = rules::image_reference(&written.image) {
                self.error_at(&path.key("image"), message);
            }
        }
        let command = match &written.command {
            _ if self.broken.at(&path.key("command")) => Err(Reported),
            Some(command) => self.resolve_command(&path.key("command"), command),
            None => Ok(Vec::new()),
        };
        self.check_container_env(path, &written.env, &written.secrets);
        let cpu = self.resolve_bounded(
            &path.key("cpu"),
            written.cpu,
            limits::SIDECAR_CPU,
            "CPU units; the process's sidecars together at most its task's `cpu`",
        );
        let memory = self.resolve_bounded(
            &path.key("memory"),
            written.memory,
            limits::SIDECAR_MEMORY,
            "MiB; ECS's container minimum is 6",
        );
        let mut depends_on = BTreeMap::new();
        for (on, condition) in &written.depends_on {
            let at = path.key("dependsOn").key(on);
            if self.broken.at(&at) {
                continue;
            }
            let Some(condition) = dependency_condition(condition) else {
                self.error_at(
                    &at,
                    format!(
                        "unknown dependency condition {}; ECS's conditions are {}",
                        quote(condition),
                        limits::DEPENDENCY_CONDITIONS.join(", ")
                    ),
                );
                continue;
            };
            if on == APP_CONTAINER && matches!(condition, Complete | Success) {
                // True of every process: said once, not per process.
                self.error_at(
                    &at,
                    format!(
                        "sidecar {} cannot wait for `{APP_CONTAINER}` with {}: COMPLETE and \
                         SUCCESS need a dependency that is not essential, and the process's own \
                         container always is; wait for START",
                        quote(name),
                        condition_name(condition)
                    ),
                );
                continue;
            }
            if on == name {
                self.key_error_at(
                    &at,
                    format!(
                        "sidecar {} depends on itself; a container can only wait for another \
                         one (`{APP_CONTAINER}` or another sidecar)",
                        quote(name)
                    ),
                );
                continue;
            }
            depends_on.insert(on.clone(), condition);
        }
        let (command, cpu, memory) = (command?, cpu?, memory?);
        if self.report.error_count() > errors_before || self.broken.within(path) {
            return Err(Reported);
        }
        Ok(Sidecar {
            image: written.image.clone(),
            command,
            env: written.env.clone(),
            secrets: written.secrets.clone(),
            essential: written.essential.unwrap_or(false),
            cpu,
            memory,
            depends_on,
        })
    }

    /// Reports each cycle of `dependsOn` among the sidecars once, at the
    /// first sidecar (by name) on it: ECS cannot start any container of a
    /// cycle.
    fn check_dependency_cycles(&mut self, sidecars: &BTreeMap<String, Sidecar>) {
        let mut reported: BTreeSet<&str> = BTreeSet::new();
        for start in sidecars.keys() {
            if reported.contains(start.as_str()) {
                continue;
            }
            let Some(cycle) = cycle_through(sidecars, start) else {
                continue;
            };
            let next = cycle.get(1).copied().unwrap_or(start.as_str());
            let path = FieldPath::of("spec.sidecars")
                .key(start)
                .key("dependsOn")
                .key(next);
            let mut shown: Vec<&str> = cycle.clone();
            shown.push(start);
            self.key_error_at(
                &path,
                format!(
                    "the sidecars' `dependsOn` form a cycle ({}), so ECS could start none of \
                     them; remove one of these dependencies",
                    shown.join(" -> ")
                ),
            );
            reported.extend(cycle);
        }
    }

    /// Sets each process's `sidecars` (its own list, or every sidecar of
    /// the app) and checks what depends on the task: name clashes,
    /// `dependsOn` targets and conditions, and CPU and memory. Then reports
    /// any sidecar no process runs.
    pub(super) fn assign_sidecars(
        &mut self,
        declared: &BTreeMap<String, ManifestProcess>,
        processes: &mut BTreeMap<String, Process>,
        sidecars: &BTreeMap<String, Sidecar>,
        written: &BTreeMap<String, ManifestSidecar>,
    ) {
        let known: Vec<&str> = written.keys().map(String::as_str).collect();
        let mut used: BTreeSet<&str> = BTreeSet::new();
        let mut someone_runs_all = false;
        for (name, written_process) in declared {
            let list_path = FieldPath::of("spec.processes").key(name).key("sidecars");
            let Some(list) = &written_process.sidecars else {
                continue;
            };
            if self.broken.at(&list_path) {
                // Unknown which it runs: none is reported unused.
                someone_runs_all = true;
                continue;
            }
            for (index, sidecar) in list.iter().enumerate() {
                if written.contains_key(sidecar) {
                    used.insert(sidecar.as_str());
                    continue;
                }
                let hint = closest(sidecar, &known).map(|known| format!("did you mean `{known}`?"));
                let listed = if known.is_empty() {
                    "the app has no `spec.sidecars`".to_owned()
                } else {
                    format!(
                        "the app's sidecars are {}",
                        name_list(known.iter().copied())
                    )
                };
                self.error_at(
                    &list_path.index(index),
                    format!(
                        "process {} runs sidecar {}, which `spec.sidecars` does not define; \
                         {listed}{}",
                        quote(name),
                        quote(sidecar),
                        hint_suffix(hint)
                    ),
                );
            }
        }
        for (name, process) in processes.iter_mut() {
            let runs: Vec<String> = match declared.get(name).and_then(|p| p.sidecars.as_ref()) {
                Some(list) => list
                    .iter()
                    .filter(|s| sidecars.contains_key(*s))
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                None => {
                    someone_runs_all = true;
                    sidecars.keys().cloned().collect()
                }
            };
            process.sidecars = runs;
            self.check_task_of(name, process, sidecars, declared.get(name));
        }
        // A process that did not resolve may still run every sidecar.
        someone_runs_all |= declared
            .iter()
            .any(|(name, p)| p.sidecars.is_none() && !processes.contains_key(name));
        if someone_runs_all {
            return;
        }
        // A sidecar that did not resolve is reported already.
        for name in sidecars.keys().filter(|name| !used.contains(name.as_str())) {
            self.key_error_at(
                &FieldPath::of("spec.sidecars").key(name),
                format!(
                    "no process runs sidecar {}: every process lists its own `sidecars`, and \
                     none names it; add it to a process's `sidecars` or remove it",
                    quote(name)
                ),
            );
        }
    }

    /// The checks of one process's task: its sidecars beside its container.
    fn check_task_of(
        &mut self,
        name: &str,
        process: &Process,
        sidecars: &BTreeMap<String, Sidecar>,
        written: Option<&ManifestProcess>,
    ) {
        let sidecars_path = FieldPath::of("spec.sidecars");
        let running: BTreeMap<&str, &Sidecar> = process
            .sidecars
            .iter()
            .filter_map(|s| Some((s.as_str(), sidecars.get(s)?)))
            .collect();
        for (&sidecar_name, sidecar) in &running {
            let path = sidecars_path.key(sidecar_name);
            if sidecar_name == name {
                self.key_error_at(
                    &path,
                    format!(
                        "sidecar {} has the name of process {}, whose container it would run \
                         beside, and container names in a task are unique; rename the sidecar",
                        quote(sidecar_name),
                        quote(name)
                    ),
                );
            }
            for (on, condition) in &sidecar.depends_on {
                let at = path.key("dependsOn").key(on);
                let target = if on == APP_CONTAINER {
                    Target::App {
                        has_health_check: process.container_health_check.is_some(),
                    }
                } else if let Some(other) = running.get(on.as_str()) {
                    Target::Sidecar {
                        essential: other.essential,
                    }
                } else {
                    // Itself is no choice: a dependency on itself is refused.
                    let beside = name_list(
                        std::iter::once(APP_CONTAINER).chain(
                            running
                                .keys()
                                .copied()
                                .filter(|other| *other != sidecar_name),
                        ),
                    );
                    self.key_error_at(
                        &at,
                        format!(
                            "sidecar {} depends on {}, which does not run beside it in process \
                             {}; it can depend on {beside}",
                            quote(sidecar_name),
                            quote(on),
                            quote(name)
                        ),
                    );
                    continue;
                };
                if let Some(problem) = target.refuses(*condition) {
                    self.error_at(
                        &at,
                        format!(
                            "sidecar {} cannot wait for {} with {} in process {}: {problem}",
                            quote(sidecar_name),
                            quote(on),
                            condition_name(*condition),
                            quote(name)
                        ),
                    );
                }
            }
        }
        self.check_sidecar_resources(name, process, &running, written);
    }

    /// The process's sidecars must leave room for its own container:
    /// their memory together below the task's, their CPU at most the
    /// task's (Fargate sizes the task; containers share it).
    fn check_sidecar_resources(
        &mut self,
        name: &str,
        process: &Process,
        running: &BTreeMap<&str, &Sidecar>,
        written: Option<&ManifestProcess>,
    ) {
        let memory: u32 = running.values().filter_map(|s| s.memory).sum();
        let cpu: u32 = running.values().filter_map(|s| s.cpu).sum();
        let at = |field: &str| {
            let process_path = FieldPath::of("spec.processes").key(name);
            match written {
                Some(p) if p.sidecars.is_some() => process_path.key("sidecars"),
                Some(p) if field == "memory" && p.memory.is_some() => process_path.key("memory"),
                Some(p) if field == "cpu" && p.cpu.is_some() => process_path.key("cpu"),
                Some(_) => process_path,
                None => FieldPath::of("spec.sidecars"),
            }
        };
        let names = name_list(running.keys().copied());
        if memory >= process.memory {
            self.error_at(
                &at("memory"),
                format!(
                    "the sidecars of process {} ({names}) take {memory} MiB of memory, and its \
                     task has {} MiB: they must leave room for the process's own container; \
                     raise the process's `memory` or lower the sidecars'",
                    quote(name),
                    process.memory
                ),
            );
        }
        if cpu > process.cpu {
            self.error_at(
                &at("cpu"),
                format!(
                    "the sidecars of process {} ({names}) reserve {cpu} CPU units, more than its \
                     task's {}; raise the process's `cpu` or lower the sidecars'",
                    quote(name),
                    process.cpu
                ),
            );
        }
    }
}

/// What a `dependsOn` names, as the dependency rules see it.
enum Target {
    /// The process's own container: always essential.
    App { has_health_check: bool },
    /// Another sidecar of the process: never health-checked.
    Sidecar { essential: bool },
}

impl Target {
    /// Why `condition` cannot be waited for on this target, if it cannot.
    fn refuses(&self, condition: DependencyCondition) -> Option<&'static str> {
        use DependencyCondition::{Complete, Healthy, Start, Success};
        match (self, condition) {
            (_, Start) => None,
            (
                Target::App {
                    has_health_check: true,
                },
                Healthy,
            ) => None,
            (Target::App { .. }, Healthy) => Some(
                "HEALTHY needs a container health check on the dependency, and the process's \
                 container has none; give the process `healthCheck.command` (only without a \
                 `port`) or wait for START",
            ),
            (Target::Sidecar { .. }, Healthy) => Some(
                "HEALTHY needs a container health check on the dependency, and sidecars have \
                 none; wait for START",
            ),
            // Refused with the sidecar, for every process at once.
            (Target::App { .. }, Complete | Success) => None,
            (Target::Sidecar { essential: true }, Complete | Success) => Some(
                "COMPLETE and SUCCESS need a dependency that is not essential (ECS's container \
                 dependency rules); set its `essential: false` or wait for START",
            ),
            (Target::Sidecar { essential: false }, Complete | Success) => None,
        }
    }
}

/// The condition as a manifest writes it.
fn condition_name(condition: DependencyCondition) -> &'static str {
    match condition {
        DependencyCondition::Start => "START",
        DependencyCondition::Healthy => "HEALTHY",
        DependencyCondition::Complete => "COMPLETE",
        DependencyCondition::Success => "SUCCESS",
    }
}

/// The condition as written (`START`, `HEALTHY`, `COMPLETE`, `SUCCESS`).
fn dependency_condition(written: &str) -> Option<DependencyCondition> {
    serde_json::from_value(serde_json::Value::from(written)).ok()
}

/// The sidecars on a `dependsOn` cycle through `start`, in order from it,
/// if there is one (the first found, depth first by name).
fn cycle_through<'a>(
    sidecars: &'a BTreeMap<String, Sidecar>,
    start: &'a str,
) -> Option<Vec<&'a str>> {
    fn walk<'a>(
        sidecars: &'a BTreeMap<String, Sidecar>,
        start: &str,
        at: &'a str,
        trail: &mut Vec<&'a str>,
        seen: &mut BTreeSet<&'a str>,
    ) -> bool {
        trail.push(at);
        for next in sidecars
            .get(at)
            .into_iter()
            .flat_map(|s| s.depends_on.keys())
        {
            if next == start {
                return true;
            }
            if sidecars.contains_key(next)
                && seen.insert(next.as_str())
                && walk(sidecars, start, next, trail, seen)
            {
                return true;
            }
        }
        trail.pop();
        false
    }
    let mut trail = Vec::new();
    let mut seen = BTreeSet::new();
    walk(sidecars, start, start, &mut trail, &mut seen).then_some(trail)
}
