//! Scheduled processes (issue 13): a process with `schedule` gets an
//! EventBridge Scheduler schedule in this installation's group and no ECS
//! service; the local AWS fires it (schedule clock 20 times real time,
//! `rate(1 minute)` every 3 s), and the run shows in `ferry ps`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, Target};

use crate::converge::edit;
use crate::ecs::active_service;
use crate::support::{eventually, LocalAws};

const GROUP: &str = "ferry-ferry";
const TIMEOUT: Duration = Duration::from_secs(60);

fn manifest(image: &str, nightly: bool) -> String {
    let mut text = format!(
        "apiVersion: ferry/v1
kind: App
metadata:
  name: shop
spec:
  image: {image}
  processes:
    web:
      command: [shop, serve]
"
    );
    if nightly {
        text.push_str(
            "    nightly:
      command: [shop, report, --nightly]
      schedule: rate(1 minute)
      timezone: Europe/Berlin
      cpu: 512
      memory: 1024
",
        );
    }
    text
}

async fn schedule(
    local: &LocalAws,
    name: &str,
) -> Option<aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput> {
    local
        .scheduler()
        .await
        .get_schedule()
        .name(name)
        .group_name(GROUP)
        .send()
        .await
        .ok()
}

fn ecs_tags(target: &Target) -> BTreeMap<String, String> {
    target
        .ecs_parameters()
        .map(|e| {
            e.tags()
                .iter()
                .filter_map(|t| Some((t.get("key")?.clone(), t.get("value")?.clone())))
                .collect()
        })
        .unwrap_or_default()
}

fn apply(local: &LocalAws, file: &Path) {
    local.ferry_ok(&["apply", "-f", file.to_str().expect("utf-8 path")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_process_runs_on_its_schedule_and_has_no_service() {
    let mut local =
        LocalAws::start_with(&[("FERRY_EMULATOR_SCHEDULE_TIME_SCALE", "0.05")]).expect("local AWS");
    let dir = local.dir().join("manifests");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("shop.yaml");
    std::fs::write(&file, manifest("shop:1", true)).expect("write");

    // A schedule another tool keeps in its own group, with our name.
    let scheduler = local.scheduler().await;
    scheduler
        .create_schedule_group()
        .name("other-tool")
        .send()
        .await
        .expect("foreign group");
    let foreign_target = Target::builder()
        .arn(format!(
            "arn:aws:ecs:us-east-1:123456789012:cluster/{}",
            local.cluster()
        ))
        .role_arn(&local.env["FERRY_SCHEDULER_ROLE_ARN"])
        .build()
        .expect("target");
    scheduler
        .create_schedule()
        .name("shop_nightly")
        .group_name("other-tool")
        .schedule_expression("rate(7 days)")
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .expect("window"),
        )
        .target(foreign_target)
        .send()
        .await
        .expect("foreign schedule");

    local.start_leader(&[]).expect("controller");
    apply(&local, &file);

    let ecs = local.ecs().await;
    let created = eventually(TIMEOUT, "the schedule to exist", || async {
        schedule(&local, "shop_nightly").await
    })
    .await;
    assert!(active_service(&ecs, local.cluster(), "shop_web")
        .await
        .is_some());
    assert!(
        active_service(&ecs, local.cluster(), "shop_nightly")
            .await
            .is_none(),
        "a scheduled process has no service"
    );
    assert_eq!(created.schedule_expression(), Some("rate(1 minute)"));
    assert_eq!(
        created.schedule_expression_timezone(),
        Some("Europe/Berlin")
    );
    let target = created.target().expect("target");
    assert_eq!(
        target.arn(),
        format!(
            "arn:aws:ecs:us-east-1:123456789012:cluster/{}",
            local.cluster()
        )
    );
    assert_eq!(target.role_arn(), local.env["FERRY_SCHEDULER_ROLE_ARN"]);
    let params = target.ecs_parameters().expect("ECS parameters");
    assert!(params
        .task_definition_arn()
        .contains("task-definition/shop_nightly:"));
    let tags = ecs_tags(target);
    assert_eq!(tags.get("ferry:app").map(String::as_str), Some("shop"));
    assert_eq!(
        tags.get("ferry:process").map(String::as_str),
        Some("nightly")
    );
    assert_eq!(
        tags.get("ferry:managed-by").map(String::as_str),
        Some("ferry")
    );
    let first_revision = params.task_definition_arn().to_owned();

    // A run happens: a task with Ferry's tags, started by the scheduler.
    let run = eventually(TIMEOUT, "a scheduled run", || async {
        let arns = ecs
            .list_tasks()
            .cluster(local.cluster())
            .started_by("chronos-schedule/shop_nightly")
            .send()
            .await
            .ok()?
            .task_arns()
            .to_vec();
        let described = ecs
            .describe_tasks()
            .cluster(local.cluster())
            .set_tasks(Some(arns))
            .include(aws_sdk_ecs::types::TaskField::Tags)
            .send()
            .await
            .ok()?;
        described.tasks().first().cloned()
    })
    .await;
    assert_eq!(run.task_definition_arn(), Some(first_revision.as_str()));
    let run_tags: BTreeMap<_, _> = run
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    assert_eq!(run_tags.get("ferry:app"), Some(&"shop"));
    assert_eq!(run_tags.get("ferry:process"), Some(&"nightly"));

    // `ferry ps` lists it as scheduled; `ferry status` shows the schedule.
    let ps = eventually(TIMEOUT, "ferry ps to list the run", || async {
        let out = local.ferry_ok(&["ps", "shop", "-o", "json"]);
        let list: Vec<serde_json::Value> = serde_json::from_str(&out).ok()?;
        list.into_iter()
            .find(|t| t["process"] == "nightly" && t["scheduled"] == true)
    })
    .await;
    assert_eq!(ps["oneOff"], false);
    let table = local.ferry_ok(&["ps", "shop"]);
    assert!(table.contains("scheduled"), "{table}");
    let status = eventually(TIMEOUT, "status to show the schedule", || async {
        let out = local.ferry_ok(&["status", "shop", "-o", "json"]);
        let status: serde_json::Value = serde_json::from_str(&out).ok()?;
        (status["schedules"]["nightly"]["state"] == "ENABLED").then_some(status)
    })
    .await;
    let shown = &status["schedules"]["nightly"];
    assert_eq!(shown["expression"], "rate(1 minute)");
    assert_eq!(shown["timezone"], "Europe/Berlin");
    assert_eq!(shown["group"], GROUP);
    assert!(status["processes"].get("nightly").is_none(), "{status}");
    let text = local.ferry_ok(&["status", "shop"]);
    assert!(
        text.contains("Schedules:") && text.contains("rate(1 minute)"),
        "{text}"
    );

    // An image change points the schedule at the new revision.
    edit(&file, "image: shop:1", "image: shop:2");
    apply(&local, &file);
    let updated = eventually(TIMEOUT, "the schedule's new revision", || async {
        let s = schedule(&local, "shop_nightly").await?;
        let arn = s
            .target()?
            .ecs_parameters()?
            .task_definition_arn()
            .to_owned();
        (arn != first_revision).then_some(arn)
    })
    .await;
    let out = ecs
        .describe_task_definition()
        .task_definition(&updated)
        .send()
        .await
        .expect("DescribeTaskDefinition");
    let image = out
        .task_definition()
        .and_then(|td| td.container_definitions().first())
        .and_then(|c| c.image())
        .map(str::to_owned);
    assert_eq!(image.as_deref(), Some("shop:2"));

    // Removing the process deletes the schedule; the foreign one stays.
    std::fs::write(&file, manifest("shop:2", false)).expect("write");
    apply(&local, &file);
    eventually(TIMEOUT, "the schedule to be deleted", || async {
        schedule(&local, "shop_nightly")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let foreign = scheduler
        .get_schedule()
        .name("shop_nightly")
        .group_name("other-tool")
        .send()
        .await
        .expect("the foreign schedule is untouched");
    assert_eq!(foreign.schedule_expression(), Some("rate(7 days)"));
    let group_tags = scheduler
        .list_tags_for_resource()
        .resource_arn(format!(
            "arn:aws:scheduler:us-east-1:123456789012:schedule-group/{GROUP}"
        ))
        .send()
        .await
        .expect("group tags");
    assert!(group_tags
        .tags()
        .iter()
        .any(|t| t.key() == "ferry:managed-by" && t.value() == "ferry"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ferry_validate_locates_a_bad_schedule() {
    let local = LocalAws::start().expect("local AWS");
    let file = local.dir().join("bad.yaml");
    std::fs::write(
        &file,
        manifest("shop:1", true)
            .replace("rate(1 minute)", "rate(1 minutes)")
            .replace("cpu: 512", "scale: 2\n      cpu: 512"),
    )
    .expect("write");
    let out = local.ferry(&["validate", "-f", file.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.yaml:12:17: spec.processes.nightly.schedule: invalid schedule"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`cron(minutes hours day-of-month month day-of-week year)`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.yaml:14:7: spec.processes.nightly.scale: `scale` cannot be set on a scheduled process"),
        "{stderr}"
    );
}
