//! Re-creating a service while its predecessor drains (issue 19 item 8),
//! with a drain time above zero (`FERRY_EMULATOR_TASK_DRAIN_SECONDS`).
//!
//! ECS keeps a deleted service DRAINING until its tasks have stopped, and
//! refuses both a CreateService of its name ("Creation of service was not
//! idempotent.") and an UpdateService of it ("Service was not ACTIVE.")
//! meanwhile. Ferry must wait, reporting the wait, and create the service
//! once ECS has removed the old one: one CreateService, no refused
//! request, one service of the name afterwards.

use std::time::Duration;

use crate::ecs::active_service;
use crate::support::{eventually, LocalAws, Request};

const DRAIN_SECONDS: &str = "8";

fn manifest(worker: bool) -> String {
    let mut text = "apiVersion: ferry/v1
kind: App
metadata:
  name: shop
spec:
  image: acme/shop:1
  processes:
    web:
      command: [shop, serve]
      scale: 1
"
    .to_owned();
    if worker {
        text.push_str("    worker:\n      command: [shop, work]\n      scale: 2\n");
    }
    text
}

async fn status_of(ecs: &aws_sdk_ecs::Client, cluster: &str, name: &str) -> Option<String> {
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .expect("DescribeServices");
    out.services()
        .iter()
        .find(|s| s.service_name() == Some(name))
        .and_then(|s| s.status().map(str::to_owned))
}

/// The ARNs ListServices gives for `name` (ACTIVE services only, as ECS).
async fn listed(ecs: &aws_sdk_ecs::Client, cluster: &str, name: &str) -> usize {
    crate::ecs::service_arns(ecs, cluster)
        .await
        .iter()
        .filter(|arn| arn.ends_with(&format!("/{name}")))
        .count()
}

/// The controller's ECS writes naming `service` in `requests`.
fn writes<'a>(requests: &'a [Request], service: &str) -> Vec<&'a Request> {
    requests
        .iter()
        .filter(|r| {
            r.from_controller()
                && r.service == "ecs"
                && r.is_write()
                && r.target.as_deref() == Some(service)
        })
        .collect()
}

/// Fails if ECS refused a write of the controller's to `shop_worker`
/// since request `since`.
fn assert_none_refused(local: &LocalAws, since: usize) {
    let requests = local.requests();
    let refused: Vec<String> = writes(&requests[since..], "shop_worker")
        .iter()
        .filter(|r| r.status >= 400)
        .map(|r| format!("{} {}", r.operation, r.status))
        .collect();
    assert!(
        refused.is_empty(),
        "ECS refused writes to the draining service: {refused:?}\n{}",
        local.controller_logs()
    );
}

/// Waits until `shop_worker` runs again, ACTIVE, and checks how it got
/// there from `since`: no refused write (the local ECS refuses, as ECS
/// does, a CreateService or UpdateService while the name drains), exactly
/// one CreateService, one service listed.
async fn recreated(local: &LocalAws, since: usize) {
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    eventually(Duration::from_secs(90), "worker running again", || async {
        assert_none_refused(local, since);
        let worker = active_service(&ecs, &cluster, "shop_worker").await?;
        (worker.running_count() == 2).then_some(())
    })
    .await;
    eventually(Duration::from_secs(60), "Ready", || async {
        local.all_ready()
    })
    .await;
    assert_none_refused(local, since);
    let requests = local.requests();
    let sent = writes(&requests[since..], "shop_worker");
    let creates: Vec<&&Request> = sent
        .iter()
        .filter(|r| r.operation == "CreateService")
        .collect();
    assert_eq!(creates.len(), 1, "one CreateService: {sent:?}");
    assert_eq!(listed(&ecs, &cluster, "shop_worker").await, 1);
    let status: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["status", "shop", "-o", "json"])).expect("json");
    assert!(
        status.get("lastError").is_none_or(|e| e.is_null()),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_is_recreated_only_once_its_predecessor_has_drained() {
    let mut local = LocalAws::start_with(&[("FERRY_EMULATOR_TASK_DRAIN_SECONDS", DRAIN_SECONDS)])
        .expect("local AWS");
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    let file = local.dir().join("shop.yaml");
    let path = file.to_str().expect("utf-8").to_owned();
    local.start_leader(&[]).expect("controller");
    std::fs::write(&file, manifest(true)).expect("write");
    local.ferry_ok(&["apply", "-f", &path, "--wait", "--timeout", "90s"]);

    // The process goes: Ferry scales it to zero and deletes it; its tasks
    // drain. While it is DRAINING the process comes back.
    std::fs::write(&file, manifest(false)).expect("write");
    local.ferry_ok(&["apply", "-f", &path]);
    eventually(Duration::from_secs(30), "worker DRAINING", || async {
        (status_of(&ecs, &cluster, "shop_worker").await.as_deref() == Some("DRAINING"))
            .then_some(())
    })
    .await;
    let since = local.requests().len();
    std::fs::write(&file, manifest(true)).expect("write");
    local.ferry_ok(&["apply", "-f", &path]);
    // Status says why nothing happens yet.
    let waiting = eventually(Duration::from_secs(30), "the draining blocker", || async {
        assert_none_refused(&local, since);
        let out = local.ferry(&["status", "shop", "-o", "json"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("ServiceDraining").then_some(text)
    })
    .await;
    assert!(waiting.contains("still draining"), "{waiting}");
    assert_eq!(
        status_of(&ecs, &cluster, "shop_worker").await.as_deref(),
        Some("DRAINING"),
        "the wait was reported while ECS still drained"
    );
    recreated(&local, since).await;

    // The same when someone deletes the service behind Ferry's back
    // (console, `aws ecs delete-service --force`): drift, corrected only
    // once ECS lets the name be used again.
    let since = local.requests().len();
    ecs.delete_service()
        .cluster(&cluster)
        .service("shop_worker")
        .force(true)
        .send()
        .await
        .expect("DeleteService");
    assert_eq!(
        status_of(&ecs, &cluster, "shop_worker").await.as_deref(),
        Some("DRAINING")
    );
    recreated(&local, since).await;
}
