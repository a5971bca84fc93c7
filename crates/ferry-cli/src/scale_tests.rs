use super::*;

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn shop() -> App {
    let process = |extra: serde_json::Value| {
        let mut p = serde_json::json!({"command": [], "scale": 2, "cpu": 256, "memory": 512});
        if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        serde_json::from_value(p).expect("process")
    };
    App {
        name: "shop".into(),
        image: "shop:1".into(),
        processes: [
            ("web".to_owned(), process(serde_json::json!({}))),
            ("worker".to_owned(), process(serde_json::json!({}))),
            (
                "api".to_owned(),
                process(serde_json::json!({"autoscaling": {"min": 1, "max": 4, "cpu": 60}})),
            ),
            (
                "nightly".to_owned(),
                process(
                    serde_json::json!({"schedule": {"expression": "rate(1 day)", "timezone": "UTC"}}),
                ),
            ),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    }
}

#[test]
fn counts_read_as_process_equals_count() {
    let counts = parse_counts(&args(&["worker=0", "web=1000"])).expect("counts");
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        vec![("web".to_owned(), 1000), ("worker".to_owned(), 0)]
    );
    assert_eq!(
        message(&parse_counts(&args(&["worker=1", "web=3"])).expect("counts")),
        "scale web=3 worker=1"
    );
}

#[test]
fn malformed_and_out_of_range_counts_are_refused() {
    let err = |words: &[&str]| parse_counts(&args(words)).expect_err("refused").to_string();
    assert_eq!(
        err(&["web3"]),
        "\"web3\" is not a scale: expected PROCESS=COUNT, such as web=3"
    );
    assert!(err(&["=3"]).contains("expected PROCESS=COUNT"));
    for bad in ["web=1001", "web=-1", "web=x", "web=", "web=+3", "web=1.5"] {
        assert_eq!(
            err(&[bad]),
            format!("{bad}: the count must be a whole number from 0 to 1000")
        );
    }
    assert_eq!(
        err(&["web=1", "web=2"]),
        "web is scaled twice (web=1, web=2); give it once"
    );
}

#[test]
fn only_the_named_counts_change() {
    let counts = parse_counts(&args(&["web=3", "worker=0"])).expect("counts");
    let next = scaled(&shop(), &counts).expect("scaled").expect("changed");
    assert_eq!(next.processes["web"].scale, 3);
    assert_eq!(next.processes["worker"].scale, 0);
    let mut expected = shop();
    expected.processes.get_mut("web").expect("web").scale = 3;
    expected.processes.get_mut("worker").expect("worker").scale = 0;
    assert_eq!(next, expected, "nothing else changes");
}

#[test]
fn the_stored_counts_are_no_change() {
    let counts = parse_counts(&args(&["web=2", "worker=2"])).expect("counts");
    assert_eq!(scaled(&shop(), &counts).expect("scaled"), None);
}

#[test]
fn unknown_autoscaled_and_scheduled_processes_are_refused() {
    let refusal = |words: &[&str]| {
        scaled(&shop(), &parse_counts(&args(words)).expect("counts"))
            .expect_err("refused")
            .to_string()
    };
    assert_eq!(
        refusal(&["web=3", "cron=1"]),
        "app shop has no process cron; its processes are api, nightly, web, worker; nothing \
         was written"
    );
    assert_eq!(
        refusal(&["web=3", "api=2"]),
        "api is autoscaled: change autoscaling.min and max in its manifest instead; nothing was \
         written"
    );
    assert!(refusal(&["nightly=1"]).starts_with("nightly is scheduled"));
}
