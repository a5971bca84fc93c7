//! Which files are read, and how: manifests named or found in directories,
//! at most [`MAX_MANIFEST_BYTES`] each; Procfiles only from inside the
//! manifests' directories or their git repository.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use crate::diagnostic::{quote, Diagnostic, Pos};
use crate::limits::{MAX_MANIFEST_BYTES, MAX_PROCFILE_BYTES};
use crate::procfile::ProcfileRefused;

pub(super) fn collect_inputs(path: &Path, inputs: &mut Vec<Result<PathBuf, Diagnostic>>) {
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

pub(super) fn walk_directory(dir: &Path, inputs: &mut Vec<Result<PathBuf, Diagnostic>>) {
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

pub(super) fn is_manifest_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "yaml" || extension == "yml")
}

/// Reads a manifest file, refusing one larger than [`MAX_MANIFEST_BYTES`]
/// by its size before reading it. The read itself is bounded too, for
/// files whose size the system does not know (`/dev/zero`, a pipe).
pub(super) fn read_manifest(file: &Path) -> Result<String, Diagnostic> {
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

pub(super) fn too_large(file: &Path, bytes: u64) -> Diagnostic {
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

/// The directories the manifests were named by: each directory argument,
/// and the directory of each file argument, canonical. Arguments that do
/// not exist are reported elsewhere.
pub(super) fn manifest_roots<P: AsRef<Path>>(paths: &[P]) -> Vec<PathBuf> {
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
pub(super) fn allowed_roots(roots: &[PathBuf], manifest: &Path) -> Vec<PathBuf> {
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

/// Reads a Procfile for [`crate::load_paths`]: only if it resolves, symbolic links
/// followed, inside one of `allowed`, is a regular file and is at most
/// [`MAX_PROCFILE_BYTES`]. Anything else is refused before the file is
/// opened, so that a manifest cannot make Ferry print lines of
/// `/etc/passwd` or `/proc/self/environ` in its errors.
pub(super) fn read_confined(path: &Path, allowed: &[PathBuf]) -> io::Result<String> {
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
pub(super) fn lexically_absolute(path: &Path) -> Option<PathBuf> {
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
