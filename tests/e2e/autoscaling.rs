//! Autoscaling (issue 13), checked through the SDK: the scalable target
//! and its policies exist as the manifest says; the autoscaler's count is
//! never reset by drift correction (terraform-provider-aws #10308), only
//! clamped into a narrowed range, once; removing `autoscaling` removes the
//! target and its policies; a scalable target Ferry does not own is never
//! touched. Counted in resyncs and requests, never in time.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_applicationautoscaling as aas;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};

use crate::ecs::active_service;
use crate::support::{eventually, LocalAws, Request};

fn manifest(autoscaling: &str) -> String {
    format!(
        "apiVersion: ferry/v1
kind: App
metadata:
  name: shop
spec:
  image: acme/shop:1
  processes:
    web:
      command: [shop, serve]
      scale: 2
      port: 8080
{autoscaling}"
    )
}

const SCALED: &str = "      autoscaling:
        min: 2
        max: 20
        cpu: 60
        memory: 70
        requestsPerTarget: 500
";

const NARROWED: &str = "      autoscaling: {min: 2, max: 4, cpu: 60}
";

struct Target {
    min: i32,
    max: i32,
    arn: String,
}

async fn targets(client: &aas::Client) -> BTreeMap<String, Target> {
    let mut all = BTreeMap::new();
    let mut token = None;
    loop {
        let out = client
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .set_next_token(token)
            .send()
            .await
            .expect("DescribeScalableTargets");
        for t in out.scalable_targets() {
            all.insert(
                t.resource_id().to_owned(),
                Target {
                    min: t.min_capacity(),
                    max: t.max_capacity(),
                    arn: t.scalable_target_arn().unwrap_or_default().to_owned(),
                },
            );
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return all;
        }
    }
}

/// Policy name -> (metric type, target value, resource label).
async fn policies(
    client: &aas::Client,
    resource_id: &str,
) -> BTreeMap<String, (String, f64, Option<String>)> {
    let mut all = BTreeMap::new();
    let mut token = None;
    loop {
        let out = client
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(resource_id)
            .set_next_token(token)
            .send()
            .await
            .expect("DescribeScalingPolicies");
        for p in out.scaling_policies() {
            let tracking = p.target_tracking_scaling_policy_configuration();
            let metric = tracking.and_then(|t| t.predefined_metric_specification());
            all.insert(
                p.policy_name().to_owned(),
                (
                    metric
                        .map(|m| m.predefined_metric_type().as_str().to_owned())
                        .unwrap_or_default(),
                    tracking.map(|t| t.target_value()).unwrap_or_default(),
                    metric.and_then(|m| m.resource_label()).map(str::to_owned),
                ),
            );
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return all;
        }
    }
}

/// The resource label of a load balancer and a target group: the final
/// portions of their ARNs, `app/<name>/<id>/targetgroup/<name>/<id>`.
fn label_of(load_balancer_arn: &str, target_group_arn: &str) -> String {
    let tail = |arn: &str, marker: &str| {
        arn.split_once(marker)
            .map(|(_, rest)| rest.to_owned())
            .unwrap_or_default()
    };
    format!(
        "{}/targetgroup/{}",
        tail(load_balancer_arn, ":loadbalancer/"),
        tail(target_group_arn, ":targetgroup/")
    )
}

fn updates_of<'a>(requests: &'a [Request], service: &str) -> Vec<&'a Request> {
    requests
        .iter()
        .filter(|r| {
            r.service == "ecs"
                && r.operation == "UpdateService"
                && r.target.as_deref() == Some(service)
        })
        .collect()
}

fn resyncs(local: &LocalAws, controller: usize) -> f64 {
    local.metrics(controller).sum("resyncs_total", &[])
}

async fn wait_resyncs(local: &LocalAws, controller: usize, more: f64) {
    let from = resyncs(local, controller);
    // A liveness bound only: what is counted is resyncs.
    eventually(Duration::from_secs(120), "resyncs", || async {
        (resyncs(local, controller) >= from + more).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_autoscaler_owns_the_count_and_ferry_owns_only_its_target() {
    let mut local = LocalAws::start().expect("local AWS");
    let ecs = local.ecs().await;
    let elb = local.elb().await;
    let scaling = aas::Client::new(&local.sdk_config().await);
    let cluster = local.cluster().to_owned();

    // Someone else's service with someone else's autoscaling: never touched.
    let family = ecs
        .register_task_definition()
        .family("ops-batch")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("batch")
                .image("ops/batch:1")
                .memory(512)
                .build(),
        )
        .send()
        .await
        .expect("foreign task definition");
    let family_arn = family
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_owned();
    ecs.create_service()
        .cluster(&cluster)
        .service_name("ops-batch")
        .task_definition(&family_arn)
        .desired_count(1)
        .send()
        .await
        .expect("foreign service");
    let foreign_id = format!("service/{cluster}/ops-batch");
    scaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&foreign_id)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(1)
        .max_capacity(5)
        .tags("team", "ops")
        .send()
        .await
        .expect("foreign target");
    scaling
        .put_scaling_policy()
        .policy_name("ops-cpu")
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&foreign_id)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(40.0)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization)
                        .build()
                        .expect("metric"),
                )
                .build()
                .expect("configuration"),
        )
        .send()
        .await
        .expect("foreign policy");

    let controller = local.start_leader(&[]).expect("controller");
    let path = local.dir().join("shop.yaml");
    let file = path.to_str().expect("utf-8 path").to_owned();
    std::fs::write(&path, manifest(SCALED)).expect("manifest");
    local.ferry_ok(&["apply", "-f", &file, "--wait", "--timeout", "90s"]);

    // The target, tagged as Ferry's, with one policy per metric.
    let ours = format!("service/{cluster}/shop_web");
    let all = targets(&scaling).await;
    let target = all.get(&ours).expect("shop's scalable target");
    assert_eq!((target.min, target.max), (2, 20));
    let tags = scaling
        .list_tags_for_resource()
        .resource_arn(&target.arn)
        .send()
        .await
        .expect("ListTagsForResource");
    let tags = tags.tags().cloned().unwrap_or_default();
    assert_eq!(tags.get("ferry:app").map(String::as_str), Some("shop"));
    assert_eq!(tags.get("ferry:process").map(String::as_str), Some("web"));
    assert_eq!(
        tags.get("ferry:managed-by").map(String::as_str),
        Some("ferry")
    );
    let listener = elb
        .describe_listeners()
        .listener_arns(&local.env["FERRY_INTERNAL_LISTENER_ARN"])
        .send()
        .await
        .expect("DescribeListeners");
    let lb_arn = listener.listeners()[0]
        .load_balancer_arn()
        .expect("lb")
        .to_owned();
    let groups = elb
        .describe_target_groups()
        .send()
        .await
        .expect("DescribeTargetGroups");
    let group = groups
        .target_groups()
        .iter()
        .find(|g| {
            g.target_group_name()
                .is_some_and(|n| n.starts_with("shop-web-"))
        })
        .and_then(|g| g.target_group_arn())
        .expect("shop's target group")
        .to_owned();
    let label = label_of(&lb_arn, &group);
    assert!(label.starts_with("app/"), "{label}");
    let found = policies(&scaling, &ours).await;
    let expected: BTreeMap<String, (String, f64, Option<String>)> = [
        (
            "ferry-shop_web-cpu",
            ("ECSServiceAverageCPUUtilization", 60.0, None),
        ),
        (
            "ferry-shop_web-memory",
            ("ECSServiceAverageMemoryUtilization", 70.0, None),
        ),
        (
            "ferry-shop_web-requests",
            ("ALBRequestCountPerTarget", 500.0, Some(label.clone())),
        ),
    ]
    .into_iter()
    .map(|(name, (metric, value, label))| (name.to_owned(), (metric.to_owned(), value, label)))
    .collect();
    assert_eq!(found, expected);

    // The autoscaler scales out, within the range: over several resyncs
    // Ferry sends no UpdateService for the service at all.
    ecs.update_service()
        .cluster(&cluster)
        .service("shop_web")
        .desired_count(7)
        .send()
        .await
        .expect("the autoscaler's UpdateService");
    let mark = local.requests().len();
    wait_resyncs(&local, controller, 3.0).await;
    let after = local.requests();
    assert_eq!(
        updates_of(&after[mark..], "shop_web").len(),
        0,
        "drift correction fought the autoscaler:\n{}",
        local.controller_logs()
    );
    let web = active_service(&ecs, &cluster, "shop_web")
        .await
        .expect("shop_web");
    assert_eq!(web.desired_count(), 7);
    let status = eventually(Duration::from_secs(60), "status shows 7", || async {
        let out = local.ferry(&["status", "shop", "-o", "json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (json["processes"]["web"]["desired"] == 7).then_some(json)
    })
    .await;
    assert_eq!(
        status["processes"]["web"]["autoscaling"],
        serde_json::json!({"min": 2, "max": 20, "current": 7})
    );
    let table = local.ferry_ok(&["status", "shop"]);
    assert!(
        table.contains("AUTOSCALING") && table.contains("2..20"),
        "{table}"
    );
    let listing = local.ferry_ok(&["get"]);
    assert!(
        listing.contains("web=") && listing.contains("(2..20)"),
        "{listing}"
    );

    // A narrower range: the count is outside it and is clamped, once.
    std::fs::write(&path, manifest(NARROWED)).expect("manifest");
    let mark = local.requests().len();
    local.ferry_ok(&["apply", "-f", &file]);
    eventually(Duration::from_secs(90), "clamped into 2..4", || async {
        let web = active_service(&ecs, &cluster, "shop_web").await?;
        let target = targets(&scaling).await.remove(&ours)?;
        let names: Vec<String> = policies(&scaling, &ours).await.into_keys().collect();
        (web.desired_count() == 4
            && (target.min, target.max) == (2, 4)
            && names == ["ferry-shop_web-cpu"])
        .then_some(())
    })
    .await;
    wait_resyncs(&local, controller, 2.0).await;
    assert_eq!(
        updates_of(&local.requests()[mark..], "shop_web").len(),
        1,
        "one UpdateService, the clamp"
    );

    // Without autoscaling, Ferry owns the count again: the policies and the
    // target go first, then the count returns to `scale`.
    std::fs::write(&path, manifest("")).expect("manifest");
    let mark = local.requests().len();
    local.ferry_ok(&["apply", "-f", &file, "--wait", "--timeout", "90s"]);
    eventually(
        Duration::from_secs(90),
        "target and policies gone",
        || async {
            let gone = !targets(&scaling).await.contains_key(&ours)
                && policies(&scaling, &ours).await.is_empty();
            let web = active_service(&ecs, &cluster, "shop_web").await?;
            (gone && web.desired_count() == 2).then_some(())
        },
    )
    .await;
    let requests = local.requests();
    let order: Vec<&str> = requests[mark..]
        .iter()
        .filter(|r| {
            matches!(
                r.operation.as_str(),
                "DeleteScalingPolicy" | "DeregisterScalableTarget"
            ) || (r.operation == "UpdateService" && r.target.as_deref() == Some("shop_web"))
        })
        .map(|r| r.operation.as_str())
        .collect();
    assert_eq!(
        order,
        [
            "DeleteScalingPolicy",
            "DeregisterScalableTarget",
            "UpdateService"
        ],
        "the removal comes before Ferry takes the count back"
    );

    // The foreign target and its policy are as they were.
    let all = targets(&scaling).await;
    let foreign = all.get(&foreign_id).expect("the foreign target stays");
    assert_eq!((foreign.min, foreign.max), (1, 5));
    assert!(policies(&scaling, &foreign_id)
        .await
        .contains_key("ops-cpu"));
    let foreign_tags = scaling
        .list_tags_for_resource()
        .resource_arn(&foreign.arn)
        .send()
        .await
        .expect("ListTagsForResource");
    assert_eq!(
        foreign_tags.tags().cloned().unwrap_or_default(),
        std::collections::HashMap::from([("team".to_owned(), "ops".to_owned())])
    );
    let ops = active_service(&ecs, &cluster, "ops-batch")
        .await
        .expect("ops-batch");
    assert_eq!(ops.desired_count(), 1);
    assert!(
        requests.iter().all(|r| r.status < 500),
        "no request failed on the server side"
    );
}

/// The autoscaler's count survives what makes Ferry send an UpdateService
/// anyway (issue 19): a new image (a new revision rolled out) and `ferry
/// restart` (a forced new deployment). Neither resets the count to
/// `scale` or `min`; the rollouts complete at the autoscaler's count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_autoscalers_count_survives_a_new_image_and_a_restart() {
    let mut local = LocalAws::start().expect("local AWS");
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    let controller = local.start_leader(&[]).expect("controller");
    let path = local.dir().join("shop.yaml");
    let file = path.to_str().expect("utf-8 path").to_owned();
    std::fs::write(&path, manifest(NARROWED)).expect("manifest");
    local.ferry_ok(&["apply", "-f", &file, "--wait", "--timeout", "90s"]);
    let first = active_service(&ecs, &cluster, "shop_web")
        .await
        .expect("shop_web");
    assert_eq!(first.desired_count(), 2, "a new service starts at scale");

    // Application Auto Scaling scales out, within 2..4.
    ecs.update_service()
        .cluster(&cluster)
        .service("shop_web")
        .desired_count(3)
        .send()
        .await
        .expect("the autoscaler's UpdateService");
    eventually(Duration::from_secs(60), "3 tasks running", || async {
        let web = active_service(&ecs, &cluster, "shop_web").await?;
        (web.running_count() == 3).then_some(())
    })
    .await;

    // A new image: a new revision, rolled out at the autoscaler's count.
    std::fs::write(
        &path,
        manifest(NARROWED).replace("acme/shop:1", "acme/shop:2"),
    )
    .expect("manifest");
    local.ferry_ok(&["apply", "-f", &file, "--wait", "--timeout", "90s"]);
    let web = active_service(&ecs, &cluster, "shop_web")
        .await
        .expect("shop_web");
    assert_ne!(
        web.task_definition(),
        first.task_definition(),
        "the new image is rolled out"
    );
    assert_eq!(
        web.desired_count(),
        3,
        "the rollout of a new revision reset the autoscaler's count:\n{}",
        local.controller_logs()
    );

    // A restart: a new deployment of the same revision, at the same count.
    let primary = crate::ecs::primary_deployment;
    local.ferry_ok(&["restart", "shop", "--wait", "--timeout", "90s"]);
    let restarted = active_service(&ecs, &cluster, "shop_web")
        .await
        .expect("shop_web");
    assert_ne!(primary(&restarted), primary(&web), "a new deployment");
    assert_eq!(
        restarted.desired_count(),
        3,
        "the restart reset the autoscaler's count:\n{}",
        local.controller_logs()
    );

    // And later resyncs leave it there; status reports it.
    wait_resyncs(&local, controller, 2.0).await;
    let web = active_service(&ecs, &cluster, "shop_web")
        .await
        .expect("shop_web");
    assert_eq!(web.desired_count(), 3);
    let status: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["status", "shop", "-o", "json"])).expect("json");
    assert_eq!(status["processes"]["web"]["desired"], 3, "{status}");
    assert_eq!(status["processes"]["web"]["running"], 3, "{status}");
}
