//! `ferry restart`: a new ECS deployment of the spec as it is, recorded as
//! a release, carried out once, and only for the processes asked for.

use std::time::Duration;

use crate::ecs::active_service;
use crate::support::{eventually, LocalAws};

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_redeploys_the_same_revision_once_and_is_a_release() {
    let mut local = LocalAws::start().expect("local AWS");
    let file = local.dir().join("rotate.yaml");
    std::fs::write(
        &file,
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: rotate\nspec:\n  image: acme/rotate:1\n  processes:\n    web:\n      scale: 2\n    worker:\n      scale: 1\n",
    )
    .expect("write");
    let path = file.to_str().expect("utf-8").to_owned();
    local.start_leader(&[]).expect("controller");
    local.ferry_ok(&["apply", "-f", &path, "--wait", "--timeout", "120s"]);
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    let before = active_service(&ecs, &cluster, "rotate_web")
        .await
        .expect("rotate_web");
    let primary = crate::ecs::primary_deployment;

    // A process the app does not have: refused, nothing written.
    let out = local.ferry(&["restart", "rotate", "-p", "wbe"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "app rotate has no process wbe; its processes are web, worker; nothing was written"
        ),
        "{stderr}"
    );

    let since = local.requests().len();
    let out = local.ferry_ok(&[
        "restart",
        "rotate",
        "-p",
        "web",
        "--wait",
        "--timeout",
        "120s",
    ]);
    assert!(
        out.contains("app/rotate: restart web stored as release v2"),
        "{out}"
    );

    // One new deployment of web, of the same revision; worker untouched.
    let requests = local.requests();
    let updates = |service: &str| {
        requests[since..]
            .iter()
            .filter(|r| r.operation == "UpdateService" && r.target.as_deref() == Some(service))
            .count()
    };
    assert_eq!(updates("rotate_web"), 1);
    assert_eq!(updates("rotate_worker"), 0);
    assert!(
        !requests[since..]
            .iter()
            .any(|r| r.operation == "RegisterTaskDefinition"),
        "a restart registers nothing"
    );
    let after = active_service(&ecs, &cluster, "rotate_web")
        .await
        .expect("rotate_web");
    assert_eq!(after.task_definition(), before.task_definition());
    assert_ne!(primary(&after), primary(&before), "a new deployment");

    // The release: same spec, the restart's message.
    let releases: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["releases", "rotate", "-o", "json"])).expect("json");
    assert_eq!(releases[0]["version"], 2);
    assert_eq!(releases[0]["message"], "restart web");
    assert_eq!(releases[0]["spec"], releases[1]["spec"]);
    assert_eq!(releases[0]["outcome"], "succeeded");

    // Carried out once: more resyncs, no more UpdateService.
    let done = local.requests().len();
    let resyncs = local.metrics(0).sum("resyncs_total", &[]);
    eventually(Duration::from_secs(60), "two more resyncs", || async {
        (local.metrics(0).sum("resyncs_total", &[]) >= resyncs + 2.0).then_some(())
    })
    .await;
    assert!(
        !local.requests()[done..]
            .iter()
            .any(|r| r.operation == "UpdateService"),
        "the restart was repeated"
    );
}
