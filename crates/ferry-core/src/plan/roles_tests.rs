use std::collections::BTreeMap;

use ferry_manifest::{App, Process};

use super::*;
use crate::model::desired::DEFAULT_APP_ROLE_PATH;

const INSIDE: &str = "arn:aws:iam::123456789012:role/ferry-apps/shop";
const NESTED: &str = "arn:aws:iam::123456789012:role/ferry-apps/team/shop";
const OUTSIDE: &str = "arn:aws:iam::123456789012:role/admin";

#[test]
fn a_role_is_under_its_path_or_a_path_below_it() {
    assert!(is_under_path(INSIDE, DEFAULT_APP_ROLE_PATH));
    assert!(is_under_path(NESTED, DEFAULT_APP_ROLE_PATH));
    assert!(is_under_path(INSIDE, "/ferry-apps"));
    assert!(!is_under_path(OUTSIDE, DEFAULT_APP_ROLE_PATH));
    // A path that only starts like it is another path.
    assert!(!is_under_path(
        "arn:aws:iam::123456789012:role/ferry-apps-evil/shop",
        DEFAULT_APP_ROLE_PATH
    ));
    // The path itself names no role.
    assert!(!is_under_path(
        "arn:aws:iam::123456789012:role/ferry-apps/",
        DEFAULT_APP_ROLE_PATH
    ));
    assert!(!is_under_path("not-an-arn", DEFAULT_APP_ROLE_PATH));
    assert!(is_under_path(OUTSIDE, "/"));
}

fn app(role: Option<&str>, execution_role: Option<&str>) -> App {
    App {
        name: "shop".into(),
        image: "shop:1".into(),
        processes: BTreeMap::from([
            ("web".to_owned(), Process::default()),
            ("worker".to_owned(), Process::default()),
        ]),
        role: role.map(Into::into),
        execution_role: execution_role.map(Into::into),
        ..Default::default()
    }
}

#[test]
fn a_role_outside_the_path_blocks_every_process_and_says_why() {
    assert!(role_blockers(&app(None, None), DEFAULT_APP_ROLE_PATH).is_empty());
    assert!(role_blockers(&app(Some(INSIDE), Some(NESTED)), DEFAULT_APP_ROLE_PATH).is_empty());
    for spec in [app(Some(OUTSIDE), None), app(Some(INSIDE), Some(OUTSIDE))] {
        let blockers = role_blockers(&spec, DEFAULT_APP_ROLE_PATH);
        let processes: Vec<&str> = blockers.iter().map(|b| b.process.as_str()).collect();
        assert_eq!(processes, ["web", "worker"]);
        for blocker in &blockers {
            assert_eq!(blocker.reason, BlockerReason::RoleOutsidePath);
            assert!(blocker.message.contains(OUTSIDE), "{}", blocker.message);
            assert!(blocker.message.contains(DEFAULT_APP_ROLE_PATH));
            assert!(blocker.message.contains("IAM would refuse"));
            assert!(!blocker.message.contains(INSIDE), "only the role at fault");
        }
    }
}
