use ferry_manifest::{Approval, Process};

use super::*;

fn app(rollout: Option<Rollout>) -> App {
    App {
        name: "shop".into(),
        processes: [(
            "web".to_owned(),
            Process {
                port: Some(8080),
                rollout,
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    }
}

fn canary() -> Rollout {
    Rollout {
        strategy: RolloutStrategy::Canary {
            percent_tenths: 50,
            step_bake_minutes: 10,
        },
        bake_minutes: 5,
        alarms: RolloutAlarms::Default,
        approval: Some(Approval {
            stage: ApprovalStage::AfterTestTraffic,
            timeout_minutes: 1440,
            on_timeout: TimeoutAction::Rollback,
        }),
    }
}

#[test]
fn a_switch_of_strategy_reads_in_words_and_says_it_keeps_the_service() {
    assert_eq!(
        changes(&app(None), &app(Some(canary()))),
        [
            "web: rollout rolling -> canary 5 % (step bake 10m), bake 5m, alarms default, \
          approval afterTestTraffic (1440m, then rollback) (the same service is updated: no \
          new service, no downtime)"
        ]
    );
}

#[test]
fn a_change_within_a_strategy_is_one_line_without_the_switch_note() {
    let mut wider = canary();
    wider.strategy = RolloutStrategy::Canary {
        percent_tenths: 125,
        step_bake_minutes: 10,
    };
    wider.approval = None;
    wider.alarms = RolloutAlarms::Named(vec!["web-5xx".into()]);
    let lines = changes(&app(Some(canary())), &app(Some(wider)));
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].ends_with("-> canary 12.5 % (step bake 10m), bake 5m, alarms web-5xx"),
        "{}",
        lines[0]
    );
    assert!(changes(&app(Some(canary())), &app(Some(canary()))).is_empty());
}
