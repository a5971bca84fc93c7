//! The forward actions Ferry writes, and the weights read back from them.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::Rule;

use super::*;
use crate::traffic::refresh::forward_weights;

const LIVE: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/live/1";
const ALTERNATE: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/alt/2";

#[test]
fn a_pair_forward_names_both_groups_live_at_100_and_no_single_group() {
    let action = forward_to(LIVE, Some(ALTERNATE));
    assert_eq!(action.target_group_arn(), None);
    let groups: Vec<(Option<&str>, Option<i32>)> = action
        .forward_config()
        .map(|f| {
            f.target_groups()
                .iter()
                .map(|t| (t.target_group_arn(), t.weight()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        groups,
        vec![(Some(LIVE), Some(100)), (Some(ALTERNATE), Some(0))]
    );
}

#[test]
fn a_single_forward_is_as_before_the_pairs() {
    let action = forward_to(LIVE, None);
    assert_eq!(action.target_group_arn(), Some(LIVE));
    assert!(action.forward_config().is_none());
    assert_eq!(
        forwarded(LIVE, None),
        (vec![LIVE.to_owned()], BTreeMap::new())
    );
}

#[test]
fn what_ferry_writes_reads_back_as_the_weights_it_records() {
    let rule = Rule::builder()
        .rule_arn("arn:rule")
        .actions(forward_to(LIVE, Some(ALTERNATE)))
        .build();
    let (groups, weights) = forwarded(LIVE, Some(ALTERNATE));
    assert_eq!(forward_weights(&rule), weights);
    assert_eq!(groups, vec![ALTERNATE.to_owned(), LIVE.to_owned()]);
    assert_eq!(weights.get(LIVE), Some(&100));
    assert_eq!(weights.get(ALTERNATE), Some(&0));
}

#[test]
fn weights_ecs_shifted_are_read_as_they_are() {
    let tuple = |arn: &str, weight: i32| {
        aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder()
            .target_group_arn(arn)
            .weight(weight)
            .build()
    };
    let rule = Rule::builder()
        .actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                .forward_config(
                    aws_sdk_elasticloadbalancingv2::types::ForwardActionConfig::builder()
                        .target_groups(tuple(LIVE, 90))
                        .target_groups(tuple(ALTERNATE, 10))
                        .build(),
                )
                .build(),
        )
        .build();
    assert_eq!(
        forward_weights(&rule),
        BTreeMap::from([(LIVE.to_owned(), 90), (ALTERNATE.to_owned(), 10)])
    );
    // A plain forward has no weights.
    let plain = Rule::builder().actions(forward(LIVE)).build();
    assert!(forward_weights(&plain).is_empty());
}
