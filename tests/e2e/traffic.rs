//! Traffic, checked the way a user would check it: through the SDK, in
//! ELBv2 and Route53.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_route53 as route53;

use crate::converge::{copy_manifests, edit};
use crate::ecs::active_service;
use crate::support::{eventually, LocalAws};

/// What ELBv2 and Route53 hold, flattened for assertions.
#[derive(Debug, Default)]
struct Traffic {
    /// By name.
    groups: BTreeMap<String, Group>,
    /// (listener, sorted hosts) -> what the rule forwards to, and its tags.
    rules: BTreeMap<(String, Vec<String>), Rule>,
    /// (zone id, name) -> (alias DNS name, TXT values).
    records: BTreeMap<(String, String), (Option<String>, Vec<String>)>,
}

/// Target group names a rule forwards to, and the rule's tags.
type Rule = (Vec<String>, BTreeMap<String, String>);

#[derive(Debug, Clone)]
struct Group {
    arn: String,
    port: i32,
    path: String,
    interval: i32,
    timeout: i32,
    healthy: i32,
    unhealthy: i32,
    matcher: String,
    delay: Option<String>,
    tags: BTreeMap<String, String>,
}

async fn tags_of(
    client: &elb::Client,
    arns: &[String],
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut all = BTreeMap::new();
    for chunk in arns.chunks(20) {
        let out = client
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .expect("DescribeTags");
        for d in out.tag_descriptions() {
            let tags = d
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect();
            all.insert(d.resource_arn().unwrap_or_default().to_owned(), tags);
        }
    }
    all
}

async fn read(local: &LocalAws) -> Traffic {
    let client = local.elb().await;
    let dns = local.route53().await;
    let mut traffic = Traffic::default();
    let groups = client
        .describe_target_groups()
        .send()
        .await
        .expect("DescribeTargetGroups");
    let arns: Vec<String> = groups
        .target_groups()
        .iter()
        .filter_map(|g| g.target_group_arn().map(str::to_owned))
        .collect();
    let mut tags = tags_of(&client, &arns).await;
    let mut names_by_arn = BTreeMap::new();
    for g in groups.target_groups() {
        let arn = g.target_group_arn().unwrap_or_default().to_owned();
        let attributes = client
            .describe_target_group_attributes()
            .target_group_arn(&arn)
            .send()
            .await
            .expect("DescribeTargetGroupAttributes");
        let delay = attributes
            .attributes()
            .iter()
            .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
            .and_then(|a| a.value().map(str::to_owned));
        let name = g.target_group_name().unwrap_or_default().to_owned();
        names_by_arn.insert(arn.clone(), name.clone());
        traffic.groups.insert(
            name,
            Group {
                tags: tags.remove(&arn).unwrap_or_default(),
                arn,
                port: g.port().unwrap_or_default(),
                path: g.health_check_path().unwrap_or_default().to_owned(),
                interval: g.health_check_interval_seconds().unwrap_or_default(),
                timeout: g.health_check_timeout_seconds().unwrap_or_default(),
                healthy: g.healthy_threshold_count().unwrap_or_default(),
                unhealthy: g.unhealthy_threshold_count().unwrap_or_default(),
                matcher: g
                    .matcher()
                    .and_then(|m| m.http_code())
                    .unwrap_or_default()
                    .to_owned(),
                delay,
            },
        );
    }
    for listener in [
        &local.env["FERRY_INTERNAL_LISTENER_ARN"],
        &local.env["FERRY_PUBLIC_LISTENER_ARN"],
    ] {
        let rules = client
            .describe_rules()
            .listener_arn(listener)
            .send()
            .await
            .expect("DescribeRules");
        let arns: Vec<String> = rules
            .rules()
            .iter()
            .filter(|r| r.is_default() != Some(true))
            .filter_map(|r| r.rule_arn().map(str::to_owned))
            .collect();
        let mut rule_tags = tags_of(&client, &arns).await;
        for rule in rules
            .rules()
            .iter()
            .filter(|r| r.is_default() != Some(true))
        {
            let hosts = crate::ecs::rule_hosts(rule);
            let targets: Vec<String> = rule
                .actions()
                .iter()
                .filter_map(|a| a.target_group_arn())
                .map(|arn| {
                    names_by_arn
                        .get(arn)
                        .cloned()
                        .unwrap_or_else(|| arn.to_owned())
                })
                .collect();
            let tags = rule_tags
                .remove(rule.rule_arn().unwrap_or_default())
                .unwrap_or_default();
            traffic
                .rules
                .insert((listener.clone(), hosts), (targets, tags));
        }
    }
    let zones: Vec<String> = std::iter::once(local.env["FERRY_INTERNAL_ZONE_ID"].clone())
        .chain(
            local.env["FERRY_PUBLIC_ZONE_IDS"]
                .split(',')
                .map(str::to_owned),
        )
        .collect();
    for zone in zones {
        let out = dns
            .list_resource_record_sets()
            .hosted_zone_id(&zone)
            .send()
            .await
            .expect("ListResourceRecordSets");
        for set in out.resource_record_sets() {
            let name = set.name().trim_end_matches('.').to_owned();
            let entry = traffic.records.entry((zone.clone(), name)).or_default();
            match set.r#type() {
                route53::types::RrType::A => {
                    entry.0 = set
                        .alias_target()
                        .map(|a| a.dns_name().trim_end_matches('.').to_ascii_lowercase());
                }
                route53::types::RrType::Txt => entry.1.extend(
                    set.resource_records()
                        .iter()
                        .map(|r| r.value().trim_matches('"').to_owned()),
                ),
                _ => {}
            }
        }
    }
    traffic
}

/// Someone else's change to a zone's records, as one batch.
async fn change_records(dns: &route53::Client, zone: &str, change: route53::types::Change) {
    dns.change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(
            route53::types::ChangeBatch::builder()
                .changes(change)
                .build()
                .expect("batch"),
        )
        .send()
        .await
        .expect("ChangeResourceRecordSets");
}

fn group_of<'a>(traffic: &'a Traffic, app: &str, process: &str) -> Option<(&'a String, &'a Group)> {
    traffic.groups.iter().find(|(_, g)| {
        g.tags.get("ferry:app").map(String::as_str) == Some(app)
            && g.tags.get("ferry:process").map(String::as_str) == Some(process)
    })
}

async fn load_balancer_dns(local: &LocalAws, listener_var: &str) -> String {
    let client = local.elb().await;
    let listener = client
        .describe_listeners()
        .listener_arns(&local.env[listener_var])
        .send()
        .await
        .expect("DescribeListeners");
    let lb = listener.listeners()[0]
        .load_balancer_arn()
        .unwrap_or_default()
        .to_owned();
    let out = client
        .describe_load_balancers()
        .load_balancer_arns(lb)
        .send()
        .await
        .expect("DescribeLoadBalancers");
    out.load_balancers()[0]
        .dns_name()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[tokio::test(flavor = "multi_thread")]
async fn exposed_processes_get_groups_rules_records_and_links() {
    let mut local = LocalAws::start().expect("local AWS");
    let dir = local.dir().join("manifests");
    copy_manifests(&dir);
    let dir_arg = dir.to_str().expect("utf-8 path").to_owned();
    local.start_leader(&[]).expect("controller");
    local.ferry_ok(&["apply", "-f", &dir_arg, "--wait", "--timeout", "60s"]);

    let internal = local.env["FERRY_INTERNAL_LISTENER_ARN"].clone();
    let public = local.env["FERRY_PUBLIC_LISTENER_ARN"].clone();
    let private_zone = local.env["FERRY_INTERNAL_ZONE_ID"].clone();
    let internal_dns = load_balancer_dns(&local, "FERRY_INTERNAL_LISTENER_ARN").await;
    let public_dns = load_balancer_dns(&local, "FERRY_PUBLIC_LISTENER_ARN").await;
    let traffic = read(&local).await;

    // Health checks exactly as the manifests say, defaults where silent.
    let (router_tg, router) = group_of(&traffic, "router", "web").expect("router's group");
    assert_eq!((router.port, router.path.as_str()), (8080, "/health"));
    assert_eq!(
        (
            router.interval,
            router.timeout,
            router.healthy,
            router.unhealthy
        ),
        (10, 5, 2, 3)
    );
    assert_eq!(router.matcher, "200-399");
    assert_eq!(router.delay.as_deref(), Some("30"));
    assert!(router_tg.len() <= 32);
    let (web_tg, _) = group_of(&traffic, "web", "web").expect("web's group");
    let (api_tg, _) = group_of(&traffic, "api", "web").expect("api's group");
    assert!(
        group_of(&traffic, "worker", "worker").is_none(),
        "no port, no group"
    );

    // Rules: internal names on the internal ALB, domains on the public one.
    let rule = |listener: &str, hosts: &[&str]| {
        traffic
            .rules
            .get(&(
                listener.to_owned(),
                hosts.iter().map(|h| (*h).to_owned()).collect(),
            ))
            .map(|(targets, _)| targets.clone())
    };
    assert_eq!(
        rule(&internal, &["web.ferry.internal", "web.web.ferry.internal"]),
        Some(vec![web_tg.clone()])
    );
    assert_eq!(
        rule(&internal, &["api.ferry.internal", "web.api.ferry.internal"]),
        Some(vec![api_tg.clone()])
    );
    // A target group is associated with one load balancer at most (AWS's
    // quota), so a process with a domain has a group per load balancer.
    let router_groups: BTreeSet<&String> = traffic
        .groups
        .iter()
        .filter(|(_, g)| {
            g.tags.get("ferry:app").map(String::as_str) == Some("router")
                && g.tags.get("ferry:process").map(String::as_str) == Some("web")
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(router_groups.len(), 2, "{router_groups:?}");
    let router_internal = rule(
        &internal,
        &["router.ferry.internal", "web.router.ferry.internal"],
    )
    .expect("router's internal rule");
    let router_public = rule(&public, &["router.example.com"]).expect("router's public rule");
    assert_ne!(
        router_internal, router_public,
        "one group per load balancer"
    );
    for target in router_internal.iter().chain(&router_public) {
        assert!(router_groups.contains(target), "{target}");
    }
    assert!(router_groups.contains(router_tg));
    assert_eq!(traffic.rules.len(), 4, "{:?}", traffic.rules.keys());

    // Records: aliases to the right ALB, in the right zone, marked Ferry's.
    let record = |zone: &str, name: &str| {
        traffic
            .records
            .get(&(zone.to_owned(), name.to_owned()))
            .cloned()
    };
    let (alias, txt) = record(&private_zone, "web.ferry.internal").expect("web.ferry.internal");
    assert_eq!(alias.as_deref(), Some(internal_dns.as_str()));
    assert_eq!(txt, ["ferry:managed-by=ferry,ferry:app=web"]);
    let public_zone = traffic
        .records
        .keys()
        .find(|(_, name)| name == "router.example.com")
        .map(|(zone, _)| zone.clone())
        .expect("router.example.com");
    assert_eq!(
        record(&public_zone, "router.example.com").and_then(|r| r.0),
        Some(public_dns)
    );

    // Services are linked to their groups, with a grace period.
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();
    let web = active_service(&ecs, &cluster, "web_web")
        .await
        .expect("web_web");
    let link = &web.load_balancers()[0];
    assert_eq!(
        link.target_group_arn(),
        Some(traffic.groups[web_tg].arn.as_str())
    );
    assert_eq!(
        (link.container_name(), link.container_port()),
        (Some("web"), Some(8080))
    );
    assert_eq!(web.health_check_grace_period_seconds(), Some(60));
    // The router registers its tasks with both of its groups.
    let router_service = active_service(&ecs, &cluster, "router_web")
        .await
        .expect("router_web");
    let linked: BTreeSet<&str> = router_service
        .load_balancers()
        .iter()
        .filter_map(|l| l.target_group_arn())
        .collect();
    let expected: BTreeSet<&str> = router_groups
        .iter()
        .map(|name| traffic.groups[*name].arn.as_str())
        .collect();
    assert_eq!(linked, expected);

    // Status lists the endpoints.
    let status: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["status", "router", "-o", "json"])).expect("json");
    let endpoints: Vec<&str> = status["processes"]["web"]["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    assert_eq!(
        endpoints,
        [
            "http://router.ferry.internal",
            "http://web.router.ferry.internal",
            "http://router.example.com"
        ]
    );

    // Add a domain and a port; then take them away again.
    edit(
        &dir.join("api.yaml"),
        "  processes:",
        "  domains: [api.example.com]\n  processes:",
    );
    edit(
        &dir.join("worker.yaml"),
        "scale: 1",
        "scale: 1\n      port: 9000\n      healthCheck: {path: /ping, interval: 20, timeout: 4, healthyThreshold: 3, unhealthyThreshold: 4, matcher: \"200\"}\n      drainTimeout: 5",
    );
    local.ferry_ok(&["apply", "-f", &dir_arg, "--wait", "--timeout", "60s"]);
    let grown = read(&local).await;
    let (scheduler_tg, scheduler) =
        group_of(&grown, "worker", "scheduler").expect("scheduler's group");
    assert_eq!(
        (
            scheduler.port,
            scheduler.path.as_str(),
            scheduler.interval,
            scheduler.timeout
        ),
        (9000, "/ping", 20, 4)
    );
    assert_eq!(
        (
            scheduler.healthy,
            scheduler.unhealthy,
            scheduler.matcher.as_str()
        ),
        (3, 4, "200")
    );
    assert_eq!(scheduler.delay.as_deref(), Some("5"));
    assert!(grown
        .rules
        .contains_key(&(public.clone(), vec!["api.example.com".to_owned()])));
    assert!(grown.rules.contains_key(&(
        internal.clone(),
        vec![
            "scheduler.worker.ferry.internal".to_owned(),
            "worker.ferry.internal".to_owned()
        ]
    )));
    assert!(grown
        .records
        .contains_key(&(public_zone.clone(), "api.example.com".to_owned())));
    assert!(grown.records.contains_key(&(
        private_zone.clone(),
        "scheduler.worker.ferry.internal".to_owned()
    )));
    // The scheduler's group, and api's group on the internet-facing one.
    assert_eq!(grown.groups.len(), traffic.groups.len() + 2);
    assert_eq!(grown.rules.len(), traffic.rules.len() + 2);

    // Someone verifies the domain with a TXT value beside Ferry's owner
    // record: giving the name up must take only Ferry's value away.
    let api_txt = grown.records[&(public_zone.clone(), "api.example.com".to_owned())]
        .1
        .clone();
    assert_eq!(api_txt.len(), 1, "Ferry's owner record: {api_txt:?}");
    let verification = "example-site-verification=e2e";
    let values = api_txt
        .iter()
        .chain(std::iter::once(&verification.to_owned()))
        .map(|v| {
            route53::types::ResourceRecord::builder()
                .value(format!("\"{v}\""))
                .build()
                .expect("record")
        })
        .collect();
    let change = route53::types::Change::builder()
        .action(route53::types::ChangeAction::Upsert)
        .resource_record_set(
            route53::types::ResourceRecordSet::builder()
                .name("api.example.com")
                .r#type(route53::types::RrType::Txt)
                .ttl(300)
                .set_resource_records(Some(values))
                .build()
                .expect("record set"),
        )
        .build()
        .expect("change");
    change_records(&local.route53().await, &public_zone, change).await;

    edit(&dir.join("api.yaml"), "  domains: [api.example.com]\n", "");
    edit(
        &dir.join("worker.yaml"),
        "\n      port: 9000\n      healthCheck: {path: /ping, interval: 20, timeout: 4, healthyThreshold: 3, unhealthyThreshold: 4, matcher: \"200\"}\n      drainTimeout: 5",
        "",
    );
    local.ferry_ok(&["apply", "-f", &dir_arg, "--wait", "--timeout", "60s"]);
    let shrunk = eventually(
        Duration::from_secs(30),
        "the removed traffic to go",
        || async {
            let now = read(&local).await;
            (now.groups.len() == traffic.groups.len()).then_some(now)
        },
    )
    .await;
    assert!(!shrunk.groups.contains_key(scheduler_tg));
    assert_eq!(
        shrunk.rules.keys().collect::<Vec<_>>(),
        traffic.rules.keys().collect::<Vec<_>>(),
        "exactly the rules from before"
    );
    let verified = (public_zone.clone(), "api.example.com".to_owned());
    assert_eq!(
        shrunk.records.get(&verified),
        Some(&(None, vec![verification.to_owned()])),
        "the alias and Ferry's TXT value went; the other value stayed"
    );
    assert_eq!(
        shrunk
            .records
            .keys()
            .filter(|k| **k != verified)
            .collect::<Vec<_>>(),
        traffic.records.keys().collect::<Vec<_>>(),
        "exactly the records from before"
    );
    let scheduler = active_service(&ecs, &cluster, "worker_scheduler")
        .await
        .expect("service stays");
    assert!(
        scheduler.load_balancers().is_empty(),
        "unlinked before its group went"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn what_ferry_does_not_own_stays_and_long_names_fit() {
    let mut local = LocalAws::start().expect("local AWS");
    let client = local.elb().await;
    let dns = local.route53().await;
    let internal = local.env["FERRY_INTERNAL_LISTENER_ARN"].clone();
    let private_zone = local.env["FERRY_INTERNAL_ZONE_ID"].clone();
    let public_zone = local.env["FERRY_PUBLIC_ZONE_IDS"]
        .split(',')
        .next()
        .expect("a public zone")
        .to_owned();

    // Another team's group, rule (priority 1) and record, and a name in the
    // public zone that an app will try to claim.
    let legacy = client
        .create_target_group()
        .name("legacy")
        .protocol(elb::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(&local.env["FERRY_VPC_ID"])
        .target_type(elb::types::TargetTypeEnum::Ip)
        .send()
        .await
        .expect("legacy group");
    let legacy_arn = legacy.target_groups()[0]
        .target_group_arn()
        .expect("arn")
        .to_owned();
    client
        .create_rule()
        .listener_arn(&internal)
        .priority(1)
        .conditions(
            elb::types::RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    elb::types::HostHeaderConditionConfig::builder()
                        .values("legacy.ferry.internal")
                        .build(),
                )
                .build(),
        )
        .actions(
            elb::types::Action::builder()
                .r#type(elb::types::ActionTypeEnum::Forward)
                .target_group_arn(&legacy_arn)
                .build(),
        )
        .send()
        .await
        .expect("legacy rule");
    let record = |name: &str, kind: route53::types::RrType, value: &str| {
        route53::types::Change::builder()
            .action(route53::types::ChangeAction::Create)
            .resource_record_set(
                route53::types::ResourceRecordSet::builder()
                    .name(name)
                    .r#type(kind)
                    .ttl(60)
                    .resource_records(
                        route53::types::ResourceRecord::builder()
                            .value(value)
                            .build()
                            .expect("record"),
                    )
                    .build()
                    .expect("record set"),
            )
            .build()
            .expect("change")
    };
    for (zone, change) in [
        (
            &private_zone,
            record(
                "legacy.ferry.internal",
                route53::types::RrType::A,
                "10.0.0.1",
            ),
        ),
        (
            &public_zone,
            record(
                "taken.example.com",
                route53::types::RrType::Cname,
                "elsewhere.example.net",
            ),
        ),
    ] {
        change_records(&dns, zone, change).await;
    }
    let before = read(&local).await;

    // An app at the name limits, and one claiming the taken name.
    let long_app = format!("l{}", "o".repeat(38)) + "g";
    let long_process = format!("p{}", "r".repeat(22)) + "c";
    let dir = local.dir().join("apps");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("long.yaml"),
        format!(
            "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: {long_app}\nspec:\n  image: acme/long:1\n  processes:\n    {long_process}:\n      port: 8080\n    web:\n      port: 8081\n"
        ),
    )
    .expect("long.yaml");
    std::fs::write(
        dir.join("claimer.yaml"),
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: claimer\nspec:\n  image: acme/claimer:1\n  domains: [taken.example.com]\n  processes:\n    web:\n      port: 8080\n",
    )
    .expect("claimer.yaml");
    local.start_leader(&[]).expect("controller");
    local.ferry_ok(&["apply", "-f", dir.to_str().expect("utf-8")]);
    local.ferry_ok(&[
        "apply",
        "-f",
        dir.join("long.yaml").to_str().expect("utf-8"),
        "--wait",
        "--timeout",
        "60s",
    ]);
    let status = eventually(Duration::from_secs(30), "claimer Degraded", || async {
        let out = local.ferry(&["status", "claimer", "-o", "json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        status["conditions"]
            .as_array()?
            .iter()
            .any(|c| {
                c["type"] == "Degraded" && c["status"] == "True" && c["reason"] == "RecordConflict"
            })
            .then_some(status)
    })
    .await;
    let message = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Degraded"))
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("taken.example.com"), "{message}");

    let after = read(&local).await;
    // The foreign rule keeps its priority, hosts and target; so do the
    // foreign group and records.
    let legacy_rule = after
        .rules
        .get(&(internal.clone(), vec!["legacy.ferry.internal".to_owned()]))
        .expect("legacy rule stays");
    assert_eq!(legacy_rule.0, ["legacy"]);
    assert_eq!(after.groups["legacy"].tags, before.groups["legacy"].tags);
    assert_eq!(
        after
            .records
            .get(&(private_zone.clone(), "legacy.ferry.internal".to_owned())),
        before
            .records
            .get(&(private_zone.clone(), "legacy.ferry.internal".to_owned()))
    );
    let taken = dns
        .list_resource_record_sets()
        .hosted_zone_id(&public_zone)
        .start_record_name("taken.example.com")
        .send()
        .await
        .expect("list");
    let set = &taken.resource_record_sets()[0];
    assert_eq!(set.r#type(), &route53::types::RrType::Cname);
    assert_eq!(set.resource_records()[0].value(), "elsewhere.example.net");
    assert!(!after
        .rules
        .keys()
        .any(|(_, hosts)| hosts.contains(&"taken.example.com".to_owned())));

    // Long names: valid, distinct group names; working names in DNS.
    let (first, _) = group_of(&after, &long_app, &long_process).expect("long group");
    let (second, _) = group_of(&after, &long_app, "web").expect("web group");
    for name in [first, second] {
        assert!(name.len() <= 32 && !name.ends_with('-'), "{name}");
    }
    assert_ne!(first, second);
    let host = format!("{long_process}.{long_app}.ferry.internal");
    assert!(
        after
            .records
            .contains_key(&(private_zone.clone(), host.clone())),
        "{host}"
    );
    assert!(after.rules.contains_key(&(
        internal.clone(),
        vec![
            format!("{long_app}.ferry.internal"),
            format!("web.{long_app}.ferry.internal")
        ]
    )));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_load_balancer_reports_the_apps_that_do_not_fit() {
    const APPS: usize = 120;
    const QUOTA: usize = 100;
    let mut local = LocalAws::start().expect("local AWS");
    let dir = local.dir().join("many");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for i in 1..=APPS {
        std::fs::write(
            dir.join(format!("app-{i:03}.yaml")),
            format!(
                "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: app-{i:03}\nspec:\n  image: acme/app:1\n  processes:\n    web:\n      port: 8080\n"
            ),
        )
        .expect("manifest");
    }
    local
        .start_leader(&["--concurrency", "16"])
        .expect("controller");
    local.ferry_ok(&["apply", "-f", dir.to_str().expect("utf-8")]);

    let statuses = eventually(Duration::from_secs(600), "every app acted on", || async {
        let out = local.ferry(&["get", "-o", "json"]);
        let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).ok()?;
        let done = list.len() == APPS
            && list.iter().all(|s| {
                s["observedGeneration"] == 1
                    && s["conditions"].as_array().is_some_and(|c| {
                        c.iter().any(|c| {
                            c["status"] == "True"
                                && (c["type"] == "Ready" || c["type"] == "Degraded")
                        })
                    })
            });
        done.then_some(list)
    })
    .await;
    let condition = |s: &serde_json::Value, kind: &str| {
        s["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == kind).cloned())
            .unwrap_or_default()
    };
    let ready = statuses
        .iter()
        .filter(|s| condition(s, "Ready")["status"] == "True")
        .count();
    let full: Vec<&serde_json::Value> = statuses
        .iter()
        .filter(|s| condition(s, "Degraded")["reason"] == "LoadBalancerFull")
        .collect();
    assert_eq!(ready, QUOTA, "the first {QUOTA} work");
    assert_eq!(full.len(), APPS - QUOTA, "the rest report LoadBalancerFull");
    let traffic = read(&local).await;
    let internal = &local.env["FERRY_INTERNAL_LISTENER_ARN"];
    assert_eq!(
        traffic.rules.keys().filter(|(l, _)| l == internal).count(),
        QUOTA
    );
    // Nothing half-applied: an app that did not fit has no group either.
    for status in full {
        let app = status["name"].as_str().expect("name");
        assert!(
            group_of(&traffic, app, "web").is_none(),
            "{app} got a group"
        );
    }
    assert_eq!(traffic.groups.len(), QUOTA);
}
