//! `ferry rollout status|continue|abort`: a process's blue/green, canary
//! or linear deployment, read and acted on straight in ECS with the
//! deployer's credentials (as `ferry run` and `ferry exec` do).
//!
//! ECS runs these deployments itself; Ferry only reads them and passes
//! the two decisions ECS leaves to a person: go on past an approval
//! (`ContinueServiceDeployment`) or roll back now
//! (`StopServiceDeployment` with `ROLLBACK`). A rolling update has neither
//! (ECS can neither pause nor abort it), so these commands refuse it and
//! point to `ferry rollback`.

use anyhow::{bail, Context};
use ferry_core::model::deployments::ObservedServiceDeployment;
use ferry_core::names;
use ferry_manifest::App;
use time::OffsetDateTime;

use crate::cli::RolloutAction;
use crate::layout::Layout;
use crate::rollout_ecs::EcsDeployments;
use crate::rollout_view::{self, RolloutReport};

/// How many past deployments `ferry rollout status` lists (at most 20:
/// one DescribeServiceDeployments).
pub const HISTORY: usize = 5;

/// ECS's service deployments of one cluster, as the rollout commands use
/// them. The real one is [`crate::rollout_ecs::EcsDeployments`]; tests use
/// fakes.
pub(crate) trait ServiceDeployments {
    /// DescribeServices' `currentServiceDeployment` of a service; `None`
    /// when the service does not exist or names none.
    async fn current(&self, service: &str) -> anyhow::Result<Option<String>>;
    /// DescribeServiceDeployments of these ARNs (at most 20), in any order.
    async fn describe(&self, arns: &[String]) -> anyhow::Result<Vec<ObservedServiceDeployment>>;
    /// ListServiceDeployments: every deployment of the service ECS keeps.
    async fn recent(&self, service: &str) -> anyhow::Result<Vec<Listed>>;
    /// ContinueServiceDeployment with `CONTINUE` for a hook.
    async fn continue_hook(&self, deployment: &str, hook_id: &str) -> anyhow::Result<()>;
    /// StopServiceDeployment with `ROLLBACK`.
    async fn roll_back(&self, deployment: &str) -> anyhow::Result<()>;
}

/// One deployment as ListServiceDeployments names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    pub arn: String,
    /// RFC 3339 (UTC).
    pub created_at: Option<String>,
}

/// The process a rollout command is about: the one named, else the only
/// one of the app whose strategy is not `rolling`. Refused, in one line,
/// for a process that rolls out with `rolling` or an app with none or
/// several such processes.
pub fn pick_process(app: &App, wanted: Option<&str>) -> anyhow::Result<String> {
    let name = &app.name;
    let progressive: Vec<&str> = app
        .processes
        .iter()
        .filter(|(_, p)| {
            p.rollout
                .as_ref()
                .is_some_and(|r| r.strategy.shifts_traffic())
        })
        .map(|(n, _)| n.as_str())
        .collect();
    match wanted {
        Some(process) if !app.processes.contains_key(process) => bail!(
            "app {name} has no process {process}; its processes are {}",
            app.processes.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        Some(process) if !progressive.contains(&process) => bail!(
            "process {process} of app {name} rolls out with `rolling`, which ECS can neither \
             pause nor abort; `ferry rollback {name}` goes back to an earlier release"
        ),
        Some(process) => Ok(process.to_owned()),
        None => match progressive.as_slice() {
            [only] => Ok((*only).to_owned()),
            [] => bail!(
                "app {name} has no process with a blueGreen, canary or linear rollout; \
                 its rolling updates can neither be paused nor aborted (`ferry rollback {name}` \
                 goes back to an earlier release)"
            ),
            several => bail!(
                "app {name} has several processes with a blueGreen, canary or linear rollout \
                 ({}); choose one with -p",
                several.join(", ")
            ),
        },
    }
}

/// The last part of a service deployment's ARN, as the commands print it.
pub fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Runs a `ferry rollout` command.
pub(crate) async fn run(action: RolloutAction) -> anyhow::Result<()> {
    let (app, process, store_args) = match &action {
        RolloutAction::Status {
            app,
            process,
            store_args,
            ..
        }
        | RolloutAction::Continue {
            app,
            process,
            store_args,
        }
        | RolloutAction::Abort {
            app,
            process,
            store_args,
        } => (app, process.as_deref(), store_args),
    };
    let store = crate::store(&store_args.table).await?;
    let record = store.require_app(app).await?;
    // Refused before any ECS call: the process must be one ECS deploys.
    let process = pick_process(&record.spec, process)?;
    let (settings, client) = crate::run::ecs_client(&store).await?;
    let ecs = EcsDeployments {
        client,
        caller: crate::caller(),
        cluster: settings.cluster,
    };
    match action {
        RolloutAction::Continue { .. } => {
            println!("{}", continue_deployment(&ecs, app, &process).await?);
        }
        RolloutAction::Abort { .. } => {
            println!("{}", abort_deployment(&ecs, app, &process).await?);
        }
        RolloutAction::Status { output, .. } => {
            let status = crate::show::status_of(&record, store.get_status(app).await?);
            let view = status
                .processes
                .get(&process)
                .and_then(|p| p.deployment.clone());
            let strategy = record
                .spec
                .processes
                .get(&process)
                .and_then(|p| p.rollout.as_ref())
                .map_or("rolling", |r| r.strategy.name());
            let history = history(&ecs, app, &process).await?;
            let report = RolloutReport::new(
                app,
                &process,
                strategy,
                view,
                history,
                OffsetDateTime::now_utc(),
            );
            match output.structured() {
                Some(format) => println!("{}", format.document(&report)?),
                None => print!("{}", rollout_view::render(&report, &Layout::stdout())),
            }
        }
    }
    Ok(())
}

/// The process's current service deployment, refused in one line when
/// there is none or it is over.
async fn in_progress(
    ecs: &impl ServiceDeployments,
    app: &str,
    process: &str,
) -> anyhow::Result<ObservedServiceDeployment> {
    let service = names::service_name(app, process);
    let none = || format!("{app}/{process} has no deployment in progress");
    let arn = ecs.current(&service).await?.with_context(none)?;
    let deployment = ecs
        .describe(std::slice::from_ref(&arn))
        .await?
        .into_iter()
        .find(|d| d.arn == arn)
        .with_context(none)?;
    if deployment.status.is_final() {
        bail!(
            "{}: its last deployment {} is {}",
            none(),
            short_id(&arn),
            state_word(&deployment)
        );
    }
    Ok(deployment)
}

/// `ferry rollout continue`: lets the deployment waiting for an approval
/// go on. Returns the line to print.
pub(crate) async fn continue_deployment(
    ecs: &impl ServiceDeployments,
    app: &str,
    process: &str,
) -> anyhow::Result<String> {
    let deployment = in_progress(ecs, app, process).await?;
    let id = short_id(&deployment.arn);
    let Some(hook) = deployment.awaiting_hook() else {
        bail!(
            "{app}/{process} awaits no approval: deployment {id} is {}",
            state_word(&deployment)
        );
    };
    ecs.continue_hook(&deployment.arn, &hook.hook_id).await?;
    Ok(format!(
        "continued {app}/{process}: deployment {id} goes on to production traffic"
    ))
}

/// `ferry rollout abort`: ECS rolls the deployment back to the revision
/// it replaces. Returns the line to print.
pub(crate) async fn abort_deployment(
    ecs: &impl ServiceDeployments,
    app: &str,
    process: &str,
) -> anyhow::Result<String> {
    let deployment = in_progress(ecs, app, process).await?;
    let id = short_id(&deployment.arn);
    if deployment.status.is_rollback() {
        bail!(
            "{app}/{process}: deployment {id} is already {}",
            state_word(&deployment)
        );
    }
    ecs.roll_back(&deployment.arn).await?;
    Ok(format!(
        "aborted {app}/{process}: ECS rolls deployment {id} back to the previous revision"
    ))
}

/// The service's last [`HISTORY`] deployments, newest first.
pub(crate) async fn history(
    ecs: &impl ServiceDeployments,
    app: &str,
    process: &str,
) -> anyhow::Result<Vec<ObservedServiceDeployment>> {
    let service = names::service_name(app, process);
    let mut listed = ecs.recent(&service).await?;
    // RFC 3339 times in UTC, as ECS gives them: their text sorts as time.
    listed.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    let arns: Vec<String> = listed.into_iter().take(HISTORY).map(|l| l.arn).collect();
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = ecs.describe(&arns).await?;
    found.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(found)
}

/// A deployment's state in a few words: `IN_PROGRESS in BAKE_TIME`.
pub fn state_word(deployment: &ObservedServiceDeployment) -> String {
    let status = serde_plain(&deployment.status);
    match deployment.lifecycle_stage {
        Some(stage) if !deployment.status.is_final() => {
            format!("{status} in {}", stage.as_ecs())
        }
        _ => status,
    }
}

/// ECS's word for a status (its serde name).
fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "rollout_tests.rs"]
mod tests;
