//! A Procfile is read only from inside the manifests' directories or their
//! git repository, and only if it is small: anything else is refused at
//! `spec.procfile` without being opened, and no error prints its lines.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

fn manifest(procfile: &str) -> String {
    format!(
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: acme\nspec:\n  image: acme\n  procfile: {procfile}\n"
    )
}

fn write(path: &Path, text: &[u8]) -> PathBuf {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, text).expect("write");
    path.to_owned()
}

#[track_caller]
fn refused(path: &Path, contains: &str) {
    let errors = load_paths(&[path]).expect_err("refused");
    assert_eq!(errors.len(), 1, "{errors}");
    let error = &errors.0[0];
    assert_eq!(
        (error.line, error.path.as_str()),
        (7, "spec.procfile"),
        "{error}"
    );
    assert!(
        error.message.contains(contains),
        "{error}\nshould contain {contains:?}"
    );
    let rendered = errors.to_string();
    assert!(!rendered.contains("root:"), "{rendered}");
}

#[test]
fn paths_that_leave_the_manifests_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        &dir.path().join("apps/a.yaml"),
        manifest("../../../../../../../../etc/passwd").as_bytes(),
    );
    refused(&file, "outside the directories of the manifests");
    let file = write(&file, manifest("/proc/self/environ").as_bytes());
    refused(&file, "outside");
    // A symbolic link that points outside is judged by where it points.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("apps/Procfile"))
            .expect("symlink");
        let file = write(&file, manifest("Procfile").as_bytes());
        refused(&file, "resolves to `/etc/passwd`");
    }
    // A sibling directory is outside too when it is not named.
    write(&dir.path().join("other/Procfile"), b"web: serve\n");
    let file = write(
        &dir.path().join("apps/b.yaml"),
        manifest("../other/Procfile").as_bytes(),
    );
    refused(&file, "outside");
    // Missing files outside are refused the same way, without a probe.
    let file = write(
        &dir.path().join("apps/c.yaml"),
        manifest("../nothing/Procfile").as_bytes(),
    );
    refused(&file, "outside");
}

#[test]
fn procfiles_in_the_named_directories_or_the_git_repository_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    fs::create_dir_all(repo.join(".git")).expect("mkdir .git");
    write(&repo.join("Procfile"), b"web: serve\n");
    let file = write(
        &repo.join("deploy/apps/a.yaml"),
        manifest("../../Procfile").as_bytes(),
    );
    let apps = load_paths(&[&file]).expect("inside the repository");
    assert_eq!(apps[0].app.processes["web"].command, argv(&["serve"]));
    // Named by directory: the same.
    load_paths(&[repo.join("deploy")]).expect("inside the repository");
    // Without a repository, the directory named is the limit.
    let plain = dir.path().join("plain");
    write(&plain.join("Procfile"), b"web: serve\n");
    let file = write(
        &plain.join("apps/a.yaml"),
        manifest("../Procfile").as_bytes(),
    );
    load_paths(&[&plain]).expect("inside the named directory");
    refused(&file, "outside");
}

#[test]
fn nothing_under_dot_git_is_read_even_inside_the_repository() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    write(
        &repo.join(".git/config"),
        b"[remote \"origin\"]\n\turl = https://root:token@example.com\n",
    );
    let file = write(
        &repo.join("apps/a.yaml"),
        manifest("../.git/config").as_bytes(),
    );
    refused(&file, "inside `.git/`");
    // A `.git` file (a worktree's or a submodule's) is git's too.
    let worktree = dir.path().join("worktree");
    write(&worktree.join(".git"), b"gitdir: /elsewhere\n");
    let file = write(&worktree.join("a.yaml"), manifest(".git").as_bytes());
    refused(&file, "inside `.git/`");
    // Named as a root, `.git/` is still refused.
    let file = write(&repo.join(".git/a.yaml"), manifest("config").as_bytes());
    refused(&file, "inside `.git/`");
}

#[test]
fn large_binary_and_special_procfiles_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let apps = dir.path().join("apps");
    let big = format!("web: serve\n# {}\n", "x".repeat(MAX_PROCFILE_BYTES));
    write(&apps.join("Procfile"), big.as_bytes());
    let file = write(&apps.join("a.yaml"), manifest("Procfile").as_bytes());
    refused(
        &file,
        &format!("over the limit of {MAX_PROCFILE_BYTES} bytes"),
    );
    write(&apps.join("Procfile"), b"web: serve \xff\xfe\n");
    refused(&file, "not UTF-8");
    fs::create_dir_all(apps.join("dir")).expect("mkdir");
    let file = write(&file, manifest("dir").as_bytes());
    refused(&file, "not a regular file");
}
