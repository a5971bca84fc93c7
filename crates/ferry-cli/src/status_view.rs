//! `ferry status APP` for a person: the app's conditions, why it is not
//! fine, its processes, schedules, endpoints and events, laid out for
//! the terminal (or the pipe) it is printed to.

use ferry_core::status::{self, AppStatus};
use time::OffsetDateTime;

use crate::human;
use crate::layout::{Layout, Tone};
use crate::why;
use ferry_core::status::deployment_line;

/// How far the lines of a section are indented under its title.
const SECTION_INDENT: usize = 2;

/// The whole human form of one app's status, as of `now`, ending with a
/// newline. `deleting`: `ferry delete` marked the app.
pub fn render(status: &AppStatus, deleting: bool, layout: &Layout, now: OffsetDateTime) -> String {
    let age = |time: &str| human::since(time, now).unwrap_or_else(|| "-".into());
    let mut out = Vec::new();
    let deleting = if deleting { " (deleting)" } else { "" };
    out.push(layout.line(
        &format!("App:         {}{deleting}", status.name),
        Tone::Plain,
    ));
    out.push(format!(
        "Generation:  {} (observed {})",
        status.generation, status.observed_generation
    ));
    out.push(format!("Release:     v{}", status.release));
    if !status.last_reconciled.is_empty() {
        out.push(format!("Reconciled:  {} ago", age(&status.last_reconciled)));
    }
    out.push("\nConditions:".to_owned());
    let mut conditions = layout.table(&["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"]);
    for c in &status.conditions {
        conditions.add_row(vec![
            layout.cell(c.type_.to_string(), Tone::Plain),
            layout.cell(c.status.to_string(), Tone::of_condition(c.type_, &c.status)),
            layout.cell(c.reason.to_string(), Tone::Plain),
            layout.cell(age(&c.last_transition_time), Tone::Plain),
            layout.cell(c.message.clone(), Tone::Plain),
        ]);
    }
    out.push(conditions.to_string());
    section(&mut out, layout, "Why", &why::why(status, now));
    if !status.processes.is_empty() {
        out.push("\nProcesses:".to_owned());
        let mut processes = layout.table(&[
            "NAME",
            "DESIRED",
            "RUNNING",
            "PENDING",
            "AUTOSCALING",
            "ROLLOUT",
            "TASK DEFINITION",
        ]);
        for (name, p) in &status.processes {
            let rollout_tone = match p.rollout {
                Some(status::RolloutStatus::Failed) => Tone::Bad,
                _ => Tone::Plain,
            };
            processes.add_row(vec![
                layout.cell(name.clone(), Tone::Plain),
                layout.cell(p.desired.to_string(), Tone::Plain),
                layout.cell(p.running.to_string(), Tone::Plain),
                layout.cell(p.pending.to_string(), Tone::Plain),
                layout.cell(scaling_cell(p), Tone::Plain),
                layout.cell(
                    p.rollout.map_or_else(|| "-".into(), |r| r.to_string()),
                    rollout_tone,
                ),
                layout.cell(
                    p.task_definition.clone().unwrap_or_else(|| "-".into()),
                    Tone::Plain,
                ),
            ]);
        }
        out.push(processes.to_string());
        out.extend(deployment_lines(status, layout, now));
    }
    if !status.schedules.is_empty() {
        out.push("\nSchedules:".to_owned());
        let mut schedules = layout.table(&[
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
        out.push(schedules.to_string());
        out.extend(
            schedule_runs(&status.schedules)
                .iter()
                .map(|line| layout.line(line, Tone::Plain)),
        );
    }
    if !status.endpoints.is_empty() {
        out.push("\nEndpoints:".to_owned());
        // An endpoint cut short is no endpoint: they stay whole.
        out.extend(status.endpoints.iter().map(|e| format!("  {e}")));
    }
    section(&mut out, layout, "Events", &why::events(status, now));
    if let Some(error) = &status.last_error {
        out.push(String::new());
        out.push(layout.line(
            &format!(
                "Last error ({} ago): {}: {}",
                age(&error.time),
                error.operation,
                error.message
            ),
            Tone::Bad,
        ));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// A titled section of explanation lines, when there are any.
fn section(out: &mut Vec<String>, layout: &Layout, title: &str, lines: &[why::Line]) {
    if lines.is_empty() {
        return;
    }
    out.push(format!("\n{title}:"));
    out.extend(lines.iter().map(|line| line.render(layout, SECTION_INDENT)));
}

/// Each blue/green, canary or linear deployment's stage, one line per
/// process under the processes table: `  web: canary 10 %, baking 1m40s
/// left`.
fn deployment_lines(status: &AppStatus, layout: &Layout, now: OffsetDateTime) -> Vec<String> {
    status
        .processes
        .iter()
        .filter_map(|(name, p)| {
            let view = p.deployment.as_ref()?;
            let tone = if view.rolled_back.is_some() || view.status.is_rollback() {
                Tone::Bad
            } else {
                Tone::Plain
            };
            let line = format!("  {name}: {}", deployment_line(view, now));
            Some(layout.line(&line, tone))
        })
        .collect()
}

/// `min..max` of an autoscaled process (its current count is DESIRED),
/// `-` for one Ferry scales.
fn scaling_cell(p: &status::ProcessStatus) -> String {
    p.autoscaling
        .as_ref()
        .map_or_else(|| "-".to_owned(), |a| format!("{}..{}", a.min, a.max))
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
#[path = "status_view_tests.rs"]
pub(crate) mod tests;
