//! Issue 21's task fields: what they resolve to, and the rules across
//! fields that only validation knows (the corpus, `corpus/invalid.yaml`,
//! locates the first error of each rule).

use super::*;

/// An app with the given lines under `spec:` (after `image`).
fn app(spec: &str) -> String {
    format!(
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: shop\nspec:\n  image: shop:1\n{spec}"
    )
}

const SHOP: &str = "  role: arn:aws:iam::123456789012:role/ferry-apps/shop
  executionRole: arn:aws:iam::123456789012:role/ferry-apps/shop-exec
  exec: true
  platform: arm64
  sidecars:
    agent:
      image: agent:1
      command: agent --fast
      essential: true
      cpu: 64
      memory: 128
      env: {LEVEL: info}
    init:
      image: init:1
      dependsOn: {agent: START, app: HEALTHY}
  processes:
    web:
      port: 8080
      sidecars: [agent]
      platform: x86_64
    worker:
      capacity: {spot: 3, onDemand: 1}
      ephemeralStorage: 50
      healthCheck: {command: test -f /alive, interval: 20, retries: 2, startPeriod: 10}
    queue:
      capacity: spot
      sidecars: []
      healthCheck: {command: [probe, --ok]}
    batch:
      capacity: on-demand
      sidecars: [agent]
";

#[test]
fn every_task_field_resolves() {
    let app = parse_ok(&app(SHOP)).app;
    assert_eq!(
        app.role.as_deref(),
        Some("arn:aws:iam::123456789012:role/ferry-apps/shop")
    );
    assert_eq!(
        app.execution_role.as_deref(),
        Some("arn:aws:iam::123456789012:role/ferry-apps/shop-exec")
    );
    assert!(app.exec);
    assert_eq!(
        app.sidecars["agent"],
        Sidecar {
            image: "agent:1".into(),
            command: argv(&["agent", "--fast"]),
            env: BTreeMap::from([("LEVEL".into(), "info".into())]),
            secrets: BTreeMap::new(),
            essential: true,
            cpu: Some(64),
            memory: Some(128),
            depends_on: BTreeMap::new(),
        }
    );
    assert!(!app.sidecars["init"].essential);
    assert_eq!(
        app.sidecars["init"].depends_on,
        BTreeMap::from([
            ("agent".into(), DependencyCondition::Start),
            (APP_CONTAINER.into(), DependencyCondition::Healthy),
        ])
    );
    let [web, worker, queue, batch] =
        ["web", "worker", "queue", "batch"].map(|p| &app.processes[p]);
    // The process's platform wins; the app's is the default.
    assert_eq!(web.platform, Some(Platform::X86_64));
    assert_eq!(worker.platform, Some(Platform::Arm64));
    // Default: every sidecar; a list: those; []: none.
    assert_eq!(worker.sidecars, argv(&["agent", "init"]));
    assert_eq!(web.sidecars, argv(&["agent"]));
    assert!(queue.sidecars.is_empty());
    assert_eq!(
        worker.capacity,
        Some(Capacity {
            on_demand_base: 1,
            on_demand_weight: 0,
            spot_weight: 3
        })
    );
    assert_eq!(
        queue.capacity,
        Some(Capacity {
            spot_weight: 1,
            ..Capacity::default()
        })
    );
    assert_eq!(
        batch.capacity,
        Some(Capacity {
            on_demand_weight: 1,
            ..Capacity::default()
        })
    );
    assert_eq!(web.capacity, None);
    assert_eq!(worker.ephemeral_storage, Some(50));
    assert_eq!(web.ephemeral_storage, None);
    assert_eq!(
        worker.container_health_check,
        Some(ContainerHealthCheck {
            command: argv(&["CMD-SHELL", "test -f /alive"]),
            interval: Some(20),
            timeout: None,
            retries: Some(2),
            start_period: Some(10),
        })
    );
    assert_eq!(
        queue
            .container_health_check
            .as_ref()
            .map(|c| c.command.clone()),
        Some(argv(&["CMD", "probe", "--ok"]))
    );
    assert_eq!(worker.health_check, None);
    assert_eq!(web.container_health_check, None);
}

#[test]
fn an_app_without_the_new_fields_resolves_as_before() {
    let app = parse_ok(&app(
        "  processes:\n    web: {port: 8080, healthCheck: {path: /up}}\n",
    ))
    .app;
    assert_eq!(
        (app.role.as_deref(), app.execution_role.as_deref(), app.exec),
        (None, None, false)
    );
    assert!(app.sidecars.is_empty());
    let web = &app.processes["web"];
    assert_eq!(
        web.health_check.as_ref().and_then(|c| c.path.as_deref()),
        Some("/up")
    );
    assert_eq!(
        (
            web.platform,
            web.capacity,
            web.ephemeral_storage,
            &web.container_health_check
        ),
        (None, None, None, &None)
    );
    assert!(web.sidecars.is_empty());
    // Stored as before: none of the new keys is written.
    let stored = serde_json::to_string(&app).expect("serializes");
    for key in [
        "role",
        "executionRole",
        "exec",
        "sidecars",
        "platform",
        "capacity",
        "ephemeralStorage",
        "containerHealthCheck",
    ] {
        assert!(!stored.contains(&format!("\"{key}\"")), "{key} in {stored}");
    }
}

#[test]
fn a_dependency_is_judged_in_each_process_that_runs_it() {
    // `init` waits for `app` to be HEALTHY: fine beside `worker`, which has
    // a container health check, refused beside `batch`, which has none.
    let text = app(&SHOP.replace(
        "      sidecars: [agent]\n",
        "      sidecars: [agent, init]\n",
    ));
    let found = errors(&text);
    let about: Vec<(&str, bool)> = found
        .iter()
        .map(|d| (d.path.as_str(), d.message.contains("process `batch`")))
        .collect();
    assert!(
        about.contains(&("spec.sidecars.init.dependsOn.app", true)),
        "{found:?}"
    );
    // `web` has a port, hence no container check either.
    assert!(
        found.iter().any(|d| d.message.contains("process `web`")),
        "{found:?}"
    );
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn complete_and_success_wait_only_for_containers_that_are_not_essential() {
    let base = "  sidecars:\n    migrate:\n      image: m:1\n      essential: ESSENTIAL\n    app-runner:\n      image: r:1\n      dependsOn: {migrate: SUCCESS}\n  processes:\n    worker: {command: work}\n";
    parse_ok(&app(&base.replace("ESSENTIAL", "false")));
    assert_one_error(
        &app(&base.replace("ESSENTIAL", "true")),
        13,
        28,
        "spec.sidecars.app-runner.dependsOn.migrate",
        &["not essential", "process `worker`"],
    );
}

#[test]
fn sidecars_must_fit_their_task() {
    let base = "  sidecars:\n    agent: {image: agent:1, memory: MEM, cpu: CPU}\n  processes:\n    worker: {command: work, cpu: 512, memory: 1024}\n";
    let fits = |mem: &str, cpu: &str| base.replace("MEM", mem).replace("CPU", cpu);
    parse_ok(&app(&fits("1023", "512")));
    assert_one_error(
        &app(&fits("1024", "512")),
        10,
        47,
        "spec.processes.worker.memory",
        &["1024 MiB", "process `worker`"],
    );
    assert_one_error(
        &app(&fits("1023", "513")),
        10,
        34,
        "spec.processes.worker.cpu",
        &["513 CPU units", "task's 512"],
    );
}

#[test]
fn a_health_check_has_one_meaning() {
    let worker = |check: &str| {
        app(&format!(
            "  processes:\n    worker:\n      command: work\n      healthCheck: {check}\n"
        ))
    };
    for (check, field) in [
        ("{command: 'true', matcher: '200'}", "matcher"),
        ("{command: 'true', healthyThreshold: 3}", "healthyThreshold"),
        (
            "{command: 'true', unhealthyThreshold: 3}",
            "unhealthyThreshold",
        ),
    ] {
        let found = errors(&worker(check));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].path,
            format!("spec.processes.worker.healthCheck.{field}")
        );
        assert!(found[0].message.contains("`port`"), "{}", found[0]);
    }
    // The container's timeout must end before its interval: ECS's default
    // interval, 30 s, when unset.
    assert_one_error(
        &worker("{command: 'true', timeout: 30}"),
        10,
        47,
        "spec.processes.worker.healthCheck.timeout",
        &["(30s, the default)"],
    );
    parse_ok(&worker("{command: 'true', timeout: 29}"));
    // The load balancer's: the renderer's default interval, 10 s.
    let lb = |check: &str| {
        app(&format!(
            "  processes:\n    web:\n      port: 8080\n      healthCheck: {check}\n"
        ))
    };
    assert_one_error(
        &lb("{path: /, timeout: 10}"),
        10,
        39,
        "spec.processes.web.healthCheck.timeout",
        &["(10s, the default)"],
    );
    parse_ok(&lb("{path: /, timeout: 9}"));
    let web = app(
        "  processes:\n    web:\n      port: 8080\n      healthCheck: {path: /, startPeriod: 5}\n",
    );
    assert_one_error(
        &web,
        10,
        30,
        "spec.processes.web.healthCheck.startPeriod",
        &["container health check"],
    );
}

#[test]
fn a_role_is_an_iam_role_arn() {
    for arn in [
        "arn:aws:iam::123456789012:role/shop",
        "arn:aws:iam::123456789012:role/ferry-apps/team-a/shop+x=y,z.w@v_u-t",
        "arn:aws-cn:iam::123456789012:role/ferry-apps/shop",
    ] {
        parse_ok(&app(&format!(
            "  role: {arn}\n  processes:\n    web: {{command: x}}\n"
        )));
    }
    for (arn, hint) in [
        ("arn:aws:iam:us-east-1:123456789012:role/shop", "no region"),
        ("arn:aws:iam::12345:role/shop", ""),
        ("arn:aws:iam::123456789012:role/ferry apps/shop", ""),
        ("arn:aws:iam::123456789012:policy/shop", "not a role"),
        ("shop", "not its name"),
    ] {
        assert_one_error(
            &app(&format!(
                "  role: {arn}\n  processes:\n    web: {{command: x}}\n"
            )),
            7,
            9,
            "spec.role",
            &["IAM role ARN", hint],
        );
    }
}

#[test]
fn a_dependency_on_a_container_not_beside_it_names_the_ones_that_are() {
    // `queue` runs `init` and `agent`; `init` misspells `agent`, and the
    // choices it is offered are the others beside it, never itself.
    let text = app(&SHOP.replace("{agent: START, app: HEALTHY}", "{agnet: START}"));
    let found = errors(&text);
    let misspelled: Vec<_> = found
        .iter()
        .filter(|d| d.path == "spec.sidecars.init.dependsOn.agnet")
        .collect();
    assert!(!misspelled.is_empty(), "{found:?}");
    for d in misspelled {
        let (_, choices) = d
            .message
            .split_once("it can depend on")
            .unwrap_or_else(|| panic!("no choices in: {}", d.message));
        assert!(
            choices.contains("`app`") && choices.contains("`agent`"),
            "{}",
            d.message
        );
        assert!(
            !choices.contains("`init`"),
            "itself is not a choice: {}",
            d.message
        );
    }
}
