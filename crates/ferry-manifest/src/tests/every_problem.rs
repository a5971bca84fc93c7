//! One run reports every problem of a file: a broken value is reported
//! once, every other value is still validated, and only the checks that
//! need the broken value are skipped.

use super::*;

fn found(text: &str) -> Vec<(usize, String)> {
    errors(text).into_iter().map(|d| (d.line, d.path)).collect()
}

#[test]
fn a_type_error_does_not_hide_value_problems_elsewhere() {
    let text = edit(&[
        (4, "  name: Acme"),
        (11, "    DATABASE_URL: secret-value"),
        (19, "      cpu: '512'"),
        (23, "      port: 0"),
    ]);
    assert_eq!(
        found(&text),
        vec![
            (4, "metadata.name".to_owned()),
            (11, "spec.secrets.DATABASE_URL".to_owned()),
            // Only the type error: web's memory is not judged against a
            // default cpu.
            (19, "spec.processes.web.cpu".to_owned()),
            (23, "spec.processes.admin.port".to_owned()),
        ]
    );
}

#[test]
fn a_duplicate_key_does_not_stop_the_rest() {
    let text = edit(&[(4, "  name: Acme"), (19, "      cpu: 512\n      cpu: 1024")]);
    let errors = errors(&text);
    let found = crate::diagnostic::locations(&errors);
    assert_eq!(
        found,
        vec![(4, 9, "metadata.name"), (20, 7, "spec.processes.web.cpu"),],
        "{}",
        Diagnostics(errors.clone())
    );
    assert!(errors[1].message.contains("first set at 19:7"));
}

#[test]
fn unknown_fields_do_not_stop_value_checks() {
    let text = edit(&[(6, "  image: 'has space'"), (18, "      replicas: 2")]);
    assert_eq!(
        found(&text),
        vec![
            (6, "spec.image".to_owned()),
            (18, "spec.processes.web.replicas".to_owned()),
        ]
    );
}

#[test]
fn checks_that_need_a_broken_port_are_skipped() {
    // web has a health check and a domain: neither complains that it has
    // no port, since its port is broken rather than absent.
    assert_one_error(
        &edit(&[(20, "      port: true")]),
        20,
        13,
        "spec.processes.web.port",
        &["expected an integer, found a boolean"],
    );
}

#[test]
fn a_broken_process_is_reported_once_and_its_name_still_checked() {
    let text = edit(&[(22, "    Admin: 5"), (23, "")]);
    let errors = errors(&text);
    let paths: Vec<&str> = errors.iter().map(|d| d.path.as_str()).collect();
    // The type error and the name; the domain routed to `admin` now
    // points at a process that does not exist, which is true.
    assert!(paths.contains(&"spec.processes.Admin"), "{paths:?}");
    assert_eq!(
        errors
            .iter()
            .filter(|d| d.path == "spec.processes.Admin")
            .count(),
        2,
        "{}",
        Diagnostics(errors.clone())
    );
}

#[test]
fn missing_required_fields_skip_only_their_own_checks() {
    let text = edit(&[(3, ""), (4, ""), (6, "  image: Remind101/acme")]);
    assert_eq!(
        found(&text),
        vec![(1, "metadata".to_owned()), (4, "spec.image".to_owned()),]
    );
}

#[test]
fn a_broken_domain_keeps_the_indices_of_the_others() {
    let text = edit(&[(13, "    - 42"), (14, "    - Admin.example.com")]);
    assert_eq!(
        found(&text),
        vec![
            (13, "spec.domains[0]".to_owned()),
            (14, "spec.domains[1]".to_owned()),
        ]
    );
}

#[test]
fn a_broken_health_check_interval_is_not_compared_with_the_timeout() {
    assert_one_error(
        // Against the default interval (30 s) a 40 s timeout would be too
        // long; against the one written, it is unknown.
        &edit(&[(
            21,
            "      healthCheck: {path: /health, interval: '5', timeout: 40}",
        )]),
        21,
        46,
        "spec.processes.web.healthCheck.interval",
        &["without quotes"],
    );
}
