//! Harness for Ferry's end-to-end tests: a private local AWS (moto plus
//! Ferry's emulation layer, from `deploy/local`) on a free loopback port,
//! the real `ferry` and `ferry-controller` binaries, and real SDK clients.
//!
//! Every [`LocalAws`] starts its own emulator and stops it, and every
//! controller it started, by process id when dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The Python of the emulator's virtualenv (made by `deploy/local/install`).
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("FERRY_PYTHON") {
        return PathBuf::from(python);
    }
    let python = repo_root().join(".ferry/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run deploy/local/install (scripts/test does)",
        python.display()
    );
    python
}

/// A binary of this workspace, built next to the test executable.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/<name>
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join(name))
        .unwrap_or_else(|| PathBuf::from(name));
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --bins`; scripts/test does)",
        path.display()
    );
    path
}

/// One entry of the emulator's request log.
#[derive(Debug, Clone)]
pub struct Request {
    /// Unix time the emulator answered, in seconds.
    pub t: f64,
    /// Unix time the request arrived at the emulator (before any injected
    /// latency or queueing): which of two clients sent first.
    pub received: f64,
    /// The SigV4 signing time the request carried (`X-Amz-Date`), in whole
    /// Unix seconds: when the client had finished building it.
    pub signed: Option<i64>,
    pub service: String,
    pub operation: String,
    pub status: u16,
    /// The caller's SDK app id: a controller's `--id`.
    pub agent: Option<String>,
    /// Partition keys of the DynamoDB items the request names.
    pub pk: Vec<String>,
    /// The family or service an ECS write names.
    pub target: Option<String>,
    /// Refused by the emulator's throttling.
    pub throttled: bool,
    /// The fault the emulator injected: `error`, `reset`, `reset-after`.
    pub fault: Option<String>,
}

/// The SDK app name of every `ferry` CLI request (crates/ferry-cli's
/// `APP_NAME`); a controller's is its replica id, and the tests' own
/// clients send none.
pub const CLI_AGENT: &str = "ferry-cli";

impl Request {
    /// True for calls that change state.
    pub fn is_write(&self) -> bool {
        is_write_operation(&self.operation)
    }

    /// Sent by the `ferry` CLI.
    pub fn from_cli(&self) -> bool {
        self.agent.as_deref() == Some(CLI_AGENT)
    }

    /// Sent by a controller replica (any app name but the CLI's).
    pub fn from_controller(&self) -> bool {
        self.agent.is_some() && !self.from_cli()
    }
}

/// True for AWS operations that change state (by their name's verb), as
/// the controller's write gate judges them.
pub use ferry_aws::is_mutating as is_write_operation;

/// The emulator's ECS consistency lag in the end-to-end tests
/// (`deploy/local/ferry_emulation/consistency.py`): just-created services
/// and tasks are missing from reads for that long, as on AWS.
pub const CONSISTENCY_LAG: (&str, &str) = ("FERRY_EMULATOR_CONSISTENCY_LAG_SECONDS", "2");

/// A running local AWS with Ferry's base environment and table.
pub struct LocalAws {
    emulator: Child,
    controllers: Vec<Child>,
    dir: tempfile::TempDir,
    /// The variables `deploy/local/bootstrap.py` exported, plus FERRY_TABLE.
    pub env: BTreeMap<String, String>,
    /// Controllers (by `--id`) that run another installation on this
    /// emulator, with the settings that differ from [`LocalAws::env`]:
    /// what the IAM replay renders their policy with.
    installations: BTreeMap<String, BTreeMap<String, String>>,
}

impl LocalAws {
    /// Starts the emulator on a free loopback port, creates the base
    /// environment and the table (`ferry init`).
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(&[])
    }

    /// [`LocalAws::start`] with variables for the emulator, such as
    /// `FERRY_EMULATOR_FAULT_ERRORS` (see `deploy/local/ferry_emulation/faults.py`).
    pub fn start_with(emulator_env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let port_file = dir.path().join("port");
        let root = repo_root();
        let emulator = Command::new(python())
            .arg(root.join("deploy/local/emulator.py"))
            .args(["--host", "127.0.0.1", "--port", "0", "--port-file"])
            .arg(&port_file)
            .arg("--request-log")
            .arg(dir.path().join("requests.jsonl"))
            // ECS's eventual consistency, on in every test (a test may
            // set its own lag): Ferry must converge with just-created
            // services and tasks missing from reads for a while.
            .env(CONSISTENCY_LAG.0, CONSISTENCY_LAG.1)
            .envs(emulator_env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("emulator.log"))?)
            .spawn()
            .context("starting the emulator")?;
        let mut local = Self {
            emulator,
            controllers: Vec::new(),
            dir,
            env: BTreeMap::new(),
            installations: BTreeMap::new(),
        };
        let port = local.wait_for_port(&port_file)?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let env_file = local.dir.path().join("local.env");
        let status = Command::new(python())
            .arg(root.join("deploy/local/bootstrap.py"))
            .args(["--endpoint", &endpoint, "--env-file"])
            .arg(&env_file)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()?;
        if !status.success() {
            bail!("bootstrap.py failed: {status}");
        }
        local.env = parse_env_file(&std::fs::read_to_string(&env_file)?);
        local.env.insert("FERRY_TABLE".into(), "ferry".into());
        let init = local.ferry(&["init"]);
        if !init.status.success() {
            bail!(
                "ferry init failed: {}",
                String::from_utf8_lossy(&init.stderr)
            );
        }
        Ok(local)
    }

    fn wait_for_port(&mut self, port_file: &Path) -> anyhow::Result<u16> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(port_file) {
                if let Ok(port) = text.trim().parse() {
                    return Ok(port);
                }
            }
            if let Some(status) = self.emulator.try_wait()? {
                bail!("emulator exited early ({status}): {}", self.emulator_log());
            }
            if Instant::now() > deadline {
                bail!("emulator did not start within 60s: {}", self.emulator_log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn emulator_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("emulator.log")).unwrap_or_default()
    }

    /// A scratch directory that lives as long as this environment.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs the `ferry` CLI against this environment.
    pub fn ferry(&self, args: &[&str]) -> Output {
        self.ferry_command(args)
            .output()
            .unwrap_or_else(|e| panic!("running ferry {args:?}: {e}"))
    }

    /// The `ferry` CLI, configured but not started.
    pub fn ferry_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary("ferry"));
        command.args(args).envs(&self.env).env_remove("AWS_PROFILE");
        command
    }

    /// Runs `ferry` and fails the test unless it succeeds. Returns stdout.
    pub fn ferry_ok(&self, args: &[&str]) -> String {
        let out = self.ferry(args);
        assert!(
            out.status.success(),
            "ferry {args:?} failed: {}\n{}\ncontroller logs:\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
            self.controller_logs()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts a `ferry-controller` with this environment, a fast resync and
    /// any extra flags. Returns its index for [`LocalAws::controller_log`].
    pub fn start_controller(&mut self, extra: &[&str]) -> anyhow::Result<usize> {
        self.start_controller_env(extra, &[])
    }

    /// [`LocalAws::start_controller`] with more variables for the
    /// controller, such as `FERRY_FAILPOINTS` (see `ferry_call::failpoint`).
    pub fn start_controller_env(
        &mut self,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<usize> {
        let index = self.controllers.len();
        let log = std::fs::File::create(self.dir.path().join(format!("controller-{index}.log")))?;
        let child = Command::new(binary("ferry-controller"))
            .args([
                "--admin-addr",
                "127.0.0.1:0",
                "--resync-interval",
                "5s",
                "--poll-interval",
                "250ms",
            ])
            .args(extra)
            .envs(&self.env)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info,ferry_aws=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.controllers.push(child);
        Ok(index)
    }

    /// Starts a controller, as [`LocalAws::start_controller`] does, and
    /// waits until it leads (within 60 s): `ferry apply --wait` fails at
    /// once while no controller leads.
    pub fn start_leader(&mut self, extra: &[&str]) -> anyhow::Result<usize> {
        let index = self.start_controller(extra)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while self
            .metrics(index)
            .sum("leader_election_master_status", &[])
            != 1.0
        {
            if Instant::now() >= deadline {
                bail!(
                    "controller {index} did not lead within 60 s:\n{}",
                    self.controller_logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(index)
    }

    /// The admin address of controller `index`, read from its start-up log.
    pub fn admin_addr(&self, index: usize) -> String {
        let path = self.dir.path().join(format!("controller-{index}.log"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if let Some(addr) = text
                .split_whitespace()
                .find_map(|word| word.strip_prefix("admin="))
            {
                return addr.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "controller {index} never logged its admin address:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// GETs `path` from controller `index`'s admin server: (status, body).
    pub fn admin_get(&self, index: usize, path: &str) -> anyhow::Result<(u16, String)> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(self.admin_addr(index))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .context("malformed HTTP response")?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("no HTTP status")?;
        Ok((status, body.to_owned()))
    }

    /// Controller `index`'s metrics, parsed.
    pub fn metrics(&self, index: usize) -> Metrics {
        let (status, body) = self
            .admin_get(index, "/metrics")
            .unwrap_or_else(|e| panic!("scraping controller {index}: {e}"));
        assert_eq!(status, 200, "/metrics: {body}");
        Metrics::parse(&body)
    }

    /// Controller `index`'s whole log (its stderr).
    pub fn controller_log(&self, index: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("controller-{index}.log")))
            .unwrap_or_default()
    }

    /// Waits up to `timeout` for controller `index` to exit on its own.
    pub fn wait_controller_exit(
        &mut self,
        index: usize,
        timeout: Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.controllers[index].try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGKILL to controller `index`: no chance to clean up.
    pub fn kill_controller(&mut self, index: usize) {
        let child = &mut self.controllers[index];
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Sends SIGTERM to controller `index` and waits for it to exit.
    pub fn terminate_controller(&mut self, index: usize) -> std::process::ExitStatus {
        self.signal_controller(index, libc::SIGTERM);
        self.controllers[index]
            .wait()
            .expect("waiting for the controller")
    }

    /// Stops controller `index` (SIGSTOP) as a stalled VM or a long pause
    /// would: it runs no code, its sockets stay open, and its clock goes on.
    pub fn pause_controller(&self, index: usize) {
        self.signal_controller(index, libc::SIGSTOP);
    }

    /// Lets a paused controller run again (SIGCONT).
    pub fn resume_controller(&self, index: usize) {
        self.signal_controller(index, libc::SIGCONT);
    }

    fn signal_controller(&self, index: usize, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.controllers[index].id()).expect("pid fits");
        // SAFETY: kill(2) has no memory effects; the pid is our own child,
        // not yet reaped, so it cannot name another process.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "signal {signal} to controller {index}");
    }

    /// Every controller's log, for failure messages.
    pub fn controller_logs(&self) -> String {
        (0..self.controllers.len())
            .map(|i| {
                let text =
                    std::fs::read_to_string(self.dir.path().join(format!("controller-{i}.log")))
                        .unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                format!(
                    "--- controller {i} (last 40 lines)\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The SDK configuration for this environment.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.env["AWS_ENDPOINT_URL"])
            .region(aws_config::Region::new(self.env["AWS_REGION"].clone()))
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                "test", "test", None, None, "e2e",
            ))
            .load()
            .await
    }

    pub async fn scheduler(&self) -> aws_sdk_scheduler::Client {
        aws_sdk_scheduler::Client::new(&self.sdk_config().await)
    }

    pub async fn ecs(&self) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::new(&self.sdk_config().await)
    }

    pub async fn elb(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::new(&self.sdk_config().await)
    }

    pub async fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::new(&self.sdk_config().await)
    }

    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }

    /// `Some(n)` when `ferry get` lists `n` apps (at least one) and every
    /// one is Ready; `None` otherwise, or when the CLI failed.
    pub fn all_ready(&self) -> Option<usize> {
        let out = self.ferry(&["get", "-o", "json"]);
        let apps: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let apps = apps.as_array()?;
        let ready = apps
            .iter()
            .filter(|a| {
                a["conditions"].as_array().is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
            })
            .count();
        (ready == apps.len() && !apps.is_empty()).then_some(ready)
    }

    /// Every request the emulator has served so far.
    pub fn requests(&self) -> Vec<Request> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .map(|v| Request {
                t: v["t"].as_f64().unwrap_or_default(),
                received: v["received"]
                    .as_f64()
                    .or_else(|| v["t"].as_f64())
                    .unwrap_or_default(),
                signed: v["signed"].as_i64(),
                agent: v["agent"].as_str().map(str::to_owned),
                target: v["target"].as_str().map(str::to_owned),
                throttled: v["throttled"].as_bool().unwrap_or(false),
                fault: v["fault"].as_str().map(str::to_owned),
                pk: v["pk"]
                    .as_array()
                    .map(|keys| {
                        keys.iter()
                            .filter_map(|k| k.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                service: v["service"].as_str().unwrap_or_default().to_owned(),
                operation: v["operation"].as_str().unwrap_or_default().to_owned(),
                status: v["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(0),
            })
            .collect()
    }

    pub fn cluster(&self) -> &str {
        &self.env["FERRY_CLUSTER"]
    }
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        for child in self
            .controllers
            .iter_mut()
            .chain(std::iter::once(&mut self.emulator))
        {
            // Stop by process id; these children are ours alone.
            let _ = child.kill();
            let _ = child.wait();
        }
        self.keep_request_log();
    }
}

impl LocalAws {
    /// With `FERRY_REQUEST_LOG_DIR` set, keeps this environment's request
    /// log there once the emulator has stopped (so it is complete), as
    /// `<test>-<pid>-<n>.requests.jsonl`, next to `<same>.env.json`: the
    /// settings ([`LocalAws::env`]) the IAM replay renders the templates'
    /// policies with (deploy/cloudformation/tests/test_replay.py, which
    /// scripts/test runs after the end-to-end tests). Best effort: a test
    /// never fails for it, and the replay skips when it finds no logs.
    fn keep_request_log(&self) {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let Some(dir) = std::env::var_os("FERRY_REQUEST_LOG_DIR") else {
            return;
        };
        let dir = PathBuf::from(dir);
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        let test: String = std::thread::current()
            .name()
            .unwrap_or("test")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = format!(
            "{test}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let _ = std::fs::copy(
            self.dir.path().join("requests.jsonl"),
            dir.join(format!("{stem}.requests.jsonl")),
        );
        if let Ok(env) = serde_json::to_string_pretty(&self.env) {
            let _ = std::fs::write(dir.join(format!("{stem}.env.json")), env);
        }
        if !self.installations.is_empty() {
            if let Ok(agents) = serde_json::to_string_pretty(&self.installations) {
                let _ = std::fs::write(dir.join(format!("{stem}.agents.json")), agents);
            }
        }
    }

    /// Records that the controller started with `--id agent` runs another
    /// installation on this emulator, with `settings` (`FERRY_TABLE`,
    /// `FERRY_CLUSTER`, ...) in place of [`LocalAws::env`]'s: the IAM
    /// replay judges its requests by that installation's policy.
    pub fn another_installation(&mut self, agent: &str, settings: &[(&str, &str)]) {
        self.installations.insert(
            agent.to_owned(),
            settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
    }
}

/// A scrape of Prometheus text metrics.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// (name, labels, value) per sample.
    pub samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Metrics {
    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let value: f64 = value.parse().ok()?;
                let (name, labels) = match series.split_once('{') {
                    Some((name, rest)) => (name, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                let labels = labels
                    .split(',')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
                    .collect();
                Some((name.to_owned(), labels, value))
            })
            .collect();
        Self { samples }
    }

    /// The sum of `name` over the samples whose labels include `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            // From +0.0: an empty f64 sum is -0.0, which prints as "-0".
            .fold(0.0, |total, v| total + v)
    }

    /// `aws_requests_total` per (service, operation), all outcomes.
    pub fn aws_requests(&self) -> BTreeMap<(String, String), u64> {
        let mut counts = BTreeMap::new();
        for (name, labels, value) in &self.samples {
            if name != "aws_requests_total" {
                continue;
            }
            let key = (
                labels.get("service").cloned().unwrap_or_default(),
                labels.get("operation").cloned().unwrap_or_default(),
            );
            // Counters are integers; the text format prints them so.
            *counts.entry(key).or_insert(0) += *value as u64;
        }
        counts
    }
}

/// Parses `export K=V` lines, undoing POSIX single quoting.
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("export "))
        .filter_map(|assignment| assignment.split_once('='))
        .map(|(key, value)| (key.to_owned(), unquote(value)))
        .collect()
}

fn unquote(value: &str) -> String {
    let mut out = String::new();
    let mut in_quotes = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => in_quotes = !in_quotes,
            '\\' if !in_quotes => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Polls `check` until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_quoting_round_trips() {
        let env = parse_env_file(
            "export A=plain\nexport B='has space'\nexport C='it'\\''s'\n# comment\n",
        );
        assert_eq!(env["A"], "plain");
        assert_eq!(env["B"], "has space");
        assert_eq!(env["C"], "it's");
    }
}
