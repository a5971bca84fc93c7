//! Waiting on status: `apply --wait`, `restart --wait`, `scale --wait`,
//! `rollback --wait`, `status --watch` and `delete --wait`, with the
//! rollout progress they print and, when a rollout fails, why.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ferry_core::model::reasons::RolloutFailureReason;
use ferry_core::status::{self, AppStatus, ConditionReason, ConditionStatus};
use ferry_store::Store;
use time::OffsetDateTime;

use crate::apply::Applied;
use crate::human;
use crate::layout::Layout;
use crate::show::{explanation, status_of, with_deleting};
use crate::{why, Output};
use ferry_core::status::deployment_line;

const WAIT_POLL: Duration = Duration::from_secs(1);
/// How long a failed rollout's wait holds on for the failed task to be
/// named with its last log lines: the controller reads stopped tasks in
/// the progress tick after the one that saw the deployment fail (every
/// 2 s), and a task's log tail once it has been stopped for 5 s (lines
/// reach CloudWatch Logs late), so within this `lastFailure` and its tail
/// are in status. Without a log group no tail ever comes: the wait ends
/// at this grace.
const EXPLAIN_GRACE: Duration = Duration::from_secs(10);

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
    Failed(Failure),
    Pending,
}

/// Why an awaited app failed: its cause in one line, and what explains
/// it (the failed rollout, each process's last failed task with its log
/// tail, its crashes).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    cause: String,
    details: Vec<why::Line>,
    /// A failed task explains it, or nothing could: a wait that has it
    /// ends at once, one without it holds on for [`EXPLAIN_GRACE`].
    explained: bool,
}

/// A failed task tells why: it never started (ECS's reason says all) or
/// its last log lines are read.
fn told(failure: &ferry_core::model::stops::LastFailure) -> bool {
    !failure.log_tail.is_empty()
        || failure.stop_code.as_deref() == Some(ferry_core::model::stops::TASK_FAILED_TO_START)
}

/// When each awaited app's failure was first seen without a failed task
/// to explain it, so that a wait holds on for one at most
/// [`EXPLAIN_GRACE`].
#[derive(Default)]
struct Unexplained(std::collections::HashMap<String, Instant>);

impl Unexplained {
    /// Whether to keep waiting on `app`'s `failure` for its explanation,
    /// at `now`.
    fn hold(&mut self, app: &str, failure: &Failure, now: Instant) -> bool {
        if failure.explained {
            return false;
        }
        let first = *self.0.entry(app.to_owned()).or_insert(now);
        now.saturating_duration_since(first) < EXPLAIN_GRACE
    }
}

/// A wait that ended because an awaited app failed: the error every
/// waiting command returns then. It reads as the causes on one line;
/// [`WaitFailed::details`] are the lines printed beneath it.
#[derive(Debug)]
pub struct WaitFailed {
    failures: Vec<Failure>,
}

impl std::fmt::Display for WaitFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let causes: Vec<&str> = self.failures.iter().map(|f| f.cause.as_str()).collect();
        f.write_str(&causes.join("; "))
    }
}

impl std::error::Error for WaitFailed {}

impl WaitFailed {
    /// What explains the failures, one line each, laid out for `layout`:
    /// the lines of each failed app under its cause, indented.
    pub fn details(&self, layout: &Layout) -> Vec<String> {
        self.failures
            .iter()
            .flat_map(|failure| failure.details.iter().map(|line| line.render(layout, 2)))
            .collect()
    }
}

/// Whether the Degraded condition, True at or past `generation`, says
/// that generation's rollout failed by Ferry's own judgement (a crash
/// loop, a missed progress deadline), whether or not the sticky failure
/// is written yet.
fn judged_failed(status: &AppStatus, generation: u64) -> bool {
    if status.observed_generation < generation {
        return false;
    }
    // A failure held for another generation is that generation's.
    if status
        .failure
        .as_ref()
        .is_some_and(|f| f.generation != generation)
    {
        return false;
    }
    status
        .condition(status::DEGRADED)
        .filter(|c| c.status == ConditionStatus::True)
        .is_some_and(|c| {
            matches!(
                c.reason,
                ConditionReason::TasksStopping | ConditionReason::ProgressDeadlineExceeded
            )
        })
}

/// Whether ECS rolled the generation's deployment back because an alarm
/// fired: no failed task is awaited to explain that, the alarm does.
fn rolled_back_by_an_alarm(status: &AppStatus, generation: u64) -> bool {
    status.failure.as_ref().is_some_and(|f| {
        f.generation == generation
            && matches!(
                &f.reason,
                RolloutFailureReason::DeploymentRolledBack { cause } if cause.starts_with("alarm ")
            )
    })
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
    let rollout_failed = status
        .failure
        .as_ref()
        .is_some_and(|f| f.generation == applied.generation);
    if rollout_failed || judged_failed(status, applied.generation) {
        let why = explanation(status).unwrap_or_else(|| {
            status.failure.as_ref().map_or_else(
                || "RolloutFailed".to_owned(),
                |f| format!("{}: {}", f.reason.condition_reason(), f.reason),
            )
        });
        return Verdict::Failed(Failure {
            cause: format!(
                "app/{} generation {}: {why}",
                applied.name, applied.generation
            ),
            details: why::failure_details(status),
            explained: rolled_back_by_an_alarm(status, applied.generation)
                || status
                    .processes
                    .values()
                    .filter_map(|p| p.last_failure.as_ref())
                    .chain(
                        status
                            .failure
                            .as_ref()
                            .and_then(|f| f.last_failure.as_ref()),
                    )
                    .any(told),
        });
    }
    if let Some((reason, message)) = status.blocked(applied.generation) {
        return Verdict::Failed(Failure {
            cause: format!(
                "app/{} generation {}: {reason}: {message}",
                applied.name, applied.generation
            ),
            details: Vec::new(),
            explained: true,
        });
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
/// (with its cause and each process's last failed task, [`WaitFailed`]:
/// an ECS circuit breaker, a crash loop, a missed progress deadline),
/// when the controller reports a blocker for it that
/// needs a person ([`ferry_core::BlockerReason::needs_a_person`]), and
/// when no controller leads.
pub async fn wait_ready(store: &Store, apps: &[Applied], timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<&Applied> = apps.iter().collect();
    let mut progress = Progress::new();
    let mut unexplained = Unexplained::default();
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
                Verdict::Failed(why) if unexplained.hold(&applied.name, &why, Instant::now()) => {
                    still.push((applied, status))
                }
                Verdict::Failed(why) => failed.push(why),
                Verdict::Pending => still.push((applied, status)),
            }
        }
        if !failed.is_empty() {
            return Err(WaitFailed { failures: failed }.into());
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

/// After a command stored one app's new generation (`what`: `restart`,
/// `scale`): with `wait` (its timeout), waits as [`wait_ready`] does;
/// without, warns when no controller leads to carry it out.
pub async fn follow_stored(
    store: &Store,
    stored: Applied,
    wait: Option<Duration>,
    what: &str,
) -> anyhow::Result<()> {
    match wait {
        Some(timeout) => wait_ready(store, &[stored], timeout)
            .await
            .with_context(|| format!("the {what} is stored, but waiting for it failed")),
        None => crate::show::warn_unless_leading(store).await.map(|_| ()),
    }
}

/// `ferry status APP --watch`: follows the generation the app has now
/// until it is Ready (`Ok`) or failed, as [`wait_ready`] judges it. As a
/// table, prints its rollout's progress; with JSON (YAML), prints the
/// status `ferry status -o json` shows, one compact object per line (one
/// `---` document), first as it is and then each time it changes.
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
    let Some(format) = output.structured() else {
        return wait_ready(store, std::slice::from_ref(&applied), timeout).await;
    };
    let deadline = Instant::now() + timeout;
    let mut shown: Option<(AppStatus, bool)> = None;
    let mut unexplained = Unexplained::default();
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
            println!("{}", format.record(&json)?);
            shown = Some((status, record.deleting));
        }
        match judged {
            Verdict::Ready(_) => return Ok(()),
            Verdict::Failed(failure) if unexplained.hold(name, &failure, Instant::now()) => {
                tokio::time::sleep(WAIT_POLL).await
            }
            Verdict::Failed(failure) => {
                return Err(WaitFailed {
                    failures: vec![failure],
                }
                .into())
            }
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
        let line = progress_line(p, OffsetDateTime::now_utc());
        match self {
            Progress::Lines(shown) => {
                // Printed when the rollout moves, not as a bake counts
                // down: a log keeps one line per step.
                let step = progress_step(p);
                if shown.get(&key) != Some(&step) {
                    println!("app/{app} {process}: {line}");
                    shown.insert(key, step);
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
/// pending (rev 7, draining rev 6)`; for a blue/green, canary or linear
/// deployment, its stage as of `now` after a dash: `... - canary 10 %,
/// baking 1m40s left`.
fn progress_line(p: &status::ProcessStatus, now: OffsetDateTime) -> String {
    let counts = counts_line(p);
    match p.deployment.as_ref().map(|view| deployment_line(view, now)) {
        // A rollback's line is the rollout's reason, already said.
        Some(line) if !counts.ends_with(&line) => format!("{counts} - {line}"),
        _ => counts,
    }
}

/// What makes a new step of a rollout: its counts and revisions, and the
/// stage, weight, approval and rollback of its deployment, but not what
/// remains of a bake or an approval (which changes every second).
fn progress_step(p: &status::ProcessStatus) -> String {
    let stage = p.deployment.as_ref().map(|d| {
        (
            d.arn.as_str(),
            d.status,
            d.stage,
            d.production_weight_tenths,
            d.awaiting.as_ref().map(|h| h.hook_id.as_str()),
            d.rolled_back.as_deref(),
        )
    });
    format!("{} {stage:?}", counts_line(p))
}

/// The counts and revisions of [`progress_line`].
fn counts_line(p: &status::ProcessStatus) -> String {
    let revision = |arn: &str| arn.rsplit(':').next().unwrap_or(arn).to_owned();
    let mut line = format!(
        "{} {}/{} running",
        p.rollout.map_or("PENDING", |r| r.as_str()),
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

#[cfg(test)]
#[path = "wait_tests.rs"]
mod tests;
