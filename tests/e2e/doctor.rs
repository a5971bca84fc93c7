//! Running against a real account: `ferry init` safe to repeat and
//! refusing a table that is not Ferry's, `ferry doctor` checking each part
//! of an installation, and the SDK's standard chain configuring `ferry`
//! from a profile alone.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

use crate::support::LocalAws;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn init_is_safe_to_repeat_and_refuses_a_table_that_is_not_ferrys() {
    let local = LocalAws::start().expect("local AWS");
    let created = local.ferry_ok(&["init", "--table", "fresh"]);
    assert!(
        created.contains("created table fresh: on-demand, partition key pk (S), sort key sk (S)"),
        "{created}"
    );
    let again = local.ferry_ok(&["init", "--table", "fresh"]);
    assert!(
        again.contains("table fresh already exists with Ferry's schema")
            && again.contains("nothing changed"),
        "{again}"
    );

    // Someone else's table under the name: refused by init and by apply
    // before anything is written, and left as it is.
    let dynamodb = aws_sdk_dynamodb::Client::new(&local.sdk_config().await);
    let attribute = AttributeDefinition::builder()
        .attribute_name("id")
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute");
    let key = KeySchemaElement::builder()
        .attribute_name("id")
        .key_type(KeyType::Hash)
        .build()
        .expect("key");
    dynamodb
        .create_table()
        .table_name("theirs")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute)
        .key_schema(key)
        .send()
        .await
        .expect("their table");
    let manifests = crate::support::repo_root().join("manifests");
    let manifests = manifests.to_str().expect("utf-8");
    for args in [
        &["init", "--table", "theirs"][..],
        &["apply", "-f", manifests, "--table", "theirs"],
    ] {
        let out = local.ferry(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            stderr(&out).trim(),
            "error: DynamoDB table theirs is not a Ferry table: its key is partition key id (S), \
             Ferry's is partition key pk (S), sort key sk (S); name another table with --table or \
             FERRY_TABLE",
            "{args:?}"
        );
    }
    let theirs = dynamodb
        .describe_table()
        .table_name("theirs")
        .send()
        .await
        .expect("still there");
    let table = theirs.table().expect("table");
    assert_eq!(table.key_schema().len(), 1, "unchanged");
    let scanned = dynamodb
        .scan()
        .table_name("theirs")
        .send()
        .await
        .expect("scan");
    assert_eq!(scanned.count(), 0, "nothing written to it");
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_checks_each_part_and_fails_without_a_leader() {
    let mut local = LocalAws::start().expect("local AWS");
    let lines = |out: &str| -> Vec<(String, String)> {
        out.lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                Some((words.next()?.to_owned(), words.next()?.to_owned()))
            })
            .collect()
    };

    // No controller yet: the table is fine, nothing leads, and the rest
    // cannot be checked.
    let out = local.ferry(&["doctor"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let found = lines(&stdout(&out));
    let state = |found: &[(String, String)], check: &str| {
        found
            .iter()
            .find(|(c, _)| c == check)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| panic!("no {check} line"))
    };
    assert_eq!(state(&found, "caller"), "ok");
    assert_eq!(state(&found, "table"), "ok");
    assert_eq!(state(&found, "leader"), "FAIL");
    assert_eq!(state(&found, "cluster"), "skip");
    // `ferry init` turns neither on; the template does.
    assert_eq!(state(&found, "backups"), "warn");
    assert_eq!(state(&found, "protection"), "warn");
    assert!(
        stdout(&out).contains("none has ever taken the lease"),
        "{}",
        stdout(&out)
    );

    local
        .start_leader(&["--id", "ctl-doctor"])
        .expect("controller");
    let out = local.ferry(&["doctor"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let found = lines(&text);
    for check in [
        "caller", "table", "leader", "settings", "cluster", "traffic",
    ] {
        assert_eq!(state(&found, check), "ok", "{check}: {text}");
    }
    // The holder: the replica's id and its process's suffix.
    assert!(
        text.contains("ctl-doctor#") && text.contains(" leads (term 1, leading for"),
        "{text}"
    );
    assert!(text.contains("listener(s) on"), "{text}");

    // JSON for scripts, with the same verdicts.
    let json: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["doctor", "-o", "json"])).expect("json");
    let leader = json
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["check"] == "leader"))
        .expect("leader check");
    assert_eq!(leader["state"], "ok");

    // The published cluster gone: doctor says so and fails.
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    let services = ecs
        .list_services()
        .cluster(&cluster)
        .send()
        .await
        .expect("services");
    assert!(services.service_arns().is_empty(), "no apps yet");
    local.kill_controller(0);
    ecs.delete_cluster()
        .cluster(&cluster)
        .send()
        .await
        .expect("delete cluster");
    let out = local.ferry(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(state(&lines(&stdout(&out)), "cluster"), "FAIL");
}

/// With no endpoint or credentials in the environment, the SDK's standard
/// chain reads them from a profile, as on an operator's laptop (SSO and
/// role profiles come through the same chain).
#[tokio::test(flavor = "multi_thread")]
async fn a_profile_alone_configures_ferry() {
    let local = LocalAws::start().expect("local AWS");
    let home = tempfile::tempdir().expect("home");
    let config = home.path().join("config");
    let credentials = format!(
        r#"{{"Version": 1, "AccessKeyId": "{}", "SecretAccessKey": "{}"}}"#,
        local.env["AWS_ACCESS_KEY_ID"], local.env["AWS_SECRET_ACCESS_KEY"]
    );
    let helper = home.path().join("credentials-helper");
    std::fs::write(&helper, format!("#!/bin/sh\necho '{credentials}'\n")).expect("helper");
    std::fs::set_permissions(
        &helper,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .expect("chmod");
    std::fs::write(
        &config,
        format!(
            "[profile ferry-local]\nregion = {}\nendpoint_url = {}\ncredential_process = {}\n",
            local.env["AWS_REGION"],
            local.env["AWS_ENDPOINT_URL"],
            helper.display()
        ),
    )
    .expect("config");
    let out = std::process::Command::new(crate::support::binary("ferry"))
        .args(["get"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_PROFILE", "ferry-local")
        .env("FERRY_TABLE", "ferry")
        .output()
        .expect("ferry");
    assert!(out.status.success(), "{}", stderr(&out));
}
