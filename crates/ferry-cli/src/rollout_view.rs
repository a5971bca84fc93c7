//! `ferry rollout status APP [-p P]`: the process's deployment as the
//! controller last recorded it (its stage line), and its last service
//! deployments as ECS lists them, for a person (80 columns or the
//! terminal's width) or as one JSON/YAML document.

use ferry_core::model::deployments::{DeploymentView, ObservedServiceDeployment};
use serde::Serialize;
use time::OffsetDateTime;

use crate::layout::{Layout, Tone};
use crate::rollout::{short_id, state_word};
use ferry_core::status::{deployment_line, percent};

/// What `ferry rollout status` shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutReport {
    pub app: String,
    pub process: String,
    /// The manifest's word: `blueGreen`, `canary`, `linear`.
    pub strategy: String,
    /// The stage line of the current deployment, as of when it was shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// What the controller last recorded; `None` before it has seen a
    /// deployment of the process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentView>,
    /// The last service deployments, newest first.
    pub history: Vec<ObservedServiceDeployment>,
}

impl RolloutReport {
    /// Fills [`RolloutReport::line`] from the recorded view as of `now`.
    pub fn new(
        app: &str,
        process: &str,
        strategy: &str,
        deployment: Option<DeploymentView>,
        history: Vec<ObservedServiceDeployment>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            app: app.to_owned(),
            process: process.to_owned(),
            strategy: strategy.to_owned(),
            line: deployment.as_ref().map(|d| deployment_line(d, now)),
            deployment,
            history,
        }
    }
}

/// The human form, ending with a newline.
pub fn render(report: &RolloutReport, layout: &Layout) -> String {
    let mut out = vec![layout.line(
        &format!(
            "Process:     {}/{} ({})",
            report.app, report.process, report.strategy
        ),
        Tone::Plain,
    )];
    match (&report.deployment, &report.line) {
        (Some(view), Some(line)) => {
            let tone = if view.rolled_back.is_some() || view.status.is_rollback() {
                Tone::Bad
            } else {
                Tone::Plain
            };
            out.push(format!("Deployment:  {}", short_id(&view.arn)));
            out.push(layout.line(&format!("Stage:       {line}"), tone));
            if let Some(weight) = view.production_weight_tenths {
                out.push(format!(
                    "Production:  {} % on the new revision",
                    percent(weight)
                ));
            }
            if let Some(hook) = &view.awaiting {
                let then = hook
                    .timeout_action
                    .as_deref()
                    .map(|action| format!(", then {}", action.to_lowercase()))
                    .unwrap_or_default();
                let until = hook.expires_at.as_deref().unwrap_or("-");
                out.push(layout.line(
                    &format!("Approval:    awaited until {until}{then}"),
                    Tone::Plain,
                ));
                out.push(layout.line(
                    &format!(
                        "             ferry rollout continue {app} -p {process} (or abort)",
                        app = report.app,
                        process = report.process
                    ),
                    Tone::Plain,
                ));
            }
        }
        _ => out.push("Stage:       no deployment recorded yet".to_owned()),
    }
    if report.history.is_empty() {
        out.push("\nNo service deployments.".to_owned());
    } else {
        out.push("\nRecent deployments:".to_owned());
        let mut table = layout.table(&["ID", "STATUS", "CREATED", "REVISION", "REASON"]);
        for d in &report.history {
            let revision = d
                .target
                .as_ref()
                .map_or("-", |t| t.arn.rsplit('/').next().unwrap_or(&t.arn));
            let tone = if d.status.is_rollback() {
                Tone::Bad
            } else {
                Tone::Plain
            };
            table.add_row(vec![
                layout.cell(short_id(&d.arn), Tone::Plain),
                layout.cell(state_word(d), tone),
                layout.cell(
                    d.created_at.clone().unwrap_or_else(|| "-".into()),
                    Tone::Plain,
                ),
                layout.cell(revision, Tone::Plain),
                layout.cell(reason(d), Tone::Plain),
            ]);
        }
        out.push(table.to_string());
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Why a deployment ended as it did: the alarms that fired, else ECS's
/// reason; `-` when it says none.
fn reason(d: &ObservedServiceDeployment) -> String {
    if !d.triggered_alarms.is_empty() {
        return format!("alarm {}", d.triggered_alarms.join(", "));
    }
    d.rollback_reason
        .clone()
        .or_else(|| d.status_reason.clone())
        .unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
#[path = "rollout_view_tests.rs"]
mod tests;
