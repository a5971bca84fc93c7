//! Domains: each name, and that it routes to a process with a port.

use std::collections::{BTreeMap, BTreeSet};

use super::{name_list, Targets, Validator, DEFAULT_DOMAIN_PROCESS};
use crate::diagnostic::{quote, FieldPath, Pos};
use crate::rules;
use crate::types::{Domain, DomainEntry};

impl Validator<'_> {
    pub(super) fn resolve_domains(
        &mut self,
        entries: &[DomainEntry],
        targets: &Targets<'_>,
    ) -> (Vec<Domain>, Vec<Pos>) {
        let domains_path = FieldPath::of("spec.domains");
        let mut first_seen: BTreeMap<&str, Pos> = BTreeMap::new();
        let mut domains = Vec::new();
        let mut positions = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let item = domains_path.index(index);
            if self.broken.at(&item) {
                // Keep the indices of the others.
                domains.push(Domain {
                    name: String::new(),
                    process: String::new(),
                });
                positions.push(self.document.locate(&item));
                continue;
            }
            let (name, process, name_path, process_path) = match entry {
                DomainEntry::Name(name) => (
                    name.as_str(),
                    DEFAULT_DOMAIN_PROCESS,
                    item.clone(),
                    item.clone(),
                ),
                DomainEntry::Routed(routed) => (
                    routed.name.as_str(),
                    routed.process.as_str(),
                    item.key("name"),
                    item.key("process"),
                ),
            };
            let pos = self.document.locate(&name_path);
            if self.broken.at(&name_path) {
                // Reported by the structural pass.
            } else if let Err(message) = rules::domain_name(name) {
                self.error_at(&name_path, message);
            } else if let Some(first) = first_seen.get(name) {
                self.error_at(
                    &name_path,
                    format!(
                        "duplicate domain {} (first listed at {first}); list each domain once",
                        quote(name)
                    ),
                );
            } else {
                first_seen.insert(name, pos);
            }
            if !self.broken.at(&process_path) {
                self.check_domain_target(&process_path, name, process, targets, entry);
            }
            domains.push(Domain {
                name: name.to_owned(),
                process: process.to_owned(),
            });
            positions.push(pos);
        }
        (domains, positions)
    }

    pub(super) fn check_domain_target(
        &mut self,
        path: &FieldPath,
        domain: &str,
        process: &str,
        targets: &Targets<'_>,
        entry: &DomainEntry,
    ) {
        let domain = quote(domain);
        let shown_process = quote(process);
        let needs_port = format!(
            "domain {domain} routes to process {shown_process}, which has no `port`; set \
             `{}` to the port it listens on",
            FieldPath::of("spec.processes").key(process).key("port")
        );
        let processes = FieldPath::of("spec.processes");
        if self.broken.at(&processes) {
            // Which processes there are is unknown.
            return;
        }
        if let Some(declared) = targets.declared.get(process) {
            // A broken process or port is reported already, and whether it
            // has a port is unknown.
            let process_path = processes.key(process);
            let unknown =
                self.broken.at(&process_path) || self.broken.at(&process_path.key("port"));
            if declared.port.is_none() && !unknown {
                self.error_at(path, needs_port);
            }
            return;
        }
        let Some(from_procfile) = &targets.from_procfile else {
            // The Procfile could not be read, so whether the process exists
            // is unknown; without a manifest entry it has no port either way.
            self.error_at(path, needs_port);
            return;
        };
        if from_procfile.contains(process) {
            self.error_at(path, needs_port);
            return;
        }
        let known: BTreeSet<&str> = targets
            .declared
            .keys()
            .map(String::as_str)
            .chain(from_procfile.iter().copied())
            .collect();
        let known = if known.is_empty() {
            "none".to_owned()
        } else {
            name_list(known)
        };
        let how_to_route = if matches!(entry, DomainEntry::Name(_)) {
            format!(
                "; a domain written as a plain name routes to `{DEFAULT_DOMAIN_PROCESS}`, write \
                 `{{name: <domain>, process: <process>}}` to route it to another process"
            )
        } else {
            String::new()
        };
        self.error_at(
            path,
            format!(
                "domain {domain} routes to process {shown_process}, which does not exist \
                 (processes: {known}){how_to_route}"
            ),
        );
    }
}
