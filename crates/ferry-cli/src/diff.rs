//! `ferry diff` (and `ferry apply --dry-run`): how manifests differ from
//! what is stored, and what the controller would do about them. Only reads:
//! DynamoDB, and ECS, ELBv2, Route53 and EventBridge Scheduler through the
//! same snapshot the controller takes, decided by the same
//! [`ferry_core::decide()`], so that the two never disagree (about a failed
//! rollout held back, or a restart, say).

use ferry_aws::{Aws, Ecs, Traffic};
use ferry_core::decide::{AppRef, Decision, Input};
use ferry_core::{Plan, Settings};
use ferry_manifest::LoadedApp;
use ferry_store::{AppRecord, Store};
use time::OffsetDateTime;

/// How one app's manifest compares with the stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextChange {
    /// The app is not stored.
    New,
    /// Same text and same resolved spec.
    Unchanged { generation: u64 },
    /// The text is the same but the resolved spec is not: a Procfile it
    /// names changed, or the stored spec came from elsewhere (`scaled`
    /// lists the counts `ferry scale` set, as [`scaled_since_applied`]
    /// words them).
    SpecOnly {
        generation: u64,
        scaled: Vec<String>,
    },
    /// A unified diff, headers included, newline-terminated.
    Diff(String),
    /// The stored app is being deleted.
    Deleting { generation: u64 },
}

impl TextChange {
    pub fn differs(&self) -> bool {
        !matches!(self, TextChange::Unchanged { .. })
    }
}

/// Compares one loaded manifest with the stored app. Without stored text
/// (apps applied before it was recorded), the stored spec rendered as a
/// manifest stands in for it.
pub fn compare(loaded: &LoadedApp, stored: Option<&AppRecord>) -> anyhow::Result<TextChange> {
    let Some(stored) = stored else {
        return Ok(TextChange::New);
    };
    let generation = stored.generation;
    if stored.deleting {
        return Ok(TextChange::Deleting { generation });
    }
    let (old, old_header) = match &stored.manifest {
        Some(text) => (
            text.clone(),
            format!("app/{} (generation {generation})", stored.name),
        ),
        None => (
            crate::manifest::render(&stored.spec)?,
            format!(
                "app/{} (generation {generation}, rendered from the stored spec)",
                stored.name
            ),
        ),
    };
    let scaled = scaled_since_applied(stored, loaded);
    if old == loaded.text {
        return Ok(if stored.spec == loaded.app {
            TextChange::Unchanged { generation }
        } else {
            TextChange::SpecOnly { generation, scaled }
        });
    }
    let diff = similar::TextDiff::from_lines(old.as_str(), loaded.text.as_str());
    let new_header = loaded.file.display().to_string();
    let mut text = diff
        .unified_diff()
        .context_radius(3)
        .header(&old_header, &new_header)
        .to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    // The text diff cannot show counts that are in no text.
    for line in scaled {
        text.push_str(&format!("# scale: {line}\n"));
    }
    Ok(TextChange::Diff(text))
}

/// The process counts of the stored spec that no manifest text shows and
/// that the manifest would change: those `ferry scale` set after the
/// stored text was applied (a scale keeps that text). Each as `web: 3
/// stored (set by ferry scale), 2 in FILE`.
///
/// The stored text is parsed again (its Procfile read next to `loaded`'s
/// file) to tell such a count from one the text diff shows; when it no
/// longer parses, every differing count is listed. Without stored text
/// the diff is against the rendered spec, whose counts it shows.
pub fn scaled_since_applied(stored: &AppRecord, loaded: &LoadedApp) -> Vec<String> {
    let Some(text) = &stored.manifest else {
        return Vec::new();
    };
    let applied =
        ferry_manifest::parse_manifest(&loaded.file, text, &|path| std::fs::read_to_string(path))
            .ok();
    let mut lines = Vec::new();
    for (name, process) in &stored.spec.processes {
        let Some(wanted) = loaded.app.processes.get(name) else {
            continue;
        };
        let in_text = applied
            .as_ref()
            .and_then(|a| a.app.processes.get(name))
            .map(|p| p.scale);
        if process.scale != wanted.scale && in_text != Some(process.scale) {
            lines.push(format!(
                "{name}: {} stored (set by ferry scale), {} in {}",
                process.scale,
                wanted.scale,
                loaded.file.display()
            ));
        }
    }
    lines
}

/// A unified diff with ANSI colours, as `git diff` shows it on a terminal.
fn colour(diff: &str) -> String {
    const RESET: &str = "\x1b[0m";
    diff.lines()
        .map(|line| {
            let code = if line.starts_with("---") || line.starts_with("+++") {
                "\x1b[1m"
            } else if line.starts_with("@@") {
                "\x1b[36m"
            } else if line.starts_with('-') {
                "\x1b[31m"
            } else if line.starts_with('+') {
                "\x1b[32m"
            } else {
                return format!("{line}\n");
            };
            format!("{code}{line}{RESET}\n")
        })
        .collect()
}

/// The lines printed for one app's comparison.
pub fn describe(name: &str, file: &str, change: &TextChange, terminal: bool) -> String {
    match change {
        TextChange::New => format!("app/{name}: new app ({file})\n"),
        TextChange::Unchanged { generation } => {
            format!("app/{name} unchanged (generation {generation})\n")
        }
        TextChange::SpecOnly { generation, scaled } if scaled.is_empty() => format!(
            "app/{name}: manifest text unchanged since generation {generation}, but the \
             resolved spec differs (did its Procfile change?)\n"
        ),
        TextChange::SpecOnly { generation, scaled } => format!(
            "app/{name}: manifest text unchanged since generation {generation}, but the \
             stored scale differs; applying the manifest sets its counts:\n{}",
            scaled
                .iter()
                .map(|line| format!("  {line}\n"))
                .collect::<String>()
        ),
        TextChange::Deleting { generation } => format!(
            "app/{name} is being deleted (generation {generation}); apply it again once \
             the deletion has finished\n"
        ),
        TextChange::Diff(diff) if terminal => colour(diff),
        TextChange::Diff(diff) => diff.clone(),
    }
}

/// The lines printed for one app's decision: its plan, or why a plan is
/// held back (its generation's rollout failed).
pub fn describe_decision(name: &str, decision: &Decision) -> String {
    if decision.held_back == 0 {
        return describe_plan(name, &decision.plan);
    }
    format!(
        "app/{name}: nothing is pushed: the rollout of generation {} failed, and {} \
         change(s) wait for a new generation (apply one, or `ferry rollback {name}`)\n",
        decision.status.generation, decision.held_back
    )
}

/// The lines printed for one app's plan.
pub fn describe_plan(name: &str, plan: &Plan) -> String {
    if plan.is_converged() {
        return format!("app/{name}: no changes\n");
    }
    let mut out = format!("app/{name}:\n");
    for action in &plan.actions {
        out.push_str(&format!("  {action}\n"));
    }
    for blocker in &plan.blockers {
        out.push_str(&format!(
            "  blocked: {}: {}: {}\n",
            blocker.process, blocker.reason, blocker.message
        ));
    }
    out
}

/// Prints how each app's manifest differs from the stored one, then the
/// AWS changes the controller would make now for each. `stored` holds the
/// stored record of each app, in the same order. Returns whether anything
/// differs: a manifest, or an AWS change to make.
pub async fn report(
    store: &Store,
    apps: &[LoadedApp],
    stored: &[Option<AppRecord>],
) -> anyhow::Result<bool> {
    // Coloured as every other output is: on a terminal, without NO_COLOR.
    let terminal = crate::layout::Layout::stdout().colour;
    let mut differs = false;
    let mut plannable = Vec::new();
    for (loaded, record) in apps.iter().zip(stored) {
        let change = compare(loaded, record.as_ref())?;
        differs |= change.differs();
        print!(
            "{}",
            describe(
                &loaded.app.name,
                &loaded.file.display().to_string(),
                &change,
                terminal
            )
        );
        if let Some(record) = record {
            for line in crate::strategy_diff::changes(&record.spec, &loaded.app) {
                println!("  {line}");
            }
        }
        if !matches!(change, TextChange::Deleting { .. }) {
            plannable.push((loaded, record.as_ref(), change.differs()));
        }
    }
    println!();
    let Some(settings) = store.controller_settings().await? else {
        println!(
            "AWS changes: unknown: no controller has published its settings in table {} yet; \
             they are known once a controller has led",
            store.table()
        );
        return Ok(differs);
    };
    println!("AWS changes the controller would make:");
    let decisions = decide_all(store, &settings, &plannable).await?;
    for ((loaded, _, _), decision) in plannable.iter().zip(&decisions) {
        differs |= !decision.plan.actions.is_empty();
        print!("{}", describe_decision(&loaded.app.name, decision));
    }
    Ok(differs)
}

/// Decides each app as the controller would once the manifest is applied:
/// the generation it would get (the stored one if the manifest is
/// unchanged, the next one if it differs), the stored restart and status,
/// and a snapshot of AWS taken read-only.
async fn decide_all(
    store: &Store,
    settings: &Settings,
    apps: &[(&LoadedApp, Option<&AppRecord>, bool)],
) -> anyhow::Result<Vec<Decision>> {
    if apps.is_empty() {
        return Ok(Vec::new());
    }
    let aws = read_only_aws(settings, apps).await?;
    // One batched read of the cluster and of each inventory; services of
    // processes a manifest dropped are found in it by their tags.
    aws.refresh_all().await?;
    let mut decisions = Vec::with_capacity(apps.len());
    for (loaded, record, changed) in apps {
        let app = &loaded.app;
        let snapshot = aws.observe(app, false, None).await?;
        let previous = store.get_status(&app.name).await?;
        let stored = record.map_or(0, |r| r.generation);
        let generation = if *changed { stored + 1 } else { stored };
        decisions.push(ferry_core::decide(Input {
            app: AppRef {
                name: &app.name,
                generation,
                deleting: false,
                restart: record.and_then(|r| r.restart.as_ref()),
            },
            spec: app,
            settings,
            observed: &snapshot.observed,
            observed_traffic: &snapshot.traffic,
            previous: previous.as_ref(),
            now: OffsetDateTime::now_utc(),
        }));
    }
    Ok(decisions)
}

/// ECS, traffic and (when a manifest schedules a process) the scheduler,
/// as the controller's settings name them, through read-only clients.
async fn read_only_aws(
    settings: &Settings,
    apps: &[(&LoadedApp, Option<&AppRecord>, bool)],
) -> anyhow::Result<Aws> {
    let sdk = ferry_aws::paced_sdk_config(&crate::sdk_config().await?);
    let caller = crate::caller();
    let ecs = Ecs::new(
        aws_sdk_ecs::Client::new(&sdk),
        caller.clone(),
        &settings.cluster,
    )
    .with_autoscaling(ferry_aws::Autoscaling::from_config(
        &sdk,
        caller.clone(),
        &ferry_aws::WriteGate::always_open(),
    ));
    // The schedule group only when a manifest schedules a process: the
    // other apps' diffs need no Scheduler permission.
    let scheduling = apps
        .iter()
        .any(|(a, _, _)| a.app.processes.values().any(|p| p.schedule.is_some()));
    let scheduler = scheduling.then(|| {
        ferry_aws::Scheduler::new(
            aws_sdk_scheduler::Client::new(&sdk),
            caller.clone(),
            &settings.owner,
        )
    });
    let traffic = settings.traffic.internal.is_some().then(|| {
        Traffic::from_settings(
            aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
            aws_sdk_route53::Client::new(&sdk),
            caller,
            &settings.owner,
            settings.traffic.clone(),
        )
    });
    Ok(Aws::new(ecs, settings.clone())
        .with_traffic(traffic)
        .with_schedules(scheduler))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const WEB: &str = "apiVersion: ferry/v1
kind: App
metadata:
  name: web
spec:
  image: acme/web:1
  processes:
    web:
      scale: 2
      port: 8080
";

    fn loaded(text: &str) -> LoadedApp {
        ferry_manifest::parse_manifest(Path::new("manifests/web.yaml"), text, &|_| {
            Err(std::io::Error::other("no procfile"))
        })
        .expect("valid")
    }

    fn record(text: Option<&str>, generation: u64) -> AppRecord {
        AppRecord {
            name: "web".into(),
            generation,
            spec: loaded(text.unwrap_or(WEB)).app,
            deleting: false,
            source: None,
            manifest: text.map(str::to_owned),
            created_at: None,
            updated_at: String::new(),
            restart: None,
        }
    }

    #[test]
    fn a_changed_manifest_is_a_unified_diff() {
        let new = loaded(&WEB.replace("scale: 2", "scale: 4"));
        let TextChange::Diff(diff) = compare(&new, Some(&record(Some(WEB), 4))).expect("diff")
        else {
            panic!("expected a diff");
        };
        assert!(diff.starts_with("--- app/web (generation 4)\n+++ manifests/web.yaml\n@@ "));
        assert!(
            diff.contains("\n-      scale: 2\n+      scale: 4\n"),
            "{diff}"
        );
        // Colour only on a terminal.
        let plain = describe("web", "f", &TextChange::Diff(diff.clone()), false);
        assert_eq!(plain, diff);
        let coloured = describe("web", "f", &TextChange::Diff(diff), true);
        assert!(coloured.contains("\x1b[31m-      scale: 2\x1b[0m\n"));
    }

    #[test]
    fn same_text_is_unchanged_and_new_apps_are_new() {
        let same = loaded(WEB);
        assert_eq!(
            compare(&same, Some(&record(Some(WEB), 3))).expect("compare"),
            TextChange::Unchanged { generation: 3 }
        );
        assert!(!TextChange::Unchanged { generation: 3 }.differs());
        assert_eq!(compare(&same, None).expect("compare"), TextChange::New);
        let mut deleting = record(Some(WEB), 5);
        deleting.deleting = true;
        assert_eq!(
            compare(&same, Some(&deleting)).expect("compare"),
            TextChange::Deleting { generation: 5 }
        );
    }

    #[test]
    fn without_stored_text_the_spec_is_compared_as_a_manifest() {
        let same = loaded(WEB);
        let TextChange::Diff(diff) = compare(&same, Some(&record(None, 2))).expect("compare")
        else {
            panic!("expected a diff");
        };
        assert!(
            diff.starts_with("--- app/web (generation 2, rendered from the stored spec)\n"),
            "{diff}"
        );
    }

    /// The record `ferry scale web=5` leaves: the spec scaled, the text
    /// as applied.
    fn scaled_record(text: &str, generation: u64) -> AppRecord {
        let mut stored = record(Some(text), generation);
        stored.spec.processes.get_mut("web").expect("web").scale = 5;
        stored
    }

    #[test]
    fn a_scale_since_the_apply_shows_with_the_same_text() {
        let same = loaded(WEB);
        let change = compare(&same, Some(&scaled_record(WEB, 3))).expect("compare");
        assert_eq!(
            change,
            TextChange::SpecOnly {
                generation: 3,
                scaled: vec!["web: 5 stored (set by ferry scale), 2 in manifests/web.yaml".into()],
            }
        );
        assert!(change.differs());
        assert_eq!(
            describe("web", "f", &change, false),
            "app/web: manifest text unchanged since generation 3, but the stored scale \
             differs; applying the manifest sets its counts:\n  web: 5 stored (set by ferry \
             scale), 2 in manifests/web.yaml\n"
        );
    }

    #[test]
    fn a_scale_since_the_apply_shows_beside_a_text_diff() {
        let edited = loaded(&WEB.replace("acme/web:1", "acme/web:2"));
        let TextChange::Diff(diff) =
            compare(&edited, Some(&scaled_record(WEB, 3))).expect("compare")
        else {
            panic!("expected a diff");
        };
        assert!(
            diff.ends_with(
                "\n# scale: web: 5 stored (set by ferry scale), 2 in manifests/web.yaml\n"
            ),
            "{diff}"
        );
        // A count the text diff shows is not repeated.
        let rescaled = loaded(&WEB.replace("scale: 2", "scale: 4"));
        let TextChange::Diff(diff) =
            compare(&rescaled, Some(&record(Some(WEB), 3))).expect("compare")
        else {
            panic!("expected a diff");
        };
        assert!(!diff.contains("# scale"), "{diff}");
    }

    #[test]
    fn plans_list_actions_and_blockers() {
        assert_eq!(
            describe_plan("web", &Plan::default()),
            "app/web: no changes\n"
        );
        let plan = Plan {
            actions: vec![ferry_core::Action::DeleteService {
                name: "web_old".into(),
            }],
            blockers: vec![ferry_core::Blocker {
                process: "web".into(),
                reason: ferry_core::BlockerReason::NameConflict,
                message: "taken".into(),
            }],
        };
        assert_eq!(
            describe_plan("web", &plan),
            "app/web:\n  delete service web_old\n  blocked: web: NameConflict: taken\n"
        );
    }

    /// A new capacity or ECS Exec shows what changes and that it is a new
    /// deployment, not a restart.
    #[test]
    fn plans_describe_capacity_and_exec_changes() {
        let spot = ferry_core::task::CapacityProviderItem {
            capacity_provider: ferry_core::task::FARGATE_SPOT.into(),
            base: 0,
            weight: 1,
        };
        let plan = Plan {
            actions: vec![
                ferry_core::Action::new_deployment("acme_worker", Some(vec![spot]), Some(true)),
                ferry_core::Action::new_deployment("acme_worker", Some(Vec::new()), None),
                ferry_core::Action::new_deployment("acme_worker", None, Some(false)),
            ],
            blockers: Vec::new(),
        };
        assert_eq!(
            describe_plan("acme", &plan),
            "app/acme:\n  \
             update service acme_worker: new deployment capacity FARGATE_SPOT base 0 weight 1 exec on\n  \
             update service acme_worker: new deployment capacity launch type FARGATE\n  \
             update service acme_worker: new deployment exec off\n"
        );
    }
}
