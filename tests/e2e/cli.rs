//! The CLI's planning and history commands: `diff` and `apply --dry-run`
//! only read, `apply --prune` deletes exactly what left its own source, and
//! `rollback` makes a new release from a release that succeeded.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferry_store::{Fence, ReleaseOutcome, Store};

use crate::converge::edit;
use crate::support::{eventually, repo_root, LocalAws};

pub(crate) fn store(sdk: &aws_config::SdkConfig) -> Store {
    let caller = ferry_aws::Caller::new(
        Arc::new(ferry_aws::Pacing::default()),
        ferry_aws::AwsMetrics::unregistered(),
        Duration::from_secs(30),
    );
    Store::new(aws_sdk_dynamodb::Client::new(sdk), caller, "ferry")
}

/// A lease of the test's own, to make the controller's fenced writes.
pub(crate) async fn fence(store: &Store) -> Fence {
    let lease = store
        .acquire_lease("e2e", None, 15, "2026-11-23T00:00:00Z")
        .await
        .expect("lease")
        .expect("lease acquired");
    Fence {
        holder: "e2e".into(),
        token: lease.token,
    }
}

pub(crate) fn manifest(name: &str, image: &str) -> String {
    format!(
        "apiVersion: ferry/v1
kind: App
metadata:
  name: {name}
spec:
  image: {image}
  processes:
    worker:
      command: [{name}, work]
      scale: 1
"
    )
}

pub(crate) fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write manifest");
}

pub(crate) fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Runs `ferry`, expects it to fail with one line on stderr, and returns
/// that line.
#[track_caller]
pub(crate) fn ferry_fails(local: &LocalAws, args: &[&str]) -> String {
    let out = local.ferry(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "ferry {args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "cause is not one line: {stderr}");
    stderr
}

/// `ferry get -o json`, by app name.
fn apps(local: &LocalAws) -> serde_json::Map<String, serde_json::Value> {
    let listed: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["get", "-o", "json"])).expect("get -o json");
    listed
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|app| Some((app["name"].as_str()?.to_owned(), app.clone())))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_and_dry_run_only_read() {
    let mut local = LocalAws::start().expect("local AWS");
    let store = store(&local.sdk_config().await);
    let dir = local.dir().join("manifests");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for file in ["web.yaml", "Procfile.web"] {
        std::fs::copy(repo_root().join("manifests").join(file), dir.join(file)).expect("copy");
    }
    let dir_arg = utf8(&dir).to_owned();

    local.start_leader(&[]).expect("controller");
    local.ferry_ok(&["apply", "-f", &dir_arg, "--wait", "--timeout", "60s"]);
    // The leader publishes the settings it renders with.
    eventually(Duration::from_secs(30), "the controller's settings", || {
        let store = store.clone();
        async move { store.controller_settings().await.ok().flatten() }
    })
    .await;

    // Converged and unchanged: nothing to show, and --exit-code says so.
    let out = local.ferry(&["diff", "-f", &dir_arg, "--exit-code"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("app/web unchanged (generation 1)"),
        "{stdout}"
    );
    assert!(stdout.contains("app/web: no changes"), "{stdout}");

    let before = local.requests().len();
    edit(&dir.join("web.yaml"), "scale: 2", "scale: 4");
    let diff = local.ferry_ok(&["diff", "-f", &dir_arg]);
    let dry_run = local.ferry_ok(&["apply", "--dry-run", "-f", &dir_arg]);
    let exit = local.ferry(&["diff", "-f", &dir_arg, "--exit-code"]);
    assert_eq!(exit.status.code(), Some(1), "differences exit 1");
    for out in [&diff, &dry_run] {
        assert!(
            out.contains("--- app/web (generation 1)\n"),
            "missing the header: {out}"
        );
        assert!(
            out.contains("\n-      scale: 2\n+      scale: 4\n"),
            "missing the change: {out}"
        );
        assert!(
            out.contains("  update service web_web: desired count 4\n"),
            "missing the planned action: {out}\n{}",
            local.controller_logs()
        );
    }
    assert!(dry_run.starts_with(&diff), "dry run prints what diff does");
    assert!(
        dry_run.contains("app/web configured (dry run)"),
        "{dry_run}"
    );

    // Reads only: every call the CLI made (it sends its own app name, the
    // controller its id) reads, and the app is where it was.
    let requests = local.requests();
    let cli: Vec<_> = requests[before..].iter().filter(|r| r.from_cli()).collect();
    assert!(
        cli.iter().any(|r| r.service == "ecs"),
        "the plan observed ECS: {cli:?}"
    );
    let writes: Vec<_> = cli.iter().filter(|r| r.is_write()).collect();
    assert!(writes.is_empty(), "diff or dry run wrote: {writes:?}");
    let web = store.get_app("web").await.expect("get").expect("web");
    assert_eq!(web.generation, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_deletes_only_what_left_the_same_source() {
    let local = LocalAws::start().expect("local AWS");
    let store = store(&local.sdk_config().await);
    let a = local.dir().join("a");
    let b = local.dir().join("b");
    for dir in [&a, &b] {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    write(&a.join("x.yaml"), &manifest("x", "acme/x:1"));
    write(&a.join("y.yaml"), &manifest("y", "acme/y:1"));
    write(&b.join("z.yaml"), &manifest("z", "acme/z:1"));
    local.ferry_ok(&["apply", "-f", utf8(&a)]);
    local.ferry_ok(&["apply", "-f", utf8(&b)]);

    std::fs::remove_file(a.join("y.yaml")).expect("rm");
    // Nothing to prune when nothing left: --prune alone is enough.
    let out = local.ferry_ok(&["apply", "-f", utf8(&b), "--prune"]);
    assert!(!out.contains("pruned"), "{out}");

    // A dry run lists what would go, and writes nothing.
    let revision = store.revision().await.expect("revision");
    let out = local.ferry_ok(&["apply", "-f", utf8(&a), "--prune", "--dry-run"]);
    assert!(out.contains("app/y pruned (dry run)"), "{out}");
    assert!(
        !out.contains("app/x pruned") && !out.contains("app/z pruned"),
        "{out}"
    );

    // Not on a terminal, pruning needs --yes; without it nothing is
    // written at all.
    let stderr = ferry_fails(&local, &["apply", "-f", utf8(&a), "--prune"]);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(
        stderr.contains("(y)"),
        "names what it would delete: {stderr}"
    );
    assert_eq!(store.revision().await.expect("revision"), revision);
    for name in ["x", "y", "z"] {
        let app = store.get_app(name).await.expect("get").expect("stored");
        assert!(!app.deleting, "{name} deleting");
    }

    let out = local.ferry_ok(&["apply", "-f", utf8(&a), "--prune", "--yes"]);
    assert!(
        out.contains("app/y pruned (marked for deletion, generation 2)"),
        "{out}"
    );
    let listed = apps(&local);
    assert_eq!(listed["y"]["deleting"], true, "{listed:?}");
    assert_eq!(listed["x"]["deleting"], false, "{listed:?}");
    assert_eq!(listed["z"]["deleting"], false, "{listed:?}");
    for (name, generation) in [("x", 1), ("z", 1)] {
        let app = store.get_app(name).await.expect("get").expect("stored");
        assert_eq!(app.generation, generation, "{name} was left alone");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn releases_show_outcomes_and_rollback_picks_the_last_success() {
    let local = LocalAws::start().expect("local AWS");
    let store = store(&local.sdk_config().await);
    let dir = local.dir().join("manifests");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("shop.yaml");
    let texts: Vec<String> = (1..=3)
        .map(|v| manifest("shop", &format!("acme/shop:{v}")))
        .collect();
    for (v, text) in texts.iter().enumerate() {
        write(&file, text);
        local.ferry_ok(&[
            "apply",
            "-f",
            utf8(&file),
            "-m",
            &format!("deploy {}", v + 1),
        ]);
    }

    let fence = fence(&store).await;
    let outcomes = [
        (1, ReleaseOutcome::Succeeded, None),
        (
            2,
            ReleaseOutcome::Failed,
            Some("ECS deployment circuit breaker: tasks failed to start"),
        ),
        (
            3,
            ReleaseOutcome::Failed,
            Some("ECS deployment circuit breaker: tasks failed to start"),
        ),
    ];
    for (version, outcome, reason) in outcomes {
        store
            .set_release_outcome("shop", version, outcome, reason, &fence)
            .await
            .expect("set outcome");
    }
    // Again: idempotent. And a release that does not exist is an error.
    store
        .set_release_outcome("shop", 1, ReleaseOutcome::Succeeded, None, &fence)
        .await
        .expect("set outcome again");
    let missing = store
        .set_release_outcome("shop", 9, ReleaseOutcome::Failed, None, &fence)
        .await;
    assert!(
        matches!(
            missing,
            Err(ferry_store::Error::ReleaseNotFound { version: 9, .. })
        ),
        "{missing:?}"
    );

    let table = local.ferry_ok(&["releases", "shop"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].contains("OUTCOME"), "{table}");
    let row = |version: &str| {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(version))
            .unwrap_or_else(|| panic!("no {version} in {table}"))
            .to_owned()
    };
    assert!(row("v1").contains("succeeded"), "{table}");
    assert!(
        row("v3").contains("failed: ECS deployment circuit"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["releases", "shop", "-o", "json"])).expect("json");
    assert_eq!(json[0]["version"], 3);
    assert_eq!(json[0]["outcome"], "failed");
    assert_eq!(
        json[0]["outcomeReason"],
        "ECS deployment circuit breaker: tasks failed to start"
    );
    assert_eq!(json[2]["outcome"], "succeeded");
    assert_eq!(json[2]["manifest"], texts[0].as_str());

    // Without a version: the newest success, v1, as a new release v4.
    let out = local.ferry_ok(&["rollback", "shop"]);
    assert_eq!(out.trim(), "app/shop rolled back to v1 (new release v4)");
    let shop = store.get_app("shop").await.expect("get").expect("shop");
    assert_eq!(shop.generation, 4);
    assert_eq!(shop.spec.image, "acme/shop:1");
    assert_eq!(shop.manifest.as_deref(), Some(texts[0].as_str()));
    assert_eq!(apps(&local)["shop"]["generation"], 4);
    let releases = store.releases("shop").await.expect("releases");
    assert_eq!(releases[0].version, 4);
    assert_eq!(releases[0].message, "rollback to v1");
    assert_eq!(releases[0].outcome, None);
    assert_eq!(releases[0].spec, releases[3].spec);

    // The file still says v3: diff shows it against v1's text. No
    // controller ever led here, so the AWS side is unknown.
    let diff = local.ferry_ok(&["diff", "-f", utf8(&file)]);
    assert!(
        diff.contains("--- app/shop (generation 4)\n")
            && diff.contains("\n-  image: acme/shop:1\n+  image: acme/shop:3\n"),
        "{diff}"
    );
    assert!(diff.contains("AWS changes: unknown"), "{diff}");

    // A named version, with a message.
    let out = local.ferry_ok(&["rollback", "shop", "v2", "-m", "try 2 again"]);
    assert_eq!(out.trim(), "app/shop rolled back to v2 (new release v5)");
    assert_eq!(
        store.releases("shop").await.expect("releases")[0].message,
        "try 2 again"
    );

    // Errors are one line, and write nothing.
    let revision = store.revision().await.expect("revision");
    let stderr = ferry_fails(&local, &["rollback", "shop", "v42"]);
    assert!(stderr.contains("app shop has no release v42"), "{stderr}");
    let stderr = ferry_fails(&local, &["rollback", "nosuch"]);
    assert!(stderr.contains("app nosuch not found"), "{stderr}");

    // More than 9 versions back needs --yes off a terminal.
    for v in 6..=11 {
        write(&file, &manifest("shop", &format!("acme/shop:{v}")));
        local.ferry_ok(&["apply", "-f", utf8(&file)]);
    }
    let revision_before = store.revision().await.expect("revision");
    assert!(revision_before > revision);
    let stderr = ferry_fails(&local, &["rollback", "shop", "v1"]);
    assert!(
        stderr.contains("goes back 10 versions") && stderr.contains("--yes"),
        "{stderr}"
    );
    assert_eq!(store.revision().await.expect("revision"), revision_before);
    // Nine back is fine.
    let out = local.ferry_ok(&["rollback", "shop", "v2"]);
    assert_eq!(out.trim(), "app/shop rolled back to v2 (new release v12)");
    let out = local.ferry_ok(&["rollback", "shop", "v1", "--yes"]);
    assert_eq!(out.trim(), "app/shop rolled back to v1 (new release v13)");

    // An app being deleted cannot be rolled back.
    local.ferry_ok(&["delete", "shop"]);
    let stderr = ferry_fails(&local, &["rollback", "shop", "v1", "--yes"]);
    assert!(stderr.contains("app shop is being deleted"), "{stderr}");

    // The controller's finalizer removes it (here, the test's own lease).
    let deleting = store.get_app("shop").await.expect("get").expect("shop");
    store
        .remove_app("shop", deleting.generation, &fence)
        .await
        .expect("finalize the deletion");
    assert!(store.get_app("shop").await.expect("get").is_none());

    // The name comes back with its history: numbering continues past the
    // kept releases (v1..v13, the deletion was generation 14).
    let out = local.ferry_ok(&["releases", "shop"]);
    assert!(out.contains("v13") && out.contains("v1 "), "{out}");
    write(&file, &manifest("shop", "acme/shop:again"));
    let out = local.ferry_ok(&["apply", "-f", utf8(&file)]);
    assert_eq!(
        out.trim(),
        "app/shop created (generation 14, release v14)",
        "a re-created app continues its numbering"
    );
    let releases = store.releases("shop").await.expect("releases");
    assert_eq!(releases.len(), 14, "no release of the earlier life is lost");
    // An earlier life's release can be rolled back to.
    let out = local.ferry_ok(&["rollback", "shop", "v3", "--yes"]);
    assert_eq!(out.trim(), "app/shop rolled back to v3 (new release v15)");
    assert_eq!(
        store
            .get_app("shop")
            .await
            .expect("get")
            .expect("shop")
            .spec
            .image,
        "acme/shop:3"
    );

    // Rolling back to what runs already writes nothing.
    let revision = store.revision().await.expect("revision");
    let stderr = ferry_fails(&local, &["rollback", "shop", "v3", "--yes"]);
    assert!(
        stderr.contains("already runs the spec of v3") && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert_eq!(store.revision().await.expect("revision"), revision);

    // A deleted app can be brought back by rollback alone. (The deletion
    // took generation 16 but made no release; the app comes back as v16.)
    local.ferry_ok(&["delete", "shop"]);
    let deleting = store.get_app("shop").await.expect("get").expect("shop");
    store
        .remove_app("shop", deleting.generation, &fence)
        .await
        .expect("finalize the deletion");
    let out = local.ferry_ok(&["rollback", "shop", "v14"]);
    assert_eq!(
        out.trim(),
        "app/shop re-created from its release v14 (new release v16)"
    );
    assert_eq!(
        store
            .get_app("shop")
            .await
            .expect("get")
            .expect("shop")
            .spec
            .image,
        "acme/shop:again"
    );
}

/// `ferry validate -f manifests/ | head -0`: the reader is gone before
/// `ferry` prints. It must end quietly, not panic (exit 101, a backtrace).
#[test]
fn a_closed_stdout_ends_quietly() {
    let mut child = std::process::Command::new(crate::support::binary("ferry"))
        .args(["validate", "-f"])
        .arg(repo_root().join("manifests"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start ferry");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("ferry ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "ferry panicked: {stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

/// Runs `ferry` with only the given environment (no credentials, profile
/// or region leak in from the machine running the tests).
fn ferry_in(env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String) {
    let home = tempfile::tempdir().expect("empty home");
    let out = std::process::Command::new(crate::support::binary("ferry"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        // No instance metadata to fall back on.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .expect("run ferry");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A missing region or credentials is one line with a hint, not the
/// SDK's 1.5 KB dump; `-v` adds every cause and the SDK's account.
#[test]
fn failures_to_reach_aws_are_one_line_with_a_hint() {
    let (code, stderr) = ferry_in(&[], &["get"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr.trim(),
        "error: no AWS region configured: set AWS_REGION or a profile's region (for the \
         local AWS: `source .ferry/local.env`)"
    );

    let region = [("AWS_REGION", "us-east-1")];
    let (code, stderr) = ferry_in(&region, &["get"]);
    assert_eq!(code, Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no AWS credentials found") && stderr.contains("`source .ferry/local.env`"),
        "{stderr}"
    );
    assert!(stderr.len() < 300, "{stderr}");

    let (code, stderr) = ferry_in(&region, &["get", "-v"]);
    assert_eq!(code, Some(1));
    assert!(stderr.lines().count() > 1, "-v shows more: {stderr}");
    assert!(stderr.contains("AWS SDK: "), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l.contains("no AWS credentials found")),
        "the one-line cause still ends it: {stderr}"
    );
}

/// Without a live leader nothing acts on an apply: `apply`, `status` and
/// `get` say so, `--wait` fails at once with that cause, and a generation
/// the controller has not observed is never shown Ready.
#[tokio::test(flavor = "multi_thread")]
async fn no_live_leader_is_said_and_wait_fails_at_once() {
    let mut local = LocalAws::start().expect("local AWS");
    let dir = local.dir().join("manifests");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("shop.yaml");
    let path = utf8(&file).to_owned();

    write(&file, &manifest("shop", "acme/shop:1"));
    let out = local.ferry(&["apply", "-f", &path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: no controller is leading: none has ever taken the lease"),
        "{stderr}"
    );
    write(&file, &manifest("shop", "acme/shop:2"));
    let stderr = ferry_fails(
        &local,
        &["apply", "-f", &path, "--wait", "--timeout", "10m"],
    );
    assert!(
        stderr.contains("the apply is stored, but waiting for it failed: no controller is leading")
            && !stderr.contains("timed out"),
        "{stderr}"
    );

    // A controller converges it, then shuts down and hands the lease back.
    let controller = local.start_leader(&[]).expect("controller");
    local.ferry_ok(&["apply", "-f", &path, "--wait", "--timeout", "60s"]);
    let ready: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["status", "shop", "-o", "json"])).expect("json");
    assert_eq!(ready["observedGeneration"], 2);
    assert!(local.terminate_controller(controller).success());

    write(&file, &manifest("shop", "acme/shop:3"));
    let out = local.ferry(&["apply", "-f", &path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("handed the lease back"), "{stderr}");
    let out = local.ferry(&["status", "shop", "-o", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status["generation"], 3);
    assert_eq!(status["observedGeneration"], 2);
    let ready = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Ready")
        .expect("Ready")
        .clone();
    assert_eq!(ready["status"], "False", "{status}");
    assert_eq!(ready["reason"], "GenerationNotObserved");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no controller is leading"),
        "status says so too"
    );
    let stderr = ferry_fails(
        &local,
        &["apply", "-f", &path, "--wait", "--timeout", "10m"],
    );
    assert!(
        stderr.contains("handed the lease back") && !stderr.contains("timed out"),
        "{stderr}"
    );
}

/// A manifest whose stored items would exceed DynamoDB's 400 KB item limit
/// is refused with its file named, before anything is written.
#[tokio::test(flavor = "multi_thread")]
async fn an_app_too_large_to_store_is_refused_before_writing() {
    let local = LocalAws::start().expect("local AWS");
    let store = store(&local.sdk_config().await);
    let file = local.dir().join("big.yaml");
    let padding =
        "# padding padding padding padding padding padding padding padding\n".repeat(7000);
    write(
        &file,
        &format!("{}{padding}", manifest("big", "acme/big:1")),
    );
    local.ferry_ok(&["init"]);
    let revision = store.revision().await.expect("revision");
    let stderr = ferry_fails(&local, &["apply", "-f", utf8(&file)]);
    assert!(
        stderr.contains("big.yaml:1:1: cannot apply big: its spec item would be")
            && stderr.contains("over DynamoDB's item limit of 400 KiB"),
        "{stderr}"
    );
    assert!(stderr.len() < 400, "no raw SDK error: {stderr}");
    assert!(store.get_app("big").await.expect("get").is_none());
    assert!(store.releases("big").await.expect("releases").is_empty());
    assert_eq!(store.revision().await.expect("revision"), revision);
}
