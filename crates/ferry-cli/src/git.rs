//! The git state of the manifests being applied, recorded on releases.

use std::path::Path;
use std::process::Command;

use ferry_store::GitInfo;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The commit checked out where the manifests live, and whether any of the
/// given files differs from it. `None` outside a git repository or without
/// git.
pub fn info(files: &[&Path]) -> Option<GitInfo> {
    let first = files.first()?;
    let dir = first
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let commit = git(dir, &["rev-parse", "HEAD"])?;
    let dirty = files.iter().any(|file| {
        let dir = file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Untracked counts as dirty: the release could not be rebuilt from the commit.
        git(dir, &["status", "--porcelain", "--", &name]).is_none_or(|s| !s.is_empty())
    });
    Some(GitInfo { commit, dirty })
}
