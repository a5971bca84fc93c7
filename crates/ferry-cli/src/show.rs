//! `ferry get`, `ferry status`, `ferry releases`, and waiting on status.

use std::time::{Duration, Instant};

use anyhow::bail;
use comfy_table::{presets, Table};
use ferry_core::status::{self, AppStatus, Condition, ConditionStatus};
use ferry_store::{AppRecord, Release, ReleaseOutcome, Store};
use time::OffsetDateTime;

use crate::apply::Applied;
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
fn explanation(status: &AppStatus) -> Option<String> {
    let degraded = status
        .condition(status::DEGRADED)
        .filter(|c| c.status == ConditionStatus::True);
    let not_ready = status
        .condition(status::READY)
        .filter(|c| c.status != ConditionStatus::True);
    let c = degraded.or(not_ready)?;
    Some(if c.message.is_empty() {
        c.reason.clone()
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
fn status_of(app: &AppRecord, written: Option<AppStatus>) -> AppStatus {
    match written {
        // The spec may be newer than the status.
        Some(status) => status.for_generation(app.generation, &app.updated_at),
        None => {
            let unknown = |type_: &str| Condition {
                type_: type_.to_owned(),
                status: ConditionStatus::Unknown,
                reason: "Pending".to_owned(),
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
fn with_deleting(status: &AppStatus, deleting: bool) -> anyhow::Result<serde_json::Value> {
    let mut json = serde_json::to_value(status)?;
    if let Some(object) = json.as_object_mut() {
        object.insert("deleting".to_owned(), serde_json::Value::Bool(deleting));
    }
    Ok(json)
}

/// A condition's status and how long it has been so: "True 5m".
fn condition_cell(status: &AppStatus, type_: &str) -> String {
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
            c.type_.clone(),
            c.status.to_string(),
            c.reason.clone(),
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
                p.rollout.clone().unwrap_or_else(|| "-".into()),
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
                s.state.clone(),
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

const WAIT_POLL: Duration = Duration::from_secs(1);

/// Fails at once when no controller leads: nothing would act on what is
/// awaited.
async fn fail_unless_leading(store: &Store) -> anyhow::Result<()> {
    let leadership = store.leadership(OffsetDateTime::now_utc()).await?;
    if !leadership.is_leading() {
        bail!("{}", human::leadership(&leadership));
    }
    Ok(())
}

/// Where an awaited app stands.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Ready at this observed generation, at or past the awaited one.
    Ready(u64),
    /// The awaited generation cannot become Ready without a person: its
    /// rollout failed, or a blocker that needs a person holds it.
    Failed(String),
    Pending,
}

/// Judges an awaited app by its written status (`None` before the
/// controller first wrote one).
fn verdict(applied: &Applied, status: Option<&AppStatus>) -> Verdict {
    let Some(status) = status else {
        return Verdict::Pending;
    };
    if status.observed_generation >= applied.generation && status.is_ready() {
        return Verdict::Ready(status.observed_generation);
    }
    if status
        .failure
        .as_ref()
        .is_some_and(|f| f.generation == applied.generation)
    {
        return Verdict::Failed(format!(
            "app/{} generation {}: {}",
            applied.name,
            applied.generation,
            explanation(status).unwrap_or_else(|| "RolloutFailed".to_owned())
        ));
    }
    if let Some((reason, message)) = status.blocked(applied.generation) {
        return Verdict::Failed(format!(
            "app/{} generation {}: {reason}: {message}",
            applied.name, applied.generation
        ));
    }
    Verdict::Pending
}

/// Why a pending app is not Ready yet, for a timeout: `web (no status
/// yet)`.
fn pending_reason(applied: &Applied, status: Option<&AppStatus>) -> String {
    let why = match status {
        None => "no status yet".to_owned(),
        Some(s) if s.observed_generation < applied.generation => format!(
            "generation {} not yet acted on (observed {})",
            applied.generation, s.observed_generation
        ),
        Some(s) => explanation(s).unwrap_or_else(|| "not Ready".to_owned()),
    };
    format!("{} ({why})", applied.name)
}

fn timed_out(timeout: Duration, reasons: &[String]) -> anyhow::Error {
    anyhow::anyhow!(
        "timed out after {} waiting for {}",
        humantime::format_duration(timeout),
        reasons.join(", ")
    )
}

/// Waits until every app has observed its generation and is Ready,
/// printing the rollout progress of each changed app's processes as it
/// changes. Fails at once when a rollout of an awaited generation failed
/// (with ECS's events), when the controller reports a blocker for it that
/// needs a person ([`ferry_core::BlockerReason::needs_a_person`]), and
/// when no controller leads.
pub async fn wait_ready(store: &Store, apps: &[Applied], timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<&Applied> = apps.iter().collect();
    let mut progress = Progress::new();
    loop {
        fail_unless_leading(store).await?;
        let mut still = Vec::new();
        let mut failed = Vec::new();
        for applied in pending {
            let status = store.get_status(&applied.name).await?;
            if let Some(s) = status
                .as_ref()
                .filter(|s| applied.changed && s.generation >= applied.generation)
            {
                for (process, p) in &s.processes {
                    progress.update(&applied.name, process, p);
                }
            }
            match verdict(applied, status.as_ref()) {
                Verdict::Ready(observed) => progress.println(&format!(
                    "app/{} ready (generation {observed})",
                    applied.name
                )),
                Verdict::Failed(why) => failed.push(why),
                Verdict::Pending => still.push((applied, status)),
            }
        }
        if !failed.is_empty() {
            bail!("{}", failed.join("; "));
        }
        if still.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let reasons: Vec<String> = still
                .iter()
                .map(|(applied, status)| pending_reason(applied, status.as_ref()))
                .collect();
            return Err(timed_out(timeout, &reasons));
        }
        pending = still.into_iter().map(|(a, _)| a).collect();
        tokio::time::sleep(WAIT_POLL).await;
    }
}

/// `ferry status APP --watch`: follows the generation the app has now
/// until it is Ready (`Ok`) or failed, as [`wait_ready`] judges it. As a
/// table, prints its rollout's progress; with JSON, prints the status
/// `ferry status -o json` shows, one compact object per line, first as it
/// is and then each time it changes.
pub async fn watch(
    store: &Store,
    name: &str,
    output: Output,
    timeout: Duration,
) -> anyhow::Result<()> {
    let not_found = || ferry_store::Error::NotFound {
        app: name.to_owned(),
    };
    let record = store.get_app(name).await?.ok_or_else(not_found)?;
    let applied = Applied {
        name: name.to_owned(),
        generation: record.generation,
        changed: true,
    };
    if output == Output::Table {
        return wait_ready(store, std::slice::from_ref(&applied), timeout).await;
    }
    let deadline = Instant::now() + timeout;
    let mut shown: Option<(AppStatus, bool)> = None;
    loop {
        fail_unless_leading(store).await?;
        let record = store.get_app(name).await?.ok_or_else(not_found)?;
        let written = store.get_status(name).await?;
        let judged = verdict(&applied, written.as_ref());
        let reason = pending_reason(&applied, written.as_ref());
        let status = status_of(&record, written);
        // A reconcile that changed nothing else is not a change.
        let changed = shown.as_ref().is_none_or(|(before, deleting)| {
            !before.same_as(&status) || *deleting != record.deleting
        });
        if changed {
            let json = with_deleting(&status, record.deleting)?;
            println!("{}", serde_json::to_string(&json)?);
            shown = Some((status, record.deleting));
        }
        match judged {
            Verdict::Ready(_) => return Ok(()),
            Verdict::Failed(why) => bail!("{why}"),
            Verdict::Pending if Instant::now() >= deadline => {
                return Err(timed_out(timeout, &[reason]))
            }
            Verdict::Pending => tokio::time::sleep(WAIT_POLL).await,
        }
    }
}

/// Rollout progress: a bar per process on a terminal, a line per change
/// otherwise (logs and CI keep every step).
enum Progress {
    Lines(std::collections::HashMap<(String, String), String>),
    Bars(
        indicatif::MultiProgress,
        std::collections::HashMap<(String, String), indicatif::ProgressBar>,
    ),
}

impl Progress {
    fn new() -> Self {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() {
            Progress::Bars(indicatif::MultiProgress::new(), Default::default())
        } else {
            Progress::Lines(Default::default())
        }
    }

    fn update(&mut self, app: &str, process: &str, p: &status::ProcessStatus) {
        let key = (app.to_owned(), process.to_owned());
        let line = progress_line(p);
        match self {
            Progress::Lines(shown) => {
                if shown.get(&key) != Some(&line) {
                    println!("app/{app} {process}: {line}");
                    shown.insert(key, line);
                }
            }
            Progress::Bars(multi, bars) => {
                let bar = bars.entry(key).or_insert_with(|| {
                    let bar = multi.add(indicatif::ProgressBar::new(u64::from(p.desired)));
                    let style = indicatif::ProgressStyle::with_template(
                        "{prefix:30} [{bar:20}] {pos}/{len} {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> ");
                    bar.set_style(style);
                    bar.set_prefix(format!("app/{app} {process}"));
                    bar
                });
                bar.set_length(u64::from(p.desired));
                bar.set_position(u64::from(p.running.min(p.desired)));
                bar.set_message(line);
            }
        }
    }

    fn println(&self, message: &str) {
        match self {
            Progress::Lines(_) => println!("{message}"),
            Progress::Bars(multi, _) => {
                if multi.println(message).is_err() {
                    println!("{message}");
                }
            }
        }
    }
}

/// One process's rollout, in one line: `IN_PROGRESS 1/2 running, 1
/// pending (rev 7, draining rev 6)`.
fn progress_line(p: &status::ProcessStatus) -> String {
    let revision = |arn: &str| arn.rsplit(':').next().unwrap_or(arn).to_owned();
    let mut line = format!(
        "{} {}/{} running",
        p.rollout.as_deref().unwrap_or("PENDING"),
        p.running,
        p.desired
    );
    if p.pending > 0 {
        line.push_str(&format!(", {} pending", p.pending));
    }
    if p.failed_tasks > 0 {
        line.push_str(&format!(", {} failed", p.failed_tasks));
    }
    if let Some(new) = &p.new_task_definition {
        line.push_str(&format!(" (rev {}", revision(new)));
        if !p.old_task_definitions.is_empty() {
            let old: Vec<String> = p.old_task_definitions.iter().map(|a| revision(a)).collect();
            line.push_str(&format!(", draining rev {}", old.join(", ")));
        }
        line.push(')');
    }
    if let Some(reason) = &p.rollout_reason {
        line.push_str(&format!(": {reason}"));
    }
    line
}

/// Waits until a deleted app's spec is gone.
pub async fn wait_gone(store: &Store, name: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while store.get_app(name).await?.is_some() {
        fail_unless_leading(store).await?;
        if Instant::now() >= deadline {
            bail!(
                "timed out after {} waiting for app {name} to be deleted",
                humantime::format_duration(timeout)
            );
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
    println!("app/{name} deleted");
    Ok(())
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
mod tests {
    use super::*;

    fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Condition {
        let status = match status {
            "True" => ConditionStatus::True,
            "False" => ConditionStatus::False,
            _ => ConditionStatus::Unknown,
        };
        Condition {
            type_: type_.into(),
            status,
            reason: reason.into(),
            message: message.into(),
            last_transition_time: "2026-11-23T11:00:00Z".into(),
        }
    }

    fn with(conditions: Vec<Condition>) -> AppStatus {
        AppStatus {
            name: "acme".into(),
            generation: 1,
            observed_generation: 1,
            release: 1,
            conditions,
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

    #[test]
    fn the_explanation_puts_degraded_first() {
        let degraded = with(vec![
            condition(
                status::READY,
                "False",
                "Degraded",
                "see the Degraded condition",
            ),
            condition(
                status::DEGRADED,
                "True",
                "NameConflict",
                "web: service acme_web belongs to someone else",
            ),
        ]);
        assert_eq!(
            explanation(&degraded).as_deref(),
            Some("NameConflict: web: service acme_web belongs to someone else")
        );
        let converging = with(vec![
            condition(status::READY, "False", "Converging", "2 change(s) applied"),
            condition(status::DEGRADED, "False", "AsExpected", ""),
        ]);
        assert_eq!(
            explanation(&converging).as_deref(),
            Some("Converging: 2 change(s) applied")
        );
        let fine = with(vec![
            condition(
                status::READY,
                "True",
                "Converged",
                "all 1 process(es) match the spec",
            ),
            condition(status::DEGRADED, "False", "AsExpected", ""),
        ]);
        assert_eq!(explanation(&fine), None);
    }

    #[test]
    fn the_awaited_generation_is_ready_failed_or_pending() {
        let applied = Applied {
            name: "acme".into(),
            generation: 2,
            changed: true,
        };
        assert_eq!(verdict(&applied, None), Verdict::Pending);
        let ready = |observed| {
            let mut status = with(vec![condition(status::READY, "True", "Converged", "")]);
            status.observed_generation = observed;
            status
        };
        // Ready for an older generation is not Ready for this one.
        assert_eq!(verdict(&applied, Some(&ready(1))), Verdict::Pending);
        assert_eq!(verdict(&applied, Some(&ready(2))), Verdict::Ready(2));
        assert_eq!(verdict(&applied, Some(&ready(3))), Verdict::Ready(3));

        let mut failed = with(vec![
            condition(status::READY, "False", "Degraded", ""),
            condition(status::DEGRADED, "True", "RolloutFailed", "circuit breaker"),
        ]);
        failed.observed_generation = 2;
        failed.failure = Some(status::RolloutFailure {
            generation: 2,
            process: "web".into(),
            task_definition: "acme_web:2".into(),
            reason: "circuit breaker".into(),
            events: Vec::new(),
        });
        assert_eq!(
            verdict(&applied, Some(&failed)),
            Verdict::Failed("app/acme generation 2: RolloutFailed: circuit breaker".into())
        );
        // A failure of an earlier generation does not fail this one.
        if let Some(failure) = failed.failure.as_mut() {
            failure.generation = 1;
        }
        failed.conditions.pop();
        assert_eq!(verdict(&applied, Some(&failed)), Verdict::Pending);
    }

    #[test]
    fn outcomes_show_the_reason_of_failures_only() {
        let mut release = Release {
            app: "acme".into(),
            version: 3,
            spec: ferry_manifest::App {
                name: "acme".into(),
                image: "acme:1".into(),
                env: Default::default(),
                secrets: Default::default(),
                domains: Vec::new(),
                processes: Default::default(),
            },
            message: String::new(),
            user: "me".into(),
            git: None,
            created_at: String::new(),
            manifest: None,
            outcome: None,
            outcome_reason: Some("ignored while undecided".into()),
        };
        assert_eq!(outcome_cell(&release), "-");
        release.outcome = Some(ReleaseOutcome::Succeeded);
        assert_eq!(outcome_cell(&release), "succeeded");
        release.outcome = Some(ReleaseOutcome::Superseded);
        assert_eq!(outcome_cell(&release), "superseded");
        release.outcome = Some(ReleaseOutcome::Failed);
        release.outcome_reason = Some(format!("circuit breaker\n{}", "x".repeat(100)));
        let cell = outcome_cell(&release);
        assert!(cell.starts_with("failed: circuit breaker x"), "{cell}");
        assert_eq!(cell.chars().count(), 60);
        release.outcome_reason = None;
        assert_eq!(outcome_cell(&release), "failed");
    }

    #[test]
    fn images_lose_their_registry_then_their_path_then_their_end() {
        assert_eq!(image_cell("acme/shop:1"), "acme/shop:1");
        assert_eq!(
            image_cell("123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/shop:1.2.3"),
            "acme/shop:1.2.3"
        );
        assert_eq!(
            image_cell("registry.example.com:5000/a-longer-organisation/team/shop:2026-11-23"),
            "shop:2026-11-23"
        );
        let digest = format!("acme/shop@sha256:{}", "f".repeat(64));
        let cell = image_cell(&digest);
        assert!(cell.starts_with("shop@sha256:ff"), "{cell}");
        assert!(cell.ends_with('…'), "{cell}");
        assert_eq!(cell.chars().count(), IMAGE_WIDTH);
    }

    #[test]
    fn long_messages_are_shortened_on_a_character_boundary() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("ééééééééééé", 5), "éééé…");
    }

    #[test]
    fn autoscaled_processes_show_their_range() {
        let mut p = status::ProcessStatus {
            desired: 5,
            running: 4,
            pending: 1,
            task_definition: None,
            rollout: None,
            rollout_reason: None,
            new_task_definition: None,
            old_task_definitions: Vec::new(),
            failed_tasks: 0,
            endpoints: Vec::new(),
            autoscaling: None,
        };
        assert_eq!(
            (process_cell(&p), scaling_cell(&p)),
            ("4/5".into(), "-".into())
        );
        p.autoscaling = Some(status::ScalingStatus {
            min: 2,
            max: 20,
            current: 5,
        });
        assert_eq!(
            (process_cell(&p), scaling_cell(&p)),
            ("4/5 (2..20)".into(), "2..20".into())
        );
    }

    #[test]
    fn schedule_lines_show_the_last_run_and_each_failure() {
        use ferry_core::schedule::ScheduleStatus;
        use ferry_core::schedule_runs::{FailedInvocation, ScheduledRun};
        let status = ScheduleStatus {
            name: "shop_nightly".into(),
            group: "ferry-ferry".into(),
            expression: "rate(1 minute)".into(),
            timezone: "UTC".into(),
            state: "ENABLED".into(),
            task_definition: None,
            failures_reported: true,
            failed_invocations: vec![FailedInvocation {
                id: "e".into(),
                scheduled_time: Some("2026-12-06T03:00:00Z".into()),
                error_code: "ClientException".into(),
                error_message: "Unable to find task definition.".into(),
                retry_attempts: Some(2),
                exhausted_retry_condition: Some("MaximumRetryAttempts".into()),
            }],
            last_run: Some(ScheduledRun {
                task_arn: "arn:aws:ecs:us-east-1:1:task/c/abc".into(),
                started_at: Some("2026-12-06T02:00:00Z".into()),
                last_status: "STOPPED".into(),
                exit_code: Some(3),
                stop_code: None,
                stopped_reason: None,
            }),
        };
        let mut schedules = std::collections::BTreeMap::from([("nightly".to_owned(), status)]);
        assert_eq!(
            schedule_runs(&schedules),
            [
                "  nightly: last run abc at 2026-12-06T02:00:00Z: exit 3",
                "  nightly: run due 2026-12-06T03:00:00Z failed after 2 retries: ClientException: Unable to find task definition.",
            ]
        );
        let s = schedules.get_mut("nightly").expect("nightly");
        s.failures_reported = false;
        s.failed_invocations.clear();
        s.last_run = None;
        assert_eq!(
            schedule_runs(&schedules),
            [
                "  nightly: no run seen yet",
                "  nightly: failed runs are not reported (the controller has no --schedule-dlq-arn)",
            ]
        );
    }
}
