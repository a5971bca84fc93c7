//! `ferry run`, `ferry stop` and `ferry ps`: one-off tasks, and the tasks
//! an app runs.
//!
//! They need the controller's view of the environment (cluster, subnets,
//! security groups, log group), which the leader publishes in the store.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ferry_aws::ecs::{OneOff, TaskInfo, STARTED_BY_RUN};
use ferry_aws::logs::{Cursor, LogEvent, Streams};
use ferry_aws::Ecs;
use ferry_core::names;
use ferry_store::Store;

use crate::human::age;

/// Tag that marks a one-off task.
const TAG_RUN: &str = "ferry:run";
const POLL: Duration = Duration::from_secs(1);
/// How often the stream of a stopped task is read while its last lines
/// arrive: five reads per window, within FilterLogEvents' 5 per second.
const DRAIN_EVERY: Duration = Duration::from_secs(1);
/// The exit status after Ctrl-C, as a shell reports a command SIGINT ended.
const INTERRUPTED_EXIT: i32 = 130;

/// How `ferry run` treats the task it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Print the task's ARN and return at once.
    Detach,
    /// Stream the task's log lines until it stops, then exit with its
    /// container's exit code; stop it at `timeout` or on Ctrl-C.
    Attach { timeout: Duration },
}

/// The settings the controller published, and ECS in the cluster they
/// name, through the CLI's paced caller.
pub async fn environment(store: &Store) -> anyhow::Result<(ferry_core::Settings, Ecs)> {
    let (settings, client) = ecs_client(store).await?;
    let ecs = Ecs::new(client, crate::caller(), &settings.cluster);
    Ok((settings, ecs))
}

/// The settings the controller published, and an ECS client whose
/// requests the CLI's paced caller retries.
pub async fn ecs_client(
    store: &Store,
) -> anyhow::Result<(ferry_core::Settings, aws_sdk_ecs::Client)> {
    let settings = store.controller_settings().await?.context(
        "the controller has not published its settings yet: start ferry-controller first",
    )?;
    let sdk = ferry_aws::paced_sdk_config(&crate::sdk_config().await?);
    Ok((settings, aws_sdk_ecs::Client::new(&sdk)))
}

/// The process to run as: the one named, else `web`, else the only one.
pub fn pick_process(app: &ferry_manifest::App, wanted: Option<&str>) -> anyhow::Result<String> {
    let names: Vec<&str> = app.processes.keys().map(String::as_str).collect();
    match wanted {
        Some(name) if names.contains(&name) => Ok(name.to_owned()),
        Some(name) => bail!(
            "app {} has no process {name}; its processes are {}",
            app.name,
            names.join(", ")
        ),
        None if names.contains(&"web") => Ok("web".to_owned()),
        None => match names.as_slice() {
            [only] => Ok((*only).to_owned()),
            _ => bail!(
                "app {} has several processes ({}); choose one with --process",
                app.name,
                names.join(", ")
            ),
        },
    }
}

/// Starts a one-off task with the process's current task definition and
/// network, and `command` instead of the process's. Attached, returns the
/// container's exit code once the task stopped (see [`Mode`]).
pub async fn run(
    store: &Store,
    app: &str,
    process: Option<&str>,
    command: Vec<String>,
    mode: Mode,
) -> anyhow::Result<i32> {
    let record = store.require_app(app).await?;
    if record.deleting {
        bail!("app {app} is being deleted");
    }
    let process = pick_process(&record.spec, process)?;
    let (settings, ecs) = environment(store).await?;
    let service = names::service_name(app, &process);
    let task_definition = ecs
        .service_task_definition(&service)
        .await?
        .with_context(|| format!("process {process} of app {app} has no service yet; wait for the controller to create it"))?;
    let mut tags = names::ownership_tags(&settings.owner, app, Some(&process));
    tags.insert(TAG_RUN.to_owned(), "true".to_owned());
    let mut subnets = settings.subnets.clone();
    subnets.sort();
    let mut security_groups = settings.security_groups.clone();
    security_groups.sort();
    let arn = ecs
        .run_task(&OneOff {
            task_definition: task_definition.clone(),
            container: process.clone(),
            command,
            network: ferry_core::NetworkSpec {
                subnets,
                security_groups,
                assign_public_ip: settings.assign_public_ip,
            },
            tags,
            // Where the process's service runs its tasks, and ECS Exec as
            // the app has it; the task role is the task definition's.
            capacity_provider_strategy: ferry_core::task::capacity_provider_strategy(
                record
                    .spec
                    .processes
                    .get(&process)
                    .and_then(|p| p.capacity.as_ref()),
            ),
            enable_execute_command: record.spec.exec,
        })
        .await?;
    eprintln!("started task {} ({task_definition})", task_id(&arn));
    let timeout = match mode {
        Mode::Detach => {
            println!("{arn}");
            return Ok(0);
        }
        Mode::Attach { timeout } => timeout,
    };
    let logs = match &settings.log_group {
        Some(_) => Some(crate::logs::client(&settings).await?),
        None => {
            eprintln!("the controller configures no log group: the task's output is not shown");
            None
        }
    };
    let stream = ferry_aws::logs::stream_name(app, &process, task_id(&arn));
    let attached = Attached {
        ecs: &ecs,
        logs: logs.as_ref(),
        streams: Streams::Named(vec![stream]),
        arn: &arn,
        timeout,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {
            ecs.stop_task(&arn, "ferry run: interrupted (Ctrl-C)").await?;
            eprintln!("interrupted: stopped task {}", task_id(&arn));
            Ok(INTERRUPTED_EXIT)
        }
        result = attached.follow() => result,
    }
}

/// A one-off task `ferry run` waits for, showing its output.
struct Attached<'a> {
    ecs: &'a Ecs,
    logs: Option<&'a ferry_aws::Logs>,
    streams: Streams,
    arn: &'a str,
    timeout: Duration,
}

impl Attached<'_> {
    /// Polls the task every [`POLL`] and its log stream every
    /// [`crate::logs::FOLLOW_EVERY`], printing each line's text as the
    /// task printed it, until the task stops (then its exit code) or the
    /// timeout passes (then the task is stopped).
    async fn follow(&self) -> anyhow::Result<i32> {
        let started = Instant::now();
        // The task's own stream: every line it has, from the first.
        let mut cursor = Cursor::default();
        let mut read_at = started;
        loop {
            let task = self.ecs.describe_tasks(&[self.arn.to_owned()]).await?.pop();
            let stopped = task.as_ref().filter(|t| t.last_status == "STOPPED");
            if stopped.is_some() || Instant::now() >= read_at {
                self.show(&mut cursor).await?;
                read_at = Instant::now() + crate::logs::FOLLOW_EVERY;
            }
            if let Some(task) = stopped {
                self.drain(&mut cursor).await?;
                return finished(task);
            }
            if started.elapsed() >= self.timeout {
                self.ecs
                    .stop_task(
                        self.arn,
                        &format!(
                            "ferry run: --timeout {} passed",
                            humantime::format_duration(self.timeout)
                        ),
                    )
                    .await?;
                // What it wrote before it was stopped is still arriving.
                self.drain(&mut cursor).await?;
                bail!(
                    "timed out after {} waiting for task {} to stop; stopped it",
                    humantime::format_duration(self.timeout),
                    task_id(self.arn)
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Keeps reading the stopped task's stream for one ingestion window
    /// ([`ferry_aws::logs::INGESTION_WINDOW`]): its last lines, often the
    /// error, become readable seconds after it wrote them.
    async fn drain(&self, cursor: &mut Cursor) -> anyhow::Result<()> {
        if self.logs.is_none() {
            return Ok(());
        }
        let until = Instant::now() + ferry_aws::logs::INGESTION_WINDOW;
        while Instant::now() < until {
            tokio::time::sleep(DRAIN_EVERY.min(until.saturating_duration_since(Instant::now())))
                .await;
            self.show(cursor).await?;
        }
        Ok(())
    }

    async fn show(&self, cursor: &mut Cursor) -> anyhow::Result<()> {
        let Some(logs) = self.logs else {
            return Ok(());
        };
        let mut print = |event: &LogEvent| {
            println!("{}", event.message.trim_end_matches(['\n', '\r']));
        };
        crate::logs::poll(logs, &self.streams, cursor, &|_| true, &mut print).await
    }
}

/// Stops a one-off task of `app`, named by its id (or a unique prefix of
/// it) or ARN. Refuses a service's task and any task Ferry did not start
/// for this app with `ferry run` (tags `ferry:run`, `ferry:app`,
/// `ferry:managed-by`).
pub async fn stop(store: &Store, app: &str, task: &str) -> anyhow::Result<()> {
    let record = store.require_app(app).await?;
    let (settings, ecs) = environment(store).await?;
    let wanted = task_id(task);
    let mut found: Vec<TaskInfo> = Vec::new();
    for process in record.spec.processes.keys() {
        let arns = ecs
            .list_tasks(&names::task_family(&settings.owner, app, process))
            .await?;
        let matching: Vec<String> = arns
            .into_iter()
            .filter(|arn| task_id(arn).starts_with(wanted))
            .collect();
        found.extend(ecs.describe_tasks(&matching).await?);
    }
    let task = match found.as_slice() {
        [] => bail!("app {app} runs no task {wanted} (`ferry ps {app}` lists its tasks)"),
        [one] => one,
        _ => bail!(
            "{wanted} names {} tasks of app {app}; give more of the id",
            found.len()
        ),
    };
    check_one_off(task, app, &settings.owner)?;
    ecs.stop_task(&task.arn, "ferry stop").await?;
    println!("stopped task {}", task_id(&task.arn));
    Ok(())
}

/// Whether a task is a one-off task `ferry run` started for `app` under
/// this installation; the error says what it is instead.
fn check_one_off(task: &TaskInfo, app: &str, owner: &str) -> anyhow::Result<()> {
    let tag = |key: &str| task.tags.get(key).map(String::as_str);
    let id = task_id(&task.arn);
    // ECS starts a service's tasks with the deployment's id.
    if let Some(deployment) = task
        .started_by
        .as_deref()
        .filter(|s| s.starts_with("ecs-svc/"))
    {
        bail!(
            "task {id} belongs to a service (deployment {deployment}), which would replace it; \
             `ferry stop` stops only one-off tasks"
        );
    }
    if tag(names::TAG_MANAGED_BY) != Some(owner)
        || tag(names::TAG_APP) != Some(app)
        || tag(TAG_RUN) != Some("true")
        || task.started_by.as_deref() != Some(STARTED_BY_RUN)
    {
        bail!(
            "task {id} is not a one-off task Ferry ({owner}) started for app {app} with \
             `ferry run`; not stopping it"
        );
    }
    Ok(())
}

/// The exit code of a stopped task, or why it has none.
fn finished(task: &TaskInfo) -> anyhow::Result<i32> {
    match task.exit_code {
        Some(code) => {
            eprintln!("task {} exited with {code}", task_id(&task.arn));
            Ok(code)
        }
        None => bail!(
            "task {} stopped without an exit code: {}{}",
            task_id(&task.arn),
            task.stop_code.as_deref().unwrap_or("unknown"),
            task.stopped_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
    }
}

pub fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A task definition ARN as `family:revision` (`shop_web:2`), the way ECS
/// names it: never `vN`, which is how Ferry writes release versions.
fn task_definition_cell(arn: &str) -> String {
    match arn.rsplit('/').next() {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => "-".to_owned(),
    }
}

/// Lists an app's running tasks: its services' and its one-off ones.
pub async fn ps(store: &Store, app: &str, output: crate::Output) -> anyhow::Result<()> {
    let record = store.require_app(app).await?;
    let (settings, ecs) = environment(store).await?;
    let mut tasks: Vec<(String, TaskInfo)> = Vec::new();
    for process in record.spec.processes.keys() {
        let arns = ecs
            .list_tasks(&names::task_family(&settings.owner, app, process))
            .await?;
        // The family is derived from the app and process names, so its
        // tasks are the app's services' and its one-off ones.
        for task in ecs.describe_tasks(&arns).await? {
            tasks.push((process.clone(), task));
        }
    }
    if let Some(format) = output.structured() {
        let list: Vec<serde_json::Value> = tasks
            .iter()
            .map(|(process, t)| {
                serde_json::json!({
                    "task": t.arn,
                    "process": process,
                    "status": t.last_status,
                    "taskDefinition": t.task_definition,
                    "startedAt": t.started_at,
                    "oneOff": t.started_by.as_deref() == Some(STARTED_BY_RUN),
                    "scheduled": is_scheduled(t),
                })
            })
            .collect();
        println!("{}", format.document(&list)?);
        return Ok(());
    }
    if tasks.is_empty() {
        println!("no running tasks");
        return Ok(());
    }
    let mut table = crate::layout::Layout::stdout().table(&[
        "TASK",
        "PROCESS",
        "STATUS",
        "AGE",
        "TASK DEFINITION",
        "KIND",
    ]);
    for (process, task) in &tasks {
        table.add_row(vec![
            task_id(&task.arn).to_owned(),
            process.clone(),
            task.last_status.clone(),
            task.started_at.as_deref().map_or("-".to_owned(), age),
            task_definition_cell(&task.task_definition),
            if task.started_by.as_deref() == Some(STARTED_BY_RUN) {
                "one-off".to_owned()
            } else if is_scheduled(task) {
                "scheduled".to_owned()
            } else {
                "service".to_owned()
            },
        ]);
    }
    println!("{table}");
    Ok(())
}

/// Whether a task is a scheduled run: one of the group every schedule
/// Ferry makes gives its tasks (`EcsParameters.Group`). `ferry run` tasks
/// have ECS's default group, `family:<family>`, even for a scheduled
/// process.
fn is_scheduled(task: &TaskInfo) -> bool {
    task.group.as_deref() == Some(ferry_core::schedule::RUN_GROUP)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn app(processes: &[&str]) -> ferry_manifest::App {
        ferry_manifest::App {
            name: "acme".into(),
            image: "acme:1".into(),
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            domains: Vec::new(),
            processes: processes
                .iter()
                .map(|p| {
                    (
                        (*p).to_owned(),
                        serde_json::from_value(serde_json::json!({
                            "command": [], "scale": 1, "cpu": 256, "memory": 512
                        }))
                        .expect("process"),
                    )
                })
                .collect(),
            ..Default::default()
        }
    }

    fn task(tags: &[(&str, &str)], started_by: Option<&str>) -> TaskInfo {
        TaskInfo {
            arn: "arn:aws:ecs:us-east-1:1:task/c/0123abcd".into(),
            task_definition: String::new(),
            last_status: "RUNNING".into(),
            desired_status: "RUNNING".into(),
            started_by: started_by.map(str::to_owned),
            group: None,
            started_at: None,
            stop_code: None,
            stopped_reason: None,
            exit_code: None,
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn only_this_apps_one_off_tasks_are_stopped() {
        let ours = [
            ("ferry:managed-by", "ferry"),
            ("ferry:app", "shop"),
            ("ferry:run", "true"),
        ];
        assert!(check_one_off(&task(&ours, Some(STARTED_BY_RUN)), "shop", "ferry").is_ok());
        let other_app = check_one_off(&task(&ours, Some(STARTED_BY_RUN)), "blog", "ferry");
        assert!(other_app.is_err());
        let foreign = check_one_off(&task(&ours, Some(STARTED_BY_RUN)), "shop", "other");
        assert!(foreign.is_err());
        let service = check_one_off(&task(&[], Some("ecs-svc/1")), "shop", "ferry")
            .expect_err("a service task");
        assert!(service.to_string().contains("only one-off"), "{service}");
        let untagged = check_one_off(&task(&ours[..2], Some(STARTED_BY_RUN)), "shop", "ferry");
        assert!(untagged.is_err(), "no ferry:run tag");
    }

    #[test]
    fn task_definitions_show_as_family_and_revision_not_as_a_release() {
        assert_eq!(
            task_definition_cell("arn:aws:ecs:us-east-1:123456789012:task-definition/shop_web:2"),
            "shop_web:2"
        );
        assert_eq!(task_definition_cell("shop_web:7"), "shop_web:7");
        assert_eq!(task_definition_cell(""), "-");
    }

    #[test]
    fn the_process_defaults_to_web_then_the_only_one() {
        assert_eq!(
            pick_process(&app(&["web", "worker"]), None).ok().as_deref(),
            Some("web")
        );
        assert_eq!(
            pick_process(&app(&["worker"]), None).ok().as_deref(),
            Some("worker")
        );
        assert!(pick_process(&app(&["a", "b"]), None).is_err());
        assert_eq!(
            pick_process(&app(&["a", "b"]), Some("b")).ok().as_deref(),
            Some("b")
        );
        let err = pick_process(&app(&["a"]), Some("c")).expect_err("no such process");
        assert!(err.to_string().contains("its processes are a"), "{err}");
    }

    #[test]
    fn scheduled_runs_are_told_apart_by_their_group() {
        let mut t = task(&[], Some("chronos-schedule/shop_nightly"));
        assert!(!is_scheduled(&t), "startedBy alone says nothing");
        t.group = Some("ferry:schedule".into());
        assert!(is_scheduled(&t));
        t.group = Some("family:shop_nightly".into());
        assert!(!is_scheduled(&t), "a ferry run task of a scheduled process");
    }
}
