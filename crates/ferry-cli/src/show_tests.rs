use super::*;

pub(crate) fn condition(
    type_: status::ConditionType,
    status: &str,
    reason: &str,
    message: &str,
) -> Condition {
    let status = match status {
        "True" => ConditionStatus::True,
        "False" => ConditionStatus::False,
        _ => ConditionStatus::Unknown,
    };
    Condition {
        type_,
        status,
        reason: reason.into(),
        message: message.into(),
        last_transition_time: "2026-11-23T11:00:00Z".into(),
    }
}

pub(crate) fn with(conditions: Vec<Condition>) -> AppStatus {
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

fn release() -> Release {
    Release {
        app: "acme".into(),
        version: 3,
        spec: ferry_manifest::App {
            name: "acme".into(),
            image: "acme:1".into(),
            env: Default::default(),
            secrets: Default::default(),
            domains: Vec::new(),
            processes: Default::default(),
            ..Default::default()
        },
        message: String::new(),
        user: "me".into(),
        git: None,
        created_at: String::new(),
        manifest: None,
        outcome: None,
        outcome_reason: Some("ignored while undecided".into()),
    }
}

#[test]
fn outcomes_show_the_reason_of_failures_only() {
    let mut release = release();
    assert_eq!(outcome_cell(&release), "-");
    release.outcome = Some(ReleaseOutcome::Succeeded);
    assert_eq!(outcome_cell(&release), "succeeded");
    release.outcome = Some(ReleaseOutcome::Superseded);
    assert_eq!(outcome_cell(&release), "superseded");
    release.outcome = Some(ReleaseOutcome::Failed);
    release.outcome_reason = Some(format!("circuit breaker\n{}", "x".repeat(100)));
    let cell = outcome_cell(&release);
    assert!(cell.starts_with("failed: circuit breaker x"), "{cell}");
    assert_eq!(
        cell.chars().count(),
        "failed: circuit breaker ".len() + 100,
        "whole: the table fits it to a terminal"
    );
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

/// A process with `running` of `desired` tasks and nothing else to say.
pub(crate) fn process(desired: u32, running: u32) -> status::ProcessStatus {
    status::ProcessStatus {
        desired,
        running,
        pending: desired.saturating_sub(running),
        task_definition: None,
        rollout: None,
        rollout_reason: None,
        new_task_definition: None,
        old_task_definitions: Vec::new(),
        failed_tasks: 0,
        endpoints: Vec::new(),
        autoscaling: None,
        last_failure: None,
        crashed_tasks: 0,
        progress: None,
        deployment: None,
    }
}

#[test]
fn autoscaled_processes_show_their_range() {
    let mut p = process(5, 4);
    assert_eq!(process_cell(&p), "4/5");
    p.autoscaling = Some(status::ScalingStatus {
        min: 2,
        max: 20,
        current: 5,
    });
    assert_eq!(process_cell(&p), "4/5 (2..20)");
}

#[test]
fn the_apps_and_releases_tables_fit_80_columns_and_stay_whole_in_a_pipe() {
    use crate::layout::tests::{assert_fits, pipe, terminal_80};
    let long = format!("worker: {}", "the words of a long reason ".repeat(11));
    let mut status = crate::why::tests::crashing_worker();
    if let Some(degraded) = status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == status::DEGRADED)
    {
        degraded.message = long.clone();
    }
    let record = AppRecord {
        name: "acme".into(),
        generation: 2,
        spec: release().spec,
        deleting: false,
        source: None,
        manifest: None,
        created_at: Some("2026-12-06T11:00:00Z".into()),
        updated_at: "2026-12-06T11:00:00Z".into(),
        restart: None,
    };
    let shown = vec![(record, status)];
    assert_fits(&apps_table(&terminal_80(), &shown).to_string(), 80);
    assert!(apps_table(&pipe(), &shown).to_string().contains(&long));

    let mut failed = release();
    failed.outcome = Some(ReleaseOutcome::Failed);
    failed.outcome_reason = Some(long.clone());
    failed.message = "m".repeat(120);
    let releases = [failed];
    assert_fits(&releases_table(&terminal_80(), &releases).to_string(), 80);
    let piped = releases_table(&pipe(), &releases).to_string();
    assert!(
        piped.contains(&long) && piped.contains(&"m".repeat(120)),
        "{piped}"
    );
}
