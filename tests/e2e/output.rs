//! What the CLI shows: the app's age in `get`, the image and user of
//! `releases`, `status --watch -o json`, and `validate`'s options and
//! wording.

use std::path::Path;
use std::process::Output;

use aws_sdk_dynamodb::types::AttributeValue;
use ferry_store::{AppChange, ApplyContext};

use crate::cli::{fence, manifest, store, utf8, write};
use crate::support::{binary, LocalAws};

/// Fails the test unless `ferry` succeeded. Returns stdout.
#[track_caller]
fn succeeded(out: &Output) -> String {
    assert!(
        out.status.success(),
        "ferry failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line of `table` whose first cell is `first`.
#[track_caller]
fn row<'a>(table: &'a str, first: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no {first} in {table}"))
}

/// Whether a table row shows an age of many years (in days, as ages
/// over two days are).
fn shows_years(row: &str) -> bool {
    row.split_whitespace().any(|cell| {
        cell.strip_suffix('d')
            .and_then(|days| days.parse::<u64>().ok())
            .is_some_and(|days| days > 3650)
    })
}

/// Who `id -un` says the tests run as, if it knows.
fn os_user() -> Option<String> {
    let out = std::process::Command::new("id").arg("-un").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn get_shows_the_apps_age_and_releases_show_image_and_user() {
    let local = LocalAws::start().expect("local AWS");
    let sdk = local.sdk_config().await;
    let store = store(&sdk);
    let file = local.dir().join("shop.yaml");
    let path = utf8(&file).to_owned();

    // Created long ago: the store's own write, to choose the time.
    let long_ago = "2000-01-01T00:00:00Z";
    let text = manifest("shop", "acme/shop:1");
    let spec = ferry_manifest::parse_manifest(Path::new("shop.yaml"), &text, &|_| {
        Err(std::io::Error::other("no procfile"))
    })
    .expect("valid")
    .app;
    let change = AppChange {
        spec,
        manifest: text,
        source: None,
        expected_generation: None,
        previous_domains: Vec::new(),
        created_at: None,
        restart: None,
    };
    let context = ApplyContext {
        message: String::new(),
        user: "e2e".into(),
        git: None,
        now: long_ago.into(),
    };
    store.apply(&[change], &context).await.expect("first apply");

    // An apply changes the generation, not the app's age. It runs without
    // USER, as cron and containers do: the release names the OS user.
    write(&file, &manifest("shop", "acme/shop:2"));
    succeeded(
        &local
            .ferry_command(&["apply", "-f", &path])
            .env_remove("USER")
            .env_remove("FERRY_USER")
            .output()
            .expect("run ferry"),
    );
    let shop = store.get_app("shop").await.expect("get").expect("shop");
    assert_eq!(shop.generation, 2);
    assert_eq!(shop.created_at.as_deref(), Some(long_ago));
    assert_ne!(shop.updated_at, long_ago);
    let get = local.ferry_ok(&["get"]);
    assert!(shows_years(row(&get, "shop")), "{get}");
    let releases = local.ferry_ok(&["releases", "shop"]);
    assert!(
        releases.lines().next().is_some_and(|h| h.contains("IMAGE")),
        "{releases}"
    );
    assert!(row(&releases, "v2").contains("acme/shop:2"), "{releases}");
    assert!(row(&releases, "v1").contains("acme/shop:1"), "{releases}");
    let user = store.releases("shop").await.expect("releases")[0]
        .user
        .clone();
    match os_user() {
        Some(expected) => assert_eq!(user, expected),
        None => assert_ne!(user, "unknown"),
    }

    // A rollback keeps it too.
    local.ferry_ok(&["rollback", "shop", "v1"]);
    let shop = store.get_app("shop").await.expect("get").expect("shop");
    assert_eq!(shop.created_at.as_deref(), Some(long_ago));

    // An app stored before creation times were recorded shows the age of
    // its last change, and its next apply records its oldest release's.
    aws_sdk_dynamodb::Client::new(&sdk)
        .update_item()
        .table_name("ferry")
        .key("pk", AttributeValue::S("app".into()))
        .key("sk", AttributeValue::S("shop".into()))
        .update_expression("REMOVE createdAt")
        .send()
        .await
        .expect("make the item an old one");
    let get = local.ferry_ok(&["get"]);
    assert!(!shows_years(row(&get, "shop")), "{get}");
    write(&file, &manifest("shop", "acme/shop:4"));
    local.ferry_ok(&["apply", "-f", &path]);
    let shop = store.get_app("shop").await.expect("get").expect("shop");
    assert_eq!(shop.created_at.as_deref(), Some(long_ago));

    // A deleted app brought back by rollback is a new app.
    local.ferry_ok(&["delete", "shop"]);
    let deleting = store.get_app("shop").await.expect("get").expect("shop");
    let fence = fence(&store).await;
    store
        .remove_app("shop", deleting.generation, &fence)
        .await
        .expect("finalize the deletion");
    local.ferry_ok(&["rollback", "shop", "v2"]);
    let shop = store.get_app("shop").await.expect("get").expect("shop");
    let created = shop.created_at.expect("a creation time");
    assert_ne!(created, long_ago);
    assert_eq!(created, shop.updated_at);
    let get = local.ferry_ok(&["get"]);
    assert!(!shows_years(row(&get, "shop")), "{get}");

    // FERRY_TABLE still names the table of every command that has one.
    let out = local
        .ferry_command(&["get"])
        .env("FERRY_TABLE", "elsewhere")
        .output()
        .expect("run ferry");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DynamoDB table elsewhere does not exist"),
        "{stderr}"
    );
}

/// `status --watch -o json`: a status per line as `status -o json` shows
/// it, once per change, until Ready.
#[tokio::test(flavor = "multi_thread")]
async fn status_watch_in_json_prints_one_status_per_change() {
    let mut local = LocalAws::start().expect("local AWS");
    let file = local.dir().join("shop.yaml");
    write(&file, &manifest("shop", "acme/shop:1"));
    local.start_leader(&[]).expect("controller");
    local.ferry_ok(&["apply", "-f", utf8(&file)]);

    let out = local.ferry_ok(&[
        "status",
        "shop",
        "--watch",
        "-o",
        "json",
        "--timeout",
        "120s",
    ]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{out}"))
        })
        .collect();
    assert!(!lines.is_empty(), "nothing printed");
    for pair in lines.windows(2) {
        assert_ne!(pair[0], pair[1], "printed without a change: {out}");
    }
    let last = lines.last().expect("a line");
    assert_eq!(last["observedGeneration"], 1, "{out}");
    let ready = last["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .expect("a Ready condition");
    assert_eq!(ready["status"], "True", "{out}");
    let status: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["status", "shop", "-o", "json"])).expect("json");
    let keys = |v: &serde_json::Value| {
        v.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(keys(last), keys(&status), "the same JSON as status -o json");
}

/// `validate` is offline: no `--table`, and nothing about applying.
#[test]
fn validate_neither_takes_a_table_nor_speaks_of_applying() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    write(
        &bad,
        "apiVersion: ferry/v1\nkind: App\nmetadata: {name: Bad_Name}\n",
    );
    let ferry = |args: &[&str]| {
        std::process::Command::new(binary("ferry"))
            .args(args)
            .env_remove("FERRY_TABLE")
            .output()
            .expect("run ferry")
    };
    let help = succeeded(&ferry(&["validate", "--help"]));
    assert!(!help.contains("--table"), "{help}");
    let help = succeeded(&ferry(&["get", "--help"]));
    assert!(
        help.contains("--table") && help.contains("FERRY_TABLE"),
        "{help}"
    );

    let out = ferry(&["validate", "-f", utf8(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains("problem(s) found in the manifests"),
        "{stderr}"
    );
    assert!(!stderr.contains("applied"), "{stderr}");
    // apply keeps its wording: it stops before writing.
    let out = ferry(&["apply", "-f", utf8(&bad)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing was applied"), "{stderr}");
}
