//! How a plan's names become ARNs when it runs: target groups by name and
//! listener rules by [`RuleRef`], both as the traffic inventory knows
//! them at that moment (so that a group or a rule created earlier in the
//! same plan resolves).

use ferry_core::traffic::RuleRef;

/// The resolvers an ECS action needs; both answer `None` for a name the
/// inventory does not know (then the request is not sent).
#[derive(Clone, Copy)]
pub struct Resolve<'a> {
    pub target_group: &'a (dyn Fn(&str) -> Option<String> + Sync),
    pub rule: &'a (dyn Fn(&RuleRef) -> Option<String> + Sync),
}

/// The prefix of the key a rule ARN the inventory does not know reads as
/// ([`RuleRef`]); such a key resolves back to the ARN it names.
pub const UNKNOWN_RULE_PREFIX: &str = "arn:";

/// The reference of a rule ARN nobody has named yet: its listener (from
/// the ARN: `...:listener-rule/app/LB/ID/LISTENER/RULE` is a rule of
/// `...:listener/app/LB/ID/LISTENER`) and the key `arn:<ARN>`, which no
/// rendered key equals.
pub fn unknown_rule(arn: &str) -> RuleRef {
    let listener_arn = match arn.rsplit_once('/') {
        Some((listener, _rule)) => listener.replacen(":listener-rule/", ":listener/", 1),
        None => String::new(),
    };
    RuleRef {
        listener_arn,
        key: format!("{UNKNOWN_RULE_PREFIX}{arn}"),
    }
}

/// The ARN an [`unknown_rule`] reference names, if it is one.
pub fn unknown_rule_arn(rule: &RuleRef) -> Option<&str> {
    rule.key.strip_prefix(UNKNOWN_RULE_PREFIX)
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
