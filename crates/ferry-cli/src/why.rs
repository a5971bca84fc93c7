//! Why an app is not fine, in lines a person reads: the "Why" section of
//! `ferry status`, and the failure output of every command that waits.
//!
//! Everything here comes from status fields the controller wrote (ECS's
//! stop reasons, exit codes and the app's own last log lines), never from
//! a task's environment or secrets.

use ferry_core::status::events::collapse;
use ferry_core::status::{self, AppStatus, ConditionStatus, LastFailure, RolloutStatus};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::human;
use crate::layout::{printable, Layout, Tone};

/// How far log lines are indented under the failure they explain.
const LOG_INDENT: usize = 4;

/// One line of an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Spaces before the text, under its section's own indent.
    pub indent: usize,
    pub text: String,
    /// Said after the text and kept whole when the text is cut to the
    /// terminal (an event's count).
    pub suffix: String,
    pub tone: Tone,
}

impl Line {
    fn new(text: String, tone: Tone) -> Line {
        Line {
            indent: 0,
            text,
            suffix: String::new(),
            tone,
        }
    }

    /// The line as printed under a section indented by `section` spaces.
    pub fn render(&self, layout: &Layout, section: usize) -> String {
        let text = format!("{}{}", " ".repeat(section + self.indent), self.text);
        layout.line_ending(&text, &self.suffix, self.tone)
    }
}

/// The "Why" section of `ferry status`, as of `now`: the Degraded
/// condition when it is True, the failed rollout, then per process its
/// last failed task (with its log tail), its crashes, and how long its
/// rollout has gone without progress. Empty when there is nothing to say.
pub fn why(status: &AppStatus, now: OffsetDateTime) -> Vec<Line> {
    let mut lines = Vec::new();
    if let Some(degraded) = status
        .condition(status::DEGRADED)
        .filter(|c| c.status == ConditionStatus::True)
    {
        let since = human::since(&degraded.last_transition_time, now).unwrap_or_else(|| "-".into());
        let message = if degraded.message.is_empty() {
            String::new()
        } else {
            format!(": {}", degraded.message)
        };
        lines.push(Line::new(
            format!("Degraded since {since} ago: {}{message}", degraded.reason),
            Tone::Bad,
        ));
    }
    lines.extend(rollout_failure(status));
    for (name, process) in &status.processes {
        lines.extend(process_failures(status, name, process));
        lines.extend(progress(name, process, now));
    }
    lines
}

/// What a wait that ended in failure prints under its cause: the failed
/// rollout, then per process its last failed task (with its log tail)
/// and its crashes.
pub fn failure_details(status: &AppStatus) -> Vec<Line> {
    let mut lines: Vec<Line> = rollout_failure(status).into_iter().collect();
    for (name, process) in &status.processes {
        lines.extend(process_failures(status, name, process));
    }
    lines
}

/// The failed rollout, in one line.
fn rollout_failure(status: &AppStatus) -> Option<Line> {
    let failure = status.failure.as_ref()?;
    let revision = failure
        .task_definition
        .rsplit('/')
        .next()
        .unwrap_or(&failure.task_definition);
    Some(Line::new(
        format!(
            "rollout of generation {} failed: {}: {} ({revision}): {}",
            failure.generation,
            failure.reason.condition_reason(),
            failure.process,
            failure.reason
        ),
        Tone::Bad,
    ))
}

/// A process's last failed task with its log tail, and its crashes. The
/// failed rollout's own last failure stands in for the process's when the
/// process has none (the deployment that failed is no longer its newest).
fn process_failures(status: &AppStatus, name: &str, process: &status::ProcessStatus) -> Vec<Line> {
    let mut lines = Vec::new();
    let rollout_failure = status
        .failure
        .as_ref()
        .filter(|f| f.process == name)
        .and_then(|f| f.last_failure.as_ref());
    if let Some(failure) = process.last_failure.as_ref().or(rollout_failure) {
        lines.extend(last_failure(name, failure));
    }
    if process.crashed_tasks > 0 {
        let tasks = if process.crashed_tasks == 1 {
            "task"
        } else {
            "tasks"
        };
        lines.push(Line::new(
            format!(
                "{name}: {} new {tasks} crashed after they ran",
                process.crashed_tasks
            ),
            Tone::Bad,
        ));
    }
    lines
}

/// `web: <summary>`, then the log tail indented beneath it.
pub fn last_failure(process: &str, failure: &LastFailure) -> Vec<Line> {
    let mut lines = vec![Line::new(
        format!("{process}: {}", printable(&failure.summary())),
        Tone::Bad,
    )];
    lines.extend(failure.log_tail.iter().map(|log| Line {
        indent: LOG_INDENT,
        text: printable(log),
        suffix: String::new(),
        tone: Tone::Plain,
    }));
    lines
}

/// For a rollout in progress: how long since its last progress, and how
/// long until its deadline (or since it passed).
fn progress(name: &str, process: &status::ProcessStatus, now: OffsetDateTime) -> Option<Line> {
    if process.rollout != Some(RolloutStatus::InProgress) {
        return None;
    }
    let progress = process.progress.as_ref()?;
    let since = OffsetDateTime::parse(&progress.since, &Rfc3339).ok()?;
    let deadline = OffsetDateTime::parse(&progress.deadline, &Rfc3339).ok()?;
    let quiet = human::clock((now - since).whole_seconds());
    let left = (deadline - now).whole_seconds();
    let (when, tone) = if left > 0 {
        (format!("deadline in {}", human::clock(left)), Tone::Pending)
    } else {
        (
            format!("deadline passed {} ago", human::clock(-left)),
            Tone::Bad,
        )
    };
    Some(Line::new(
        format!("{name}: no progress for {quiet}; {when}"),
        tone,
    ))
}

/// The events section: repeats of one message collapsed into one line
/// with a count, each with its age.
pub fn events(status: &AppStatus, now: OffsetDateTime) -> Vec<Line> {
    collapse(&status.events)
        .into_iter()
        .map(|event| {
            let age = human::since(&event.created_at, now).unwrap_or_else(|| "-".into());
            let count = if event.count > 1 {
                format!(" (×{})", event.count)
            } else {
                String::new()
            };
            Line {
                suffix: count,
                ..Line::new(format!("{age:>4}  {}", event.message), Tone::Plain)
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "why_tests.rs"]
pub(crate) mod tests;
