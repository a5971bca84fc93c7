//! Loading manifests: one text, or files and directories all-or-nothing.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics, FieldPath, Report, Segment, Shortened};
use crate::limits::MAX_MANIFEST_BYTES;
use crate::structure;
use crate::types::{App, Manifest};
use crate::validate::{self, Anchors};
use crate::yaml::{self, Document};

mod across;
mod files;

use across::{check_across_files, Loaded};
use files::{
    allowed_roots, collect_inputs, manifest_roots, read_confined, read_manifest, too_large,
};

/// Most errors reported for one file. Every problem is reported, but a
/// hostile or mistaken file (a megabyte of bad keys) gets a bounded
/// answer: after this many, one more line says how many were left out.
pub(crate) const MAX_DIAGNOSTICS_PER_FILE: usize = 500;

/// A manifest file that parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedApp {
    /// The path the file was loaded from, as given or found in a directory.
    pub file: PathBuf,
    /// The manifest as written.
    pub manifest: Manifest,
    /// The resolved app: Procfile merged, defaults filled.
    pub app: App,
    /// The file's text.
    pub text: String,
    /// Problems that do not make the manifest invalid, in file order (the
    /// manifest's, then its Procfile's): a command that uses shell syntax
    /// such as `$PORT` without running in a shell. Shown as
    /// `warning: {diagnostic}`.
    pub warnings: Vec<Diagnostic>,
}

impl LoadedApp {
    /// Diagnostics of this file, each at its field path (the value's
    /// position; `1:1` if the text no longer parses, which a loaded app's
    /// does), for checks that judge a loaded app against an
    /// installation's settings.
    pub(crate) fn diagnostics_at(
        &self,
        problems: impl IntoIterator<Item = (FieldPath, String)>,
    ) -> Vec<Diagnostic> {
        let document = Document::parse(&self.text).ok();
        problems
            .into_iter()
            .map(|(path, message)| {
                let pos = document
                    .as_ref()
                    .map_or(crate::diagnostic::Pos::new(1, 1), |d| d.locate(&path));
                Diagnostic::new(&self.file, pos, path.to_string(), message)
            })
            .collect()
    }
}

/// Parses and validates one manifest text.
///
/// `file` names the manifest in diagnostics and is the base of a relative
/// `spec.procfile`, which is read with `read_procfile` (pass
/// `&|p| std::fs::read_to_string(p)` to read from disk; [`load_paths`]
/// reads only Procfiles inside the manifests' directories or their git
/// repository, and at most [`crate::MAX_PROCFILE_BYTES`]). The text must
/// be one YAML document holding one app, of at most
/// [`crate::MAX_MANIFEST_BYTES`].
///
/// One run reports every problem of the text. Only a text that is not a
/// usable YAML mapping at all (a syntax error, more than one document,
/// anchors, aliases or tags) stops at that, since there is nothing to
/// check. Otherwise every unknown field, missing field, wrong type and key
/// written twice is reported, and every value that has the right type is
/// validated (names, image, sizes, secrets, Procfile, domains, health
/// checks, the task definition's size): a broken value is reported once
/// and only the checks that need it are skipped. Diagnostics are in file
/// order, at most 500 (`MAX_DIAGNOSTICS_PER_FILE`) of them plus a line saying
/// how many more there are. Never panics, whatever the text.
///
/// # Errors
///
/// Every problem in the manifest and its Procfile.
pub fn parse_manifest(
    file: &Path,
    text: &str,
    read_procfile: &dyn Fn(&Path) -> io::Result<String>,
) -> Result<LoadedApp, Diagnostics> {
    parse_anchored(file, text, read_procfile)
        .map(|(app, _)| app)
        .map_err(Diagnostics)
}

fn parse_anchored(
    file: &Path,
    text: &str,
    read_procfile: &dyn Fn(&Path) -> io::Result<String>,
) -> Result<(LoadedApp, Anchors), Vec<Diagnostic>> {
    if text.len() > MAX_MANIFEST_BYTES {
        return Err(vec![too_large(file, text.len() as u64)]);
    }
    // A UTF-8 byte order mark is not content; serde_yaml's document
    // iteration also trips over it.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let document = Document::parse(body).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| Diagnostic::new(file, e.pos, "", e.message))
            .collect::<Vec<_>>()
    })?;

    let mut report = Report::new(file);
    let structure = structure::check_structure(document.root(), &mut report);
    for duplicate in document.duplicates() {
        report.error(
            duplicate.pos,
            &duplicate.path,
            yaml::duplicate_key_message(
                match duplicate.path.segments().last() {
                    Some(Segment::Key(key)) => key,
                    _ => "",
                },
                duplicate.first,
            ),
        );
    }

    let manifest = match typed_manifest(file, structure.value, &document) {
        Ok(manifest) => manifest,
        Err(diagnostic) => {
            report.extend([diagnostic]);
            return Err(bounded(report.into_sorted()));
        }
    };
    let resolved = validate::resolve(
        &manifest,
        &document,
        &structure.broken,
        file,
        read_procfile,
        &mut report,
    );
    let (errors, warnings) = report.into_sorted_with_warnings();
    match resolved {
        Some((app, anchors)) if errors.is_empty() => Ok((
            LoadedApp {
                file: file.to_owned(),
                manifest,
                app,
                text: text.to_owned(),
                warnings,
            },
            anchors,
        )),
        _ => Err(bounded(errors)),
    }
}

/// At most [`MAX_DIAGNOSTICS_PER_FILE`] diagnostics, then one saying how
/// many were left out.
fn bounded(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    if diagnostics.len() > MAX_DIAGNOSTICS_PER_FILE {
        let left_out = diagnostics.len() - MAX_DIAGNOSTICS_PER_FILE;
        let next = diagnostics[MAX_DIAGNOSTICS_PER_FILE].clone();
        diagnostics.truncate(MAX_DIAGNOSTICS_PER_FILE);
        let pos = next.pos();
        diagnostics.push(Diagnostic::new(
            next.file,
            pos,
            "",
            format!("{left_out} more problem(s) from here on are not shown; fix these first"),
        ));
    }
    diagnostics
}

/// Deserializes the `Manifest` from what the structural pass kept. That
/// pass mirrors the types, so this should not fail; if the two disagree,
/// serde's error is reported at the path it names.
fn typed_manifest(
    file: &Path,
    value: serde_json::Value,
    document: &Document,
) -> Result<Manifest, Diagnostic> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let mut path = FieldPath::root();
        for segment in error.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => path.push(Segment::Index(*index)),
                serde_path_to_error::Segment::Map { key } => path.push(Segment::Key(key.clone())),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        let pos = document.locate(&path);
        // serde repeats the value it could not take; bound it like every
        // quoted value.
        let message = error.into_inner().to_string();
        Diagnostic::new(file, pos, path.to_string(), Shortened(&message).to_string())
    })
}

/// Loads manifests from files and directories, all or nothing.
///
/// A file is loaded whatever its name. A directory contributes every
/// `*.yaml` and `*.yml` file inside it, recursively, in sorted path order,
/// skipping entries whose names start with '.'; symbolic links to files are
/// followed, links to directories are not (no cycles). A file reached
/// twice (named and inside a named directory) is loaded once.
///
/// Returns every app, in load order, only if every file is valid. Otherwise
/// returns every problem found in every file, in load order: a path that
/// does not exist, a directory without manifests, any file's problems, an
/// app name defined in two files (reported at each `metadata.name`), and a
/// domain claimed by two apps (reported at each).
///
/// # Errors
///
/// Every problem found, as described above; no app is returned then.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<LoadedApp>, Diagnostics> {
    // Each input, in order: a manifest file to load, or a problem with it.
    let mut inputs: Vec<Result<PathBuf, Diagnostic>> = Vec::new();
    for path in paths {
        collect_inputs(path.as_ref(), &mut inputs);
    }

    let roots = manifest_roots(paths);
    let mut seen = HashSet::new();
    let mut buckets: Vec<Vec<Diagnostic>> = Vec::new();
    let mut loaded: Vec<Loaded> = Vec::new();
    for input in inputs {
        let file = match input {
            Ok(file) => file,
            Err(problem) => {
                buckets.push(vec![problem]);
                continue;
            }
        };
        let identity = fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if !seen.insert(identity) {
            continue;
        }
        let bucket = buckets.len();
        let allowed = allowed_roots(&roots, &file);
        let read_procfile = |path: &Path| read_confined(path, &allowed);
        buckets.push(match read_manifest(&file) {
            Err(problem) => vec![problem],
            Ok(text) => match parse_anchored(&file, &text, &read_procfile) {
                Ok((app, anchors)) => {
                    loaded.push(Loaded {
                        bucket,
                        app,
                        anchors,
                    });
                    Vec::new()
                }
                Err(diagnostics) => diagnostics,
            },
        });
    }

    check_across_files(&loaded, &mut buckets);

    if buckets.iter().all(Vec::is_empty) {
        Ok(loaded.into_iter().map(|loaded| loaded.app).collect())
    } else {
        Err(Diagnostics(buckets.into_iter().flatten().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::files::lexically_absolute;
    use super::*;

    /// The structural pass keeps serde from failing; when it does anyway,
    /// its error is located by the path it names.
    #[test]
    fn serde_errors_are_located_by_path() {
        let text = "apiVersion: ferry/v1\nkind: App\nmetadata: {name: a}\nspec:\n  image: x\n  processes:\n    web: {cpu: '1'}\n";
        let document = Document::parse(text).expect("valid YAML");
        let value = serde_json::json!({"apiVersion": "ferry/v1", "kind": "App",
            "metadata": {"name": "a"}, "spec": {"image": "x", "processes": {"web": {"cpu": "1"}}}});
        let error =
            typed_manifest(Path::new("a.yaml"), value, &document).expect_err("a string cpu");
        assert_eq!(
            error.to_string(),
            "a.yaml:7:16: spec.processes.web.cpu: invalid type: string \"1\", expected u32"
        );
    }

    #[test]
    fn lexical_paths_resolve_parents_by_name() {
        assert_eq!(
            lexically_absolute(Path::new("/a/b/../../../etc/./passwd")),
            Some(PathBuf::from("/etc/passwd"))
        );
    }
}
