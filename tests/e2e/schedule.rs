//! Scheduled processes (issue 13): a process with `schedule` gets an
//! EventBridge Scheduler schedule in this installation's group and no ECS
//! service; the local AWS fires it (schedule clock 20 times real time,
//! `rate(1 minute)` every 3 s), and the run shows in `ferry ps`.
//! Cron expressions fire at their minute in their time zone (issue 19),
//! on a faster schedule clock (100 times real time).
//!
//! Issue 18: the target sends each tag as its own `{K: V}` map (the
//! local Scheduler fails the run otherwise, as AWS does), with the
//! installation's dead-letter queue, an explicit retry policy and the task
//! group `ferry:schedule`; status shows each schedule's last run, and each
//! invocation Scheduler gave up on with its error code.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_sdk_ecs::types::DesiredStatus;
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

/// The target's task tags, as Scheduler reads them: every entry of every
/// map is a tag. Panics on a key given twice (AWS refuses that RunTask).
fn ecs_tags(target: &Target) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    for map in target
        .ecs_parameters()
        .map(|e| e.tags())
        .unwrap_or_default()
    {
        for (k, v) in map {
            assert!(
                tags.insert(k.clone(), v.clone()).is_none(),
                "tag {k} given twice"
            );
        }
    }
    tags
}

fn apply(local: &LocalAws, file: &Path) {
    local.ferry_ok(&["apply", "-f", file.to_str().expect("utf-8 path")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_process_runs_on_its_schedule_and_has_no_service() {
    let mut local =
        // A run every 6 s that lasts 4 s: long enough to be listed running
        // once ECS's eventual consistency shows it (2 s), and over before
        // the next one starts.
        LocalAws::start_with(&[
            ("FERRY_EMULATOR_SCHEDULE_TIME_SCALE", "0.1"),
            ("FERRY_EMULATOR_TASK_RUN_SECONDS", "4"),
        ])
        .expect("local AWS");
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
    // Visible once ECS's eventual consistency lets it be.
    eventually(TIMEOUT, "shop_web to be described", || async {
        active_service(&ecs, local.cluster(), "shop_web").await
    })
    .await;
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
        .contains("task-definition/ferry_shop_nightly:"));
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
    assert!(
        params.tags().iter().all(|map| map.len() == 1),
        "one map per tag: {:?}",
        params.tags()
    );
    assert_eq!(params.group(), Some("ferry:schedule"));
    let retry = target.retry_policy().expect("an explicit retry policy");
    assert_eq!(retry.maximum_retry_attempts(), Some(2));
    assert_eq!(retry.maximum_event_age_in_seconds(), Some(300));
    assert_eq!(
        target.dead_letter_config().and_then(|d| d.arn()),
        Some(local.env["FERRY_SCHEDULE_DLQ_ARN"].as_str())
    );
    let first_revision = params.task_definition_arn().to_owned();

    // A run happens: a task with Ferry's tags, started by the scheduler.
    let run = eventually(TIMEOUT, "a scheduled run", || async {
        // Running or already stopped: a short run may stop before ECS's
        // eventual consistency lets ListTasks show it running.
        let mut arns = Vec::new();
        for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
            arns.extend(
                ecs.list_tasks()
                    .cluster(local.cluster())
                    .started_by("chronos-schedule/shop_nightly")
                    .desired_status(status)
                    .send()
                    .await
                    .ok()?
                    .task_arns()
                    .iter()
                    .cloned(),
            );
        }
        if arns.is_empty() {
            return None;
        }
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
    assert_eq!(shown["failuresReported"], true);
    assert_eq!(shown["expression"], "rate(1 minute)");
    assert_eq!(shown["timezone"], "Europe/Berlin");
    assert_eq!(shown["group"], GROUP);
    assert!(status["processes"].get("nightly").is_none(), "{status}");
    let text = local.ferry_ok(&["status", "shop"]);
    assert!(
        text.contains("Schedules:") && text.contains("rate(1 minute)"),
        "{text}"
    );

    // Its last run, once it ended: the local ECS runs it for a second and
    // it exits 0.
    let last = eventually(
        TIMEOUT,
        "status to show the last run's exit code",
        || async {
            let out = local.ferry_ok(&["status", "shop", "-o", "json"]);
            let status: serde_json::Value = serde_json::from_str(&out).ok()?;
            let run = status["schedules"]["nightly"]["lastRun"].clone();
            (run["exitCode"] == 0).then_some(run)
        },
    )
    .await;
    assert_eq!(last["lastStatus"], "STOPPED");
    assert!(
        last["taskArn"]
            .as_str()
            .is_some_and(|arn| arn.contains(":task/")),
        "{last}"
    );
    let text = local.ferry_ok(&["status", "shop"]);
    assert!(
        text.contains("nightly: last run") && text.contains("exit 0"),
        "{text}"
    );
    assert!(
        !local
            .ferry_ok(&["status", "shop", "-o", "json"])
            .contains("failedInvocations"),
        "no run failed"
    );

    // Converged: the target Ferry wrote reads back as the one it wants, so
    // resyncs (every 5 s here) leave the schedule alone.
    let modified = || async {
        schedule(&local, "shop_nightly")
            .await
            .and_then(|s| s.last_modification_date().cloned())
    };
    let before = modified().await;
    assert!(before.is_some());
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        modified().await,
        before,
        "no UpdateSchedule without a change"
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

/// A run Scheduler cannot start (its task definition was deleted behind
/// Ferry's back, so ECS refuses the RunTask) reaches the dead-letter queue
/// after the retries, and shows on status with Scheduler's error code; the
/// controller then deletes the message.
#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_run_that_fails_shows_on_status_with_its_error_code() {
    let mut local =
        LocalAws::start_with(&[("FERRY_EMULATOR_SCHEDULE_TIME_SCALE", "0.05")]).expect("local AWS");
    let dir = local.dir().join("manifests");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("shop.yaml");
    std::fs::write(&file, manifest("shop:1", true)).expect("write");
    local.start_leader(&[]).expect("controller");
    apply(&local, &file);

    let created = eventually(TIMEOUT, "the schedule to exist", || async {
        schedule(&local, "shop_nightly").await
    })
    .await;
    let revision = created
        .target()
        .and_then(|t| t.ecs_parameters())
        .map(|e| e.task_definition_arn().to_owned())
        .expect("the schedule's task definition");
    let ecs = local.ecs().await;
    ecs.deregister_task_definition()
        .task_definition(&revision)
        .send()
        .await
        .expect("DeregisterTaskDefinition");
    ecs.delete_task_definitions()
        .task_definitions(&revision)
        .send()
        .await
        .expect("DeleteTaskDefinitions");

    let failure = eventually(TIMEOUT, "status to show the failed invocation", || async {
        let out = local.ferry_ok(&["status", "shop", "-o", "json"]);
        let status: serde_json::Value = serde_json::from_str(&out).ok()?;
        status["schedules"]["nightly"]["failedInvocations"]
            .as_array()?
            .first()
            .cloned()
    })
    .await;
    assert_eq!(failure["errorCode"], "ClientException", "{failure}");
    assert_eq!(
        failure["errorMessage"],
        "Unable to describe task definition."
    );
    assert_eq!(
        failure["retryAttempts"], 2,
        "the retry policy's two retries"
    );
    assert_eq!(failure["exhaustedRetryCondition"], "MaximumRetryAttempts");
    assert!(failure["scheduledTime"].as_str().is_some(), "{failure}");
    let text = local.ferry_ok(&["status", "shop"]);
    assert!(
        text.contains("nightly: run due") && text.contains("ClientException"),
        "{text}"
    );

    // Failures keep coming (one every 3 s): status keeps the newest few.
    eventually(TIMEOUT, "more failures, bounded", || async {
        let out = local.ferry_ok(&["status", "shop", "-o", "json"]);
        let status: serde_json::Value = serde_json::from_str(&out).ok()?;
        let shown = status["schedules"]["nightly"]["failedInvocations"]
            .as_array()?
            .len();
        assert!(shown <= 5, "at most 5 failures are kept: {status}");
        (shown >= 2).then_some(())
    })
    .await;

    // Recorded, so deleted from the queue: with the schedule gone, the
    // queue empties (dead letters of a deleted schedule are deleted too).
    std::fs::write(&file, manifest("shop:1", false)).expect("write");
    apply(&local, &file);
    let sqs = aws_sdk_sqs::Client::new(&local.sdk_config().await);
    let arn = &local.env["FERRY_SCHEDULE_DLQ_ARN"];
    let name = arn.rsplit(':').next().expect("queue name");
    let url = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .expect("GetQueueUrl")
        .queue_url()
        .map(str::to_owned)
        .expect("queue URL");
    eventually(TIMEOUT, "the dead letters to be deleted", || async {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .ok()?;
        let attributes = out.attributes()?;
        let count = |name: A| attributes.get(&name).map(String::as_str) == Some("0");
        (schedule(&local, "shop_nightly").await.is_none()
            && count(A::ApproximateNumberOfMessages)
            && count(A::ApproximateNumberOfMessagesNotVisible))
        .then_some(())
    })
    .await;
}

/// Without `--schedule-dlq-arn` schedules run as before, with no
/// dead-letter queue, and status says failed runs are not reported.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_dead_letter_queue_status_says_failures_are_not_reported() {
    let mut local =
        LocalAws::start_with(&[("FERRY_EMULATOR_SCHEDULE_TIME_SCALE", "0.05")]).expect("local AWS");
    local.env.remove("FERRY_SCHEDULE_DLQ_ARN");
    let dir = local.dir().join("manifests");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("shop.yaml");
    std::fs::write(&file, manifest("shop:1", true)).expect("write");
    local.start_leader(&[]).expect("controller");
    apply(&local, &file);

    let created = eventually(TIMEOUT, "the schedule to exist", || async {
        schedule(&local, "shop_nightly").await
    })
    .await;
    let target = created.target().expect("target");
    assert!(target.dead_letter_config().is_none(), "{target:?}");
    assert!(
        target.retry_policy().is_some(),
        "the retry policy is set anyway"
    );
    let shown = eventually(TIMEOUT, "status to show the last run", || async {
        let out = local.ferry_ok(&["status", "shop", "-o", "json"]);
        let status: serde_json::Value = serde_json::from_str(&out).ok()?;
        let shown = status["schedules"]["nightly"].clone();
        (shown["lastRun"]["exitCode"] == 0).then_some(shown)
    })
    .await;
    assert_eq!(shown["failuresReported"], false, "{shown}");
    let text = local.ferry_ok(&["status", "shop"]);
    assert!(
        text.contains("nightly: failed runs are not reported"),
        "{text}"
    );
}

/// The tasks `schedule` has started so far (running or stopped), by ARN,
/// with the Unix time ECS created each.
async fn runs_of(local: &LocalAws, schedule: &str) -> BTreeMap<String, f64> {
    let ecs = local.ecs().await;
    let mut runs = BTreeMap::new();
    for status in [
        aws_sdk_ecs::types::DesiredStatus::Running,
        aws_sdk_ecs::types::DesiredStatus::Stopped,
    ] {
        let arns = ecs
            .list_tasks()
            .cluster(local.cluster())
            .started_by(format!("chronos-schedule/{schedule}"))
            .desired_status(status)
            .send()
            .await
            .expect("ListTasks")
            .task_arns()
            .to_vec();
        if arns.is_empty() {
            continue;
        }
        let described = ecs
            .describe_tasks()
            .cluster(local.cluster())
            .set_tasks(Some(arns))
            .send()
            .await
            .expect("DescribeTasks");
        for task in described.tasks() {
            if let (Some(arn), Some(created)) = (task.task_arn(), task.created_at()) {
                runs.insert(arn.to_owned(), created.as_secs_f64());
            }
        }
    }
    runs
}

/// Cron expressions fire at their minute in their time zone (issue 19
/// item 6). Two processes with the same `cron(15 * * * ? *)`, one in UTC
/// (the default) and one in Asia/Kolkata (UTC+05:30): each fires once an
/// hour, and Kolkata's at :45 UTC, half an hour after UTC's. With the
/// schedule clock at 100 times real time an hour lasts 36 s, so the runs
/// come 36 s apart and Kolkata's 18 s after UTC's; a time zone ignored by
/// Ferry's rendering or by the local Scheduler makes them coincide.
/// The cron schedule's target carries its tags as Scheduler reads them.
#[tokio::test(flavor = "multi_thread")]
async fn cron_schedules_fire_at_their_minute_in_their_time_zone() {
    const HOUR: f64 = 36.0; // real seconds per schedule hour at scale 0.01
    let mut local =
        LocalAws::start_with(&[("FERRY_EMULATOR_SCHEDULE_TIME_SCALE", "0.01")]).expect("local AWS");
    let file = local.dir().join("shop.yaml");
    std::fs::write(
        &file,
        "apiVersion: ferry/v1
kind: App
metadata:
  name: shop
spec:
  image: shop:1
  processes:
    utc:
      command: [shop, report]
      schedule: cron(15 * * * ? *)
    kolkata:
      command: [shop, report]
      schedule: cron(15 * * * ? *)
      timezone: Asia/Kolkata
",
    )
    .expect("write");
    local.start_leader(&[]).expect("controller");
    apply(&local, &file);

    let kolkata = eventually(TIMEOUT, "the schedules to exist", || async {
        schedule(&local, "shop_utc").await?;
        schedule(&local, "shop_kolkata").await
    })
    .await;
    assert_eq!(kolkata.schedule_expression(), Some("cron(15 * * * ? *)"));
    assert_eq!(kolkata.schedule_expression_timezone(), Some("Asia/Kolkata"));
    let utc = schedule(&local, "shop_utc").await.expect("shop_utc");
    assert!(
        matches!(utc.schedule_expression_timezone(), None | Some("UTC")),
        "{utc:?}"
    );
    let target = kolkata.target().expect("target");
    let params = target.ecs_parameters().expect("ECS parameters");
    assert!(
        params.tags().iter().all(|map| map.len() == 1),
        "one map per tag: {:?}",
        params.tags()
    );
    let tags = ecs_tags(target);
    assert_eq!(tags.get("ferry:app").map(String::as_str), Some("shop"));
    assert_eq!(
        tags.get("ferry:process").map(String::as_str),
        Some("kolkata")
    );
    assert_eq!(
        tags.get("ferry:managed-by").map(String::as_str),
        Some("ferry")
    );

    // Two runs of UTC's and one of Kolkata's after UTC's first (the tags
    // as Scheduler reads them or the local ECS would refuse the runs).
    let (utc_runs, kolkata_runs) = eventually(
        Duration::from_secs(150),
        "two hourly runs of each",
        || async {
            let utc: Vec<f64> = runs_of(&local, "shop_utc").await.into_values().collect();
            let kolkata: Vec<f64> = runs_of(&local, "shop_kolkata")
                .await
                .into_values()
                .collect();
            (utc.len() >= 2 && kolkata.len() >= 2).then_some((utc, kolkata))
        },
    )
    .await;
    let sorted = |mut times: Vec<f64>| {
        times.sort_by(f64::total_cmp);
        times
    };
    let (utc_runs, kolkata_runs) = (sorted(utc_runs), sorted(kolkata_runs));
    for runs in [&utc_runs, &kolkata_runs] {
        let period = runs[1] - runs[0];
        assert!(
            (period - HOUR).abs() < 3.0,
            "hourly: {period:.1}s between runs, not {HOUR}s: {runs:?}"
        );
    }
    let offset = (kolkata_runs[0] - utc_runs[0]).rem_euclid(HOUR);
    assert!(
        (offset - HOUR / 2.0).abs() < 3.0,
        "Kolkata's :15 is UTC's :45, half an hour (18 s) after UTC's :15; \
         the runs were {offset:.1}s apart (utc {utc_runs:?}, kolkata {kolkata_runs:?})"
    );
}
