//! Loading manifests: one text, or files and directories all-or-nothing.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use crate::diagnostic::{
    quote, Diagnostic, Diagnostics, FieldPath, Pos, Report, Segment, Shortened,
};
use crate::limits::{MAX_MANIFEST_BYTES, MAX_PROCFILE_BYTES};
use crate::procfile::ProcfileRefused;
use crate::structure;
use crate::types::{App, Manifest};
use crate::validate::{self, Anchors};
use crate::yaml::{self, Document};

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
/// order, at most [`MAX_DIAGNOSTICS_PER_FILE`] of them plus a line saying
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

fn too_large(file: &Path, bytes: u64) -> Diagnostic {
    Diagnostic::new(
        file,
        Pos::START,
        "",
        format!(
            "the file is {bytes} bytes, over the limit of {MAX_MANIFEST_BYTES} bytes (1 MiB) for \
             a manifest; a manifest describes one app in a few hundred lines"
        ),
    )
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

/// Reads a manifest file, refusing one larger than [`MAX_MANIFEST_BYTES`]
/// by its size before reading it. The read itself is bounded too, for
/// files whose size the system does not know (`/dev/zero`, a pipe).
fn read_manifest(file: &Path) -> Result<String, Diagnostic> {
    let cannot_read =
        |e: io::Error| Diagnostic::new(file, Pos::START, "", format!("cannot read: {e}"));
    let handle = fs::File::open(file).map_err(cannot_read)?;
    let size = handle.metadata().map_err(cannot_read)?.len();
    if size > MAX_MANIFEST_BYTES as u64 {
        return Err(too_large(file, size));
    }
    let mut bytes = Vec::new();
    handle
        .take(MAX_MANIFEST_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(too_large(file, bytes.len() as u64));
    }
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

/// The directories the manifests were named by: each directory argument,
/// and the directory of each file argument, canonical. Arguments that do
/// not exist are reported elsewhere.
fn manifest_roots<P: AsRef<Path>>(paths: &[P]) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for path in paths {
        let Ok(canonical) = fs::canonicalize(path.as_ref()) else {
            continue;
        };
        let root = if canonical.is_dir() {
            canonical
        } else {
            match canonical.parent() {
                Some(parent) => parent.to_owned(),
                None => continue,
            }
        };
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    roots
}

/// Where a Procfile of `manifest` may be: inside one of `roots`, or inside
/// the git repository that holds the manifest (the nearest directory above
/// it with a `.git`, file or directory).
fn allowed_roots(roots: &[PathBuf], manifest: &Path) -> Vec<PathBuf> {
    let mut allowed = roots.to_vec();
    let directory = fs::canonicalize(manifest)
        .ok()
        .and_then(|canonical| canonical.parent().map(Path::to_owned));
    if let Some(directory) = directory {
        let repository = directory
            .ancestors()
            .find(|dir| fs::symlink_metadata(dir.join(".git")).is_ok());
        if let Some(repository) = repository {
            if !allowed.iter().any(|root| root == repository) {
                allowed.push(repository.to_owned());
            }
        }
    }
    allowed
}

/// Reads a Procfile for [`load_paths`]: only if it resolves, symbolic links
/// followed, inside one of `allowed`, is a regular file and is at most
/// [`MAX_PROCFILE_BYTES`]. Anything else is refused before the file is
/// opened, so that a manifest cannot make Ferry print lines of
/// `/etc/passwd` or `/proc/self/environ` in its errors.
fn read_confined(path: &Path, allowed: &[PathBuf]) -> io::Result<String> {
    let refuse =
        |message: String| io::Error::new(io::ErrorKind::PermissionDenied, ProcfileRefused(message));
    let inside = |resolved: &Path| allowed.iter().any(|root| resolved.starts_with(root));
    let outside = |resolved: &Path| {
        let roots: Vec<String> = allowed
            .iter()
            .map(|root| quote(&root.display().to_string()))
            .collect();
        refuse(format!(
            "the path resolves to {}, outside the directories of the manifests given ({}) and \
             their git repository; a Procfile must be inside them, so it was not read",
            quote(&resolved.display().to_string()),
            if roots.is_empty() {
                "none".to_owned()
            } else {
                roots.join(", ")
            },
        ))
    };
    let resolved = match fs::canonicalize(path) {
        Ok(resolved) => resolved,
        Err(e) => {
            // Whether a file outside exists is not the manifest's business
            // either: judge the path as written.
            let lexical = lexically_absolute(path);
            return Err(match lexical {
                Some(lexical) if !inside(&lexical) => outside(&lexical),
                _ => e,
            });
        }
    };
    if !inside(&resolved) {
        return Err(outside(&resolved));
    }
    // `.git/` holds git's own data (config with remote credentials, hooks,
    // packed objects): never a Procfile, and not Ferry's to read, even
    // when it sits inside an allowed root.
    let in_git_dir = allowed
        .iter()
        .filter_map(|root| resolved.strip_prefix(root).ok())
        .any(|rest| rest.components().any(|c| c.as_os_str() == ".git"));
    if in_git_dir {
        return Err(refuse(format!(
            "the path resolves to {}, inside `.git/`, git's own data; a Procfile must be a file \
             of the repository's work tree, so it was not read",
            quote(&resolved.display().to_string())
        )));
    }
    let metadata = fs::metadata(&resolved)?;
    if !metadata.is_file() {
        return Err(refuse("it is not a regular file".to_owned()));
    }
    if metadata.len() > MAX_PROCFILE_BYTES as u64 {
        return Err(refuse(format!(
            "it is {} bytes, over the limit of {MAX_PROCFILE_BYTES} bytes for a Procfile; a \
             Procfile is a few `name: command` lines",
            metadata.len()
        )));
    }
    let mut text = String::new();
    fs::File::open(&resolved)?
        .take(MAX_PROCFILE_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData => refuse("it is not UTF-8 text".to_owned()),
            _ => e,
        })?;
    Ok(text)
}

/// `path` made absolute and with `.` and `..` resolved by name only.
fn lexically_absolute(path: &Path) -> Option<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut normal = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    Some(normal)
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
