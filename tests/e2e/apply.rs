//! `ferry apply` as a transaction: invalid input writes nothing, and racing
//! applies never lose an update.

use std::sync::Arc;
use std::time::Duration;

use ferry_store::{AppChange, ApplyContext, Store};

use crate::support::LocalAws;

const VALID: &str = "apiVersion: ferry/v1
kind: App
metadata:
  name: good
spec:
  image: acme/good:1
  processes:
    web:
      scale: 1
";

const INVALID: &str = "apiVersion: ferry/v1
kind: App
metadata:
  name: Bad_Name
spec:
  image: acme/bad:1
  secrets:
    DB: plain-text-password
  processes:
    web:
      scale: -1
      cpu: 300
      port: 70000
      replicas: 2
";

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_file_fails_the_whole_directory_and_writes_nothing() {
    let local = LocalAws::start().expect("local AWS");
    let dir = local.dir().join("manifests");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("good.yaml"), VALID).expect("write");
    std::fs::write(dir.join("bad.yaml"), INVALID).expect("write");
    let writes_before = local.requests().iter().filter(|r| r.is_write()).count();

    let out = local.ferry(&["apply", "-f", dir.to_str().expect("utf-8")]);
    assert!(
        !out.status.success(),
        "apply of an invalid directory succeeded"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let bad = dir.join("bad.yaml");
    let bad = bad.display();
    // Every error, each located by file:line:column and field path.
    // The structural problem (an unknown field) is reported on its own line.
    assert!(
        stderr.contains(&format!("{bad}:14:7: spec.processes.web.replicas")),
        "{stderr}"
    );

    // With the unknown field fixed, every semantic error is reported at once.
    std::fs::write(
        dir.join("bad.yaml"),
        INVALID.replace("      replicas: 2\n", ""),
    )
    .expect("write");
    let out = local.ferry(&["apply", "-f", dir.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for located in [
        format!("{bad}:4:9: metadata.name"),
        format!("{bad}:8:9: spec.secrets.DB"),
        format!("{bad}:11:14: spec.processes.web.scale"),
        format!("{bad}:12:12: spec.processes.web.cpu"),
        format!("{bad}:13:13: spec.processes.web.port"),
    ] {
        assert!(
            stderr.contains(&located),
            "missing {located:?} in:\n{stderr}"
        );
    }
    assert!(stderr.contains("nothing was applied"), "{stderr}");

    // Nothing reached DynamoDB: no write call at all, and no app.
    let writes_after = local.requests().iter().filter(|r| r.is_write()).count();
    assert_eq!(
        writes_before, writes_after,
        "apply wrote despite invalid input"
    );
    let listed = local.ferry(&["get", "-o", "json"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "[]");
}

/// An app names only its own secrets and the installation's shared ones
/// (issue 18: the apps share one execution role, so IAM cannot keep them
/// apart): another app's secret is refused at its key, and nothing is
/// written; the controller's published prefixes are the rule.
#[tokio::test(flavor = "multi_thread")]
async fn an_app_may_name_only_its_own_and_the_shared_secrets() {
    let mut local = LocalAws::start().expect("local AWS");
    let file = local.dir().join("good.yaml");
    let path = file.to_str().expect("utf-8").to_owned();
    let with = |secret: &str| {
        VALID.replace(
            "  processes:",
            &format!("  secrets:\n    OWN: arn:aws:ssm:us-east-1:123456789012:parameter/ferry/good/db\n    DB: {secret}\n  processes:"),
        )
    };
    std::fs::write(
        &file,
        with("arn:aws:ssm:us-east-1:123456789012:parameter/ferry/billing/db"),
    )
    .expect("write");
    let writes_before = local.requests().iter().filter(|r| r.is_write()).count();
    let out = local.ferry(&["apply", "-f", &path]);
    assert!(!out.status.success(), "another app's secret was applied");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{path}:9:9: spec.secrets.DB")),
        "{stderr}"
    );
    assert!(
        stderr.contains("`ferry/good/`") && stderr.contains("nothing was applied"),
        "{stderr}"
    );
    assert!(!stderr.contains("spec.secrets.OWN"), "{stderr}");
    assert_eq!(
        writes_before,
        local.requests().iter().filter(|r| r.is_write()).count(),
        "apply wrote despite a secret out of scope"
    );

    // The shared ones, and the app's own, are fine.
    std::fs::write(
        &file,
        with("arn:aws:secretsmanager:us-east-1:123456789012:secret:ferry/shared/sentry-AbCdEf"),
    )
    .expect("write");
    local.ferry_ok(&["apply", "-f", &path]);

    // A controller configured with other prefixes publishes them: the CLI
    // judges by those.
    local
        .start_leader(&[
            "--secrets-prefix",
            "teams/",
            "--shared-secrets-prefix",
            "common/",
        ])
        .expect("controller");
    std::fs::write(
        &file,
        with("arn:aws:ssm:us-east-1:123456789012:parameter/teams/common/x")
            .replace("ferry/good/db", "teams/good/db"),
    )
    .expect("write");
    let published = std::time::Instant::now();
    loop {
        let out = local.ferry(&["apply", "-f", &path]);
        if out.status.success() {
            break;
        }
        assert!(
            published.elapsed() < Duration::from_secs(30),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    std::fs::write(
        &file,
        with("arn:aws:ssm:us-east-1:123456789012:parameter/ferry/shared/x")
            .replace("ferry/good/db", "teams/good/db"),
    )
    .expect("write");
    let out = local.ferry(&["apply", "-f", &path]);
    assert!(
        !out.status.success(),
        "the default shared prefix still passed"
    );
}

fn app(image: &str) -> ferry_manifest::App {
    let loaded = ferry_manifest::parse_manifest(
        std::path::Path::new("race.yaml"),
        &VALID
            .replace("name: good", "name: race")
            .replace("acme/good:1", image),
        &|_| Err(std::io::Error::other("no procfile")),
    )
    .expect("valid");
    loaded.app
}

async fn store_of(local: &LocalAws) -> Store {
    let caller = ferry_aws::Caller::new(
        Arc::new(ferry_aws::Pacing::default()),
        ferry_aws::AwsMetrics::unregistered(),
        Duration::from_secs(30),
    );
    Store::new(
        aws_sdk_dynamodb::Client::new(&local.sdk_config().await),
        caller,
        "ferry",
    )
}

fn race_context() -> ApplyContext {
    ApplyContext {
        message: "race".into(),
        user: "e2e".into(),
        git: None,
        now: "2026-11-23T00:00:00Z".into(),
    }
}

/// An apply of the `race` app with `image`, read at `expected`.
fn change(image: &str, expected: Option<u64>) -> AppChange {
    AppChange {
        spec: app(image),
        manifest: String::new(),
        source: None,
        expected_generation: expected,
        previous_domains: Vec::new(),
        created_at: None,
        restart: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_applies_conflict_instead_of_losing_an_update() {
    let local = LocalAws::start().expect("local AWS");
    let store = store_of(&local).await;
    let context = race_context();
    store
        .apply(&[change("acme/race:1", None)], &context)
        .await
        .expect("first apply");

    // Two appliers read generation 1 and write at the same time: exactly
    // one wins; the other gets a conflict and writes nothing.
    let (change_a, change_b) = (
        [change("acme/race:a", Some(1))],
        [change("acme/race:b", Some(1))],
    );
    let (a, b) = tokio::join!(
        store.apply(&change_a, &context),
        store.apply(&change_b, &context)
    );
    let outcomes = [&a, &b];
    assert_eq!(
        outcomes.iter().filter(|r| r.is_ok()).count(),
        1,
        "{a:?} {b:?}"
    );
    let loser = outcomes
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("a loser");
    assert!(
        matches!(loser, ferry_store::Error::Conflict { .. }),
        "{loser}"
    );
    let winner_image = if a.is_ok() {
        "acme/race:a"
    } else {
        "acme/race:b"
    };
    let stored = store
        .get_app("race")
        .await
        .expect("get")
        .expect("race exists");
    assert_eq!(stored.generation, 2);
    assert_eq!(stored.spec.image, winner_image);

    // A two-app apply in which one app conflicts writes nothing, not even
    // the other app.
    let both = store
        .apply(
            &[change("acme/race:d", Some(1)), {
                let mut other = change("acme/other:1", None);
                other.spec.name = "other".into();
                other
            }],
            &context,
        )
        .await;
    assert!(
        matches!(both, Err(ferry_store::Error::Conflict { .. })),
        "{both:?}"
    );
    assert!(store.get_app("other").await.expect("get").is_none());
    assert!(store.releases("other").await.expect("releases").is_empty());

    // A creation racing an existing app conflicts too.
    let again = store.apply(&[change("acme/race:c", None)], &context).await;
    assert!(
        matches!(again, Err(ferry_store::Error::Conflict { .. })),
        "{again:?}"
    );

    // Many CLI applies at once: every one either wins or reports a
    // conflict, and there is exactly one release per win.
    let dir = local.dir().join("race");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let children: Vec<_> = (0..6)
        .map(|i| {
            let file = dir.join(format!("race-{i}.yaml"));
            std::fs::write(
                &file,
                VALID
                    .replace("name: good", "name: race")
                    .replace("acme/good:1", &format!("acme/race:cli-{i}")),
            )
            .expect("write");
            local
                .ferry_command(&["apply", "-f", file.to_str().expect("utf-8")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn ferry")
        })
        .collect();
    let mut wins = 0;
    for child in children {
        let out = child.wait_with_output().expect("wait");
        if out.status.success() {
            wins += 1;
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("conflict"),
                "failed without a conflict: {stderr}"
            );
            assert_eq!(stderr.lines().count(), 1, "cause is not one line: {stderr}");
        }
    }
    assert!(wins >= 1);
    let releases = store.releases("race").await.expect("releases");
    assert_eq!(releases.len(), 2 + wins, "a release was lost or invented");
    let stored = store
        .get_app("race")
        .await
        .expect("get")
        .expect("race exists");
    assert_eq!(stored.generation, releases[0].version);
    assert_eq!(
        stored.spec, releases[0].spec,
        "the spec is the newest release's"
    );
}

/// An app whose `web` process serves `domains`.
fn domain_manifest(name: &str, domains: &[&str]) -> String {
    format!(
        "apiVersion: ferry/v1
kind: App
metadata:
  name: {name}
spec:
  image: acme/{name}:1
  domains: [{}]
  processes:
    web:
      port: 8080
",
        domains.join(", ")
    )
}

fn app_names(local: &LocalAws) -> Vec<String> {
    let listed = local.ferry_ok(&["get", "-o", "json"]);
    let apps: serde_json::Value = serde_json::from_str(&listed).expect("get -o json is JSON");
    apps.as_array()
        .expect("a list of apps")
        .iter()
        .filter_map(|app| app["name"].as_str().map(str::to_owned))
        .collect()
}

/// Runs `ferry`, expects it to fail with one line on stderr, and returns
/// that line.
#[track_caller]
fn ferry_fails(local: &LocalAws, args: &[&str]) -> String {
    let out = local.ferry(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "ferry {args:?} succeeded: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "cause is not one line: {stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread")]
async fn a_domain_belongs_to_one_app() {
    let local = LocalAws::start().expect("local AWS");
    let sdk = local.sdk_config().await;
    let caller = ferry_aws::Caller::new(
        Arc::new(ferry_aws::Pacing::default()),
        ferry_aws::AwsMetrics::unregistered(),
        Duration::from_secs(30),
    );
    let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), caller, "ferry");
    let owners = |domains: &'static [&'static str]| {
        let store = store.clone();
        async move {
            store
                .domain_owners(domains)
                .await
                .expect("read claims")
                .into_iter()
                .collect::<Vec<_>>()
        }
    };
    let pair = |domain: &str, app: &str| (domain.to_owned(), app.to_owned());
    const BOTH: &[&str] = &["shared.example.com", "one.example.com"];

    let dir = local.dir().join("domains");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let one = dir.join("one.yaml");
    let two = dir.join("two.yaml");
    let (one, two) = (one.to_str().expect("utf-8"), two.to_str().expect("utf-8"));
    let write = |path: &str, text: String| std::fs::write(path, text).expect("write");

    write(
        one,
        domain_manifest("one", &["one.example.com", "shared.example.com"]),
    );
    local.ferry_ok(&["apply", "-f", one]);
    assert_eq!(
        owners(BOTH).await,
        vec![
            pair("one.example.com", "one"),
            pair("shared.example.com", "one")
        ]
    );

    // A separate apply of another app that claims the same domain fails,
    // in a dry run too, naming the domain and its owner.
    write(two, domain_manifest("two", &["shared.example.com"]));
    let revision = store.revision().await.expect("revision");
    let dry = ferry_fails(&local, &["apply", "-f", two, "--dry-run"]);
    let expected = "domain shared.example.com is already claimed by app one; remove it from \
                    that app first, then apply two again";
    assert!(dry.contains(expected), "{dry}");
    let failed_before = failed_transactions(&local);
    let stderr = ferry_fails(&local, &["apply", "-f", two]);
    assert!(stderr.contains(expected), "{stderr}");
    // The claim's condition failed inside the transaction: the transaction
    // was sent and refused, and nothing was written.
    assert_eq!(failed_transactions(&local), failed_before + 1);
    assert_eq!(store.revision().await.expect("revision"), revision);
    assert_eq!(app_names(&local), vec!["one"]);
    assert!(store.releases("two").await.expect("releases").is_empty());
    assert_eq!(
        owners(&["shared.example.com"]).await,
        vec![pair("shared.example.com", "one")]
    );

    // Once `one` gives the domain up, `two` can have it.
    write(one, domain_manifest("one", &["one.example.com"]));
    local.ferry_ok(&["apply", "-f", one]);
    assert!(owners(&["shared.example.com"]).await.is_empty());
    local.ferry_ok(&["apply", "-f", two, "--dry-run"]);
    local.ferry_ok(&["apply", "-f", two]);
    assert_eq!(app_names(&local), vec!["one", "two"]);
    assert_eq!(
        owners(BOTH).await,
        vec![
            pair("one.example.com", "one"),
            pair("shared.example.com", "two")
        ]
    );

    // Moving a domain between apps in one apply is one transaction.
    write(
        one,
        domain_manifest("one", &["one.example.com", "shared.example.com"]),
    );
    write(two, domain_manifest("two", &[]));
    let dir = dir.to_str().expect("utf-8");
    local.ferry_ok(&["apply", "-f", dir, "--dry-run"]);
    local.ferry_ok(&["apply", "-f", dir]);
    assert_eq!(
        owners(BOTH).await,
        vec![
            pair("one.example.com", "one"),
            pair("shared.example.com", "one")
        ]
    );

    // Deleting `one` keeps its claims until the finalizer removes it (the
    // controller's part, done here by hand with a lease of our own).
    local.ferry_ok(&["delete", "one"]);
    write(two, domain_manifest("two", &["shared.example.com"]));
    let stderr = ferry_fails(&local, &["apply", "-f", two]);
    assert!(stderr.contains("claimed by app one"), "{stderr}");
    let record = store
        .get_app("one")
        .await
        .expect("get")
        .expect("one exists");
    let lease = store
        .acquire_lease("e2e", None, 15, "2026-11-23T00:00:00Z")
        .await
        .expect("lease")
        .expect("lease acquired");
    let fence = ferry_store::Fence {
        holder: "e2e".into(),
        token: lease.token,
    };
    store
        .remove_app("one", record.generation, &fence)
        .await
        .expect("finalizer");
    assert!(owners(BOTH).await.is_empty());
    local.ferry_ok(&["apply", "-f", two]);
    assert_eq!(app_names(&local), vec!["two"]);
    assert_eq!(owners(BOTH).await, vec![pair("shared.example.com", "two")]);
}

/// TransactWriteItems calls the emulator refused.
fn failed_transactions(local: &LocalAws) -> usize {
    local
        .requests()
        .iter()
        .filter(|r| r.operation == "TransactWriteItems" && r.status >= 400)
        .count()
}

/// Two applies whose transactions meet in flight: DynamoDB cancels the
/// second with `TransactionConflict` (the local AWS holds each transaction
/// open for 0.3 s to make that certain), Ferry retries it, and then judges
/// it on its conditions: the loser reports a conflict with the winner, not
/// a failed call.
#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_conflict_is_retried_then_judged() {
    let local =
        LocalAws::start_with(&[("FERRY_EMULATOR_TRANSACTION_SECONDS", "0.3")]).expect("local AWS");
    let store = store_of(&local).await;
    let context = race_context();
    store
        .apply(&[change("acme/race:1", None)], &context)
        .await
        .expect("first apply");
    let before = local.requests().len();
    let (change_a, change_b) = (
        [change("acme/race:a", Some(1))],
        [change("acme/race:b", Some(1))],
    );
    let (a, b) = tokio::join!(
        store.apply(&change_a, &context),
        store.apply(&change_b, &context)
    );
    assert_eq!(
        [&a, &b].iter().filter(|r| r.is_ok()).count(),
        1,
        "{a:?} {b:?}"
    );
    let loser = [&a, &b]
        .into_iter()
        .find_map(|r| r.as_ref().err())
        .expect("a loser");
    assert!(
        matches!(loser, ferry_store::Error::Conflict { .. }),
        "a conflict with the winner, not a failed call: {loser}"
    );
    // Three transactions at least: the winner, the loser canceled in
    // flight, and the loser's retry that failed its condition.
    let transactions = local.requests()[before..]
        .iter()
        .filter(|r| r.operation == "TransactWriteItems")
        .count();
    assert!(
        transactions >= 3,
        "{transactions} transactions: no conflict met"
    );
}
