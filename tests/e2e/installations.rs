//! Two installations of Ferry in one account: a production table and a
//! staging table, each with its own cluster and the same app names. Task
//! definition families are per account and region, so each installation's
//! families carry its name (`ferry_acme_web`, `ferry-staging_acme_web`):
//! neither installation blocks, reuses or deregisters the other's
//! revisions, and both converge side by side.

use std::process::Output;
use std::time::Duration;

use crate::ecs::{active_service, revisions};
use crate::support::{eventually, LocalAws};

const STAGING: &str = "ferry-staging";

fn manifest(image: &str) -> String {
    format!(
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: acme\nspec:\n  image: {image}\n  processes:\n    web:\n      command: [serve]\n      scale: 1\n"
    )
}

fn staging(local: &LocalAws, args: &[&str]) -> Output {
    local
        .ferry_command(args)
        .env("FERRY_TABLE", STAGING)
        .output()
        .expect("ferry")
}

#[track_caller]
fn staging_ok(local: &LocalAws, args: &[&str]) {
    let out = staging(local, args);
    assert!(
        out.status.success(),
        "ferry {args:?} (staging) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_installations_with_the_same_app_names_converge_side_by_side() {
    let mut local = LocalAws::start().expect("local AWS");
    let ecs = local.ecs().await;
    let production = local.cluster().to_owned();
    ecs.create_cluster()
        .cluster_name("staging")
        .send()
        .await
        .expect("CreateCluster");
    staging_ok(&local, &["init"]);
    local
        .start_leader(&["--id", "ctl-prod", "--keep-task-definitions", "1"])
        .expect("production controller");
    // Each stack has its own schedules' dead-letter queue (ferry.yaml's
    // `ferry-<table>-schedule-dlq`); the staging controller must not read
    // production's.
    let sqs = aws_sdk_sqs::Client::new(&local.sdk_config().await);
    let queue = sqs
        .create_queue()
        .queue_name(format!("ferry-{STAGING}-schedule-dlq"))
        .send()
        .await
        .expect("CreateQueue");
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(queue.queue_url().expect("url"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue ARN");
    local.another_installation(
        "ctl-staging",
        &[
            ("FERRY_TABLE", STAGING),
            ("FERRY_CLUSTER", "staging"),
            ("FERRY_SCHEDULE_DLQ_ARN", &queue_arn),
        ],
    );
    let staging_controller = local
        .start_controller(&[
            "--id",
            "ctl-staging",
            "--table",
            STAGING,
            "--cluster",
            "staging",
            "--schedule-dlq-arn",
            &queue_arn,
            "--keep-task-definitions",
            "1",
        ])
        .expect("staging controller");

    let file = local.dir().join("acme.yaml");
    let path = file.to_str().expect("utf-8").to_owned();
    std::fs::write(&file, manifest("acme/app:1")).expect("write");
    local.ferry_ok(&["apply", "-f", &path, "--wait", "--timeout", "90s"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while local
        .metrics(staging_controller)
        .sum("leader_election_master_status", &[])
        != 1.0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "staging never led:\n{}",
            local.controller_logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Staging moves on through three images; production stays.
    for version in 1..=3 {
        std::fs::write(&file, manifest(&format!("acme/app:staging-{version}"))).expect("write");
        staging_ok(
            &local,
            &["apply", "-f", &path, "--wait", "--timeout", "90s"],
        );
    }

    let prod_family = revisions(&ecs, "ferry_acme_web").await;
    let staging_family = revisions(&ecs, "ferry-staging_acme_web").await;
    assert_eq!(
        prod_family.len(),
        1,
        "production's one revision: {prod_family:?}"
    );
    // Hygiene keeps one unused revision besides the one running.
    assert!(
        !staging_family.is_empty() && staging_family.len() <= 2,
        "{staging_family:?}"
    );
    let runs = |cluster: String| {
        let ecs = ecs.clone();
        async move {
            active_service(&ecs, &cluster, "acme_web")
                .await
                .and_then(|s| s.task_definition().map(str::to_owned))
                .expect("acme_web runs")
        }
    };
    assert_eq!(runs(production.clone()).await, prod_family[0]);
    let staged = runs("staging".to_owned()).await;
    assert!(
        staging_family.contains(&staged),
        "{staged} not in {staging_family:?}"
    );
    for (arn, owner) in [(&prod_family[0], "ferry"), (&staged, STAGING)] {
        let described = ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .send()
            .await
            .expect("DescribeTaskDefinition");
        let managed_by = described
            .tags()
            .iter()
            .find(|t| t.key() == Some("ferry:managed-by"))
            .and_then(|t| t.value());
        assert_eq!(managed_by, Some(owner), "{arn}");
    }

    // Both Ready; neither installation wrote to the other's family or
    // cluster, and neither reports a conflict.
    for out in [
        local.ferry(&["status", "acme", "-o", "json"]),
        staging(&local, &["status", "acme", "-o", "json"]),
    ] {
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
        let ready = status["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
            .map(|c| c["status"].clone());
        assert_eq!(ready, Some("True".into()), "{status}");
    }
    let requests = local.requests();
    for (agent, own, other) in [
        ("ctl-prod", "ferry_acme_web", "ferry-staging_acme_web"),
        ("ctl-staging", "ferry-staging_acme_web", "ferry_acme_web"),
    ] {
        let writes: Vec<_> = requests
            .iter()
            .filter(|r| r.agent.as_deref() == Some(agent) && r.service == "ecs" && r.is_write())
            .collect();
        assert!(
            writes.iter().any(|r| r.target.as_deref() == Some(own)),
            "{agent} registered in its own family"
        );
        // Registered in, or deregistered from (`family:revision`, or an
        // ARN ending so), the other installation's family: never.
        let in_other = |target: &str| {
            let name = target.rsplit('/').next().unwrap_or(target);
            name == other || name.starts_with(&format!("{other}:"))
        };
        assert!(
            !writes
                .iter()
                .any(|r| r.target.as_deref().is_some_and(in_other)),
            "{agent} wrote to the other installation's family"
        );
    }
    // Production stays converged with nothing more to do.
    let before = local
        .requests()
        .iter()
        .filter(|r| r.agent.as_deref() == Some("ctl-prod") && r.service == "ecs" && r.is_write())
        .count();
    eventually(Duration::from_secs(20), "two more resyncs", || async {
        tokio::time::sleep(Duration::from_secs(11)).await;
        Some(())
    })
    .await;
    let after = local
        .requests()
        .iter()
        .filter(|r| r.agent.as_deref() == Some("ctl-prod") && r.service == "ecs" && r.is_write())
        .count();
    assert_eq!(
        before, after,
        "production wrote to ECS with nothing to change"
    );
}
