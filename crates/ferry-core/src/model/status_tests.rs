use super::*;

fn condition(type_: ConditionType, status: ConditionStatus, reason: &str) -> Condition {
    Condition {
        type_,
        status,
        reason: ConditionReason::parse(reason),
        message: format!("{reason} message"),
        last_transition_time: "2026-12-01T00:00:00Z".to_owned(),
    }
}

fn status(observed: u64, degraded: &str) -> AppStatus {
    let degraded_status = if degraded == "AsExpected" {
        ConditionStatus::False
    } else {
        ConditionStatus::True
    };
    AppStatus {
        name: "web".into(),
        generation: observed,
        observed_generation: observed,
        release: observed,
        conditions: vec![
            condition(READY, ConditionStatus::True, "Converged"),
            condition(DEGRADED, degraded_status, degraded),
        ],
        processes: BTreeMap::new(),
        endpoints: Vec::new(),
        events: Vec::new(),
        last_error: None,
        last_reconciled: String::new(),
        failure: None,
        succeeded: None,
        schedules: BTreeMap::new(),
    }
}

#[test]
fn an_unobserved_generation_is_never_ready() {
    let shown = status(3, "AsExpected").for_generation(4, "2026-12-01T01:00:00Z");
    assert!(!shown.is_ready());
    assert_eq!(shown.generation, 4);
    let ready = shown.condition(READY).expect("Ready");
    assert_eq!(ready.reason, ConditionReason::GenerationNotObserved);
    assert_eq!(ready.message, "generation 4 not yet acted on (observed 3)");
    assert_eq!(ready.last_transition_time, "2026-12-01T01:00:00Z");
    // The observed generation keeps what the controller said.
    let same = status(3, "AsExpected").for_generation(3, "2026-12-01T01:00:00Z");
    assert!(same.is_ready());
    assert_eq!(same, status(3, "AsExpected"));
}

#[test]
fn only_blockers_that_need_a_person_count_and_only_once_observed() {
    let blocked = status(4, "NoHostedZone");
    assert_eq!(
        blocked.blocked(4),
        Some((BlockerReason::NoHostedZone, "NoHostedZone message"))
    );
    assert_eq!(blocked.blocked(5), None, "reported for an older generation");
    assert_eq!(status(4, "ServiceDraining").blocked(4), None);
    assert_eq!(status(4, "ReconcileError").blocked(4), None);
    assert_eq!(status(4, "AsExpected").blocked(4), None);
}
