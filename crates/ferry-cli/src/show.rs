//! `ferry get`, `ferry status`, `ferry releases`: the tables and the JSON
//! they print. Waiting on status is the `wait` module's.

use anyhow::bail;
use comfy_table::{presets, Table};
use ferry_core::status::{self, AppStatus, Condition, ConditionStatus};
use ferry_store::{AppRecord, Release, ReleaseOutcome, Store};
use time::OffsetDateTime;

use crate::human::{self, age};
use crate::Output;

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(header.iter().copied());
    table
}

/// Why an app is not fine, in one line: the Degraded condition when it is
/// True (reason and message), else why it is not Ready.
pub(crate) fn explanation(status: &AppStatus) -> Option<String> {
    let degraded = status
        .condition(status::DEGRADED)
        .filter(|c| c.status == ConditionStatus::True);
    let not_ready = status
        .condition(status::READY)
        .filter(|c| c.status != ConditionStatus::True);
    let c = degraded.or(not_ready)?;
    Some(if c.message.is_empty() {
        c.reason.to_string()
    } else {
        format!("{}: {}", c.reason, c.message)
    })
}

/// A line cut to `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The status to show for an app: the controller's, or one saying it has
/// not acted on the app yet.
pub(crate) fn status_of(app: &AppRecord, written: Option<AppStatus>) -> AppStatus {
    match written {
        // The spec may be newer than the status.
        Some(status) => status.for_generation(app.generation, &app.updated_at),
        None => {
            let unknown = |type_: status::ConditionType| Condition {
                type_,
                status: ConditionStatus::Unknown,
                reason: status::ConditionReason::Pending,
                message: "the controller has not reconciled this app yet".to_owned(),
                last_transition_time: app.updated_at.clone(),
            };
            AppStatus {
                name: app.name.clone(),
                generation: app.generation,
                observed_generation: 0,
                release: 0,
                conditions: vec![
                    unknown(status::READY),
                    unknown(status::PROGRESSING),
                    unknown(status::DEGRADED),
                ],
                processes: Default::default(),
                endpoints: Vec::new(),
                events: Vec::new(),
                last_error: None,
                last_reconciled: String::new(),
                failure: None,
                succeeded: None,
                schedules: Default::default(),
            }
        }
    }
}

/// Status as JSON, with `deleting`: whether `ferry delete` (or `apply
/// --prune`) marked the app, which the controller's status does not say.
pub(crate) fn with_deleting(
    status: &AppStatus,
    deleting: bool,
) -> anyhow::Result<serde_json::Value> {
    let mut json = serde_json::to_value(status)?;
    if let Some(object) = json.as_object_mut() {
        object.insert("deleting".to_owned(), serde_json::Value::Bool(deleting));
    }
    Ok(json)
}

/// A condition's status and how long it has been so: "True 5m".
fn condition_cell(status: &AppStatus, type_: status::ConditionType) -> String {
    status.condition(type_).map_or("Unknown".into(), |c| {
        format!("{} {}", c.status, age(&c.last_transition_time))
    })
}

/// Says on stderr when no controller leads: then nothing acts on what
/// status shows as pending. Returns whether one leads.
pub async fn warn_unless_leading(store: &Store) -> anyhow::Result<bool> {
    let leadership = store.leadership(OffsetDateTime::now_utc()).await?;
    if !leadership.is_leading() {
        eprintln!("warning: {}", human::leadership(&leadership));
    }
    Ok(leadership.is_leading())
}

pub async fn get(store: &Store, output: Output) -> anyhow::Result<()> {
    let apps = store.list_apps().await?;
    if !apps.is_empty() {
        warn_unless_leading(store).await?;
    }
    let mut statuses = store.list_statuses().await?;
    let shown: Vec<(AppRecord, AppStatus)> = apps
        .into_iter()
        .map(|app| {
            let status = status_of(&app, statuses.remove(&app.name));
            (app, status)
        })
        .collect();
    if output == Output::Json {
        let list = shown
            .iter()
            .map(|(app, status)| with_deleting(status, app.deleting))
            .collect::<anyhow::Result<Vec<_>>>()?;
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if shown.is_empty() {
        println!("no apps");
        return Ok(());
    }
    let mut out = table(&[
        "NAME",
        "GEN",
        "OBSERVED",
        "READY",
        "PROGRESSING",
        "DEGRADED",
        "PROCESSES",
        "AGE",
        "MESSAGE",
    ]);
    for (app, status) in &shown {
        let processes: Vec<String> = status
            .processes
            .iter()
            .map(|(name, p)| format!("{name}={}", process_cell(p)))
            .collect();
        let message = explanation(status)
            .map(|m| shorten(&m, 100))
            .unwrap_or_default();
        let deleting = if app.deleting { " (deleting)" } else { "" };
        out.add_row(vec![
            format!("{}{deleting}", app.name),
            app.generation.to_string(),
            status.observed_generation.to_string(),
            condition_cell(status, status::READY),
            condition_cell(status, status::PROGRESSING),
            condition_cell(status, status::DEGRADED),
            processes.join(" "),
            age(app.created_or_updated_at()),
            message,
        ]);
    }
    println!("{out}");
    Ok(())
}

/// `running/desired`, and for an autoscaled process its range:
/// `web=5/5 (2..20)`.
fn process_cell(p: &status::ProcessStatus) -> String {
    match &p.autoscaling {
        Some(a) => format!("{}/{} ({}..{})", p.running, p.desired, a.min, a.max),
        None => format!("{}/{}", p.running, p.desired),
    }
}

/// `min..max` of an autoscaled process (its current count is DESIRED),
/// `-` for one Ferry scales.
fn scaling_cell(p: &status::ProcessStatus) -> String {
    p.autoscaling
        .as_ref()
        .map_or_else(|| "-".to_owned(), |a| format!("{}..{}", a.min, a.max))
}

pub async fn status(store: &Store, name: &str, output: Output) -> anyhow::Result<()> {
    let Some(app) = store.get_app(name).await? else {
        bail!(ferry_store::Error::NotFound {
            app: name.to_owned()
        });
    };
    let status = status_of(&app, store.get_status(name).await?);
    warn_unless_leading(store).await?;
    if output == Output::Json {
        let json = with_deleting(&status, app.deleting)?;
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    println!(
        "App:         {}{}",
        status.name,
        if app.deleting { " (deleting)" } else { "" }
    );
    println!(
        "Generation:  {} (observed {})",
        status.generation, status.observed_generation
    );
    println!("Release:     v{}", status.release);
    if !status.last_reconciled.is_empty() {
        println!("Reconciled:  {} ago", age(&status.last_reconciled));
    }
    println!("\nConditions:");
    let mut conditions = table(&["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"]);
    for c in &status.conditions {
        conditions.add_row(vec![
            c.type_.to_string(),
            c.status.to_string(),
            c.reason.to_string(),
            age(&c.last_transition_time),
            c.message.clone(),
        ]);
    }
    println!("{conditions}");
    if let Some(degraded) = status
        .condition(status::DEGRADED)
        .filter(|c| c.status == ConditionStatus::True)
    {
        println!(
            "\nDegraded since {} ago: {}\n  {}",
            age(&degraded.last_transition_time),
            degraded.reason,
            degraded.message
        );
    }
    if !status.processes.is_empty() {
        println!("\nProcesses:");
        let mut processes = table(&[
            "NAME",
            "DESIRED",
            "RUNNING",
            "PENDING",
            "AUTOSCALING",
            "ROLLOUT",
            "TASK DEFINITION",
        ]);
        for (name, p) in &status.processes {
            processes.add_row(vec![
                name.clone(),
                p.desired.to_string(),
                p.running.to_string(),
                p.pending.to_string(),
                scaling_cell(p),
                p.rollout.map_or_else(|| "-".into(), |r| r.to_string()),
                p.task_definition.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        println!("{processes}");
    }
    if !status.schedules.is_empty() {
        println!("\nSchedules:");
        let mut schedules = table(&[
            "PROCESS",
            "SCHEDULE",
            "EXPRESSION",
            "TIMEZONE",
            "STATE",
            "TASK DEFINITION",
        ]);
        for (process, s) in &status.schedules {
            schedules.add_row(vec![
                process.clone(),
                format!("{}/{}", s.group, s.name),
                s.expression.clone(),
                s.timezone.clone(),
                s.state.to_string(),
                s.task_definition.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        println!("{schedules}");
        for line in schedule_runs(&status.schedules) {
            println!("{line}");
        }
    }
    if !status.endpoints.is_empty() {
        println!("\nEndpoints:");
        for endpoint in &status.endpoints {
            println!("  {endpoint}");
        }
    }
    if !status.events.is_empty() {
        println!("\nEvents:");
        for event in &status.events {
            println!("  {:>4}  {}", age(&event.created_at), event.message);
        }
    }
    if let Some(error) = &status.last_error {
        println!(
            "\nLast error ({} ago): {}: {}",
            age(&error.time),
            error.operation,
            error.message
        );
    }
    Ok(())
}

pub async fn releases(store: &Store, name: &str, output: Output) -> anyhow::Result<()> {
    let releases = store.releases(name).await?;
    if releases.is_empty() {
        bail!("app {name} has no releases");
    }
    if output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&releases)?);
        return Ok(());
    }
    let mut out = table(&[
        "VERSION", "AGE", "IMAGE", "OUTCOME", "USER", "COMMIT", "MESSAGE",
    ]);
    for release in &releases {
        let commit = release.git.as_ref().map_or("-".to_owned(), |g| {
            let short: String = g.commit.chars().take(12).collect();
            if g.dirty {
                format!("{short}-dirty")
            } else {
                short
            }
        });
        out.add_row(vec![
            format!("v{}", release.version),
            age(&release.created_at),
            image_cell(&release.spec.image),
            outcome_cell(release),
            release.user.clone(),
            commit,
            release.message.clone(),
        ]);
    }
    println!("{out}");
    Ok(())
}

/// The widest image a table shows whole.
const IMAGE_WIDTH: usize = 40;

/// An image short enough for a table column: whole up to [`IMAGE_WIDTH`]
/// characters; longer, without its registry host
/// (`123456789012.dkr.ecr.us-east-1.amazonaws.com/`), then only the part
/// after the last `/`, then cut with an ellipsis. The tag is the part kept
/// longest, since it tells releases of one repository apart.
fn image_cell(image: &str) -> String {
    let fits = |text: &str| text.chars().count() <= IMAGE_WIDTH;
    if fits(image) {
        return image.to_owned();
    }
    let without_registry = match image.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => rest,
        _ => image,
    };
    if fits(without_registry) {
        return without_registry.to_owned();
    }
    let last = without_registry
        .rsplit('/')
        .next()
        .unwrap_or(without_registry);
    shorten(last, IMAGE_WIDTH)
}

/// `succeeded`, `superseded`, `failed: <why, shortened>`, or `-` while
/// the rollout is undecided.
fn outcome_cell(release: &Release) -> String {
    match (release.outcome, &release.outcome_reason) {
        (None, _) => "-".to_owned(),
        (Some(ReleaseOutcome::Failed), Some(reason)) if !reason.is_empty() => {
            shorten(&format!("failed: {}", reason.replace('\n', " ")), 60)
        }
        (Some(outcome), _) => outcome.to_string(),
    }
}

/// Each scheduled process's last run and the invocations Scheduler gave
/// up on, one line each, indented under the schedules table.
fn schedule_runs(
    schedules: &std::collections::BTreeMap<String, ferry_core::schedule::ScheduleStatus>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (process, s) in schedules {
        match &s.last_run {
            Some(run) => lines.push(format!(
                "  {process}: last run {} at {}: {}",
                run.task_id(),
                run.started_at.as_deref().unwrap_or("-"),
                run.outcome()
            )),
            None => lines.push(format!("  {process}: no run seen yet")),
        }
        if !s.failures_reported {
            lines.push(format!(
                "  {process}: failed runs are not reported (the controller has no --schedule-dlq-arn)"
            ));
        }
        for failure in &s.failed_invocations {
            let retries = failure
                .retry_attempts
                .map(|n| format!(" after {n} retries"))
                .unwrap_or_default();
            lines.push(format!(
                "  {process}: run due {} failed{retries}: {}: {}",
                failure.scheduled_time.as_deref().unwrap_or("-"),
                failure.error_code,
                failure.error_message
            ));
        }
    }
    lines
}

#[cfg(test)]
#[path = "show_tests.rs"]
pub(crate) mod tests;
