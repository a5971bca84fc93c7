//! `ferry-controller health`, the container image's health check: exit 0
//! against a running controller's admin server, 1 against a closed port,
//! with no AWS configuration in its environment at all.

use std::process::{Command, Output};

use crate::support::{binary, LocalAws};

/// `ferry-controller health` with nothing but `env` in its environment.
fn health(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(binary("ferry-controller"))
        .arg("health")
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("running ferry-controller health")
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn health_is_0_for_a_running_controller_and_1_for_a_closed_port() {
    let mut local = LocalAws::start().expect("local AWS");
    let controller = local.start_controller(&[]).expect("controller");
    let addr = local.admin_addr(controller);
    let port = addr.rsplit(':').next().expect("a port").to_owned();

    let out = health(&["--admin-addr", &addr], &[]);
    assert!(
        out.status.success(),
        "health against {addr}: {:?} {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        local.controller_logs()
    );
    // As in the container: FERRY_ADMIN_ADDR on every address, probed on
    // loopback.
    let everywhere = format!("0.0.0.0:{port}");
    let out = health(&[], &[("FERRY_ADMIN_ADDR", &everywhere)]);
    assert!(
        out.status.success(),
        "health via FERRY_ADMIN_ADDR={everywhere}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let closed = format!("127.0.0.1:{}", closed_port());
    let out = health(&["--admin-addr", &closed], &[]);
    assert_eq!(out.status.code(), Some(1), "health against {closed}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line of reason: {stderr}");
    assert!(
        stderr.starts_with("ferry-controller health: ") && stderr.contains(&closed),
        "{stderr}"
    );
}
