//! The control loop as operators see it: drift undone within a resync,
//! nothing written in a steady state, metrics that match what AWS served,
//! and leadership that moves between replicas without two ever writing.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::converge::{copy_manifests, edit};
use crate::ecs::active_service;
use crate::support::{eventually, is_write_operation, LocalAws, Request};

/// The controller's default lease duration (`--lease-duration`); these
/// tests run with the defaults.
const LEASE_DURATION: Duration = Duration::from_secs(15);
/// The resync interval `start_controller` passes.
const RESYNC: Duration = Duration::from_secs(5);

fn is_lease(request: &Request) -> bool {
    request.pk.iter().all(|pk| pk == "lease") && !request.pk.is_empty()
}

/// Requests from one replica, as the emulator logged them.
fn from<'a>(requests: &'a [Request], agent: &str) -> Vec<&'a Request> {
    requests
        .iter()
        .filter(|r| r.agent.as_deref() == Some(agent))
        .collect()
}

/// Calls per (service, operation), services named as the controller's
/// metrics name them: the emulator logs CloudWatch by its endpoint name,
/// `monitoring`; the metrics by its IAM prefix, `cloudwatch`.
fn counts(requests: &[&Request]) -> BTreeMap<(String, String), u64> {
    let mut counts = BTreeMap::new();
    for r in requests {
        let service = match r.service.as_str() {
            "monitoring" => "cloudwatch".to_owned(),
            other => other.to_owned(),
        };
        *counts.entry((service, r.operation.clone())).or_insert(0) += 1;
    }
    counts
}

fn leads(local: &LocalAws, index: usize) -> bool {
    local
        .metrics(index)
        .sum("leader_election_master_status", &[])
        == 1.0
}

async fn wait_leader(local: &LocalAws, index: usize, within: Duration) {
    eventually(within, &format!("controller {index} to lead"), || async {
        leads(local, index).then_some(())
    })
    .await;
}

async fn wait_ready(local: &LocalAws, index: usize) {
    eventually(Duration::from_secs(30), "/readyz", || async {
        matches!(local.admin_get(index, "/readyz"), Ok((200, _))).then_some(())
    })
    .await;
}

fn status_json(local: &LocalAws, app: &str) -> serde_json::Value {
    let out = local.ferry_ok(&["status", app, "-o", "json"]);
    serde_json::from_str(&out).expect("status JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_match_aws_a_steady_state_writes_nothing_and_drift_is_undone() {
    let mut local = LocalAws::start().expect("local AWS");
    let dir = local.dir().join("manifests");
    copy_manifests(&dir);
    let dir_arg = dir.to_str().expect("utf-8 path").to_owned();
    let controller = local.start_leader(&["--id", "ctl-a"]).expect("controller");
    local.ferry_ok(&["apply", "-f", &dir_arg, "--wait", "--timeout", "60s"]);

    // /metrics counts exactly the calls the emulator served to this
    // replica. Reads go on (rollouts stay in progress in moto), so the log
    // is read between two scrapes and must lie between them.
    let (before, logged, after) =
        eventually(Duration::from_secs(20), "a consistent scrape", || async {
            let before = local.metrics(controller).aws_requests();
            let logged = counts(&from(&local.requests(), "ctl-a"));
            let after = local.metrics(controller).aws_requests();
            let keys: Vec<_> = before
                .keys()
                .chain(logged.keys())
                .chain(after.keys())
                .collect();
            keys.iter()
                .all(|k| {
                    let b = before.get(k).copied().unwrap_or(0);
                    let l = logged.get(k).copied().unwrap_or(0);
                    let a = after.get(k).copied().unwrap_or(0);
                    b <= l && l <= a
                })
                .then(|| (before.clone(), logged.clone(), after.clone()))
        })
        .await;
    for op in [
        "RegisterTaskDefinition",
        "CreateService",
        "ListServices",
        "DescribeServices",
    ] {
        let key = ("ecs".to_owned(), op.to_owned());
        assert!(
            logged.get(&key).copied().unwrap_or(0) > 0,
            "no {op} logged: {logged:?}"
        );
    }
    for op in ["RegisterTaskDefinition", "CreateService"] {
        let key = ("ecs".to_owned(), op.to_owned());
        assert_eq!(
            before.get(&key),
            logged.get(&key),
            "{op}: metrics vs emulator"
        );
        assert_eq!(
            after.get(&key),
            logged.get(&key),
            "{op}: metrics vs emulator"
        );
    }
    let metrics = local.metrics(controller);
    assert!(metrics.sum("aws_request_duration_seconds_count", &[("service", "ecs")]) > 0.0);
    assert!(metrics.sum("reconcile_time_seconds_count", &[]) > 0.0);
    assert_eq!(
        metrics.sum("apps", &[("condition", "Ready")]),
        4.0,
        "four apps Ready"
    );
    assert_eq!(metrics.sum("leader_election_master_status", &[]), 1.0);
    for name in [
        "workqueue_depth",
        "workqueue_retries_total",
        "reconcile_total",
    ] {
        assert!(
            metrics.samples.iter().any(|(n, _, _)| n == name),
            "{name} exported"
        );
    }

    // A steady state: over more than a resync, the only write anywhere is
    // the lease renewal; the resync itself did happen (it reads the known
    // services again; the full listing comes every tenth resync).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let start = local.requests().len();
    tokio::time::sleep(RESYNC + Duration::from_secs(3)).await;
    let window: Vec<Request> = local.requests()[start..].to_vec();
    let writes: Vec<&Request> = window
        .iter()
        .filter(|r| r.is_write() && !is_lease(r))
        .collect();
    assert!(writes.is_empty(), "steady state wrote: {writes:?}");
    assert!(
        window.iter().any(|r| r.operation == "DescribeServices"),
        "no resync happened in the window"
    );
    assert!(
        window
            .iter()
            .any(|r| r.operation == "UpdateItem" && is_lease(r)),
        "the lease was renewed"
    );

    // Drift: a console user scales one service, points another at the
    // wrong task definition and deletes a third.
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    let wrong = active_service(&ecs, &cluster, "worker_worker")
        .await
        .and_then(|s| s.task_definition().map(str::to_owned))
        .expect("worker_worker's task definition");
    ecs.update_service()
        .cluster(&cluster)
        .service("web_web")
        .desired_count(7)
        .send()
        .await
        .expect("scale web_web");
    ecs.update_service()
        .cluster(&cluster)
        .service("worker_scheduler")
        .task_definition(&wrong)
        .send()
        .await
        .expect("repoint worker_scheduler");
    ecs.delete_service()
        .cluster(&cluster)
        .service("api_web")
        .force(true)
        .send()
        .await
        .expect("delete api_web");

    // And traffic drift: web's internal rule is pointed at another name,
    // and api's internal record is deleted.
    let elb = local.elb().await;
    let internal = local.env["FERRY_INTERNAL_LISTENER_ARN"].clone();
    let hosts_of = crate::ecs::rule_hosts;
    let rules = elb
        .describe_rules()
        .listener_arn(&internal)
        .send()
        .await
        .expect("DescribeRules");
    let web_rule = rules
        .rules()
        .iter()
        .find(|r| hosts_of(r).contains(&"web.ferry.internal".to_owned()))
        .cloned()
        .expect("web's internal rule");
    let web_hosts = hosts_of(&web_rule);
    elb.modify_rule()
        .rule_arn(web_rule.rule_arn().expect("arn"))
        .conditions(
            aws_sdk_elasticloadbalancingv2::types::RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    aws_sdk_elasticloadbalancingv2::types::HostHeaderConditionConfig::builder()
                        .values("hijacked.example.net")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("ModifyRule");
    let dns = local.route53().await;
    let zone = local.env["FERRY_INTERNAL_ZONE_ID"].clone();
    let record_set = |name: &str| {
        let dns = dns.clone();
        let zone = zone.clone();
        let name = format!("{name}.");
        async move {
            dns.list_resource_record_sets()
                .hosted_zone_id(&zone)
                .send()
                .await
                .expect("ListResourceRecordSets")
                .resource_record_sets()
                .iter()
                .find(|r| r.name() == name && r.r#type() == &aws_sdk_route53::types::RrType::A)
                .cloned()
        }
    };
    let api_record = record_set("api.ferry.internal")
        .await
        .expect("api's internal record");
    dns.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(
                    aws_sdk_route53::types::Change::builder()
                        .action(aws_sdk_route53::types::ChangeAction::Delete)
                        .resource_record_set(api_record)
                        .build()
                        .expect("change"),
                )
                .build()
                .expect("batch"),
        )
        .send()
        .await
        .expect("delete api's record");

    let resyncs_before = local.metrics(controller).sum("resyncs_total", &[]);
    // A liveness bound only; how soon is counted in resyncs below.
    eventually(Duration::from_secs(120), "drift undone", || async {
        let web = active_service(&ecs, &cluster, "web_web").await?;
        let scheduler = active_service(&ecs, &cluster, "worker_scheduler").await?;
        let api = active_service(&ecs, &cluster, "api_web").await?;
        let rules = elb
            .describe_rules()
            .listener_arn(&internal)
            .send()
            .await
            .ok()?;
        let rule_back = rules.rules().iter().any(|r| hosts_of(r) == web_hosts);
        let record_back = record_set("api.ferry.internal").await.is_some();
        (web.desired_count() == 2
            && scheduler
                .task_definition()
                .is_some_and(|td| td.contains("/ferry_worker_scheduler:"))
            && api.desired_count() == 1
            && rule_back
            && record_back)
            .then_some(())
    })
    .await;
    // Within one resync: the first that reads the cluster after the edits
    // (one already under way when they landed may have read before them).
    let resyncs = local.metrics(controller).sum("resyncs_total", &[]) - resyncs_before;
    assert!(
        resyncs <= 2.0,
        "drift was undone only after {resyncs} resyncs"
    );

    // ... and says what it corrected, in status and in metrics.
    for (app, target) in [
        ("web", "web_web"),
        ("worker", "worker_scheduler"),
        ("api", "api_web"),
    ] {
        let status = eventually(
            Duration::from_secs(10),
            "the correction in status",
            || async {
                let status = status_json(&local, app);
                let reported = status["events"].as_array().is_some_and(|events| {
                    events.iter().any(|e| {
                        e["message"].as_str().is_some_and(|m| {
                            m.starts_with("(ferry) corrected drift") && m.contains(target)
                        })
                    })
                });
                reported.then_some(status)
            },
        )
        .await;
        assert_eq!(status["observedGeneration"], status["generation"], "{app}");
    }
    assert!(
        local
            .metrics(controller)
            .sum("drift_corrections_total", &[])
            >= 3.0
    );
    let out = local.ferry_ok(&["status", "web"]);
    assert!(out.contains("corrected drift"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn leadership_moves_on_kill_and_on_shutdown_and_only_the_leader_writes() {
    let mut local = LocalAws::start().expect("local AWS");
    let dir = local.dir().join("manifests");
    copy_manifests(&dir);
    let dir_arg = dir.to_str().expect("utf-8 path").to_owned();

    let a = local
        .start_controller(&["--id", "ctl-a"])
        .expect("controller a");
    wait_leader(&local, a, Duration::from_secs(30)).await;
    local.ferry_ok(&["apply", "-f", &dir_arg, "--wait", "--timeout", "60s"]);

    let b = local
        .start_controller(&["--id", "ctl-b"])
        .expect("controller b");
    wait_ready(&local, b).await;
    // Long enough for the leader to resync and the follower to poll.
    tokio::time::sleep(RESYNC + Duration::from_secs(2)).await;
    assert!(leads(&local, a) && !leads(&local, b));
    let follower_calls = local.metrics(b).aws_requests();
    let follower_writes: Vec<_> = follower_calls
        .keys()
        .filter(|(_, op)| is_write_operation(op))
        .collect();
    assert!(
        follower_writes.is_empty(),
        "the follower wrote: {follower_calls:?}"
    );
    assert!(
        from(&local.requests(), "ctl-b")
            .iter()
            .all(|r| !r.is_write()),
        "the emulator saw a write from the follower"
    );

    // SIGKILL the leader: no hand-back. A change applied in the gap is
    // converged by the successor.
    local.kill_controller(a);
    edit(&dir.join("web.yaml"), "scale: 2", "scale: 3");
    local.ferry_ok(&["apply", "-f", &dir_arg, "-m", "during the gap"]);
    // A liveness bound only: how fast is the benchmark's to measure.
    wait_leader(&local, b, Duration::from_secs(120)).await;
    // Safety, by the emulator's clock: the follower took the lease only
    // after it had gone a whole lease duration without a renewal.
    let requests = local.requests();
    let last_renewal = from(&requests, "ctl-a")
        .into_iter()
        .filter(|r| is_lease(r) && r.is_write() && r.status == 200)
        .map(|r| r.t)
        .fold(f64::MIN, f64::max);
    let taken = from(&requests, "ctl-b")
        .into_iter()
        .find(|r| is_lease(r) && r.operation == "PutItem" && r.status == 200)
        .map(|r| r.t)
        .expect("ctl-b took the lease");
    assert!(
        taken - last_renewal >= LEASE_DURATION.as_secs_f64(),
        "ctl-b took the lease {:.1} s after ctl-a's last renewal",
        taken - last_renewal
    );
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    eventually(
        Duration::from_secs(30),
        "the gap's change converged",
        || async {
            let web = active_service(&ecs, &cluster, "web_web").await?;
            (web.desired_count() == 3).then_some(())
        },
    )
    .await;

    // Never two writers: every write of the old leader precedes every
    // write of the new one (lease bids aside, which are conditional).
    let requests = local.requests();
    let writes = |agent: &str| -> Vec<f64> {
        from(&requests, agent)
            .into_iter()
            .filter(|r| r.is_write() && !is_lease(r))
            .map(|r| r.t)
            .collect()
    };
    let (a_writes, b_writes) = (writes("ctl-a"), writes("ctl-b"));
    assert!(!a_writes.is_empty() && !b_writes.is_empty());
    let last_a = a_writes.iter().copied().fold(f64::MIN, f64::max);
    let first_b = b_writes.iter().copied().fold(f64::MAX, f64::min);
    assert!(
        last_a < first_b,
        "writes overlapped: a until {last_a}, b from {first_b}"
    );

    // SIGTERM: the leader finishes, hands the lease back and exits 0. The
    // item itself says so: no holder (a renewal would keep one).
    let store = ferry_store::Store::new(
        aws_sdk_dynamodb::Client::new(&local.sdk_config().await),
        ferry_aws::Caller::new(
            std::sync::Arc::new(ferry_aws::Pacing::default()),
            ferry_aws::AwsMetrics::unregistered(),
            Duration::from_secs(30),
        ),
        "ferry",
    );
    let held = store.read_lease().await.expect("lease").expect("a lease");
    // The holder is the replica's id and its process's own suffix.
    assert!(
        held.holder
            .as_deref()
            .is_some_and(|h| h.starts_with("ctl-b#")),
        "{:?}",
        held.holder
    );
    let status = local.terminate_controller(b);
    assert!(status.success(), "SIGTERM exit: {status}");
    let handed_back = store.read_lease().await.expect("lease").expect("a lease");
    assert_eq!(handed_back.holder, None, "the lease was handed back");
    assert_eq!(
        handed_back.token, held.token,
        "a hand-back is not a new term"
    );

    // The next replica takes it at its first look, without waiting for
    // the lease to expire: by count, its first lease write is the bid that
    // won, made after no more reads than a start-up needs.
    let c = local
        .start_controller(&["--id", "ctl-c"])
        .expect("controller c");
    wait_leader(&local, c, Duration::from_secs(60)).await;
    let requests = local.requests();
    let c_lease: Vec<&Request> = from(&requests, "ctl-c")
        .into_iter()
        .filter(|r| is_lease(r))
        .collect();
    let first_write = c_lease
        .iter()
        .position(|r| r.is_write())
        .expect("ctl-c bid for the lease");
    assert_eq!(c_lease[first_write].status, 200, "its first bid won");
    assert!(
        first_write <= 2,
        "ctl-c read the lease {first_write} times before bidding: it waited for an expiry"
    );
}

/// Fencing: once another replica has taken the lease (the next token), a
/// write under the old token is refused and changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_under_a_stale_token_is_refused() {
    let local = LocalAws::start().expect("local AWS");
    let store = ferry_store::Store::new(
        aws_sdk_dynamodb::Client::new(&local.sdk_config().await),
        ferry_aws::Caller::new(
            std::sync::Arc::new(ferry_aws::Pacing::default()),
            ferry_aws::AwsMetrics::unregistered(),
            Duration::from_secs(30),
        ),
        "ferry",
    );
    let file = local.dir().join("shop.yaml");
    std::fs::write(
        &file,
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: shop\nspec:\n  image: acme/shop:1\n  processes:\n    web:\n      scale: 1\n",
    )
    .expect("write");
    local.ferry_ok(&["apply", "-f", file.to_str().expect("utf-8")]);

    let now = "2026-12-01T00:00:00Z";
    let old = store
        .acquire_lease("old", None, 15, now)
        .await
        .expect("lease")
        .expect("taken");
    let old_fence = ferry_store::Fence {
        holder: "old".into(),
        token: old.token,
    };
    store
        .set_release_outcome(
            "shop",
            1,
            ferry_store::ReleaseOutcome::Failed,
            None,
            &old_fence,
        )
        .await
        .expect("the holder writes");
    let new = store
        .acquire_lease("new", Some(&old), 15, now)
        .await
        .expect("lease")
        .expect("taken over");
    assert_eq!(new.token, old.token + 1);

    let stale = store
        .set_release_outcome(
            "shop",
            1,
            ferry_store::ReleaseOutcome::Succeeded,
            None,
            &old_fence,
        )
        .await;
    assert!(
        matches!(stale, Err(ferry_store::Error::Fenced { token }) if token == old.token),
        "{stale:?}"
    );
    let release = store.release("shop", 1).await.expect("read").expect("v1");
    assert_eq!(
        release.outcome,
        Some(ferry_store::ReleaseOutcome::Failed),
        "unchanged"
    );
    let removed = store.remove_app("shop", 1, &old_fence).await;
    assert!(
        matches!(removed, Err(ferry_store::Error::Fenced { .. })),
        "{removed:?}"
    );
    assert!(store.get_app("shop").await.expect("get").is_some());
}

/// Services tagged for an app whose spec is gone (a wiped or wrong table)
/// are never deleted or changed: they survive resyncs and are reported, in
/// the log and in `apps_without_spec`.
#[tokio::test(flavor = "multi_thread")]
async fn orphans_are_reported_and_never_deleted() {
    let mut local = LocalAws::start().expect("local AWS");
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    let tag = |k: &str, v: &str| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build();
    let td = ecs
        .register_task_definition()
        .family("ghost_web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image("acme/ghost:1")
                .memory(256)
                .build(),
        )
        .send()
        .await
        .expect("RegisterTaskDefinition")
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("arn")
        .to_owned();
    ecs.create_service()
        .cluster(&cluster)
        .service_name("ghost_web")
        .task_definition(&td)
        .desired_count(2)
        .tags(tag("ferry:managed-by", "ferry"))
        .tags(tag("ferry:app", "ghost"))
        .tags(tag("ferry:process", "web"))
        .send()
        .await
        .expect("CreateService");

    let controller = local.start_leader(&[]).expect("controller");
    let resyncs = local.metrics(controller).sum("resyncs_total", &[]);
    eventually(Duration::from_secs(120), "three resyncs", || async {
        (local.metrics(controller).sum("resyncs_total", &[]) >= resyncs + 3.0).then_some(())
    })
    .await;
    let service = active_service(&ecs, &cluster, "ghost_web")
        .await
        .expect("the orphan is still there");
    assert_eq!(service.desired_count(), 2, "not scaled");
    assert_eq!(
        service.task_definition(),
        Some(td.as_str()),
        "not redeployed"
    );
    assert_eq!(local.metrics(controller).sum("apps_without_spec", &[]), 1.0);
    assert!(
        local
            .controller_logs()
            .contains("services tagged for an app with no spec"),
        "reported in the log"
    );
    let writes: Vec<_> = local
        .requests()
        .into_iter()
        .filter(|r| r.service == "ecs" && r.is_write() && r.target.as_deref() == Some("ghost_web"))
        .filter(|r| r.from_controller())
        .collect();
    assert!(
        writes.is_empty(),
        "the controller wrote to the orphan: {writes:?}"
    );
}

/// A write to ECS, ELBv2 or Route53, which no lease token fences.
fn aws_write(request: &Request) -> bool {
    request.service != "dynamodb" && request.is_write()
}

/// Short leases, so that a paused leader is replaced within seconds, yet
/// with room for renewals that the injected latency slows down (a leader
/// that misses its deadline would hand over, and the old one could lead
/// again, legitimately).
const FAST_TAKEOVER: &[&str] = &[
    "--lease-duration",
    "4s",
    "--renew-deadline",
    "3s",
    "--retry-period",
    "500ms",
];

/// A leader's write is held (a failpoint of the debug build) after the
/// write gate's early look let it through and before the SDK signs it;
/// meanwhile the leader's elector stalls (another failpoint), as a starved
/// or paused task would, its lease lapses, and a successor takes over and
/// writes. Only then is the held write released: it reaches the SDK with
/// the gate closed by the clock, the interceptor's second look refuses it,
/// and from the successor's first write on the old leader sends no ECS,
/// ELBv2 or Route53 write and DynamoDB accepts none of its writes (they
/// carry the old token).
///
/// Deterministic: the order of the stall, the takeover and the release is
/// the test's, not the scheduler's. Without the SDK interceptor the held
/// UpdateService is sent after the successor's writes, in every run.
#[tokio::test(flavor = "multi_thread")]
async fn a_paused_leader_writes_nothing_after_its_successor_took_over() {
    const HOLD: &str = "call.before_send.UpdateService";
    let mut local = LocalAws::start().expect("local AWS");
    let file = local.dir().join("held.yaml");
    let release = local.dir().join("release");
    let stall = local.dir().join("stall");
    let write_app = |image: &str| {
        let manifest = format!(
            "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: held\nspec:\n  image: {image}\n  processes:\n    web:\n      scale: 1\n"
        );
        std::fs::write(&file, manifest).expect("write");
    };
    let file_arg = file.to_str().expect("utf-8 path").to_owned();
    write_app("acme/held:1");
    // ctl-a holds every UpdateService until `release` exists, and its
    // elector stalls before a renewal while `stall` exists.
    let failpoints = format!(
        "{HOLD}=until({});leader.renew=while({})",
        release.display(),
        stall.display()
    );
    let a = local
        .start_controller_env(
            &[FAST_TAKEOVER, &["--id", "ctl-a"]].concat(),
            &[("FERRY_FAILPOINTS", &failpoints)],
        )
        .expect("controller a");
    wait_leader(&local, a, Duration::from_secs(60)).await;
    let b = local
        .start_controller(&[FAST_TAKEOVER, &["--id", "ctl-b"]].concat())
        .expect("controller b");
    wait_ready(&local, b).await;
    local.ferry_ok(&["apply", "-f", &file_arg, "--wait", "--timeout", "120s"]);

    // A new image: ctl-a registers it, then holds the UpdateService.
    write_app("acme/held:2");
    local.ferry_ok(&["apply", "-f", &file_arg, "-m", "held"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !local
        .controller_log(a)
        .contains(&format!("failpoint {HOLD}: until"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "ctl-a never reached the failpoint {HOLD}:\n{}",
            local.controller_logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // ctl-a's elector stalls; its lease lapses and ctl-b takes over and
    // rolls the image out itself.
    std::fs::write(&stall, "").expect("stall");
    wait_leader(&local, b, Duration::from_secs(60)).await;
    eventually(Duration::from_secs(120), "ctl-b converged", || async {
        (local.all_ready() == Some(1)).then_some(())
    })
    .await;
    let requests = local.requests();
    let first_b = from(&requests, "ctl-b")
        .into_iter()
        .filter(|r| r.is_write() && !is_lease(r))
        .map(|r| r.received)
        .fold(f64::MAX, f64::min);
    assert!(
        from(&requests, "ctl-b")
            .into_iter()
            .any(|r| aws_write(r) && r.operation == "UpdateService"),
        "ctl-b rolled out the image ctl-a was holding"
    );
    // Now the held write goes on, to the SDK, and the elector after it.
    std::fs::write(&release, "").expect("release");
    eventually(
        Duration::from_secs(30),
        "the held write to be judged",
        || async {
            local
                .controller_log(a)
                .lines()
                .any(|line| line.contains("UpdateService") && line.contains("no longer leads"))
                .then_some(())
        },
    )
    .await;
    std::fs::remove_file(&stall).expect("unstall");
    eventually(Duration::from_secs(30), "ctl-a a follower", || async {
        (!leads(&local, a)).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let requests = local.requests();
    // Should ctl-a lead again (ctl-b missing a renewal), its writes from
    // then on are a new term's.
    let next_term = from(&requests, "ctl-a")
        .into_iter()
        .filter(|r| is_lease(r) && r.operation == "PutItem" && r.status == 200)
        .map(|r| r.received)
        .find(|&t| t > first_b)
        .unwrap_or(f64::MAX);
    let late: Vec<&Request> = from(&requests, "ctl-a")
        .into_iter()
        .filter(|r| r.received > first_b && r.received < next_term)
        .filter(|r| aws_write(r) || (r.is_write() && r.status == 200))
        .collect();
    assert!(
        late.is_empty(),
        "ctl-a wrote after ctl-b's first write at {first_b}: {late:#?}"
    );
}
