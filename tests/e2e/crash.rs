//! Crash safety: the controller is killed (SIGKILL) at 20 seeded random
//! points while it converges 20 apps with ports, and restarted each time.
//! At the end every app is Ready; no service, target group, listener rule
//! or DNS record exists twice; no spec, release or status is lost; and no
//! task-definition revision is left orphaned: each family has exactly the
//! one revision its service runs (a revision registered just before a
//! kill is found and reused, never registered again).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::support::{eventually, LocalAws};

const APPS: usize = 20;
const KILLS: usize = 20;
/// Short leases so each restart takes over within seconds.
const FAST_TAKEOVER: &[&str] = &[
    "--lease-duration",
    "2s",
    "--renew-deadline",
    "1s",
    "--retry-period",
    "250ms",
];

fn manifest(i: usize) -> String {
    format!(
        "apiVersion: ferry/v1
kind: App
metadata:
  name: crash{i:02}
spec:
  image: acme/app:1
  processes:
    web:
      command: [serve]
      scale: 1
      port: 8080
"
    )
}

/// A small deterministic generator (xorshift), so a failing run can be
/// repeated with the same kill points.
struct Points(u64);

impl Points {
    fn next_millis(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

#[track_caller]
fn assert_unique<T: Ord + std::fmt::Debug + Clone>(what: &str, items: &[T]) {
    let unique: BTreeSet<&T> = items.iter().collect();
    assert_eq!(unique.len(), items.len(), "a duplicate {what}: {items:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_random_points_it_converges_without_duplicates_or_losses() {
    let mut local = LocalAws::start().expect("local AWS");
    let dir = local.dir().join("apps");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for i in 0..APPS {
        std::fs::write(dir.join(format!("crash{i:02}.yaml")), manifest(i)).expect("write");
    }
    let mut controller = local.start_leader(FAST_TAKEOVER).expect("controller");
    local.ferry_ok(&["apply", "-f", dir.to_str().expect("utf-8")]);

    let mut points = Points(0x5eed_f00d_cafe_d00d);
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(points.next_millis(100, 1500))).await;
        local.kill_controller(controller);
        controller = local
            .start_leader(FAST_TAKEOVER)
            .expect("restarted controller");
    }
    eventually(
        Duration::from_secs(300),
        "every app to be Ready",
        || async { local.all_ready().filter(|ready| *ready == APPS).map(|_| ()) },
    )
    .await;

    let apps: Vec<String> = (0..APPS).map(|i| format!("crash{i:02}")).collect();
    assert_no_duplicates(&local, &apps, &apps).await;

    assert_nothing_lost(&local, &apps);
}

/// The code points where a crash leaves a converge half done, by their
/// failpoint names (`ferry_call::failpoint`).
const FAILPOINTS: &[&str] = &[
    "ecs.registered",
    "traffic.target_group_created",
    "traffic.rule_created",
    "reconcile.before_status",
];

/// The controller is crashed (aborted) at each named failpoint in turn, a
/// new app applied before each run so that its converge passes every
/// point, and restarted. Each failpoint must be hit (the controller dies
/// there, saying so); in the end every app is Ready, nothing exists twice
/// and nothing is lost.
#[tokio::test(flavor = "multi_thread")]
async fn killed_at_each_named_failpoint_it_converges_without_duplicates_or_losses() {
    let mut local = LocalAws::start().expect("local AWS");
    let dir = local.dir().join("apps");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut apps = Vec::new();
    for (i, failpoint) in FAILPOINTS.iter().enumerate() {
        let app = format!("crash{i:02}");
        std::fs::write(dir.join(format!("{app}.yaml")), manifest(i)).expect("write");
        local.ferry_ok(&["apply", "-f", dir.to_str().expect("utf-8")]);
        apps.push(app);
        let controller = local
            .start_controller_env(
                FAST_TAKEOVER,
                &[("FERRY_FAILPOINTS", &format!("{failpoint}=abort"))],
            )
            .expect("controller");
        let exited = local.wait_controller_exit(controller, Duration::from_secs(120));
        let log = local.controller_log(controller);
        assert!(
            exited.is_some_and(|status| !status.success())
                && log.contains(&format!("failpoint {failpoint}: abort")),
            "the controller was not crashed at {failpoint} (exit: {exited:?}):\n{log}"
        );
    }
    local.start_leader(FAST_TAKEOVER).expect("controller");
    eventually(
        Duration::from_secs(300),
        "every app to be Ready",
        || async {
            local
                .all_ready()
                .filter(|ready| *ready == apps.len())
                .map(|_| ())
        },
    )
    .await;
    assert_no_duplicates(&local, &apps, &apps).await;
    assert_nothing_lost(&local, &apps);
}

/// Lists AWS after a converge of `apps` (each with one process, `web`;
/// those in `exposed` with a port) and asserts that nothing
/// exists twice: one service per app, and in each app's family exactly
/// the revision its service runs (none registered twice, none orphaned);
/// one target group and one listener rule per exposed app; each DNS
/// record name and type once.
pub(crate) async fn assert_no_duplicates(local: &LocalAws, apps: &[String], exposed: &[String]) {
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    // Services: one per app, each once.
    let services = crate::ecs::service_arns(&ecs, &cluster).await;
    assert_unique("service", &services);
    assert_eq!(services.len(), apps.len(), "{services:?}");

    // Task definitions: each family has exactly the revision it runs.
    for app in apps {
        let service = format!("{app}_web");
        // The family carries the installation (the table, `ferry`).
        let family = format!("ferry_{service}");
        let active = crate::ecs::revisions(&ecs, &family).await;
        let running = crate::ecs::active_service(&ecs, &cluster, &service)
            .await
            .and_then(|s| s.task_definition().map(str::to_owned));
        assert_eq!(
            active.iter().map(Some).collect::<Vec<_>>(),
            vec![running.as_ref()],
            "{family}: orphaned or missing revisions"
        );
    }

    // Target groups and listener rules: one each per exposed process.
    let elb = local.elb().await;
    let groups = elb
        .describe_target_groups()
        .send()
        .await
        .expect("DescribeTargetGroups");
    let names: Vec<String> = groups
        .target_groups()
        .iter()
        .filter_map(|g| g.target_group_name().map(str::to_owned))
        .collect();
    assert_unique("target group", &names);
    assert_eq!(names.len(), exposed.len(), "{names:?}");
    let rules = elb
        .describe_rules()
        .listener_arn(&local.env["FERRY_INTERNAL_LISTENER_ARN"])
        .send()
        .await
        .expect("DescribeRules");
    let conditions: Vec<String> = rules
        .rules()
        .iter()
        .filter(|r| r.is_default() != Some(true))
        .map(|r| format!("{:?}", r.conditions()))
        .collect();
    assert_unique("listener rule", &conditions);
    assert_eq!(conditions.len(), exposed.len(), "{conditions:?}");

    // DNS records: each name and type once.
    let dns = local.route53().await;
    let records = dns
        .list_resource_record_sets()
        .hosted_zone_id(&local.env["FERRY_INTERNAL_ZONE_ID"])
        .send()
        .await
        .expect("ListResourceRecordSets");
    let sets: Vec<(String, String)> = records
        .resource_record_sets()
        .iter()
        .map(|r| (r.name().to_owned(), r.r#type().as_str().to_owned()))
        .collect();
    assert_unique("record", &sets);
    for app in exposed {
        assert!(
            sets.iter().any(|(name, _)| name.starts_with(app.as_str())),
            "{app} has its record: {sets:?}"
        );
    }
}

/// Every app's spec (generation 1), status (observed generation 1) and
/// first release (succeeded) is there.
fn assert_nothing_lost(local: &LocalAws, apps: &[String]) {
    // Specs, releases and statuses: none lost.
    let listed: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["get", "-o", "json"])).expect("json");
    let by_name: BTreeMap<String, &serde_json::Value> = listed
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|a| Some((a["name"].as_str()?.to_owned(), a)))
        .collect();
    assert_eq!(by_name.len(), apps.len());
    for (name, app) in &by_name {
        assert_eq!(app["generation"], 1, "{name}");
        assert_eq!(app["observedGeneration"], 1, "{name}");
        let releases: serde_json::Value =
            serde_json::from_str(&local.ferry_ok(&["releases", name, "-o", "json"])).expect("json");
        assert_eq!(releases[0]["version"], 1, "{name}");
        assert_eq!(releases[0]["outcome"], "succeeded", "{name}");
    }
}
