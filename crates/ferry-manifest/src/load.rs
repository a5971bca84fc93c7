//! Loading manifests: one text, or files and directories all-or-nothing.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics, FieldPath, Pos, Report, Segment};
use crate::schema;
use crate::types::{App, Manifest};
use crate::validate::{self, Anchors};
use crate::yaml::{self, Document};

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
}

/// Parses and validates one manifest text.
///
/// `file` names the manifest in diagnostics and is the base of a relative
/// `spec.procfile`, which is read with `read_procfile` (pass
/// `&|p| std::fs::read_to_string(p)` to read from disk). The text must be
/// one YAML document holding one app.
///
/// Checks run in stages, and a stage runs only if the one before found
/// nothing: YAML syntax, then the manifest's structure (every unknown field,
/// missing field and wrong type), then the values (names, image, sizes,
/// secrets, Procfile, domains, health checks). Within a stage every problem
/// is reported, in file order. Never panics, whatever the text.
///
/// # Errors
///
/// Every problem of the failing stage, in the manifest and its Procfile.
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
    // A UTF-8 byte order mark is not content; serde_yaml's document
    // iteration also trips over it.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let document =
        Document::parse(body).map_err(|e| vec![Diagnostic::new(file, e.pos, "", e.message)])?;

    let mut report = Report::new(file);
    schema::check_structure(document.root(), &mut report);
    if !report.is_empty() {
        return Err(report.into_sorted());
    }

    let manifest = typed_parse(file, body, &document).map_err(|d| vec![d])?;

    match validate::resolve(&manifest, &document, file, read_procfile, &mut report) {
        Some((app, anchors)) => Ok((
            LoadedApp {
                file: file.to_owned(),
                manifest,
                app,
                text: text.to_owned(),
            },
            anchors,
        )),
        None => Err(report.into_sorted()),
    }
}

/// Deserializes the `Manifest`. After a clean structural pass this should
/// not fail; if the two disagree, serde's error is reported with the path
/// it names.
fn typed_parse(file: &Path, text: &str, document: &Document) -> Result<Manifest, Diagnostic> {
    let deserializer = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let mut path = FieldPath::root();
        for segment in error.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => path.push(Segment::Index(*index)),
                serde_path_to_error::Segment::Map { key } => path.push(Segment::Key(key.clone())),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        let inner = error.into_inner();
        // The tree knows where a field is better than serde, which often
        // points at the enclosing mapping.
        let pos = if path.segments().is_empty() {
            yaml::serde_error_pos(&inner)
        } else {
            document.locate(&path)
        };
        // serde_yaml puts the path in front of its message; it is reported
        // separately.
        let rendered_path = path.to_string();
        let message = yaml::serde_error_message(&inner);
        let message = message
            .strip_prefix(&format!("{rendered_path}: "))
            .map_or_else(|| message.clone(), str::to_owned);
        Diagnostic::new(file, pos, rendered_path, message)
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
        buckets.push(match read_manifest(&file) {
            Err(problem) => vec![problem],
            Ok(text) => match parse_anchored(&file, &text, &|p| fs::read_to_string(p)) {
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

fn collect_inputs(path: &Path, inputs: &mut Vec<Result<PathBuf, Diagnostic>>) {
    let problem = |message: String| Err(Diagnostic::new(path, Pos::START, "", message));
    match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            inputs.push(problem("no such file or directory".to_owned()));
        }
        Err(e) => inputs.push(problem(format!("cannot access: {e}"))),
        Ok(metadata) if metadata.is_dir() => {
            let before = inputs.len();
            walk_directory(path, inputs);
            if !inputs[before..].iter().any(Result::is_ok) {
                inputs.push(problem(
                    "the directory holds no manifests: expected `*.yaml` or `*.yml` files \
                     (entries starting with '.' are skipped)"
                        .to_owned(),
                ));
            }
        }
        Ok(_) => inputs.push(Ok(path.to_owned())),
    }
}

fn walk_directory(dir: &Path, inputs: &mut Vec<Result<PathBuf, Diagnostic>>) {
    let entries = fs::read_dir(dir).and_then(|entries| entries.collect::<io::Result<Vec<_>>>());
    let mut entries = match entries {
        Ok(entries) => entries,
        Err(e) => {
            inputs.push(Err(Diagnostic::new(
                dir,
                Pos::START,
                "",
                format!("cannot read directory: {e}"),
            )));
            return;
        }
    };
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => walk_directory(&path, inputs),
            // `Path::is_file` follows a symbolic link.
            Ok(_) if is_manifest_name(&path) && path.is_file() => inputs.push(Ok(path)),
            Ok(_) => {}
            Err(e) => inputs.push(Err(Diagnostic::new(
                &path,
                Pos::START,
                "",
                format!("cannot access: {e}"),
            ))),
        }
    }
}

fn is_manifest_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "yaml" || extension == "yml")
}

fn read_manifest(file: &Path) -> Result<String, Diagnostic> {
    let bytes = fs::read(file)
        .map_err(|e| Diagnostic::new(file, Pos::START, "", format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // The valid prefix is UTF-8 by definition.
        let prefix = String::from_utf8_lossy(valid);
        let line = prefix.matches('\n').count() + 1;
        let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Diagnostic::new(
            file,
            Pos::new(line, column),
            "",
            "the file is not valid UTF-8; manifests must be UTF-8 text",
        )
    })
}

/// A file that loaded, with where its diagnostics go and where its parts
/// are.
struct Loaded {
    /// Index of the file's diagnostics in `load_paths`'s buckets.
    bucket: usize,
    app: LoadedApp,
    anchors: Anchors,
}

impl Loaded {
    fn name(&self) -> &str {
        &self.app.app.name
    }

    fn at(&self, pos: Pos) -> String {
        format!("{}:{pos}", self.app.file.display())
    }
}

/// App names must be unique across the files, and so must domains across
/// apps.
fn check_across_files(loaded: &[Loaded], buckets: &mut [Vec<Diagnostic>]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The structural pass keeps serde from failing; when it does anyway,
    /// its error is located by the path it names.
    #[test]
    fn serde_errors_are_located_by_path() {
        let text = "apiVersion: ferry/v1\nkind: App\nmetadata: {name: a}\nspec:\n  image: x\n  processes:\n    web: {cpu: '1'}\n";
        let document = Document::parse(text).expect("valid YAML");
        let error = typed_parse(Path::new("a.yaml"), text, &document).expect_err("a string cpu");
        assert_eq!(
            error.to_string(),
            "a.yaml:7:16: spec.processes.web.cpu: invalid type: string \"1\", expected u32"
        );
    }
}
