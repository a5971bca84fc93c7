//! `ferry exec`: a command (by default a shell) in a running task of a
//! process, through ECS Exec, as `emp run bash` gave Empire's users.
//!
//! It opens the session with ECS ExecuteCommand and hands it to AWS's
//! `session-manager-plugin` ([`crate::exec_plugin`]), which drives the
//! terminal; `ferry exec` exits with the plugin's exit status.

use anyhow::{bail, Context};
use ferry_aws::ecs::ExecTask;
use ferry_core::names;
use ferry_manifest::App;
use ferry_store::Store;

use crate::exec_plugin::{self, Destination};
use crate::run;

/// The command ECS Exec runs when none is given.
pub const DEFAULT_COMMAND: &str = "sh";

/// What `ferry exec` was asked for.
pub struct Request<'a> {
    pub app: &'a str,
    pub process: Option<&'a str>,
    /// A task id or ARN; `None`: one of the process's service's tasks.
    pub task: Option<&'a str>,
    /// Empty: [`DEFAULT_COMMAND`].
    pub command: &'a [String],
}

/// Runs the request; returns the plugin's exit status.
pub async fn exec(store: &Store, request: &Request<'_>) -> anyhow::Result<i32> {
    let app = request.app;
    let record = store.require_app(app).await?;
    if record.deleting {
        bail!("app {app} is being deleted");
    }
    let (process, plugin) = preflight(
        &record.spec,
        request.process,
        std::env::var_os("PATH").as_deref(),
    )?;
    let (settings, ecs) = run::environment(store).await?;
    let service = names::service_name(app, &process);
    let task = match request.task {
        Some(wanted) => {
            let found = ecs.describe_exec_tasks(&[wanted.to_owned()]).await?;
            let task = found.into_iter().next().with_context(|| {
                format!(
                    "app {app} runs no task {} (`ferry ps {app}` lists its tasks)",
                    run::task_id(wanted)
                )
            })?;
            check_named_task(&task, app, &process, &service, &settings.owner)?;
            task
        }
        None => pick_task(ecs.service_exec_tasks(&service).await?, &process)
            .with_context(|| format!("process {process} of app {app} has no running task"))?,
    };
    let id = run::task_id(&task.arn).to_owned();
    let runtime_id = task
        .container(&process)
        .and_then(|c| c.runtime_id.clone())
        .with_context(|| {
            format!("task {id} has no running container {process} yet; try again shortly")
        })?;
    let via_env = exec_plugin::reads_session_from_env(&exec_plugin::version(&plugin).await?);
    let command = shell_command(request.command);
    let session = ecs
        .execute_command(&task.arn, &process, &command)
        .await
        .with_context(|| not_enabled_hint(&task, app, &process))?;
    let sdk = crate::sdk_config().await?;
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let endpoint = exec_plugin::ssm_endpoint(sdk.endpoint_url(), &region);
    let profile = std::env::var("AWS_PROFILE").unwrap_or_default();
    let target = exec_plugin::target(&session.cluster_arn, &session.task_arn, &runtime_id);
    let invocation = exec_plugin::invocation(
        &session,
        &Destination {
            region: &region,
            profile: &profile,
            target: &target,
            endpoint: &endpoint,
        },
        via_env,
    );
    exec_plugin::run(&plugin, &invocation).await
}

/// What is checked before any AWS call: the process to exec into and the
/// plugin on `path` that will take the session (a session nobody uses is
/// never opened).
fn preflight(
    app: &App,
    wanted: Option<&str>,
    path: Option<&std::ffi::OsStr>,
) -> anyhow::Result<(String, std::path::PathBuf)> {
    let process = exec_process(app, wanted)?;
    Ok((process, exec_plugin::require_plugin(path)?))
}

/// The process to exec into (as `ferry run` picks one), once the app
/// allows exec and the process has a service whose tasks run.
fn exec_process(app: &App, wanted: Option<&str>) -> anyhow::Result<String> {
    if !app.exec {
        bail!(
            "app {} does not allow exec: set `exec: true` in its manifest's spec and apply it",
            app.name
        );
    }
    let process = run::pick_process(app, wanted)?;
    if app
        .processes
        .get(&process)
        .is_some_and(|p| p.schedule.is_some())
    {
        bail!(
            "process {process} of app {} is scheduled: it has no service whose tasks keep \
             running; `ferry run {} -p {process}` starts a task of it",
            app.name,
            app.name
        );
    }
    Ok(process)
}

/// A running task of the process's service: one whose container
/// `process` can open a session now if there is one, else any running one
/// (ECS then says why it cannot). Deterministic: the first by ARN.
fn pick_task(mut tasks: Vec<ExecTask>, process: &str) -> Option<ExecTask> {
    tasks.retain(|t| t.last_status == "RUNNING");
    tasks.sort_by(|a, b| a.arn.cmp(&b.arn));
    let ready = tasks.iter().position(|t| t.exec_ready(process));
    match ready {
        Some(index) => Some(tasks.swap_remove(index)),
        None => tasks.into_iter().next(),
    }
}

/// Whether a task named with `--task` is a running task of the process:
/// of its service (ECS's group `service:<service>`), or a one-off task
/// Ferry started for it (its ownership tags).
fn check_named_task(
    task: &ExecTask,
    app: &str,
    process: &str,
    service: &str,
    owner: &str,
) -> anyhow::Result<()> {
    let id = run::task_id(&task.arn);
    let tag = |key: &str| task.tags.get(key).map(String::as_str);
    let of_service = task.group.as_deref() == Some(format!("service:{service}").as_str());
    let owned = tag(names::TAG_MANAGED_BY) == Some(owner)
        && tag(names::TAG_APP) == Some(app)
        && tag(names::TAG_PROCESS) == Some(process);
    if !of_service && !owned {
        bail!(
            "task {id} is not a task of process {process} of app {app} (`ferry ps {app}` lists \
             them)"
        );
    }
    if task.last_status != "RUNNING" {
        bail!("task {id} is {}, not RUNNING", task.last_status);
    }
    Ok(())
}

/// Why ExecuteCommand may have refused: a task started before the app
/// allowed exec keeps ECS Exec off until it is replaced.
fn not_enabled_hint(task: &ExecTask, app: &str, process: &str) -> String {
    let id = run::task_id(&task.arn);
    if task.enable_execute_command {
        format!("opening a session in task {id}")
    } else {
        format!(
            "task {id} was started without ECS Exec (before `exec: true` was applied?); \
             `ferry restart {app} -p {process}` replaces it"
        )
    }
}

/// `argv` as the one command string ExecuteCommand takes, each word quoted
/// as a POSIX shell would need it, so that the agent's word splitting gives
/// `argv` back: `ferry exec web -- ls -la "a b"` runs `ls` with two
/// arguments. Empty: [`DEFAULT_COMMAND`].
pub fn shell_command(argv: &[String]) -> String {
    if argv.is_empty() {
        return DEFAULT_COMMAND.to_owned();
    }
    argv.iter()
        .map(|word| shell_quote(word))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One word, quoted only when it has a character a shell treats specially.
fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./=:,@%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
#[path = "exec_tests.rs"]
mod tests;
