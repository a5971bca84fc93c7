//! Handing an ECS Exec session to AWS's `session-manager-plugin`, exactly
//! as the AWS CLI does: the plugin drives the terminal and the session's
//! websocket; Ferry only opens the session and starts the plugin.
//!
//! The contract mirrored here is the AWS CLI's, aws/aws-cli at commit
//! 07c4fe366b49c4dde816d674f4941134fc432673:
//! - `awscli/customizations/ecs/executecommand.py` (`aws ecs
//!   execute-command`): the plugin's argv is `[<session JSON>, <region>,
//!   "StartSession", <profile or "">, <{"Target": "ecs:<cluster name>_<task
//!   id>_<container runtimeId>"}>, <endpoint URL>]`, where the session JSON
//!   is ExecuteCommand's `session` object as ECS returns it.
//! - `awscli/customizations/sessionmanager.py` (`aws ssm start-session`),
//!   the newer contract: when `session-manager-plugin --version` is newer
//!   than 1.2.497.0, the session JSON goes into the environment variable
//!   `AWS_SSM_START_SESSION_RESPONSE`, and argv[1] is that variable's
//!   name, so the token is not on the command line (where `ps` shows it).
//!   An older or unparsable version gets the JSON in argv, as before.
//!
//! Where Ferry differs: the AWS CLI passes its ECS client's endpoint URL as
//! the last argument; the plugin uses that argument for its own SSM calls
//! (TerminateSession, ResumeSession), so Ferry passes SSM's endpoint (the
//! configured `AWS_ENDPOINT_URL` when there is one, as locally).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ferry_aws::ecs::ExecSession;

/// The plugin's executable name, looked up on `PATH`.
pub const PLUGIN: &str = "session-manager-plugin";
/// Where AWS tells how to install the plugin.
pub const INSTALL_URL: &str =
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html";
/// The environment variable the newer contract passes the session in.
pub const SESSION_ENV: &str = "AWS_SSM_START_SESSION_RESPONSE";
/// The newest plugin version that does not read [`SESSION_ENV`]
/// (`LAST_PLUGIN_VERSION_WITHOUT_ENV_VAR` in sessionmanager.py).
const LAST_VERSION_WITHOUT_ENV: [u64; 4] = [1, 2, 497, 0];

/// The plugin's path on `path` (the value of `PATH`): the first executable
/// file of that name, as a shell finds it.
pub fn find_on_path(name: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = path.metadata() else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// The plugin on `path` (the value of `PATH`), or the one-line error that
/// says how to install it.
pub fn require_plugin(path: Option<&std::ffi::OsStr>) -> anyhow::Result<PathBuf> {
    find_on_path(PLUGIN, path).with_context(|| {
        format!("{PLUGIN} is not installed (not found on PATH); `ferry exec` hands the session to it: install it as {INSTALL_URL} says")
    })
}

/// Whether the plugin's `--version` output names a version newer than
/// 1.2.497.0, so it reads the session from [`SESSION_ENV`]: whitespace
/// removed, one to four dot-separated numbers, compared padded with zeros
/// (`VersionRequirement` in sessionmanager.py). Anything else: no.
pub fn reads_session_from_env(version: &str) -> bool {
    let version: String = version.chars().filter(|c| !c.is_whitespace()).collect();
    let number = |p: &str| {
        (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u64>().ok())
            .flatten()
    };
    let parts: Option<Vec<u64>> = version.split('.').map(number).collect();
    match parts {
        Some(mut parts) if (1..=4).contains(&parts.len()) => {
            parts.resize(4, 0);
            parts.as_slice() > LAST_VERSION_WITHOUT_ENV.as_slice()
        }
        _ => false,
    }
}

/// The Session Manager target of a container: `ecs:<cluster name>_<task
/// id>_<container runtimeId>` (`build_ssm_request_paramaters` in
/// executecommand.py), the names taken from the ARNs' last segment.
pub fn target(cluster_arn: &str, task_arn: &str, runtime_id: &str) -> String {
    let last = |arn: &str| arn.rsplit('/').next().unwrap_or(arn).to_owned();
    format!(
        "ecs:{}_{}_{}",
        last(cluster_arn),
        last(task_arn),
        runtime_id
    )
}

/// SSM's endpoint URL for the plugin: the configured endpoint (the local
/// AWS's `AWS_ENDPOINT_URL`), else SSM's public one in `region`
/// (<https://docs.aws.amazon.com/general/latest/gr/ssm.html>).
pub fn ssm_endpoint(configured: Option<&str>, region: &str) -> String {
    match configured {
        Some(url) => url.to_owned(),
        None if region.starts_with("cn-") => format!("https://ssm.{region}.amazonaws.com.cn"),
        None => format!("https://ssm.{region}.amazonaws.com"),
    }
}

/// How the plugin is started: its arguments and the one variable added to
/// the environment it inherits.
#[derive(Clone, PartialEq, Eq)]
pub struct Invocation {
    pub args: Vec<String>,
    /// `(SESSION_ENV, session JSON)` under the newer contract.
    pub env: Option<(String, String)>,
}

/// Its `Debug` shows neither the session nor its token.
impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args: Vec<&str> = self
            .args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if i == 0 && self.env.is_none() {
                    "<session>"
                } else {
                    a
                }
            })
            .collect();
        f.debug_struct("Invocation")
            .field("args", &args)
            .field("env", &self.env.as_ref().map(|(name, _)| name))
            .finish()
    }
}

/// Where the session goes, besides the session itself.
pub struct Destination<'a> {
    pub region: &'a str,
    /// `AWS_PROFILE`, or empty.
    pub profile: &'a str,
    pub target: &'a str,
    pub endpoint: &'a str,
}

/// The plugin's argv and environment for `session` (see the module's
/// documentation). `via_env`: the plugin reads the newer contract.
pub fn invocation(session: &ExecSession, to: &Destination<'_>, via_env: bool) -> Invocation {
    // ECS's own member names and order, as `json.dumps(response['session'])`
    // writes them.
    let session_json = serde_json::json!({
        "sessionId": session.session_id,
        "streamUrl": session.stream_url,
        "tokenValue": session.token_value,
    })
    .to_string();
    let parameters = serde_json::json!({ "Target": to.target }).to_string();
    let (first, env) = if via_env {
        (
            SESSION_ENV.to_owned(),
            Some((SESSION_ENV.to_owned(), session_json)),
        )
    } else {
        (session_json, None)
    };
    Invocation {
        args: vec![
            first,
            to.region.to_owned(),
            "StartSession".to_owned(),
            to.profile.to_owned(),
            parameters,
            to.endpoint.to_owned(),
        ],
        env,
    }
}

/// Runs `plugin --version` and returns what it printed; fails, without
/// its output, when it does not exit 0 (as `check_output` does).
pub async fn version(plugin: &Path) -> anyhow::Result<String> {
    let out = tokio::process::Command::new(plugin)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {} --version", plugin.display()))?;
    if !out.status.success() {
        bail!(
            "{} --version failed ({}); reinstall it as {INSTALL_URL} says",
            plugin.display(),
            out.status
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Starts the plugin with the terminal (stdin, stdout, stderr inherited)
/// and waits for it; returns its exit status (128 + the signal's number
/// when a signal ended it, as a shell reports it).
///
/// While it runs, Ferry ignores the signals a user types (SIGINT, SIGQUIT,
/// SIGTSTP): they reach the plugin, which forwards them into the session,
/// and must not end Ferry and leave the plugin behind
/// (`ignore_user_entered_signals` in the AWS CLI). They are ignored only
/// after the plugin started, so it does not inherit the ignoring.
pub async fn run(plugin: &Path, invocation: &Invocation) -> anyhow::Result<i32> {
    let mut command = tokio::process::Command::new(plugin);
    command.args(&invocation.args);
    if let Some((name, value)) = &invocation.env {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", plugin.display()))?;
    let _ignoring = IgnoreTypedSignals::new();
    let status = child
        .wait()
        .await
        .with_context(|| format!("waiting for {}", plugin.display()))?;
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    status.code().unwrap_or(1)
}

/// SIGINT, SIGQUIT and SIGTSTP ignored until dropped, then restored.
struct IgnoreTypedSignals {
    #[cfg(unix)]
    previous: Vec<(libc::c_int, libc::sighandler_t)>,
}

impl IgnoreTypedSignals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            let previous = [libc::SIGINT, libc::SIGQUIT, libc::SIGTSTP]
                .into_iter()
                // SAFETY: only sets the process-wide disposition of these
                // signals; no handler of Ferry's is installed for them
                // (`ferry exec` registers no Ctrl-C handler), and Drop puts
                // the previous dispositions back.
                .map(|signal| (signal, unsafe { libc::signal(signal, libc::SIG_IGN) }))
                .collect();
            Self { previous }
        }
        #[cfg(not(unix))]
        Self {}
    }
}

impl Drop for IgnoreTypedSignals {
    fn drop(&mut self) {
        #[cfg(unix)]
        for (signal, handler) in &self.previous {
            // SAFETY: restores the disposition `new` replaced.
            unsafe {
                libc::signal(*signal, *handler);
            }
        }
    }
}

#[cfg(test)]
#[path = "exec_plugin_tests.rs"]
mod tests;
