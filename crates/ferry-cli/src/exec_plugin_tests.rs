use std::io::Write;

use super::*;

fn session() -> ExecSession {
    ExecSession {
        cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/ferry".into(),
        task_arn: "arn:aws:ecs:us-east-1:123456789012:task/ferry/0123abcd".into(),
        container_name: "web".into(),
        session_id: "ecs-execute-command-0abc".into(),
        stream_url: "wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/x".into(),
        token_value: "SECRET-TOKEN".into(),
    }
}

fn destination(target: &str) -> Destination<'_> {
    Destination {
        region: "us-east-1",
        profile: "",
        target,
        endpoint: "https://ssm.us-east-1.amazonaws.com",
    }
}

#[test]
fn the_target_names_cluster_task_and_container_runtime() {
    let s = session();
    assert_eq!(
        target(&s.cluster_arn, &s.task_arn, "0123abcd-3456"),
        "ecs:ferry_0123abcd_0123abcd-3456"
    );
}

#[test]
fn a_newer_plugin_reads_the_session_from_the_environment() {
    let s = session();
    let target = target(&s.cluster_arn, &s.task_arn, "rt");
    let call = invocation(&s, &destination(&target), true);
    assert_eq!(
        call.args,
        vec![
            "AWS_SSM_START_SESSION_RESPONSE",
            "us-east-1",
            "StartSession",
            "",
            r#"{"Target":"ecs:ferry_0123abcd_rt"}"#,
            "https://ssm.us-east-1.amazonaws.com",
        ]
    );
    let (name, value) = call.env.clone().expect("env");
    assert_eq!(name, "AWS_SSM_START_SESSION_RESPONSE");
    let json: serde_json::Value = serde_json::from_str(&value).expect("json");
    assert_eq!(
        json,
        serde_json::json!({
            "sessionId": "ecs-execute-command-0abc",
            "streamUrl": "wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/x",
            "tokenValue": "SECRET-TOKEN",
        })
    );
    assert!(!call.args.iter().any(|a| a.contains("SECRET-TOKEN")));
    assert!(!format!("{call:?}").contains("SECRET-TOKEN"));
}

#[test]
fn an_older_plugin_gets_the_session_as_its_first_argument() {
    let s = session();
    let call = invocation(&s, &destination("ecs:x"), false);
    assert!(call.env.is_none());
    assert!(call.args[0].contains(r#""tokenValue":"SECRET-TOKEN""#));
    assert_eq!(call.args[1..4], ["us-east-1", "StartSession", ""]);
    assert!(!format!("{call:?}").contains("SECRET-TOKEN"));
}

#[test]
fn plugin_versions_compare_as_the_aws_cli_compares_them() {
    for newer in ["1.2.498.0", "1.2.650.0\n", " 1.3 ", "2", "1.2.497.1"] {
        assert!(reads_session_from_env(newer), "{newer:?}");
    }
    for older_or_bad in [
        "1.2.497.0",
        "1.2.497",
        "1.2.463.0",
        "",
        "v1.3",
        "1.3.0.0.1",
        "1..3",
        "+2",
        "1.x",
    ] {
        assert!(!reads_session_from_env(older_or_bad), "{older_or_bad:?}");
    }
}

#[test]
fn ssm_is_reached_where_the_cli_is_configured_to_reach_aws() {
    assert_eq!(
        ssm_endpoint(Some("http://127.0.0.1:4566"), "us-east-1"),
        "http://127.0.0.1:4566"
    );
    assert_eq!(
        ssm_endpoint(None, "eu-west-1"),
        "https://ssm.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        ssm_endpoint(None, "cn-north-1"),
        "https://ssm.cn-north-1.amazonaws.com.cn"
    );
}

#[test]
fn the_plugin_is_found_only_as_an_executable_on_the_path() {
    let dir = std::env::temp_dir().join(format!("ferry-exec-plugin-{}", std::process::id()));
    let (empty, with_plugin) = (dir.join("empty"), dir.join("bin"));
    std::fs::create_dir_all(&empty).expect("dir");
    std::fs::create_dir_all(&with_plugin).expect("dir");
    let plugin = with_plugin.join(PLUGIN);
    std::fs::File::create(&plugin)
        .and_then(|mut f| f.write_all(b"#!/bin/sh\n"))
        .expect("write");
    let path = std::env::join_paths([&empty, &with_plugin]).expect("path");
    assert_eq!(find_on_path(PLUGIN, Some(&path)), None, "not executable");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(find_on_path(PLUGIN, Some(&path)), Some(plugin.clone()));
    }
    let only_empty = std::env::join_paths([&empty]).expect("path");
    assert_eq!(find_on_path(PLUGIN, Some(&only_empty)), None);
    assert_eq!(find_on_path(PLUGIN, None), None);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[tokio::test]
async fn the_plugin_runs_with_its_arguments_and_environment_and_its_status_is_ours() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("ferry-exec-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let record = dir.join("record");
    let plugin = dir.join(PLUGIN);
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 1.2.650.0; exit 0; fi\n\
             printf '%s\\n' \"$@\" \"$AWS_SSM_START_SESSION_RESPONSE\" > '{}'\nexit 7\n",
            record.display()
        ),
    )
    .expect("write");
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let shown = version(&plugin).await.expect("version");
    assert!(reads_session_from_env(&shown), "{shown:?}");
    let call = invocation(&session(), &destination("ecs:t"), true);
    assert_eq!(run(&plugin, &call).await.expect("run"), 7);
    let lines: Vec<String> = std::fs::read_to_string(&record)
        .expect("record")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines[..6], call.args[..]);
    assert!(lines[6].contains("SECRET-TOKEN"), "{lines:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[tokio::test]
async fn a_plugin_a_signal_ended_exits_as_a_shell_reports_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("ferry-exec-signal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let plugin = dir.join(PLUGIN);
    std::fs::write(&plugin, "#!/bin/sh\nkill -TERM $$\n").expect("write");
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let call = invocation(&session(), &destination("ecs:t"), true);
    assert_eq!(run(&plugin, &call).await.expect("run"), 128 + libc::SIGTERM);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_plugin_is_one_line_that_says_how_to_install_it() {
    let dir = std::env::temp_dir().join(format!("ferry-exec-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = std::env::join_paths([&dir]).expect("path");
    let err = require_plugin(Some(&path)).expect_err("missing");
    assert_eq!(
        err.to_string(),
        "session-manager-plugin is not installed (not found on PATH); `ferry exec` hands the \
         session to it: install it as https://docs.aws.amazon.com/systems-manager/latest/\
         userguide/session-manager-working-with-install-plugin.html says"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
