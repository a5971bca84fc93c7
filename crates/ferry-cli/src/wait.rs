//! Waiting on status: `apply --wait`, `restart --wait`, `scale --wait`,
//! `status --watch` and `delete --wait`, with the rollout progress they
//! print.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ferry_core::status::{self, AppStatus};
use ferry_store::Store;
use time::OffsetDateTime;

use crate::apply::Applied;
use crate::human;
use crate::show::{explanation, status_of, with_deleting};
use crate::Output;

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
mod tests {
    use ferry_core::status;

    use super::*;
    use crate::show::tests::{condition, with};

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
            last_failure: None,
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
}
