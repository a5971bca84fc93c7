//! The first complete path: manifests to DynamoDB to ECS, and every kind of
//! change after it.

use std::path::Path;
use std::time::Duration;

use crate::ecs::{active_service, create_foreign_service, revisions, tags, task_definition};
use crate::support::{eventually, repo_root, LocalAws};

pub(crate) fn copy_manifests(to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(repo_root().join("manifests")).expect("manifests/") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

pub(crate) fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("read manifest");
    assert!(
        text.contains(from),
        "{} does not contain {from:?}",
        file.display()
    );
    std::fs::write(file, text.replacen(from, to, 1)).expect("write manifest");
}

/// Checks every process of every manifest in `dir` against ECS.
async fn assert_matches_manifests(local: &LocalAws, dir: &Path) {
    let ecs = local.ecs().await;
    let apps = ferry_manifest::load_paths(&[dir]).expect("manifests are valid");
    for loaded in apps {
        let app = &loaded.app;
        for (process_name, process) in &app.processes {
            let name = format!("{}_{process_name}", app.name);
            let service = active_service(&ecs, local.cluster(), &name)
                .await
                .unwrap_or_else(|| panic!("service {name} missing\n{}", local.controller_logs()));
            assert_eq!(
                service.desired_count(),
                process.scale as i32,
                "{name} desired count"
            );
            let service_tags = tags(&service);
            assert_eq!(
                service_tags.get("ferry:app"),
                Some(&app.name),
                "{name} tags"
            );
            assert_eq!(
                service_tags.get("ferry:process"),
                Some(process_name),
                "{name} tags"
            );
            assert_eq!(
                service_tags.get("ferry:managed-by").map(String::as_str),
                Some("ferry"),
                "{name} tags"
            );

            let arn = service.task_definition().expect("task definition");
            let (td, td_tags) = task_definition(&ecs, arn).await;
            assert_eq!(
                td_tags.get("ferry:app"),
                Some(&app.name),
                "{name} task definition tags"
            );
            assert_eq!(
                td.cpu(),
                Some(process.cpu.to_string().as_str()),
                "{name} cpu"
            );
            assert_eq!(
                td.memory(),
                Some(process.memory.to_string().as_str()),
                "{name} memory"
            );
            let [container] = td.container_definitions() else {
                panic!("{name}: expected one container");
            };
            assert_eq!(container.image(), Some(app.image.as_str()), "{name} image");
            assert_eq!(
                container.command(),
                process.command.as_slice(),
                "{name} command"
            );
            let env: std::collections::BTreeMap<String, String> = container
                .environment()
                .iter()
                .map(|kv| {
                    (
                        kv.name().unwrap_or_default().to_owned(),
                        kv.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            assert_eq!(env, app.env, "{name} environment");
            let secrets: std::collections::BTreeMap<String, String> = container
                .secrets()
                .iter()
                .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
                .collect();
            assert_eq!(
                secrets, app.secrets,
                "{name} secrets are valueFrom references"
            );
            let port = container
                .port_mappings()
                .first()
                .and_then(|p| p.container_port());
            assert_eq!(port, process.port.map(i32::from), "{name} port");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn manifests_converge_and_every_change_lands_exactly() {
    let mut local = LocalAws::start().expect("local AWS");
    let ecs = local.ecs().await;
    let cluster = local.cluster().to_owned();

    // Another team's service in the same cluster, and one that squats on a
    // name Ferry would derive: neither may ever change.
    let legacy_td =
        create_foreign_service(&ecs, &cluster, "legacy-billing", "legacy-billing").await;
    let squatter_td = create_foreign_service(&ecs, &cluster, "clash_web", "squatter").await;

    let dir = local.dir().join("manifests");
    copy_manifests(&dir);
    let dir_arg = dir.to_str().expect("utf-8 path").to_owned();

    local.start_leader(&[]).expect("controller");
    local.ferry_ok(&[
        "apply",
        "-f",
        &dir_arg,
        "-m",
        "first deploy",
        "--wait",
        "--timeout",
        "60s",
    ]);
    assert_matches_manifests(&local, &dir).await;
    let api_revisions = revisions(&ecs, "ferry_api_web").await;
    assert_eq!(api_revisions.len(), 1);

    // Re-applying unchanged manifests is a no-op: no new generation.
    let out = local.ferry_ok(&["apply", "-f", &dir_arg]);
    assert!(out.contains("app/web unchanged (generation 1)"), "{out}");

    // A new image: exactly one new revision, and the service runs it.
    assert_eq!(revisions(&ecs, "ferry_web_web").await.len(), 1);
    edit(
        &dir.join("web.yaml"),
        "image: remind101/acme-inc:latest",
        "image: remind101/acme-inc:v2",
    );
    local.ferry_ok(&[
        "apply",
        "-f",
        &dir_arg,
        "-m",
        "v2",
        "--wait",
        "--timeout",
        "60s",
    ]);
    let web_revisions = revisions(&ecs, "ferry_web_web").await;
    assert_eq!(web_revisions.len(), 2, "{web_revisions:?}");
    let web = active_service(&ecs, &cluster, "web_web")
        .await
        .expect("web_web");
    let newest = web_revisions
        .iter()
        .max_by_key(|arn| arn.rsplit(':').next().and_then(|r| r.parse::<u32>().ok()))
        .expect("revision");
    assert_eq!(web.task_definition(), Some(newest.as_str()));
    assert_matches_manifests(&local, &dir).await;
    assert_eq!(
        revisions(&ecs, "ferry_api_web").await,
        api_revisions,
        "other apps keep their revision"
    );

    // Only the scale changes: no new revision.
    edit(&dir.join("web.yaml"), "scale: 2", "scale: 4");
    local.ferry_ok(&[
        "apply",
        "-f",
        &dir_arg,
        "-m",
        "scale",
        "--wait",
        "--timeout",
        "60s",
    ]);
    assert_eq!(
        revisions(&ecs, "ferry_web_web").await.len(),
        2,
        "scaling registered a revision"
    );
    let web = active_service(&ecs, &cluster, "web_web")
        .await
        .expect("web_web");
    assert_eq!(web.desired_count(), 4);

    // A removed process loses its service; the other stays.
    edit(
        &dir.join("worker.yaml"),
        "    scheduler:\n      command: acme-inc scheduler\n      scale: 1\n",
        "",
    );
    local.ferry_ok(&[
        "apply",
        "-f",
        &dir_arg,
        "-m",
        "no scheduler",
        "--wait",
        "--timeout",
        "60s",
    ]);
    assert!(
        active_service(&ecs, &cluster, "worker_scheduler")
            .await
            .is_none(),
        "worker_scheduler still active"
    );
    assert!(active_service(&ecs, &cluster, "worker_worker")
        .await
        .is_some());
    assert_matches_manifests(&local, &dir).await;

    // A squatted name is reported, never taken over.
    let clash = dir.join("clash.yaml");
    std::fs::write(
        &clash,
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: clash\nspec:\n  image: acme/clash:1\n  processes:\n    web:\n      scale: 3\n",
    )
    .expect("write clash.yaml");
    // `--wait` fails as soon as the blocker is reported: with the cause,
    // not at its timeout.
    let out = local.ferry(&[
        "apply",
        "-f",
        clash.to_str().expect("utf-8"),
        "--wait",
        "--timeout",
        "10m",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("app/clash generation 1: NameConflict: web: ECS service clash_web exists")
            && !stderr.contains("timed out"),
        "{stderr}"
    );
    let status: serde_json::Value =
        eventually(Duration::from_secs(30), "clash to be Degraded", || async {
            let out = local.ferry(&["status", "clash", "-o", "json"]);
            let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            let degraded = status["conditions"].as_array()?.iter().any(|c| {
                c["type"] == "Degraded" && c["status"] == "True" && c["reason"] == "NameConflict"
            });
            degraded.then_some(status)
        })
        .await;
    assert_eq!(status["observedGeneration"], 1);
    // People see why at a glance, in the list and in the app's status.
    let listed = local.ferry_ok(&["get"]);
    let row = listed
        .lines()
        .find(|l| l.trim_start().starts_with("clash"))
        .unwrap_or_else(|| panic!("no clash row:\n{listed}"));
    assert!(
        row.contains("NameConflict: web: ECS service clash_web exists"),
        "{row}"
    );
    let shown = local.ferry_ok(&["status", "clash"]);
    assert!(shown.contains("Degraded since"), "{shown}");
    assert!(
        shown.contains("belongs to something other than Ferry"),
        "{shown}"
    );
    std::fs::remove_file(&clash).expect("rm clash.yaml");

    // A domain outside every zone the controller published is refused
    // before anything is written.
    let elsewhere = local.dir().join("elsewhere.yaml");
    std::fs::write(
        &elsewhere,
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: elsewhere\nspec:\n  image: acme/e:1\n  domains: [shop.not-ours.test]\n  processes:\n    web:\n      port: 8080\n",
    )
    .expect("write elsewhere.yaml");
    let out = local.ferry(&["apply", "-f", elsewhere.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("elsewhere.yaml: spec.domains: NoHostedZone: domain shop.not-ours.test")
            && stderr.contains("nothing was applied"),
        "{stderr}"
    );
    assert!(
        !local.ferry_ok(&["get", "-o", "json"]).contains("elsewhere"),
        "nothing was written"
    );

    // Deleting an app removes all its services and keeps its releases.
    local.ferry_ok(&["delete", "worker", "--wait", "--timeout", "60s"]);
    assert!(active_service(&ecs, &cluster, "worker_worker")
        .await
        .is_none());
    let releases: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["releases", "worker", "-o", "json"])).expect("json");
    let versions: Vec<u64> = releases
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["version"].as_u64())
        .collect();
    assert_eq!(versions, [2, 1]);
    let listed = local.ferry_ok(&["get", "-o", "json"]);
    assert!(!listed.contains("\"worker\""), "{listed}");

    // The name can be applied again: it continues its release numbering,
    // and the controller converges it like any new app.
    let out = local.ferry_ok(&[
        "apply",
        "-f",
        dir.join("worker.yaml").to_str().expect("utf-8"),
        "--wait",
        "--timeout",
        "90s",
    ]);
    assert!(
        out.contains("app/worker created (generation 3, release v3)"),
        "{out}"
    );
    assert!(active_service(&ecs, &cluster, "worker_worker")
        .await
        .is_some());
    let releases: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["releases", "worker", "-o", "json"])).expect("json");
    assert_eq!(releases.as_array().map(Vec::len), Some(3), "{releases}");

    // The status contract.
    let web: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["status", "web", "-o", "json"])).expect("json");
    assert_eq!(web["name"], "web");
    assert_eq!(web["generation"], 3);
    assert_eq!(web["observedGeneration"], 3);
    assert_eq!(web["release"], 3);
    assert_eq!(web["processes"]["web"]["desired"], 4);
    assert!(web["processes"]["web"]["taskDefinition"]
        .as_str()
        .is_some_and(|a| a.starts_with("arn:")));
    let ready = web["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Ready")
        .expect("Ready");
    assert_eq!(ready["status"], "True");

    // Neither foreign service was touched, through every step above.
    for (name, td) in [("legacy-billing", &legacy_td), ("clash_web", &squatter_td)] {
        let service = active_service(&ecs, &cluster, name)
            .await
            .unwrap_or_else(|| panic!("{name} was deleted"));
        assert_eq!(service.desired_count(), 1, "{name} was scaled");
        assert_eq!(
            service.task_definition(),
            Some(td.as_str()),
            "{name} was redeployed"
        );
        assert!(tags(&service).is_empty(), "{name} was tagged");
    }
}
