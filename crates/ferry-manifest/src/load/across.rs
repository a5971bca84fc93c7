//! The checks across the loaded files: app names, and domains across apps.

use std::collections::BTreeMap;

use super::LoadedApp;
use crate::diagnostic::{Diagnostic, FieldPath, Pos};
use crate::validate::Anchors;

/// A file that loaded, with where its diagnostics go and where its parts
/// are.
pub(super) struct Loaded {
    /// Index of the file's diagnostics in `load_paths`'s buckets.
    pub(super) bucket: usize,
    pub(super) app: LoadedApp,
    pub(super) anchors: Anchors,
}

impl Loaded {
    pub(super) fn name(&self) -> &str {
        &self.app.app.name
    }

    pub(super) fn at(&self, pos: Pos) -> String {
        format!("{}:{pos}", self.app.file.display())
    }
}

/// App names must be unique across the files, and so must domains across
/// apps.
pub(super) fn check_across_files(loaded: &[Loaded], buckets: &mut [Vec<Diagnostic>]) {
    let mut by_name: BTreeMap<&str, Vec<&Loaded>> = BTreeMap::new();
    for file in loaded {
        by_name.entry(file.name()).or_default().push(file);
    }
    for (name, files) in &by_name {
        if files.len() < 2 {
            continue;
        }
        for (index, file) in files.iter().enumerate() {
            let elsewhere: Vec<String> = files
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != index)
                .map(|(_, other)| other.at(other.anchors.name))
                .collect();
            buckets[file.bucket].push(Diagnostic::new(
                &file.app.file,
                file.anchors.name,
                "metadata.name",
                format!(
                    "app `{name}` is also defined at {}; each app must be defined in exactly one \
                     file",
                    elsewhere.join(", ")
                ),
            ));
        }
    }

    // Domain name -> (file, index in its `spec.domains`, position).
    let mut by_domain: BTreeMap<&str, Vec<(&Loaded, usize, Pos)>> = BTreeMap::new();
    for file in loaded {
        let domains = file.app.app.domains.iter().zip(&file.anchors.domains);
        for (index, (domain, pos)) in domains.enumerate() {
            by_domain
                .entry(domain.name.as_str())
                .or_default()
                .push((file, index, *pos));
        }
    }
    for (domain, claims) in &by_domain {
        for (file, index, pos) in claims {
            // Claims by the same app in two files are covered by the
            // duplicate app report.
            let others: Vec<String> = claims
                .iter()
                .filter(|(other, _, _)| other.name() != file.name())
                .map(|(other, _, other_pos)| {
                    format!("app `{}` at {}", other.name(), other.at(*other_pos))
                })
                .collect();
            if others.is_empty() {
                continue;
            }
            buckets[file.bucket].push(Diagnostic::new(
                &file.app.file,
                *pos,
                FieldPath::of("spec.domains").index(*index).to_string(),
                format!(
                    "domain `{domain}` is also claimed by {}; a domain routes to exactly one app",
                    others.join(", ")
                ),
            ));
        }
    }

    // Files that loaded had no diagnostics before these, all in the file
    // itself: put them in position order.
    for file in loaded {
        buckets[file.bucket].sort_by_key(Diagnostic::pos);
    }
}
