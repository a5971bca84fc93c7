//! `ferry get`, `ferry status`, `ferry releases`: what they read, their
//! tables and the JSON or YAML they print. One app's status for a person
//! is `status_view`'s; waiting on status is the `wait` module's.

use anyhow::bail;
use ferry_core::status::{self, AppStatus, Condition, ConditionStatus};
use ferry_store::{AppRecord, Release, ReleaseOutcome, Store};
use time::OffsetDateTime;

use crate::human::{self, age};
use crate::layout::{shorten, Layout, Tone};
use crate::{status_view, Output};

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

/// A condition's status and how long it has been so ("True 5m"), in the
/// status's colour.
fn condition_cell(
    layout: &Layout,
    status: &AppStatus,
    type_: status::ConditionType,
) -> comfy_table::Cell {
    match status.condition(type_) {
        Some(c) => layout.cell(
            format!("{} {}", c.status, age(&c.last_transition_time)),
            Tone::of_condition(type_, &c.status),
        ),
        None => layout.cell("Unknown", Tone::Pending),
    }
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
    if let Some(format) = output.structured() {
        let list = shown
            .iter()
            .map(|(app, status)| with_deleting(status, app.deleting))
            .collect::<anyhow::Result<Vec<_>>>()?;
        println!("{}", format.document(&list)?);
        return Ok(());
    }
    if shown.is_empty() {
        println!("no apps");
        return Ok(());
    }
    println!("{}", apps_table(&Layout::stdout(), &shown));
    Ok(())
}

/// The table of `ferry get`.
fn apps_table(layout: &Layout, shown: &[(AppRecord, AppStatus)]) -> comfy_table::Table {
    let mut out = layout.table(&[
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
    for (app, status) in shown {
        let processes: Vec<String> = status
            .processes
            .iter()
            .map(|(name, p)| format!("{name}={}", process_cell(p)))
            .collect();
        let message = explanation(status).unwrap_or_default();
        let deleting = if app.deleting { " (deleting)" } else { "" };
        let plain = |text: String| layout.cell(text, Tone::Plain);
        out.add_row(vec![
            plain(format!("{}{deleting}", app.name)),
            plain(app.generation.to_string()),
            plain(status.observed_generation.to_string()),
            condition_cell(layout, status, status::READY),
            condition_cell(layout, status, status::PROGRESSING),
            condition_cell(layout, status, status::DEGRADED),
            plain(processes.join(" ")),
            plain(age(app.created_or_updated_at())),
            plain(message),
        ]);
    }
    out
}

/// `running/desired`, and for an autoscaled process its range:
/// `web=5/5 (2..20)`.
fn process_cell(p: &status::ProcessStatus) -> String {
    match &p.autoscaling {
        Some(a) => format!("{}/{} ({}..{})", p.running, p.desired, a.min, a.max),
        None => format!("{}/{}", p.running, p.desired),
    }
}

pub async fn status(store: &Store, name: &str, output: Output) -> anyhow::Result<()> {
    let Some(app) = store.get_app(name).await? else {
        bail!(ferry_store::Error::NotFound {
            app: name.to_owned()
        });
    };
    let status = status_of(&app, store.get_status(name).await?);
    warn_unless_leading(store).await?;
    if let Some(format) = output.structured() {
        let json = with_deleting(&status, app.deleting)?;
        println!("{}", format.document(&json)?);
        return Ok(());
    }
    print!(
        "{}",
        status_view::render(
            &status,
            app.deleting,
            &Layout::stdout(),
            OffsetDateTime::now_utc()
        )
    );
    Ok(())
}

pub async fn releases(store: &Store, name: &str, output: Output) -> anyhow::Result<()> {
    let releases = store.releases(name).await?;
    if releases.is_empty() {
        bail!("app {name} has no releases");
    }
    if let Some(format) = output.structured() {
        println!("{}", format.document(&releases)?);
        return Ok(());
    }
    println!("{}", releases_table(&Layout::stdout(), &releases));
    Ok(())
}

/// The table of `ferry releases`.
fn releases_table(layout: &Layout, releases: &[Release]) -> comfy_table::Table {
    let mut out = layout.table(&[
        "VERSION", "AGE", "IMAGE", "OUTCOME", "USER", "COMMIT", "MESSAGE",
    ]);
    for release in releases {
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
    out
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

/// `succeeded`, `superseded`, `failed: <why, on one line>`, or `-` while
/// the rollout is undecided. The table fits it to the terminal.
fn outcome_cell(release: &Release) -> String {
    match (release.outcome, &release.outcome_reason) {
        (None, _) => "-".to_owned(),
        (Some(ReleaseOutcome::Failed), Some(reason)) if !reason.is_empty() => {
            format!("failed: {}", reason.replace('\n', " "))
        }
        (Some(outcome), _) => outcome.to_string(),
    }
}

#[cfg(test)]
#[path = "show_tests.rs"]
pub(crate) mod tests;
