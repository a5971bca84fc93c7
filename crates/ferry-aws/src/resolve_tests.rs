use super::*;

#[test]
fn an_unknown_rule_names_its_listener_and_resolves_back_to_its_arn() {
    let arn = "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/int/50dc/f2f7/9683";
    let rule = unknown_rule(arn);
    assert_eq!(
        rule.listener_arn,
        "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/int/50dc/f2f7"
    );
    assert_eq!(unknown_rule_arn(&rule), Some(arn));
    let named = RuleRef {
        listener_arn: rule.listener_arn.clone(),
        key: "internal/web".into(),
    };
    assert_eq!(unknown_rule_arn(&named), None);
}
