//! Rollouts, through the emulated ECS deployment lifecycle: progress that
//! is visible, failure that is loud and final, and a rollback that works.

use std::time::Duration;

use crate::converge::{copy_manifests, edit};
use crate::ecs::{active_service, revisions};
use crate::support::{eventually, LocalAws};

fn condition(status: &serde_json::Value, kind: &str) -> (String, String) {
    status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind))
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_owned(),
                c["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .unwrap_or_default()
}

fn status(local: &LocalAws, app: &str) -> serde_json::Value {
    let out = local.ferry_ok(&["status", app, "-o", "json"]);
    serde_json::from_str(&out).expect("status JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn rollouts_progress_fail_loudly_and_roll_back() {
    let mut local = LocalAws::start().expect("local AWS");
    let dir = local.dir().join("manifests");
    copy_manifests(&dir);
    let dir_arg = dir.to_str().expect("utf-8 path").to_owned();
    let web_yaml = dir.join("web.yaml");
    let web_arg = web_yaml.to_str().expect("utf-8 path").to_owned();
    local.start_leader(&[]).expect("controller");
    local.ferry_ok(&[
        "apply",
        "-f",
        &dir_arg,
        "-m",
        "first",
        "--wait",
        "--timeout",
        "120s",
    ]);

    // A new image: the rollout is seen progressing, then Ready.
    edit(
        &web_yaml,
        "image: remind101/acme-inc:latest",
        "image: remind101/acme-inc:v2",
    );
    let wait = local
        .ferry_command(&[
            "apply",
            "-f",
            &web_arg,
            "-m",
            "v2",
            "--wait",
            "--timeout",
            "120s",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ferry apply --wait");
    let seen_progressing = eventually(
        Duration::from_secs(60),
        "Progressing during the rollout",
        || async {
            let s = status(&local, "web");
            (s["generation"] == 2 && condition(&s, "Progressing").0 == "True").then_some(s)
        },
    )
    .await;
    assert_eq!(condition(&seen_progressing, "Ready").0, "False");
    let out = wait.wait_with_output().expect("apply --wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("app/web ready"), "{stdout}");
    let ready = status(&local, "web");
    assert_eq!(
        condition(&ready, "Ready"),
        ("True".into(), "Converged".into())
    );
    assert_eq!(ready["processes"]["web"]["rollout"], "COMPLETED");
    assert!(
        ready["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["message"]
                .as_str()
                .is_some_and(|m| m.contains("steady state")))),
        "{ready}"
    );

    // An image that cannot start: the circuit breaker rolls back, apply
    // --wait fails naming the process and ECS's events, and Ferry does not
    // push the spec again.
    edit(
        &web_yaml,
        "image: remind101/acme-inc:v2",
        "image: remind101/acme-inc:fail-v3",
    );
    let out = local.ferry(&[
        "apply",
        "-f",
        &web_arg,
        "-m",
        "v3",
        "--wait",
        "--timeout",
        "120s",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a failed rollout must fail apply --wait"
    );
    assert!(
        stderr.contains("RolloutFailed") && stderr.contains("process web"),
        "{stderr}"
    );
    assert!(
        stderr.contains("circuit breaker") || stderr.contains("failed"),
        "{stderr}"
    );
    let failed = status(&local, "web");
    assert_eq!(
        condition(&failed, "Degraded"),
        ("True".into(), "RolloutFailed".into())
    );
    assert_eq!(failed["processes"]["web"]["rollout"], "FAILED");

    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    let settled = eventually(
        Duration::from_secs(60),
        "the rollback to complete",
        || async {
            let service = active_service(&ecs, &cluster, "web_web").await?;
            let primary = service
                .deployments()
                .iter()
                .find(|d| d.status() == Some("PRIMARY"))?;
            (service.deployments().len() == 1
                && primary.rollout_state().map(|s| s.as_str()) == Some("COMPLETED"))
            .then(|| service.task_definition().unwrap_or_default().to_owned())
        },
    )
    .await;
    let count = revisions(&ecs, "ferry_web_web").await.len();
    // Three resyncs (5 s each in tests): no new revision, no re-push.
    tokio::time::sleep(Duration::from_secs(16)).await;
    assert_eq!(
        revisions(&ecs, "ferry_web_web").await.len(),
        count,
        "no new revision"
    );
    let service = active_service(&ecs, &cluster, "web_web")
        .await
        .expect("web_web");
    assert_eq!(
        service.task_definition(),
        Some(settled.as_str()),
        "the failed spec was not pushed again"
    );
    assert_eq!(
        condition(&status(&local, "web"), "Degraded").1,
        "RolloutFailed"
    );
    // `ferry diff` decides as the controller does: the failed generation's
    // change is held back, not planned again.
    let diff = local.ferry_ok(&["diff", "-f", &web_arg]);
    assert!(
        diff.contains("app/web: nothing is pushed: the rollout of generation")
            && !diff.contains("register task definition"),
        "{diff}"
    );

    // Going back is one command, and the releases tell the story.
    let out = local.ferry_ok(&["rollback", "web"]);
    assert!(out.contains("v2"), "{out}");
    let back = eventually(
        Duration::from_secs(90),
        "Ready after the rollback",
        || async {
            let s = status(&local, "web");
            (s["generation"] == 4 && condition(&s, "Ready").0 == "True").then_some(s)
        },
    )
    .await;
    assert_eq!(back["observedGeneration"], 4);
    let releases: Vec<serde_json::Value> =
        serde_json::from_str(&local.ferry_ok(&["releases", "web", "-o", "json"])).expect("json");
    let outcome = |v: u64| {
        releases
            .iter()
            .find(|r| r["version"] == v)
            .map(|r| r["outcome"].as_str().unwrap_or("-").to_owned())
            .unwrap_or_default()
    };
    assert_eq!(
        (outcome(1), outcome(2), outcome(3), outcome(4)),
        (
            "succeeded".into(),
            "succeeded".into(),
            "failed".into(),
            "succeeded".into()
        ),
        "{releases:?}"
    );
    let table = local.ferry_ok(&["releases", "web"]);
    assert!(table.contains("failed"), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_off_tasks_return_their_exit_code_and_ps_lists_tasks() {
    let mut local = LocalAws::start().expect("local AWS");
    let dir = local.dir().join("manifests");
    copy_manifests(&dir);
    let dir_arg = dir.to_str().expect("utf-8 path").to_owned();
    local.start_leader(&[]).expect("controller");
    local.ferry_ok(&["apply", "-f", &dir_arg, "--wait", "--timeout", "120s"]);

    let out = local.ferry(&[
        "run",
        "worker",
        "--process",
        "worker",
        "--wait",
        "--",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = local.ferry(&[
        "run",
        "worker",
        "--process",
        "scheduler",
        "--wait",
        "--",
        "true",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = local.ferry(&["run", "worker", "--", "true"]);
    assert!(!out.status.success(), "two processes and no --process");
    assert!(String::from_utf8_lossy(&out.stderr).contains("choose one with --process"));

    let listed = local.ferry_ok(&["ps", "web"]);
    assert!(
        listed.contains("RUNNING") && listed.contains("service"),
        "{listed}"
    );
    let tasks: Vec<serde_json::Value> =
        serde_json::from_str(&local.ferry_ok(&["ps", "web", "-o", "json"])).expect("json");
    assert_eq!(tasks.len(), 2, "web runs two tasks: {tasks:?}");
}

/// The deployment settings of a manifest are what ECS holds, and a failed
/// rollout with `rollback: false` (ECS leaves the failed deployment in
/// place) is never pushed again: zero UpdateService calls for it over
/// several resyncs, counted in the request log.
#[tokio::test(flavor = "multi_thread")]
async fn settings_reach_ecs_and_a_failed_rollout_is_not_pushed_again() {
    let mut local = LocalAws::start().expect("local AWS");
    let file = local.dir().join("tuned.yaml");
    let manifest = |image: &str| {
        format!(
            "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: tuned\nspec:\n  image: {image}\n  processes:\n    web:\n      scale: 2\n      port: 8080\n      minHealthyPercent: 50\n      maxPercent: 150\n      rollback: false\n      stopTimeout: 60\n      healthCheckGracePeriod: 90\n"
        )
    };
    std::fs::write(&file, manifest("acme/tuned:1")).expect("write");
    let path = file.to_str().expect("utf-8").to_owned();
    local
        .start_leader(&["--id", "ctl-tuned"])
        .expect("controller");
    local.ferry_ok(&["apply", "-f", &path, "--wait", "--timeout", "120s"]);

    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    let service = active_service(&ecs, &cluster, "tuned_web")
        .await
        .expect("tuned_web");
    let deployment = service
        .deployment_configuration()
        .expect("deployment configuration");
    assert_eq!(deployment.minimum_healthy_percent(), Some(50));
    assert_eq!(deployment.maximum_percent(), Some(150));
    let breaker = deployment
        .deployment_circuit_breaker()
        .expect("circuit breaker");
    assert!(breaker.enable() && !breaker.rollback(), "{breaker:?}");
    assert_eq!(service.health_check_grace_period_seconds(), Some(90));
    let (td, _) = crate::ecs::task_definition(&ecs, service.task_definition().expect("td")).await;
    assert_eq!(td.container_definitions()[0].stop_timeout(), Some(60));

    // A broken image: the rollout fails and, without rollback, stays failed.
    std::fs::write(&file, manifest("acme/tuned:fail-2")).expect("write");
    let out = local.ferry(&["apply", "-f", &path, "--wait", "--timeout", "120s"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("RolloutFailed"),
        "{stderr}"
    );
    let requests = local.requests();
    let failed_at = requests.len();
    assert!(
        requests
            .iter()
            .any(|r| r.operation == "UpdateService" && r.target.as_deref() == Some("tuned_web")),
        "the broken deploy itself was an UpdateService of tuned_web (the log names it)"
    );
    assert_not_pushed_again(&local, 0, failed_at, "tuned_web").await;

    // Nor by a successor, which knows of the failure only from the store:
    // a SIGTERM hands the lease over at once.
    let status = local.terminate_controller(0);
    assert!(status.success(), "{status}");
    let successor = local
        .start_leader(&["--id", "ctl-successor"])
        .expect("successor");
    let taken_over = local.requests().len();
    assert_not_pushed_again(&local, successor, taken_over, "tuned_web").await;
}

/// Over three resyncs of controller `index`, no UpdateService of
/// `service` followed request `since` of the log.
async fn assert_not_pushed_again(local: &LocalAws, index: usize, since: usize, service: &str) {
    let resyncs = local.metrics(index).sum("resyncs_total", &[]);
    eventually(Duration::from_secs(120), "three more resyncs", || async {
        (local.metrics(index).sum("resyncs_total", &[]) >= resyncs + 3.0).then_some(())
    })
    .await;
    let pushed: Vec<_> = local.requests()[since..]
        .iter()
        .filter(|r| r.operation == "UpdateService" && r.target.as_deref() == Some(service))
        .cloned()
        .collect();
    assert!(
        pushed.is_empty(),
        "the failed generation of {service} was pushed again: {pushed:?}"
    );
}

/// An image that runs but never passes its load balancer health check (the
/// local AWS's `unhealthy` tag): ECS's circuit breaker fails the rollout at
/// its second stage and rolls back, and Ferry reports it as it reports a
/// failure to start: RolloutFailed, the release failed, not pushed again.
#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_that_fails_its_health_checks_is_reported_failed() {
    let mut local = LocalAws::start().expect("local AWS");
    let file = local.dir().join("checked.yaml");
    let manifest = |image: &str| {
        format!(
            "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: checked\nspec:\n  image: {image}\n  processes:\n    web:\n      scale: 2\n      port: 8080\n"
        )
    };
    std::fs::write(&file, manifest("acme/checked:1")).expect("write");
    let path = file.to_str().expect("utf-8").to_owned();
    local.start_leader(&[]).expect("controller");
    local.ferry_ok(&["apply", "-f", &path, "--wait", "--timeout", "120s"]);

    std::fs::write(&file, manifest("acme/checked:unhealthy-2")).expect("write");
    let out = local.ferry(&["apply", "-f", &path, "--wait", "--timeout", "180s"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("RolloutFailed") && stderr.contains("health check"),
        "{stderr}"
    );
    let releases: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["releases", "checked", "-o", "json"]))
            .expect("json");
    assert_eq!(releases[0]["version"], 2);
    assert_eq!(releases[0]["outcome"], "failed");
    // ECS rolled back: the service runs the first release's revision.
    let ecs = local.ecs().await;
    eventually(
        Duration::from_secs(60),
        "the rollback to revision 1",
        || async {
            let service = active_service(&ecs, local.cluster(), "checked_web").await?;
            service
                .task_definition()
                .is_some_and(|td| td.ends_with(":1"))
                .then_some(())
        },
    )
    .await;
    // ECS's own rollback is the end of it: Ferry does not deploy the
    // failed revision again.
    let rolled_back = local.requests().len();
    assert_not_pushed_again(&local, 0, rolled_back, "checked_web").await;
}
