//! ECS's own progressive delivery (issue 23): blue/green, canary and
//! linear deployments with their target-group pairs, test rules, bakes,
//! alarm rollback and approvals, driven through `ferry` and checked against
//! what the local AWS holds: the production and test rules' weights
//! (ELBv2), the service's deployment configuration and its service
//! deployments (ECS), the alarms (CloudWatch).
//!
//! Every test runs the emulator with `FERRY_EMULATOR_DEPLOYMENT_TIME_SCALE`
//! 0.05: a minute of bake or approval timeout lasts 3 s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch as cloudwatch;
use aws_sdk_ecs as ecs;

use crate::ecs::active_service;
use crate::support::{eventually, LocalAws};

const TIME_SCALE: (&str, &str) = ("FERRY_EMULATOR_DEPLOYMENT_TIME_SCALE", "0.05");

async fn start() -> LocalAws {
    let mut local = LocalAws::start_with(&[TIME_SCALE]).expect("local AWS");
    local.start_leader(&[]).expect("controller");
    local
}

/// An app with one exposed process, `web`, rolled out as `rollout` says
/// (YAML under `rollout:`, indented 8 spaces; empty for none).
fn manifest(app: &str, image: &str, rollout: &str) -> String {
    let rollout = if rollout.is_empty() {
        String::new()
    } else {
        format!("      rollout:\n{rollout}")
    };
    format!(
        "apiVersion: ferry/v1
kind: App
metadata:
  name: {app}
spec:
  image: acme/{app}:{image}
  processes:
    web:
      command: [{app}, serve]
      port: 8080
      scale: 2
{rollout}"
    )
}

fn write(local: &LocalAws, app: &str, text: &str) -> PathBuf {
    let file = local.dir().join(format!("{app}.yaml"));
    std::fs::write(&file, text).expect("write manifest");
    file
}

fn utf8(path: &std::path::Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Applies and waits until the app is Ready (or fails the test).
fn apply_ready(local: &LocalAws, app: &str, text: &str) {
    let file = write(local, app, text);
    local.ferry_ok(&["apply", "-f", utf8(&file), "--wait", "--timeout", "180s"]);
}

/// Starts `ferry apply --wait` in the background.
fn apply_waiting(local: &LocalAws, app: &str, text: &str) -> Child {
    let file = write(local, app, text);
    local
        .ferry_command(&["apply", "-f", utf8(&file), "--wait", "--timeout", "240s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry apply --wait")
}

async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("ferry apply --wait")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn status(local: &LocalAws, app: &str) -> serde_json::Value {
    serde_json::from_str(&local.ferry_ok(&["status", app, "-o", "json"])).expect("status JSON")
}

/// The forward of the rule for `host` on `listener`: target group name ->
/// weight (100 for a plain forward).
async fn forward(local: &LocalAws, listener: &str, host: &str) -> Option<BTreeMap<String, i32>> {
    let client = local.elb().await;
    let rules = client
        .describe_rules()
        .listener_arn(listener)
        .send()
        .await
        .expect("DescribeRules");
    let rule = rules.rules().iter().find(|r| {
        r.conditions().iter().any(|c| {
            c.host_header_config()
                .map(|h| h.values())
                .unwrap_or(c.values())
                .iter()
                .any(|v| v == host)
        })
    })?;
    let action = rule.actions().first()?;
    let name = |arn: &str| arn.split('/').nth(1).unwrap_or_default().to_owned();
    let mut out = BTreeMap::new();
    match action.forward_config() {
        Some(config) if !config.target_groups().is_empty() => {
            for group in config.target_groups() {
                out.insert(
                    name(group.target_group_arn().unwrap_or_default()),
                    group.weight().unwrap_or(1),
                );
            }
        }
        _ => {
            out.insert(name(action.target_group_arn().unwrap_or_default()), 100);
        }
    }
    Some(out)
}

fn host(app: &str) -> String {
    format!("web.{app}.ferry.internal")
}

/// The production rule's forward (on the internal load balancer's first
/// listener).
async fn production(local: &LocalAws, app: &str) -> BTreeMap<String, i32> {
    let listener = local.env["FERRY_INTERNAL_LISTENER_ARN"]
        .split(',')
        .next()
        .expect("a listener")
        .to_owned();
    forward(local, &listener, &host(app))
        .await
        .unwrap_or_else(|| panic!("no production rule for {app}"))
}

async fn test_rule(local: &LocalAws, app: &str) -> Option<BTreeMap<String, i32>> {
    let listener = local.env["FERRY_INTERNAL_TEST_LISTENER_ARN"].clone();
    forward(local, &listener, &host(app)).await
}

/// The group a forward sends (nearly) everything to.
fn live(forward: &BTreeMap<String, i32>) -> String {
    forward
        .iter()
        .max_by_key(|(_, w)| **w)
        .map(|(g, _)| g.clone())
        .unwrap_or_default()
}

fn service_name(app: &str) -> String {
    format!("{app}_web")
}

async fn service(local: &LocalAws, app: &str) -> ecs::types::Service {
    active_service(&local.ecs().await, local.cluster(), &service_name(app))
        .await
        .unwrap_or_else(|| panic!("no service for {app}"))
}

/// The service's deployments, newest first, described.
async fn service_deployments(local: &LocalAws, app: &str) -> Vec<ecs::types::ServiceDeployment> {
    let client = local.ecs().await;
    let briefs = client
        .list_service_deployments()
        .cluster(local.cluster())
        .service(service_name(app))
        .send()
        .await
        .expect("ListServiceDeployments");
    let arns: Vec<String> = briefs
        .service_deployments()
        .iter()
        .filter_map(|b| b.service_deployment_arn().map(str::to_owned))
        .take(20)
        .collect();
    if arns.is_empty() {
        return Vec::new();
    }
    let mut described = client
        .describe_service_deployments()
        .set_service_deployment_arns(Some(arns.clone()))
        .send()
        .await
        .expect("DescribeServiceDeployments")
        .service_deployments()
        .to_vec();
    described.sort_by_key(|d| {
        arns.iter()
            .position(|a| Some(a.as_str()) == d.service_deployment_arn())
    });
    described
}

fn deployment_status(d: &ecs::types::ServiceDeployment) -> &str {
    d.status().map_or("", |s| s.as_str())
}

async fn cloudwatch(local: &LocalAws) -> cloudwatch::Client {
    cloudwatch::Client::new(&local.sdk_config().await)
}

/// The team's own alarm, as a team would make it.
async fn team_alarm(local: &LocalAws, name: &str) {
    cloudwatch(local)
        .await
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .statistic(cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(10.0)
        .comparison_operator(cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("PutMetricAlarm");
}

/// Polls status until its `web` process's deployment view satisfies
/// `check`, and returns that status.
async fn until_view(
    local: &LocalAws,
    app: &str,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = status(local, app);
        if check(&status["processes"]["web"]["deployment"]) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {app}: {what}; last status: {status}\ncontroller logs:\n{}",
            local.controller_logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A view shifting production traffic with the new revision at
/// `tenths` of a percent.
fn shifted(tenths: u64) -> impl Fn(&serde_json::Value) -> bool {
    move |view| {
        view["stage"] == "PRODUCTION_TRAFFIC_SHIFT"
            && view["productionWeightTenths"].as_u64() == Some(tenths)
    }
}

/// The controller's writes of `operation` since `t` (Unix seconds).
fn controller_writes_since(local: &LocalAws, operation: &str, t: f64) -> usize {
    local
        .requests()
        .iter()
        .filter(|r| r.from_controller() && r.operation == operation && r.t >= t && r.status < 300)
        .count()
}

const CANARY: &str = "        strategy: canary
        canaryPercent: 10
        stepBake: 2m
        bake: 1m
";

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_completes_through_its_stages_with_the_weights_ecs_sets() {
    let local = start().await;
    apply_ready(&local, "shop", &manifest("shop", "1", CANARY));

    // Ferry set up what ECS needs: the pair, the test rule, the service's
    // strategy and advanced configuration.
    let before = production(&local, "shop").await;
    assert_eq!(
        before.len(),
        2,
        "the production rule forwards to the pair: {before:?}"
    );
    let test = test_rule(&local, "shop").await.expect("a test rule");
    assert_eq!(
        test.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the test rule forwards to the same pair"
    );
    let svc = service(&local, "shop").await;
    let config = svc
        .deployment_configuration()
        .expect("deployment configuration");
    assert_eq!(config.strategy().map(|s| s.as_str()), Some("CANARY"));
    let canary = config.canary_configuration().expect("canary configuration");
    assert_eq!(canary.canary_percent(), Some(10.0));
    assert_eq!(canary.canary_bake_time_in_minutes(), Some(2));
    assert_eq!(config.bake_time_in_minutes(), Some(1));
    let advanced = svc.load_balancers()[0]
        .advanced_configuration()
        .expect("advanced configuration");
    assert_eq!(
        advanced.role_arn(),
        Some(local.env["FERRY_ECS_INFRASTRUCTURE_ROLE_ARN"].as_str())
    );
    let old_live = live(&before);

    // A new version: 10 % first, baking, then everything.
    let waiting = apply_waiting(&local, "shop", &manifest("shop", "2", CANARY));
    let status = until_view(&local, "shop", "canary 10 %", shifted(100)).await;
    let during = production(&local, "shop").await;
    assert_eq!(during[&old_live], 90, "canary: {during:?}");
    assert_eq!(
        status["processes"]["web"]["deployment"]["strategy"],
        "canary"
    );
    let shown = local.ferry_ok(&["status", "shop"]);
    assert!(shown.contains("canary 10 %, baking"), "{shown}");

    let out = finish(waiting).await;
    assert!(out.status.success(), "apply --wait: {}", text(&out));
    let after = production(&local, "shop").await;
    let new_live = live(&after);
    assert_ne!(
        new_live, old_live,
        "ECS made the other group live: {after:?}"
    );
    assert_eq!(after[&new_live], 100);
    let deployments = service_deployments(&local, "shop").await;
    assert_eq!(deployment_status(&deployments[0]), "SUCCESSFUL");
    let releases: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["releases", "shop", "-o", "json"])).expect("json");
    assert_eq!(releases[0]["outcome"], "succeeded", "{releases}");

    // Drift correction leaves ECS's weights and live group alone, resync
    // after resync.
    let settled = local.requests().iter().map(|r| r.t).fold(0.0_f64, f64::max);
    tokio::time::sleep(Duration::from_secs(16)).await;
    assert_eq!(production(&local, "shop").await, after);
    for operation in ["ModifyRule", "UpdateService", "CreateRule", "DeleteRule"] {
        assert_eq!(
            controller_writes_since(&local, operation, settled),
            0,
            "{operation} after the deployment settled"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canary_whose_alarm_fires_in_its_bake_rolls_back_and_fails_its_release() {
    let local = start().await;
    team_alarm(&local, "web-5xx").await;
    let rollout = "        strategy: canary
        canaryPercent: 10
        stepBake: 20m
        alarms: [web-5xx]
";
    apply_ready(&local, "shop", &manifest("shop", "1", rollout));
    let config = service(&local, "shop").await;
    let alarms = config
        .deployment_configuration()
        .and_then(|c| c.alarms())
        .expect("alarms");
    assert_eq!(alarms.alarm_names(), ["web-5xx"]);
    assert!(alarms.enable() && alarms.rollback());
    let old_live = live(&production(&local, "shop").await);

    let waiting = apply_waiting(&local, "shop", &manifest("shop", "2", rollout));
    until_view(&local, "shop", "canary 10 %", shifted(100)).await;
    cloudwatch(&local)
        .await
        .set_alarm_state()
        .alarm_name("web-5xx")
        .state_value(cloudwatch::types::StateValue::Alarm)
        .state_reason("5xx above threshold (test)")
        .send()
        .await
        .expect("SetAlarmState");

    let out = finish(waiting).await;
    assert!(
        !out.status.success(),
        "a rollback fails the wait: {}",
        text(&out)
    );
    // The wait ends at once; the cause may still be ECS's going back,
    // made exact (the alarm) by the next read of the service deployment.
    assert!(text(&out).contains("rolled back"), "{}", text(&out));
    let after = production(&local, "shop").await;
    assert_eq!(
        after[&old_live], 100,
        "traffic back on the old revision: {after:?}"
    );
    // The wait ends as soon as ECS rolls back on the alarm; ECS then
    // finishes the rollback.
    let deployments = eventually(Duration::from_secs(60), "rollback done", || async {
        let deployments = service_deployments(&local, "shop").await;
        (deployment_status(&deployments[0]) == "ROLLBACK_SUCCESSFUL").then_some(deployments)
    })
    .await;
    assert_eq!(
        deployments[0]
            .alarms()
            .map(|a| a.triggered_alarm_names().to_vec())
            .unwrap_or_default(),
        ["web-5xx"]
    );
    eventually(
        Duration::from_secs(30),
        "the alarm named as the cause",
        || async {
            let shown = status(&local, "shop");
            (shown["processes"]["web"]["rolloutReason"] == "rolled back: alarm web-5xx")
                .then_some(())
        },
    )
    .await;
    let releases: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["releases", "shop", "-o", "json"])).expect("json");
    assert_eq!(releases[0]["outcome"], "failed", "{releases}");
    assert!(
        releases[0]["outcomeReason"]
            .as_str()
            .is_some_and(|r| r.contains("rolled back: alarm web-5xx")),
        "{releases}"
    );
    // Sticky: several resyncs later, still failed, and nothing pushed again.
    let t = local.requests().iter().map(|r| r.t).fold(0.0_f64, f64::max);
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        status(&local, "shop")["processes"]["web"]["rollout"],
        "FAILED"
    );
    assert_eq!(controller_writes_since(&local, "UpdateService", t), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn blue_green_waits_for_approval_with_test_traffic_then_continues() {
    let local = start().await;
    let rollout = "        strategy: blueGreen
        bake: 1m
        approval: afterTestTraffic
        approvalTimeout: 60m
";
    apply_ready(&local, "shop", &manifest("shop", "1", rollout));
    let old_live = live(&production(&local, "shop").await);
    let refused = local.ferry(&["rollout", "continue", "shop"]);
    assert!(!refused.status.success());
    let cause = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(cause.trim().lines().count(), 1, "one line: {cause}");

    let waiting = apply_waiting(&local, "shop", &manifest("shop", "2", rollout));
    until_view(&local, "shop", "an approval awaited", |view| {
        view["awaiting"]["status"] == "AWAITING_ACTION"
    })
    .await;
    // Test traffic on the new revision, production still on the old.
    let test = test_rule(&local, "shop").await.expect("test rule");
    let green = live(&test);
    assert_ne!(
        green, old_live,
        "the test rule sends to the new revision: {test:?}"
    );
    assert_eq!(test[&green], 100);
    assert_eq!(production(&local, "shop").await[&old_live], 100);
    let shown = local.ferry_ok(&["rollout", "status", "shop"]);
    assert!(shown.contains("waiting for approval"), "{shown}");
    let deployments = service_deployments(&local, "shop").await;
    assert_eq!(
        deployments[0].lifecycle_stage().map(|s| s.as_str()),
        Some("POST_TEST_TRAFFIC_SHIFT")
    );

    local.ferry_ok(&["rollout", "continue", "shop"]);
    let out = finish(waiting).await;
    assert!(out.status.success(), "apply --wait: {}", text(&out));
    let after = production(&local, "shop").await;
    assert_eq!(after[&green], 100, "{after:?}");
    assert_eq!(
        deployment_status(&service_deployments(&local, "shop").await[0]),
        "SUCCESSFUL"
    );
    // Nothing left to continue.
    let again = local.ferry(&["rollout", "continue", "shop"]);
    assert!(!again.status.success(), "{}", text(&again));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_linear_rollout_aborted_goes_back_to_the_old_revision() {
    let local = start().await;
    let rollout = "        strategy: linear
        stepPercent: 25
        stepBake: 20m
";
    apply_ready(&local, "shop", &manifest("shop", "1", rollout));
    let old_live = live(&production(&local, "shop").await);

    let waiting = apply_waiting(&local, "shop", &manifest("shop", "2", rollout));
    until_view(&local, "shop", "linear 25 %", shifted(250)).await;
    assert_eq!(production(&local, "shop").await[&old_live], 75);
    local.ferry_ok(&["rollout", "abort", "shop"]);

    let out = finish(waiting).await;
    assert!(
        !out.status.success(),
        "an abort fails the wait: {}",
        text(&out)
    );
    assert!(text(&out).contains("rolled back"), "{}", text(&out));
    let after = production(&local, "shop").await;
    assert_eq!(after[&old_live], 100, "{after:?}");
    let status = deployment_status(&service_deployments(&local, "shop").await[0]).to_owned();
    assert!(
        status.starts_with("ROLLBACK") || status == "STOPPED",
        "ECS rolled it back: {status}"
    );
    let again = local.ferry(&["rollout", "abort", "shop"]);
    assert!(!again.status.success(), "nothing left to abort");
}

/// Applies `text` with `--wait` and, every half second until the wait
/// ends, checks that each group the production rule sends traffic to has
/// registered targets: a switch of strategy never sends traffic nowhere.
async fn switch_watching(local: &LocalAws, text_: String) {
    let child = apply_waiting(local, "shop", &text_);
    let elb = local.elb().await;
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut child = Some(child);
    loop {
        let forward = production(local, "shop").await;
        for (group, weight) in &forward {
            if *weight == 0 {
                continue;
            }
            let groups = elb
                .describe_target_groups()
                .names(group)
                .send()
                .await
                .expect("DescribeTargetGroups");
            let arn = groups.target_groups()[0]
                .target_group_arn()
                .unwrap_or_default();
            let health = elb
                .describe_target_health()
                .target_group_arn(arn)
                .send()
                .await
                .expect("DescribeTargetHealth");
            assert!(
                !health.target_health_descriptions().is_empty(),
                "traffic ({weight}) sent to {group}, which has no targets"
            );
        }
        if let Some(c) = child.as_mut() {
            if c.try_wait().expect("try_wait").is_some() {
                let out = finish(child.take().expect("child")).await;
                assert!(out.status.success(), "switch: {}", text(&out));
                return;
            }
        }
        assert!(Instant::now() < deadline, "switch did not finish");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn switching_strategies_both_ways_keeps_a_serving_group_live() {
    let local = start().await;
    apply_ready(&local, "shop", &manifest("shop", "1", ""));
    let rolling = production(&local, "shop").await;
    assert_eq!(rolling.len(), 1, "rolling: one group: {rolling:?}");
    assert!(test_rule(&local, "shop").await.is_none());

    let blue_green = "        strategy: blueGreen
        bake: 1m
";
    switch_watching(&local, manifest("shop", "1", blue_green)).await;
    let svc = service(&local, "shop").await;
    assert_eq!(
        svc.deployment_configuration()
            .and_then(|c| c.strategy())
            .map(|s| s.as_str()),
        Some("BLUE_GREEN")
    );
    assert!(svc.load_balancers()[0].advanced_configuration().is_some());
    assert_eq!(production(&local, "shop").await.len(), 2);
    assert!(test_rule(&local, "shop").await.is_some());
    // A deployment under blue/green makes the other group live.
    switch_watching(&local, manifest("shop", "2", blue_green)).await;
    let swapped = live(&production(&local, "shop").await);

    // And back to rolling, from whichever group is live.
    switch_watching(&local, manifest("shop", "3", "")).await;
    let svc = service(&local, "shop").await;
    assert_eq!(
        svc.deployment_configuration()
            .and_then(|c| c.strategy())
            .map_or("ROLLING", |s| s.as_str()),
        "ROLLING"
    );
    assert!(svc.load_balancers()[0].advanced_configuration().is_none());
    let back = eventually(Duration::from_secs(60), "one group again", || async {
        let forward = production(&local, "shop").await;
        (forward.len() == 1).then_some(forward)
    })
    .await;
    assert_eq!(live(&back), swapped, "rolling keeps the live group");
    eventually(
        Duration::from_secs(60),
        "test rule and spare group gone",
        || async {
            let groups = local
                .elb()
                .await
                .describe_target_groups()
                .send()
                .await
                .expect("DescribeTargetGroups");
            let ours = groups
                .target_groups()
                .iter()
                .filter(|g| g.target_group_name().is_some_and(|n| n.contains("shop")))
                .count();
            (test_rule(&local, "shop").await.is_none() && ours == 1).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn alarms_default_creates_an_owned_alarm_ecs_rolls_back_on() {
    let local = start().await;
    let rollout = "        strategy: canary
        alarms: default
";
    apply_ready(&local, "shop", &manifest("shop", "1", rollout));
    let names = service(&local, "shop")
        .await
        .deployment_configuration()
        .and_then(|c| c.alarms())
        .map(|a| a.alarm_names().to_vec())
        .unwrap_or_default();
    assert_eq!(names.len(), 1, "{names:?}");
    let cw = cloudwatch(&local).await;
    let alarms = cw
        .describe_alarms()
        .alarm_names(&names[0])
        .send()
        .await
        .expect("DescribeAlarms");
    let alarm = &alarms.metric_alarms()[0];
    assert_eq!(alarm.threshold(), Some(5.0));
    assert!(!alarm.metrics().is_empty(), "metric math over the pair");
    let tags = cw
        .list_tags_for_resource()
        .resource_arn(alarm.alarm_arn().unwrap_or_default())
        .send()
        .await
        .expect("ListTagsForResource");
    let tags: BTreeMap<&str, &str> = tags
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)))
        .collect();
    assert_eq!(tags.get("ferry:app"), Some(&"shop"), "{tags:?}");

    // Deleting the app deletes the alarm it owned.
    local.ferry_ok(&["delete", "shop"]);
    eventually(Duration::from_secs(120), "alarm deleted", || async {
        let left = cw
            .describe_alarms()
            .alarm_names(&names[0])
            .send()
            .await
            .expect("DescribeAlarms");
        left.metric_alarms().is_empty().then_some(())
    })
    .await;
}
