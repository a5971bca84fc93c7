//! `ferry logs`, an attached `ferry run` and `ferry stop`, against the
//! local AWS, whose emulated tasks write their lines to the awslogs stream
//! `APP/PROCESS/TASK_ID` of the controller's log group
//! (deploy/local/ferry_emulation/tasklogs.py).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{eventually, LocalAws};

const MANIFEST: &str = "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: shop\nspec:\n  image: acme/shop:1\n  processes:\n    web:\n      command: shop serve\n      scale: 2\n    worker:\n      command: shop work\n      scale: 1\n";

/// Events per FilterLogEvents page in these tests' emulator, so that a
/// handful of lines takes several pages.
const PAGE: usize = 2;

fn converged(emulator_env: &[(&str, &str)]) -> LocalAws {
    let mut local = LocalAws::start_with(emulator_env).expect("local AWS");
    let file = local.dir().join("shop.yaml");
    std::fs::write(&file, MANIFEST).expect("manifest");
    local.start_leader(&[]).expect("controller");
    local.ferry_ok(&[
        "apply",
        "-f",
        file.to_str().expect("utf-8"),
        "--wait",
        "--timeout",
        "120s",
    ]);
    local
}

/// The ids of the app's tasks of `process`, from `ferry ps -o json`.
fn task_ids(local: &LocalAws, process: &str, one_off: bool) -> Vec<String> {
    let tasks: Vec<serde_json::Value> =
        serde_json::from_str(&local.ferry_ok(&["ps", "shop", "-o", "json"])).expect("ps json");
    tasks
        .iter()
        .filter(|t| t["process"] == process && t["oneOff"] == one_off)
        .filter_map(|t| t["task"].as_str())
        .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_owned())
        .collect()
}

fn logs_calls(local: &LocalAws) -> Vec<String> {
    local
        .requests()
        .into_iter()
        .filter(|r| r.service == "logs")
        .map(|r| r.operation)
        .collect()
}

/// Reads a child's stdout line by line on a thread of its own.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn wait_for_line(rx: &mpsc::Receiver<String>, timeout: Duration, what: &dyn Fn(&str) -> bool) {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if what(&line) => return,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("no such line within {timeout:?}; saw {seen:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_show_every_task_in_time_order_and_follow_new_lines() {
    let page = PAGE.to_string();
    let local = converged(&[("FERRY_EMULATOR_LOGS_PAGE_EVENTS", &page)]);
    let web = task_ids(&local, "web", false);
    let worker = task_ids(&local, "worker", false);
    assert_eq!((web.len(), worker.len()), (2, 1), "{web:?} {worker:?}");

    // Every task's start line, prefixed by process and short task id.
    let out = eventually(Duration::from_secs(30), "three start lines", || async {
        let out = local.ferry_ok(&["logs", "shop"]);
        (out.lines()
            .filter(|l| l.contains(": starting acme/shop:1"))
            .count()
            == 3)
            .then_some(out)
    })
    .await;
    let lines: Vec<&str> = out.lines().collect();
    for id in web.iter().chain(&worker) {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("[{}]: ", &id[..8]))),
            "{id} in {out}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            " web[{}]: starting acme/shop:1 shop serve",
            &web[0][..8]
        ))),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            " worker[{}]: starting acme/shop:1 shop work",
            &worker[0][..8]
        ))),
        "{out}"
    );
    let times: Vec<&str> = lines.iter().filter_map(|l| l.split(' ').next()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "ordered by time: {out}");

    // One paginated sweep per command: pages of PAGE events, never a call
    // per stream (three streams here, three lines).
    let before = logs_calls(&local).len();
    let again = local.ferry_ok(&["logs", "shop"]);
    let calls: Vec<String> = logs_calls(&local).split_off(before);
    assert_eq!(again.lines().count(), 3, "{again}");
    assert!(calls.iter().all(|op| op == "FilterLogEvents"), "{calls:?}");
    assert_eq!(calls.len(), 3_usize.div_ceil(PAGE), "paginated: {calls:?}");

    // -p, --task, -o json, --since.
    let worker_only = local.ferry_ok(&["logs", "shop", "-p", "worker"]);
    assert_eq!(worker_only.lines().count(), 1, "{worker_only}");
    assert!(worker_only.contains(" worker["), "{worker_only}");
    let one = local.ferry_ok(&["logs", "shop", "--task", &web[1][..8]]);
    assert_eq!(one.lines().count(), 1, "{one}");
    assert!(one.contains(&format!("web[{}]", &web[1][..8])), "{one}");
    let json = local.ferry_ok(&["logs", "shop", "-p", "web", "-o", "json"]);
    let objects: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(objects.len(), 2, "{json}");
    for object in &objects {
        assert_eq!(object["process"], "web");
        assert!(
            web.iter().any(|id| object["task"] == id.as_str()),
            "{object}"
        );
        assert_eq!(object["message"], "starting acme/shop:1 shop serve");
        assert!(object["stream"]
            .as_str()
            .is_some_and(|s| s.starts_with("shop/web/")));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let recent = local.ferry_ok(&["logs", "shop", "--since", "1s"]);
    assert_eq!(recent, "", "the start lines are older than a second");
    let unknown = local.ferry(&["logs", "shop", "-p", "nope"]);
    assert!(!unknown.status.success());

    // An attached run prints its task's output and exits with its code.
    let out = local.ferry(&[
        "run",
        "shop",
        "-p",
        "worker",
        "--wait",
        "--",
        "sh",
        "-c",
        "echo hello; printf \"a %s\\n\" b; exit 3",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Both lines, each once. Not necessarily in the order printed: each
    // line has an ingestion lag of its own (as on AWS, and in the local
    // Logs), and an attached run shows a line as soon as it is readable
    // (`ferry_aws::logs::Cursor`), so the later line may come first.
    let printed: Vec<&str> = stdout.lines().collect();
    for line in ["hello", "a b"] {
        assert_eq!(
            printed.iter().filter(|l| **l == line).count(),
            1,
            "{line:?} once: {stdout}"
        );
    }
    let plain = local.ferry(&[
        "run",
        "shop",
        "-p",
        "worker",
        "--",
        "sh",
        "-c",
        "echo plain",
    ]);
    assert_eq!(plain.status.code(), Some(0), "attached by default");
    assert!(String::from_utf8_lossy(&plain.stdout)
        .lines()
        .any(|l| l == "plain"));

    // -f follows: the lines there are, then new ones as tasks write them.
    let mut follow = local
        .ferry_command(&["logs", "shop", "-f"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ferry logs -f");
    let rx = lines_of(&mut follow);
    wait_for_line(&rx, Duration::from_secs(20), &|l| l.ends_with(": hello"));
    let detached = local.ferry_ok(&[
        "run",
        "shop",
        "-p",
        "worker",
        "--detach",
        "--",
        "sh",
        "-c",
        "echo followed",
    ]);
    assert!(detached.trim().starts_with("arn:aws:ecs:"), "{detached}");
    let id = detached
        .trim()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    wait_for_line(&rx, Duration::from_secs(20), &|l| {
        l.contains(&format!(" worker[{}]: followed", &id[..8]))
    });
    wait_for_line(&rx, Duration::from_secs(20), &|l| {
        l.contains(&format!(" worker[{}]: exited with code 0", &id[..8]))
    });
    follow.kill().expect("stop ferry logs -f");
    let _ = follow.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn one_off_tasks_are_stopped_by_timeout_interrupt_and_stop_but_never_service_tasks() {
    // One-off tasks run for a minute unless stopped.
    let local = converged(&[("FERRY_EMULATOR_TASK_RUN_SECONDS", "60")]);
    let ecs = local.ecs().await;
    let stopped_reason = |id: String| {
        let ecs = ecs.clone();
        let cluster = local.cluster().to_owned();
        async move {
            let out = ecs
                .describe_tasks()
                .cluster(cluster)
                .tasks(id)
                .send()
                .await
                .ok()?;
            let task = out.tasks().first()?;
            (task.last_status() == Some("STOPPED"))
                .then(|| task.stopped_reason().unwrap_or_default().to_owned())
        }
    };

    // --timeout passes: the task is stopped, not left running.
    let started = Instant::now();
    let out = local.ferry(&[
        "run",
        "shop",
        "-p",
        "worker",
        "--timeout",
        "3s",
        "--",
        "sh",
        "-c",
        "echo slow",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stopped it"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l == "slow"),
        "its output was shown meanwhile"
    );
    let id = stderr
        .split("started task ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the task id on stderr")
        .to_owned();
    let reason = eventually(Duration::from_secs(10), "the task stopped", || {
        stopped_reason(id.clone())
    })
    .await;
    assert!(reason.contains("--timeout 3s passed"), "{reason}");

    // Ctrl-C while attached stops the task and exits 130.
    let mut attached = local
        .ferry_command(&[
            "run",
            "shop",
            "-p",
            "worker",
            "--",
            "sh",
            "-c",
            "echo waiting",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferry run");
    let rx = lines_of(&mut attached);
    wait_for_line(&rx, Duration::from_secs(30), &|l| l == "waiting");
    let pid = libc::pid_t::try_from(attached.id()).expect("pid");
    // SAFETY: kill(2) on the pid of a child this test started and has not
    // reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = attached.wait_with_output().expect("ferry run ends");
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let id = stderr
        .split("stopped task ")
        .nth(1)
        .map(|rest| rest.trim().to_owned())
        .expect("says which task it stopped");
    let reason = eventually(Duration::from_secs(10), "the task stopped", || {
        stopped_reason(id.clone())
    })
    .await;
    assert!(reason.contains("interrupted"), "{reason}");

    // `ferry stop` stops a detached one-off task, by a prefix of its id.
    let arn = local.ferry_ok(&[
        "run",
        "shop",
        "-p",
        "worker",
        "--detach",
        "--",
        "sh",
        "-c",
        "echo detached",
    ]);
    let id = arn.trim().rsplit('/').next().unwrap_or_default().to_owned();
    // Stopped while PENDING it would print nothing: wait until it runs.
    eventually(Duration::from_secs(20), "the task's output", || async {
        let lines = local.ferry_ok(&["logs", "shop", "--task", &id]);
        lines.contains(": detached").then_some(())
    })
    .await;
    let out = local.ferry_ok(&["stop", "shop", &id[..8]]);
    assert!(out.contains(&format!("stopped task {id}")), "{out}");
    let reason = eventually(Duration::from_secs(10), "the task stopped", || {
        stopped_reason(id.clone())
    })
    .await;
    assert_eq!(reason, "ferry stop");
    // The line the stop wrote is readable after CloudWatch Logs' ingestion
    // delay (the emulator's, like AWS's, is seconds).
    eventually(Duration::from_secs(20), "the stop's line", || async {
        let stream = local.ferry_ok(&["logs", "shop", "--task", &id]);
        stream
            .contains("stopped: UserInitiated: ferry stop")
            .then_some(())
    })
    .await;

    // Never a service's task.
    let web = task_ids(&local, "web", false);
    let refused = local.ferry(&["stop", "shop", &web[0]]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("only one-off"), "{stderr}");
    assert!(
        stopped_reason(web[0].clone()).await.is_none(),
        "the service task runs on"
    );
    assert!(!local.ferry(&["stop", "shop", "ffffffff"]).status.success());
}
