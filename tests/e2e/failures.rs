//! Why a deploy failed (issue 22): each failure kind of the local AWS's
//! image conventions (deploy/local/README.md) shows its stop reason and
//! its task's last log lines in `ferry status -o json` and in
//! `ferry apply --wait`'s failure output, checked against what ECS
//! (DescribeTasks) and CloudWatch Logs (GetLogEvents) hold; a crash loop
//! and a progress deadline fail `--wait` fast; status fits an 80-column
//! terminal.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::support::{eventually, LocalAws};

fn manifest(app: &str, image: &str, extra: &str) -> String {
    format!(
        "apiVersion: ferry/v1
kind: App
metadata:
  name: {app}
spec:
  image: acme/{app}:{image}
  processes:
    worker:
      command: [{app}, work]
{extra}"
    )
}

fn write(local: &LocalAws, name: &str, text: &str) -> PathBuf {
    let file = local.dir().join(name);
    std::fs::write(&file, text).expect("write manifest");
    file
}

fn status(local: &LocalAws, app: &str) -> serde_json::Value {
    serde_json::from_str(&local.ferry_ok(&["status", app, "-o", "json"])).expect("status JSON")
}

fn condition<'a>(status: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind))
        .unwrap_or(&serde_json::Value::Null)
}

/// One failure kind: the app, its image tag, what else its process sets,
/// the Degraded reason it ends in, ECS's stop code and the start of the
/// reason status must show.
struct Kind {
    app: &'static str,
    image: &'static str,
    extra: &'static str,
    degraded: &'static str,
    stop_code: &'static str,
    reason: &'static str,
    exit_code: Option<i64>,
    /// The task ran, so it wrote log lines status must show.
    logs: bool,
}

const KINDS: [Kind; 5] = [
    Kind {
        app: "pull",
        image: "fail",
        extra: "",
        degraded: "RolloutFailed",
        stop_code: "TaskFailedToStart",
        reason: "CannotPullContainerError",
        exit_code: None,
        logs: false,
    },
    Kind {
        app: "nosecret",
        image: "nosecret",
        extra: "",
        degraded: "RolloutFailed",
        stop_code: "TaskFailedToStart",
        reason: "ResourceInitializationError",
        exit_code: None,
        logs: false,
    },
    Kind {
        app: "crash",
        image: "crash-3",
        extra: "",
        degraded: "TasksStopping",
        stop_code: "EssentialContainerExited",
        reason: "Essential container in task exited",
        exit_code: Some(3),
        logs: true,
    },
    Kind {
        app: "oom",
        image: "oom-after-1s",
        extra: "",
        degraded: "TasksStopping",
        stop_code: "EssentialContainerExited",
        reason: "OutOfMemoryError: Container killed due to memory usage",
        exit_code: Some(137),
        logs: true,
    },
    Kind {
        app: "sick",
        image: "unhealthy",
        extra: "      healthCheck:
        command: [/bin/check]
        interval: 5
        timeout: 2
        retries: 1
",
        degraded: "RolloutFailed",
        stop_code: "ServiceSchedulerInitiated",
        reason: "Task failed container health checks",
        exit_code: None,
        logs: true,
    },
];

/// Runs `ferry apply -f FILE --wait` for every kind at once, each in its
/// own process, and returns their outputs in the order of [`KINDS`].
fn apply_all_waiting(local: &LocalAws) -> Vec<Output> {
    let children: Vec<_> = KINDS
        .iter()
        .map(|kind| {
            let file = write(
                local,
                &format!("{}.yaml", kind.app),
                &manifest(kind.app, kind.image, kind.extra),
            );
            local
                .ferry_command(&[
                    "apply",
                    "-f",
                    file.to_str().expect("utf-8 path"),
                    "--wait",
                    "--timeout",
                    "5m",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn ferry apply")
        })
        .collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().expect("ferry apply"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_failure_says_why_in_status_and_in_apply_wait_as_ecs_and_its_logs_do() {
    let mut local = LocalAws::start().expect("local AWS");
    local.start_leader(&[]).expect("controller");
    let outputs = apply_all_waiting(&local);
    let ecs = local.ecs().await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&local.sdk_config().await);
    let group = local
        .env
        .get("FERRY_LOG_GROUP")
        .cloned()
        .expect("the local log group");
    for (kind, out) in KINDS.iter().zip(&outputs) {
        let app = kind.app;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{app}: --wait fails: {stderr}");
        assert!(stderr.contains(kind.degraded), "{app}: the cause: {stderr}");

        let status = status(&local, app);
        let degraded = condition(&status, "Degraded");
        assert_eq!(
            (degraded["status"].as_str(), degraded["reason"].as_str()),
            (Some("True"), Some(kind.degraded)),
            "{app}: {status}"
        );
        let message = degraded["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains('\n') && !message.contains(" | "),
            "{app}: one sentence, no events inside: {message}"
        );
        let last = &status["processes"]["worker"]["lastFailure"];
        let task = last["task"].as_str().unwrap_or_else(|| {
            panic!("{app}: lastFailure names its task: {status}");
        });
        assert_eq!(last["stopCode"], kind.stop_code, "{app}: {last}");
        assert!(
            last["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with(kind.reason)),
            "{app}: {last}"
        );
        match kind.exit_code {
            Some(code) => assert_eq!(last["exitCode"].as_i64(), Some(code), "{app}: {last}"),
            None if !kind.logs => assert!(last["exitCode"].is_null(), "{app}: {last}"),
            None => {}
        }

        // What ECS holds for that task.
        let described = ecs
            .describe_tasks()
            .cluster(local.cluster())
            .tasks(task)
            .send()
            .await
            .expect("DescribeTasks");
        let ecs_task = described.tasks().first().expect("ECS knows the task");
        assert_eq!(
            ecs_task.stop_code().map(|c| c.as_str()),
            Some(kind.stop_code)
        );
        let container = ecs_task
            .containers()
            .iter()
            .find(|c| c.name() == Some("worker"))
            .expect("the process's container");
        let ecs_reason = container
            .reason()
            .or(ecs_task.stopped_reason())
            .unwrap_or_default();
        assert_eq!(last["reason"], ecs_reason, "{app}: ECS's words, exactly");
        assert_eq!(
            last["exitCode"].as_i64(),
            container.exit_code().map(i64::from),
            "{app}"
        );

        // What CloudWatch Logs holds for it: the stream's last lines.
        let tail: Vec<String> = last["logTail"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|l| l.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if kind.logs {
            let stream = format!("{app}/worker/{task}");
            let events = logs
                .get_log_events()
                .log_group_name(&group)
                .log_stream_name(&stream)
                .start_from_head(false)
                .limit(5)
                .send()
                .await
                .expect("GetLogEvents");
            let held: Vec<String> = events
                .events()
                .iter()
                .filter_map(|e| e.message().map(str::to_owned))
                .collect();
            assert!(!held.is_empty(), "{app}: the task wrote lines");
            assert_eq!(tail, held, "{app}: the stream's last lines");
            let summary_line = tail.last().expect("a last line");
            assert!(
                stderr.contains(summary_line.as_str()),
                "{app}: apply --wait shows the last log line: {stderr}"
            );
        } else {
            assert!(tail.is_empty(), "{app}: no container ran: {last}");
        }
        // The failed task it names may be an older one than status names
        // now: the wait ends at the first failure it can explain.
        let said = match kind.exit_code {
            Some(code) => format!("exited with code {code}"),
            None => kind.reason.to_owned(),
        };
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("worker: task ") && l.contains(&said)),
            "{app}: apply --wait names a failed task and {said:?}: {stderr}"
        );
    }

    // A crash loop is Ferry's to judge: ECS's circuit breaker never failed
    // the crashing deployment, and Ferry did not wait for it to.
    let crash = status(&local, "crash");
    let crashed = crash["processes"]["worker"]["crashedTasks"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        (3..=4).contains(&crashed),
        "reported at the 3rd stop: {crash}"
    );
    let services = ecs
        .describe_services()
        .cluster(local.cluster())
        .services("crash_worker")
        .send()
        .await
        .expect("DescribeServices");
    let deployment = services
        .services()
        .first()
        .and_then(|s| s.deployments().first())
        .expect("a deployment");
    assert_ne!(
        deployment.rollout_state().map(|s| s.as_str()),
        Some("FAILED"),
        "ECS never judged the crash loop"
    );

    // The release says why.
    let releases = local.ferry_ok(&["releases", "crash", "-o", "json"]);
    assert!(
        releases.contains("failed") && releases.contains("crash loop"),
        "the release's outcome has the cause: {releases}"
    );

    // The reads stay in budget: one log read per failed task that ran,
    // never a second for the same stream, and no more DescribeTasks than
    // sweeps of ListTasks (⌈T/100⌉ with T below 100 here).
    let requests: Vec<_> = local
        .requests()
        .into_iter()
        .filter(|r| r.from_controller())
        .collect();
    let count = |service: &str, op: &str| {
        requests
            .iter()
            .filter(|r| r.service == service && r.operation == op)
            .count()
    };
    let log_reads = count("logs", "GetLogEvents");
    assert!(log_reads >= 3, "the tails were read: {log_reads}");
    let sweeps = count("ecs", "ListTasks");
    let describes = count("ecs", "DescribeTasks");
    assert!(
        describes <= sweeps,
        "DescribeTasks batched per sweep: {describes} describes, {sweeps} sweeps"
    );
    let stopped_tasks: usize = {
        let listed = ecs
            .list_tasks()
            .cluster(local.cluster())
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
            .max_results(100)
            .send()
            .await
            .expect("ListTasks");
        listed.task_arns().len()
    };
    assert!(
        log_reads <= stopped_tasks,
        "at most one log read per stopped task: {log_reads} reads, {stopped_tasks} stopped"
    );

    // `-o yaml` is the same document as `-o json`.
    let yaml = local.ferry_ok(&["status", "crash", "-o", "yaml"]);
    assert!(yaml.contains("lastFailure:"), "{yaml}");
    assert!(
        !yaml.trim_start().starts_with('{'),
        "YAML, not JSON: {yaml}"
    );

    // Status in an 80-column terminal: every line fits; piped, the whole
    // message is there on one line.
    let tty = in_terminal(local.ferry_command(&["status", "crash"]), 80, &[]);
    for line in tty.lines() {
        let width = visible_width(line);
        assert!(width <= 80, "{width} columns: {line:?}\n{tty}");
    }
    assert!(tty.contains("\u{1b}["), "colour on a terminal: {tty:?}");
    let plain = in_terminal(
        local.ferry_command(&["status", "crash"]),
        80,
        &[("NO_COLOR", "1")],
    );
    assert!(!plain.contains("\u{1b}["), "NO_COLOR: no colour: {plain:?}");
    let piped = local.ferry_ok(&["status", "crash"]);
    assert!(!piped.contains("\u{1b}["), "no colour in a pipe");
    let sentence = condition(&crash, "Degraded")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        sentence.len() > 80 && piped.lines().any(|l| l.contains(&sentence)),
        "piped output keeps the whole message on one line: {sentence}\n{piped}"
    );
    assert!(piped.contains("Why"), "a Why section: {piped}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_without_progress_fails_at_its_deadline_and_rollback_waits() {
    let mut local = LocalAws::start().expect("local AWS");
    local.start_leader(&[]).expect("controller");
    let deadline = "      progressDeadline: 15s\n";
    let file = write(&local, "slow.yaml", &manifest("slow", "1", deadline));
    let file = file.to_str().expect("utf-8 path").to_owned();
    local.ferry_ok(&["apply", "-f", &file, "--wait", "--timeout", "2m"]);

    std::fs::write(&file, manifest("slow", "stuck", deadline)).expect("write");
    let started = std::time::Instant::now();
    let out = local.ferry(&["apply", "-f", &file, "--wait", "--timeout", "4m"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "no progress fails --wait: {stderr}");
    assert!(stderr.contains("ProgressDeadlineExceeded"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "fails at the deadline, not at --timeout"
    );
    let failed = status(&local, "slow");
    assert_eq!(
        condition(&failed, "Degraded")["reason"],
        "ProgressDeadlineExceeded",
        "{failed}"
    );
    // Ferry reported; it did not roll back by itself: the stuck deployment
    // is still ECS's PRIMARY.
    let ecs = local.ecs().await;
    let primary = |services: aws_sdk_ecs::operation::describe_services::DescribeServicesOutput| {
        services
            .services()
            .first()
            .and_then(|s| {
                s.deployments()
                    .iter()
                    .find(|d| d.status() == Some("PRIMARY"))
            })
            .and_then(|d| d.task_definition().map(str::to_owned))
            .unwrap_or_default()
    };
    let describe = || {
        ecs.describe_services()
            .cluster(local.cluster())
            .services("slow_worker")
            .send()
    };
    let stuck = primary(describe().await.expect("DescribeServices"));
    assert!(
        stuck.ends_with(":2"),
        "still rolling out revision 2: {stuck}"
    );

    // `ferry rollback --wait` is the one command away.
    local.ferry_ok(&["rollback", "slow", "--wait", "--timeout", "3m"]);
    let back = status(&local, "slow");
    assert_eq!(condition(&back, "Ready")["status"], "True", "{back}");
    eventually(
        Duration::from_secs(30),
        "the first revision is PRIMARY again",
        || async {
            let td = primary(describe().await.ok()?);
            (!td.ends_with(":2")).then_some(())
        },
    )
    .await;
}

/// Runs `command` with its stdout and stderr on a new pseudo-terminal of
/// `cols` columns (its controlling terminal, so that whatever it asks,
/// /dev/tty or stdout, says that width), and returns what it wrote.
fn in_terminal(mut command: Command, cols: u16, env: &[(&str, &str)]) -> String {
    let size = libc::winsize {
        ws_row: 50,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors it opened into the locals;
    // no name buffer, default termios.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(opened, 0, "openpty");
    // SAFETY: both descriptors were just opened and are owned here alone.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let slave_fd = slave.as_raw_fd();
    command
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave.try_clone().expect("dup")))
        .stderr(Stdio::from(slave.try_clone().expect("dup")));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("spawn in a terminal");
    drop(command);
    drop(slave);
    let mut out = Vec::new();
    let mut reader = std::fs::File::from(master);
    // Reading ends with EIO once the child closed its side.
    let _ = reader.read_to_end(&mut out);
    let status = child.wait().expect("wait");
    let text = String::from_utf8_lossy(&out).replace("\r\n", "\n");
    assert!(status.success(), "{text}");
    text
}

/// Columns a terminal line takes: characters outside ANSI escape
/// sequences.
fn visible_width(line: &str) -> usize {
    let mut width = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte (0x40..=0x7e).
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) && c != '[' {
                    break;
                }
            }
        } else if c != '\r' {
            width += 1;
        }
    }
    width
}
