//! What real apps need from their tasks (issue 21), checked through the
//! SDK against what the local AWS holds, independently of Ferry's output:
//! the app's own role on every task definition and so on one-off and
//! scheduled runs, sidecars, platform, ephemeral storage, a worker's
//! container health check, Spot capacity, ECS Exec handed to the
//! `session-manager-plugin` as the AWS CLI does, and `ferry scale`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_ecs::types::{DesiredStatus, Task, TaskDefinition};

use crate::ecs::{active_service, task_definition};
use crate::support::{eventually, LocalAws};

const TIMEOUT: Duration = Duration::from_secs(90);
const ROLE: &str = "arn:aws:iam::123456789012:role/ferry-apps/shop";
const EXECUTION_ROLE: &str = "arn:aws:iam::123456789012:role/ferry-apps/shop-exec";

/// `shop`: a web process with one sidecar on ARM with more disk, a worker
/// on Spot with a container health check and every sidecar, a scheduled
/// process on Spot.
fn manifest(worker_capacity: &str) -> String {
    format!(
        "apiVersion: ferry/v1
kind: App
metadata:
  name: shop
spec:
  image: shop:1
  role: {ROLE}
  executionRole: {EXECUTION_ROLE}
  exec: true
  platform: arm64
  sidecars:
    log-router:
      image: public.ecr.aws/aws-observability/aws-for-fluent-bit:stable
      essential: true
      memory: 64
      env: {{FLB_LOG_LEVEL: info}}
    agent:
      image: datadog/agent:7
      cpu: 64
      memory: 128
      dependsOn: {{app: START, log-router: START}}
  processes:
    web:
      command: [shop, serve]
      port: 8080
      ephemeralStorage: 50
      sidecars: [log-router]
    worker:
      command: [shop, work]
      platform: x86_64
{worker_capacity}      healthCheck:
        command: test -f /tmp/healthy
        interval: 10
        retries: 2
        startPeriod: 5
    nightly:
      command: [shop, report]
      schedule: rate(1 minute)
      capacity: spot
"
    )
}

fn write(local: &LocalAws, name: &str, text: &str) -> PathBuf {
    let dir = local.dir().join("manifests");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join(name);
    std::fs::write(&file, text).expect("write manifest");
    file
}

fn path(file: &Path) -> &str {
    file.to_str().expect("utf-8 path")
}

async fn service_definition(local: &LocalAws, service: &str) -> TaskDefinition {
    let ecs = local.ecs().await;
    let arn = eventually(TIMEOUT, "the service to be described", || async {
        active_service(&ecs, local.cluster(), service)
            .await
            .and_then(|s| s.task_definition().map(str::to_owned))
    })
    .await;
    task_definition(&ecs, &arn).await.0
}

/// The tasks of `started_by` (or of the service, when it starts with
/// `service:`), running or stopped.
async fn tasks(local: &LocalAws, filter: &str) -> Vec<Task> {
    let ecs = local.ecs().await;
    let mut arns = Vec::new();
    for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
        let list = ecs
            .list_tasks()
            .cluster(local.cluster())
            .desired_status(status);
        let list = match filter.strip_prefix("service:") {
            Some(service) => list.service_name(service),
            None => list.started_by(filter),
        };
        if let Ok(out) = list.send().await {
            arns.extend(out.task_arns().iter().cloned());
        }
    }
    if arns.is_empty() {
        return Vec::new();
    }
    ecs.describe_tasks()
        .cluster(local.cluster())
        .set_tasks(Some(arns))
        .send()
        .await
        .map(|out| out.tasks().to_vec())
        .unwrap_or_default()
}

fn container<'a>(
    definition: &'a TaskDefinition,
    name: &str,
) -> &'a aws_sdk_ecs::types::ContainerDefinition {
    definition
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(name))
        .unwrap_or_else(|| panic!("container {name} in {definition:?}"))
}

fn names(definition: &TaskDefinition) -> Vec<&str> {
    let mut names: Vec<&str> = definition
        .container_definitions()
        .iter()
        .filter_map(|c| c.name())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apps_tasks_carry_its_role_sidecars_platform_storage_health_check_and_capacity() {
    let mut local = LocalAws::start_with(&[
        ("FERRY_EMULATOR_SCHEDULE_TIME_SCALE", "0.1"),
        ("FERRY_EMULATOR_TASK_RUN_SECONDS", "4"),
    ])
    .expect("local AWS");
    local.start_leader(&[]).expect("controller");
    let file = write(&local, "shop.yaml", &manifest("      capacity: spot\n"));
    local.ferry_ok(&["apply", "-f", path(&file), "--wait", "--timeout", "3m"]);
    let ecs = local.ecs().await;

    // web: the app's roles, ARM, 50 GiB, its one sidecar.
    let web = service_definition(&local, "shop_web").await;
    assert_eq!(web.task_role_arn(), Some(ROLE));
    assert_eq!(web.execution_role_arn(), Some(EXECUTION_ROLE));
    let platform = web.runtime_platform().expect("runtimePlatform");
    assert_eq!(
        platform.cpu_architecture().map(|a| a.as_str()),
        Some("ARM64")
    );
    assert_eq!(
        platform.operating_system_family().map(|f| f.as_str()),
        Some("LINUX")
    );
    assert_eq!(web.ephemeral_storage().map(|s| s.size_in_gib()), Some(50));
    assert_eq!(names(&web), ["log-router", "web"]);
    let router = container(&web, "log-router");
    assert_eq!(router.essential(), Some(true));
    assert_eq!(router.memory(), Some(64));
    assert!(router.port_mappings().is_empty(), "a sidecar takes no port");
    assert!(router
        .environment()
        .iter()
        .any(|kv| kv.name() == Some("FLB_LOG_LEVEL") && kv.value() == Some("info")));
    assert_eq!(container(&web, "web").essential(), Some(true));

    // worker: x86_64 over the app's arm64, every sidecar, the agent waits
    // for the app's container, a container health check in ECS's form.
    let worker = service_definition(&local, "shop_worker").await;
    assert_eq!(worker.task_role_arn(), Some(ROLE));
    assert_eq!(
        worker
            .runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map(|a| a.as_str()),
        Some("X86_64")
    );
    assert_eq!(worker.ephemeral_storage(), None);
    assert_eq!(names(&worker), ["agent", "log-router", "worker"]);
    let agent = container(&worker, "agent");
    assert_eq!(agent.essential(), Some(false));
    assert_eq!((agent.cpu(), agent.memory()), (64, Some(128)));
    let mut depends: Vec<(String, String)> = agent
        .depends_on()
        .iter()
        .map(|d| {
            (
                d.container_name().to_owned(),
                d.condition().as_str().to_owned(),
            )
        })
        .collect();
    depends.sort();
    assert_eq!(
        depends,
        [
            ("log-router".to_owned(), "START".to_owned()),
            ("worker".to_owned(), "START".to_owned()),
        ]
    );
    let check = container(&worker, "worker")
        .health_check()
        .expect("the worker's container health check");
    assert_eq!(check.command(), ["CMD-SHELL", "test -f /tmp/healthy"]);
    assert_eq!(
        (check.interval(), check.retries(), check.start_period()),
        (Some(10), Some(2), Some(5))
    );

    // Services: ECS Exec on; the worker on Spot, web on the launch type.
    let web_service = active_service(&ecs, local.cluster(), "shop_web")
        .await
        .expect("web service");
    assert!(web_service.enable_execute_command());
    assert!(web_service.capacity_provider_strategy().is_empty());
    let worker_service = active_service(&ecs, local.cluster(), "shop_worker")
        .await
        .expect("worker service");
    assert!(worker_service.enable_execute_command());
    let strategy: Vec<(&str, i32, i32)> = worker_service
        .capacity_provider_strategy()
        .iter()
        .map(|s| (s.capacity_provider(), s.base(), s.weight()))
        .collect();
    assert_eq!(strategy, [("FARGATE_SPOT", 0, 1)]);
    let running = eventually(TIMEOUT, "the worker's task on Spot", || async {
        tasks(&local, "service:shop_worker")
            .await
            .into_iter()
            .find(|t| t.last_status() == Some("RUNNING"))
    })
    .await;
    assert_eq!(running.capacity_provider_name(), Some("FARGATE_SPOT"));
    assert!(running.enable_execute_command());

    // A one-off run: the worker's task definition, so the app's role; on
    // Spot, with ECS Exec.
    let arn = local.ferry_ok(&[
        "run", "shop", "-p", "worker", "--detach", "--", "sleep", "60",
    ]);
    let arn = arn.trim();
    let run = eventually(TIMEOUT, "the one-off task to be described", || async {
        ecs.describe_tasks()
            .cluster(local.cluster())
            .tasks(arn)
            .send()
            .await
            .ok()?
            .tasks()
            .first()
            .cloned()
    })
    .await;
    let run_definition =
        task_definition(&ecs, run.task_definition_arn().expect("task definition")).await;
    assert_eq!(run_definition.0.task_role_arn(), Some(ROLE));
    assert_eq!(run.capacity_provider_name(), Some("FARGATE_SPOT"));
    assert!(run.enable_execute_command());

    // A scheduled run: the app's role, on Spot.
    let scheduled = eventually(TIMEOUT, "a scheduled run", || async {
        tasks(&local, "chronos-schedule/shop_nightly")
            .await
            .into_iter()
            .next()
    })
    .await;
    let scheduled_definition = task_definition(
        &ecs,
        scheduled.task_definition_arn().expect("task definition"),
    )
    .await;
    assert_eq!(scheduled_definition.0.task_role_arn(), Some(ROLE));
    assert_eq!(scheduled.capacity_provider_name(), Some("FARGATE_SPOT"));

    // Spot to on-demand is a new deployment: the service's strategy
    // changes, and its new tasks run on FARGATE.
    let deployments_before = worker_service.deployments().len();
    let primary_before = worker_service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.id().map(str::to_owned));
    std::fs::write(&file, manifest("      capacity: on-demand\n")).expect("write");
    local.ferry_ok(&["apply", "-f", path(&file), "--wait", "--timeout", "3m"]);
    let changed = active_service(&ecs, local.cluster(), "shop_worker")
        .await
        .expect("worker service");
    let strategy: Vec<(&str, i32, i32)> = changed
        .capacity_provider_strategy()
        .iter()
        .map(|s| (s.capacity_provider(), s.base(), s.weight()))
        .collect();
    assert_eq!(strategy, [("FARGATE", 0, 1)]);
    let primary_after = changed
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.id().map(str::to_owned));
    assert_ne!(
        primary_before, primary_after,
        "a capacity change is a new deployment ({deployments_before} before)"
    );
    eventually(TIMEOUT, "the worker's tasks on FARGATE", || async {
        let running: Vec<Task> = tasks(&local, "service:shop_worker")
            .await
            .into_iter()
            .filter(|t| t.last_status() == Some("RUNNING"))
            .collect();
        (!running.is_empty()
            && running
                .iter()
                .all(|t| t.capacity_provider_name() == Some("FARGATE")))
        .then_some(())
    })
    .await;

    // Converged: another resync changes nothing (no flapping on capacity,
    // exec or the sidecars' defaults). RunTask is the schedule's.
    let changes = |local: &LocalAws| -> Vec<String> {
        local
            .requests()
            .iter()
            .filter(|r| r.from_controller() && r.is_write() && r.service == "ecs")
            .filter(|r| r.operation != "RunTask")
            .map(|r| r.operation.clone())
            .collect()
    };
    let before = changes(&local);
    tokio::time::sleep(Duration::from_secs(12)).await;
    let after = changes(&local);
    assert_eq!(
        after[before.len()..],
        [] as [String; 0],
        "a converged app gets no ECS changes"
    );
}

/// A stand-in `session-manager-plugin` that records its arguments (one
/// per line) and environment, in a directory put first on PATH.
fn stand_in_plugin(local: &LocalAws) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let bin = local.dir().join("plugin-bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let record = local.dir().join("plugin-call");
    let script = bin.join("session-manager-plugin");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             # The AWS CLI asks the version first: a version that takes the\n\
             # session from the environment.\n\
             [ \"$1\" = --version ] && echo 1.2.650.0 && exit 0\n\
             for a in \"$@\"; do printf '%s\\n' \"$a\"; done > {r}.args\n\
             env > {r}.env\n\
             exit 7\n",
            r = record.display()
        ),
    )
    .expect("write plugin");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (bin, record)
}

fn with_path(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn ferry_exec_hands_the_session_to_the_plugin_as_the_aws_cli_does() {
    let mut local = LocalAws::start().expect("local AWS");
    local.start_leader(&[]).expect("controller");
    let shop = write(
        &local,
        "shop.yaml",
        "apiVersion: ferry/v1
kind: App
metadata:
  name: shop
spec:
  image: shop:1
  exec: true
  processes:
    web:
      command: [shop, serve]
",
    );
    let closed = write(
        &local,
        "closed.yaml",
        "apiVersion: ferry/v1
kind: App
metadata:
  name: closed
spec:
  image: closed:1
  processes:
    web:
      command: [closed, serve]
",
    );
    local.ferry_ok(&["apply", "-f", path(&shop), "-f", path(&closed), "--wait"]);
    let (bin, record) = stand_in_plugin(&local);

    // No plugin on PATH: one line that says how to install it, and no
    // session is opened.
    let out = local
        .ferry_command(&["exec", "shop"])
        .env("PATH", "/nonexistent")
        .output()
        .expect("ferry exec");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("session-manager-plugin") && stderr.contains("install"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // An app without `exec: true`: says what to change.
    let out = local
        .ferry_command(&["exec", "closed"])
        .env("PATH", with_path(&bin))
        .output()
        .expect("ferry exec");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exec: true"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let opened = |local: &LocalAws| {
        local
            .requests()
            .iter()
            .filter(|r| r.operation == "ExecuteCommand")
            .count()
    };
    assert_eq!(opened(&local), 0, "no session without a plugin or exec");

    // The hand-off: ExecuteCommand, then the plugin with the session.
    let out = local
        .ferry_command(&["exec", "shop", "-p", "web", "--", "ls", "-la", "a b"])
        .env("PATH", with_path(&bin))
        .output()
        .expect("ferry exec");
    assert_eq!(
        out.status.code(),
        Some(7),
        "ferry exec exits with the plugin's status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(opened(&local), 1);
    let args: Vec<String> = std::fs::read_to_string(record.with_extension("args"))
        .expect("the plugin was called")
        .lines()
        .map(str::to_owned)
        .collect();
    let environment = std::fs::read_to_string(record.with_extension("env")).expect("env");
    // The AWS CLI's contract (awscli/customizations/ecs/executecommand.py):
    // the session, region, "StartSession", profile,
    // {"Target": "ecs:<cluster>_<task>_<runtime id>"}, the endpoint URL.
    assert_eq!(args.len(), 6, "{args:?}");
    // A plugin newer than 1.2.497.0 takes the session from the environment
    // (awscli/customizations/sessionmanager.py), never from argv.
    assert_eq!(args[0], "AWS_SSM_START_SESSION_RESPONSE");
    let session_text = environment
        .lines()
        .find_map(|l| l.strip_prefix("AWS_SSM_START_SESSION_RESPONSE="))
        .expect("the session in the environment")
        .to_owned();
    let session: serde_json::Value = serde_json::from_str(&session_text).expect("session JSON");
    for field in ["sessionId", "streamUrl", "tokenValue"] {
        assert!(
            session[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field} in {session}"
        );
    }
    assert_eq!(args[1], "us-east-1");
    assert_eq!(args[2], "StartSession");
    assert_eq!(args[3], "", "no profile: an empty argument");
    let parameters: serde_json::Value = serde_json::from_str(&args[4]).expect("parameters JSON");
    let target = parameters["Target"].as_str().expect("Target");
    // The target names a running task of shop's web, by its container's
    // runtime id, as DescribeTasks gives them.
    let running = tasks(&local, "service:shop_web").await;
    let expected: Vec<String> = running
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .filter_map(|t| {
            let id = t.task_arn()?.rsplit('/').next()?;
            let runtime = t
                .containers()
                .iter()
                .find(|c| c.name() == Some("web"))?
                .runtime_id()?;
            Some(format!("ecs:{}_{id}_{runtime}", local.cluster()))
        })
        .collect();
    assert!(
        expected.iter().any(|e| e == target),
        "{target} not in {expected:?}"
    );
    assert_eq!(args[5], local.env["AWS_ENDPOINT_URL"]);
    assert!(
        !args
            .iter()
            .any(|a| a.contains(session["tokenValue"].as_str().unwrap_or("-"))),
        "the token is not on the command line, where `ps` would show it"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let token = session["tokenValue"].as_str().unwrap_or("-");
    assert!(
        !stdout.contains(token) && !stderr.contains(token),
        "ferry never prints the session token"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ferry_scale_is_a_release_the_controller_converges() {
    let mut local = LocalAws::start().expect("local AWS");
    local.start_leader(&[]).expect("controller");
    let file = write(
        &local,
        "shop.yaml",
        "apiVersion: ferry/v1
kind: App
metadata:
  name: shop
spec:
  image: shop:1
  processes:
    web:
      command: [shop, serve]
      scale: 1
    worker:
      command: [shop, work]
      scale: 1
    busy:
      command: [shop, busy]
      autoscaling: {min: 1, max: 4, cpu: 60}
",
    );
    local.ferry_ok(&["apply", "-f", path(&file), "--wait"]);
    let releases_before = local.ferry_ok(&["releases", "shop", "-o", "json"]);
    let count = |text: &str| {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(0)
    };

    // Refusals write nothing.
    for (args, says) in [
        (vec!["scale", "shop", "busy=3"], "autoscaling"),
        (vec!["scale", "shop", "nope=3"], "web"),
        (vec!["scale", "shop", "web=lots"], "web=lots"),
        (vec!["scale", "shop", "web=1001"], "1000"),
    ] {
        let out = local.ferry(&args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(
        count(&local.ferry_ok(&["releases", "shop", "-o", "json"])),
        count(&releases_before)
    );

    local.ferry_ok(&[
        "scale", "shop", "web=3", "worker=0", "-m", "busy day", "--wait",
    ]);
    let ecs = local.ecs().await;
    let counts: BTreeMap<&str, i32> = [("shop_web", 3), ("shop_worker", 0)].into();
    for (service, want) in counts {
        let got = active_service(&ecs, local.cluster(), service)
            .await
            .expect("service")
            .desired_count();
        assert_eq!(got, want, "{service}");
    }
    let releases: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["releases", "shop", "-o", "json"])).expect("json");
    let releases = releases.as_array().expect("releases");
    assert_eq!(releases.len(), count(&releases_before) + 1);
    assert!(
        releases.iter().any(|r| r.to_string().contains("busy day")),
        "{releases:?}"
    );

    // git and the store now differ, and diff says where.
    let diff = local.ferry(&["diff", "-f", path(&file)]);
    let text = String::from_utf8_lossy(&diff.stdout);
    // Each count the store has and the file does not, with both numbers.
    for line in [
        "web: 3 stored (set by ferry scale), 1 in",
        "worker: 0 stored (set by ferry scale), 1 in",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_failing_its_container_health_check_fails_its_rollout() {
    let mut local = LocalAws::start().expect("local AWS");
    local.start_leader(&[]).expect("controller");
    let worker = |image: &str| {
        format!(
            "apiVersion: ferry/v1
kind: App
metadata:
  name: jobs
spec:
  image: {image}
  processes:
    worker:
      command: [jobs, work]
      healthCheck:
        command: [/bin/check, --ready]
        interval: 5
        timeout: 2
        retries: 1
"
        )
    };
    let file = write(&local, "jobs.yaml", &worker("jobs:1"));
    local.ferry_ok(&["apply", "-f", path(&file), "--wait"]);
    std::fs::write(&file, worker("jobs:unhealthy-2")).expect("write");
    let out = local.ferry(&["apply", "-f", path(&file), "--wait", "--timeout", "4m"]);
    assert!(
        !out.status.success(),
        "a rollout whose tasks fail their container health check fails: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RolloutFailed"), "{stderr}");
    let status = local.ferry_ok(&["status", "jobs", "-o", "json"]);
    let status: serde_json::Value = serde_json::from_str(&status).expect("json");
    assert_eq!(
        status["processes"]["worker"]["rollout"], "FAILED",
        "{status}"
    );
    // ECS held the container's check in its own form.
    let definition = service_definition(&local, "jobs_worker").await;
    let check = container(&definition, "worker")
        .health_check()
        .expect("health check");
    assert_eq!(check.command(), ["CMD", "/bin/check", "--ready"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_outside_the_app_role_path_is_refused_at_apply() {
    let local = LocalAws::start().expect("local AWS");
    let file = write(
        &local,
        "shop.yaml",
        "apiVersion: ferry/v1
kind: App
metadata:
  name: shop
spec:
  image: shop:1
  role: arn:aws:iam::123456789012:role/admin
  processes:
    web:
      command: [shop, serve]
",
    );
    let out = local.ferry(&["apply", "-f", path(&file)]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("shop.yaml:7")
            && stderr.contains("spec.role")
            && stderr.contains("/ferry-apps/"),
        "located, naming the path: {stderr}"
    );
    let get = local.ferry_ok(&["get", "-o", "json"]);
    assert_eq!(get.trim(), "[]", "nothing was written");
}
