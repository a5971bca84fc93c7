use std::collections::BTreeMap;

use ferry_aws::ecs::ExecContainer;

use super::*;

fn app(exec: bool, processes: &[(&str, serde_json::Value)]) -> App {
    App {
        name: "shop".into(),
        image: "shop:1".into(),
        exec,
        processes: processes
            .iter()
            .map(|(name, extra)| {
                let mut process = serde_json::json!({
                    "command": [], "scale": 1, "cpu": 256, "memory": 512
                });
                if let (Some(p), Some(e)) = (process.as_object_mut(), extra.as_object()) {
                    p.extend(e.clone());
                }
                (
                    (*name).to_owned(),
                    serde_json::from_value(process).expect("process"),
                )
            })
            .collect(),
        ..Default::default()
    }
}

fn task(id: &str, status: &str, enabled: bool, agent: Option<&str>) -> ExecTask {
    ExecTask {
        arn: format!("arn:aws:ecs:us-east-1:1:task/ferry/{id}"),
        last_status: status.into(),
        group: Some("service:shop_web".into()),
        tags: BTreeMap::new(),
        enable_execute_command: enabled,
        containers: vec![ExecContainer {
            name: "web".into(),
            runtime_id: Some(format!("{id}-rt")),
            exec_agent: agent.map(str::to_owned),
        }],
    }
}

#[test]
fn an_app_without_exec_is_told_what_to_change() {
    let err = exec_process(&app(false, &[("web", serde_json::json!({}))]), None)
        .expect_err("exec is off");
    assert_eq!(
        err.to_string(),
        "app shop does not allow exec: set `exec: true` in its manifest's spec and apply it"
    );
}

#[test]
fn the_process_is_picked_as_ferry_run_picks_it_and_must_have_a_service() {
    let shop = app(
        true,
        &[
            ("web", serde_json::json!({})),
            ("worker", serde_json::json!({})),
            (
                "nightly",
                serde_json::json!({"schedule": {"expression": "rate(1 day)", "timezone": "UTC"}}),
            ),
        ],
    );
    assert_eq!(exec_process(&shop, None).expect("web"), "web");
    assert_eq!(
        exec_process(&shop, Some("worker")).expect("worker"),
        "worker"
    );
    let unknown = exec_process(&shop, Some("api")).expect_err("unknown");
    assert!(
        unknown
            .to_string()
            .contains("its processes are nightly, web, worker"),
        "{unknown}"
    );
    let scheduled = exec_process(&shop, Some("nightly")).expect_err("scheduled");
    assert!(
        scheduled.to_string().contains("is scheduled"),
        "{scheduled}"
    );
}

#[test]
fn a_task_ready_for_exec_is_preferred_over_other_running_ones() {
    let tasks = vec![
        task("a", "RUNNING", false, None),
        task("b", "STOPPED", true, Some("RUNNING")),
        task("d", "RUNNING", true, Some("RUNNING")),
        task("c", "RUNNING", true, Some("PENDING")),
    ];
    let picked = pick_task(tasks, "web").expect("a task");
    assert_eq!(run::task_id(&picked.arn), "d");
    // Without one ready, a running one: ECS says why exec fails.
    let tasks = vec![
        task("c", "RUNNING", false, None),
        task("a", "PENDING", true, None),
        task("b", "RUNNING", false, None),
    ];
    assert_eq!(
        run::task_id(&pick_task(tasks, "web").expect("a task").arn),
        "b"
    );
    assert!(pick_task(vec![task("a", "STOPPED", true, None)], "web").is_none());
    assert!(pick_task(Vec::new(), "web").is_none());
}

#[test]
fn a_named_task_must_be_a_running_task_of_the_process() {
    let service_task = task("a", "RUNNING", true, Some("RUNNING"));
    assert!(check_named_task(&service_task, "shop", "web", "shop_web", "ferry").is_ok());
    let err = check_named_task(&service_task, "shop", "worker", "shop_worker", "ferry")
        .expect_err("another process's");
    assert_eq!(
        err.to_string(),
        "task a is not a task of process worker of app shop (`ferry ps shop` lists them)"
    );
    let mut one_off = task("o", "RUNNING", true, Some("RUNNING"));
    one_off.group = Some("family:ferry_shop_web".into());
    assert!(check_named_task(&one_off, "shop", "web", "shop_web", "ferry").is_err());
    one_off.tags = [
        ("ferry:managed-by", "ferry"),
        ("ferry:app", "shop"),
        ("ferry:process", "web"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert!(check_named_task(&one_off, "shop", "web", "shop_web", "ferry").is_ok());
    assert!(
        check_named_task(&one_off, "shop", "web", "shop_web", "other").is_err(),
        "another installation's"
    );
    let stopped = task("s", "STOPPED", true, None);
    let err = check_named_task(&stopped, "shop", "web", "shop_web", "ferry").expect_err("stopped");
    assert_eq!(err.to_string(), "task s is STOPPED, not RUNNING");
}

#[test]
fn a_task_started_without_exec_gets_a_hint_to_replace_it() {
    let hint = not_enabled_hint(&task("a", "RUNNING", false, None), "shop", "web");
    assert!(hint.contains("ferry restart shop -p web"), "{hint}");
    let plain = not_enabled_hint(&task("a", "RUNNING", true, None), "shop", "web");
    assert!(!plain.contains("restart"), "{plain}");
}

#[test]
fn the_command_is_one_string_that_splits_back_into_the_arguments() {
    let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(shell_command(&[]), "sh");
    assert_eq!(shell_command(&words(&["ls", "-la", "a b"])), "ls -la 'a b'");
    assert_eq!(
        shell_command(&words(&["echo", "it's", "", "$HOME", "a|b"])),
        r"echo 'it'\''s' '' '$HOME' 'a|b'"
    );
    assert_eq!(
        shell_command(&words(&["rails", "c", "-e", "production", "--x=1,2"])),
        "rails c -e production --x=1,2"
    );
}

#[test]
fn exec_and_the_plugin_are_checked_before_any_aws_call() {
    let dir = std::env::temp_dir().join(format!("ferry-exec-preflight-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let no_plugin = std::env::join_paths([&dir]).expect("path");
    let web = [("web", serde_json::json!({}))];
    let err = preflight(&app(false, &web), None, Some(&no_plugin)).expect_err("exec off");
    assert!(err.to_string().contains("does not allow exec"), "{err}");
    let err = preflight(&app(true, &web), None, Some(&no_plugin)).expect_err("no plugin");
    assert!(
        err.to_string()
            .starts_with("session-manager-plugin is not installed"),
        "{err}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let plugin = dir.join(crate::exec_plugin::PLUGIN);
        std::fs::write(&plugin, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let (process, found) = preflight(&app(true, &web), None, Some(&no_plugin)).expect("ready");
        assert_eq!((process.as_str(), found), ("web", plugin));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
