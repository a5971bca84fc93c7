//! Ferry under AWS faults: with one request in ten failing (HTTP 500s,
//! connections reset before and after the request took effect) and the
//! emulator throttling at AWS's documented buckets, a converge of 50 apps
//! completes. Failures show only as transient conditions with their cause,
//! retries back off (no reconcile loops hot), and the test prints the
//! retry rate from the request log.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::{eventually, LocalAws, Request};

const APPS: usize = 50;
const AGENT: &str = "ctl-faults";

/// 10 % of the requests to every service fail: 5 % with HTTP 500, 3 %
/// reset before execution, 2 % reset after it (the write took effect and
/// Ferry never heard: a DynamoDB transaction is then sent again with its
/// client request token, which makes the repeat a no-op).
const FAULTS: &[(&str, &str)] = &[
    ("FERRY_EMULATOR_FAULT_ERRORS", "*=0.05"),
    ("FERRY_EMULATOR_FAULT_RESETS", "*=0.03"),
    ("FERRY_EMULATOR_FAULT_RESETS_AFTER", "*=0.02"),
    ("FERRY_EMULATOR_FAULT_LATENCY", "0-20ms"),
    ("FERRY_EMULATOR_FAULT_SEED", "10"),
];

fn manifest(i: usize) -> String {
    // Every other app serves a port: target groups and listener rules.
    let port = if i % 2 == 0 { "\n      port: 8080" } else { "" };
    format!(
        "apiVersion: ferry/v1
kind: App
metadata:
  name: app{i:02}
spec:
  image: acme/app:1
  processes:
    web:
      command: [serve]
      scale: 1{port}
"
    )
}

fn ours(requests: &[Request]) -> Vec<&Request> {
    requests
        .iter()
        .filter(|r| r.agent.as_deref() == Some(AGENT))
        .collect()
}

/// `ferry get -o json`, or `None` if the CLI itself met a fault too often.
fn statuses(local: &LocalAws) -> Option<Vec<serde_json::Value>> {
    let out = local.ferry(&["get", "-o", "json"]);
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .ok()?
        .as_array()
        .cloned()
}

fn condition<'a>(app: &'a serde_json::Value, type_: &str) -> Option<&'a serde_json::Value> {
    app["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_converge_completes_under_faults_and_throttling() {
    let mut local = LocalAws::start_with(FAULTS).expect("local AWS");
    let dir = local.dir().join("apps");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for i in 0..APPS {
        std::fs::write(dir.join(format!("app{i:02}.yaml")), manifest(i)).expect("write");
    }
    local.start_leader(&["--id", AGENT]).expect("controller");
    local.ferry_ok(&["apply", "-f", dir.to_str().expect("utf-8")]);

    // Until every app is Ready, whatever any app shows is transient and
    // says why: a reconcile error naming the failed call, never a
    // rollout failure or a blocker.
    let mut seen_errors = BTreeMap::<String, String>::new();
    eventually(Duration::from_secs(600), "every app to be Ready", || {
        let statuses = statuses(&local);
        let mut bad = Vec::new();
        let mut ready = 0;
        for app in statuses.iter().flatten() {
            let name = app["name"].as_str().unwrap_or_default().to_owned();
            if let Some(degraded) = condition(app, "Degraded").filter(|c| c["status"] == "True") {
                let reason = degraded["reason"].as_str().unwrap_or_default();
                let message = degraded["message"].as_str().unwrap_or_default();
                if reason != "ReconcileError" {
                    bad.push(format!("{name}: {reason}: {message}"));
                }
                assert!(
                    message.contains(':') && !message.contains("DispatchFailure"),
                    "{name}'s error has no one-line cause: {message}"
                );
                seen_errors.insert(name.clone(), message.to_owned());
            }
            if condition(app, "Ready").is_some_and(|c| c["status"] == "True") {
                ready += 1;
            }
        }
        assert!(bad.is_empty(), "not a transient condition: {bad:?}");
        async move { (ready == APPS).then_some(()) }
    })
    .await;

    let requests = local.requests();
    let ours = ours(&requests);
    let faults = ours.iter().filter(|r| r.fault.is_some()).count();
    let throttled = ours.iter().filter(|r| r.throttled).count();
    let writes = ours.iter().filter(|r| r.is_write()).count();
    let metrics = local.metrics(0);
    let reconciles = metrics.sum("reconcile_total", &[]);
    let failed = metrics.sum("reconcile_errors_total", &[]);
    let retried = metrics.sum("aws_throttle_retries_total", &[]);
    // Every faulted or throttled request is sent again: the retry rate.
    println!(
        "faults e2e: {} requests by the controller, {faults} faulted and {throttled} throttled: \
         retry rate {:.1} %; {writes} writes; {reconciles:.0} reconciles for {APPS} apps, \
         {failed:.0} failed; {retried:.0} throttle retries; {} apps showed a transient error",
        ours.len(),
        100.0 * (faults + throttled) as f64 / ours.len().max(1) as f64,
        seen_errors.len()
    );
    assert!(faults > 0, "the faults were injected");

    // No reconcile loops hot: each app took a bounded number of
    // reconciles, and no write was sent over and over.
    assert!(
        reconciles <= (APPS * 30) as f64,
        "{reconciles} reconciles for {APPS} apps"
    );
    let mut per_target = BTreeMap::<(String, String), usize>::new();
    for r in ours.iter().filter(|r| r.is_write() && r.target.is_some()) {
        *per_target
            .entry((r.operation.clone(), r.target.clone().unwrap_or_default()))
            .or_default() += 1;
    }
    let hottest = per_target.iter().max_by_key(|(_, n)| **n);
    assert!(
        hottest.is_none_or(|(_, n)| *n <= 12),
        "a write was sent too often: {hottest:?}"
    );

    // Once converged, nothing shows an error any more.
    // Whatever the faults did to single calls, nothing exists twice.
    let apps: Vec<String> = (0..APPS).map(|i| format!("app{i:02}")).collect();
    let exposed: Vec<String> = apps.iter().step_by(2).cloned().collect();
    crate::crash::assert_no_duplicates(&local, &apps, &exposed).await;

    let statuses = statuses(&local).expect("statuses");
    for app in &statuses {
        assert!(
            condition(app, "Degraded").is_some_and(|c| c["status"] == "False"),
            "{app}"
        );
    }
}

/// A `ferry run` whose RunTask took effect but whose answer was lost, twice
/// (the emulator resets the connection after executing the first two
/// RunTask requests: seed 1 draws 0.18 and 0.32 under the rate 0.5, then
/// 0.98), is sent again with the same client token, so ECS starts the task
/// once and answers the retries with it
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html>).
#[tokio::test(flavor = "multi_thread")]
async fn a_run_whose_answer_was_lost_starts_exactly_one_task() {
    let mut local = LocalAws::start_with(&[
        ("FERRY_EMULATOR_FAULT_RESETS_AFTER", "ecs:RunTask=0.5"),
        ("FERRY_EMULATOR_FAULT_SEED", "1"),
    ])
    .expect("local AWS");
    let dir = local.dir().join("manifests");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("job.yaml"),
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: job\nspec:\n  image: acme/job:1\n  processes:\n    migrate:\n      command: [migrate]\n      scale: 0\n",
    )
    .expect("manifest");
    let dir_arg = dir.to_str().expect("utf-8 path").to_owned();
    local.start_leader(&[]).expect("controller");
    local.ferry_ok(&["apply", "-f", &dir_arg, "--wait", "--timeout", "60s"]);

    local.ferry_ok(&["run", "job", "--", "sleep", "600"]);

    let runs: Vec<_> = local
        .requests()
        .into_iter()
        .filter(|r| r.operation == "RunTask")
        .collect();
    let faults: Vec<Option<&str>> = runs.iter().map(|r| r.fault.as_deref()).collect();
    assert_eq!(
        faults,
        vec![Some("reset-after"), Some("reset-after"), None],
        "the first two answers are lost, the third arrives"
    );
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    let mut one_offs = Vec::new();
    for status in [
        aws_sdk_ecs::types::DesiredStatus::Running,
        aws_sdk_ecs::types::DesiredStatus::Stopped,
    ] {
        let listed = ecs
            .list_tasks()
            .cluster(&cluster)
            .family("ferry_job_migrate")
            .desired_status(status)
            .send()
            .await
            .expect("ListTasks");
        if listed.task_arns().is_empty() {
            continue;
        }
        let described = ecs
            .describe_tasks()
            .cluster(&cluster)
            .set_tasks(Some(listed.task_arns().to_vec()))
            .send()
            .await
            .expect("DescribeTasks");
        one_offs.extend(
            described
                .tasks()
                .iter()
                .filter(|t| t.started_by() == Some("ferry-run"))
                .filter_map(|t| t.task_arn().map(str::to_owned)),
        );
    }
    assert_eq!(
        one_offs.len(),
        1,
        "one task for three RunTask requests: {one_offs:?}"
    );
}
