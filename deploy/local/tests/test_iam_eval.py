"""The IAM policy evaluator the request replay uses, against AWS's policy
evaluation logic and condition operators:

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html

Every test pairs a request that must be allowed with one that must not, so
an evaluator that always allows or always denies fails each of them.
"""

from __future__ import annotations

import pytest

from ferry_emulation import iam_eval
from ferry_emulation.iam_eval import PolicyError, Request, evaluate

SERVICE = "arn:aws:ecs:us-east-1:123456789012:service/ferry/web_web"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action="ecs:UpdateService", resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="ecs:UpdateService", resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def allowed(p, action="ecs:UpdateService", resource=SERVICE, context=None) -> bool:
    return evaluate(p, Request(action, resource, context or {})).allowed


# -- Allow and Deny ------------------------------------------------------------------

def test_everything_is_denied_by_default():
    assert not allowed(policy())
    decision = evaluate(policy(), Request("ecs:UpdateService", SERVICE))
    assert decision.reason == "implicit-deny"
    assert allowed(policy(allow()))


def test_an_allow_for_another_action_does_not_allow():
    assert not allowed(policy(allow("ecs:CreateService")))
    assert allowed(policy(allow("ecs:CreateService"), allow("ecs:UpdateService")))


def test_an_explicit_deny_wins_over_any_allow():
    p = policy(allow("ecs:*"), deny("ecs:UpdateService"))
    assert not allowed(p)
    assert evaluate(p, Request("ecs:UpdateService", SERVICE)).reason == "explicit-deny"
    assert allowed(p, action="ecs:CreateService")


def test_a_deny_that_does_not_apply_denies_nothing():
    p = policy(allow("ecs:*"), deny("ecs:UpdateService", resource="arn:aws:ecs:*:*:service/other/*"))
    assert allowed(p)
    assert not allowed(p, resource="arn:aws:ecs:us-east-1:123456789012:service/other/x")


def test_a_deny_under_a_condition_applies_only_when_it_matches():
    p = policy(allow(), deny(Condition={"StringEquals": {"aws:ResourceTag/owner": "them"}}))
    assert allowed(p, context={"aws:ResourceTag/owner": "us"})
    assert not allowed(p, context={"aws:ResourceTag/owner": "them"})


# -- Action and NotAction ---------------------------------------------------------------

def test_actions_match_case_insensitively_with_wildcards():
    assert allowed(policy(allow("ECS:updateservice")))
    assert allowed(policy(allow("ecs:Update*")))
    assert allowed(policy(allow("ecs:UpdateServic?")))
    assert not allowed(policy(allow("ecs:UpdateServic?")), action="ecs:UpdateServices")
    assert not allowed(policy(allow("ecs:Update*")), action="ecs:CreateService")
    assert not allowed(policy(allow("elasticloadbalancing:*")))


def test_not_action_allows_every_other_action():
    p = policy({"Effect": "Allow", "NotAction": ["ecs:DeleteService"], "Resource": "*"})
    assert allowed(p)
    assert not allowed(p, action="ecs:DeleteService")
    assert not allowed(p, action="ECS:deleteService")


def test_a_list_of_actions_is_any_of_them():
    p = policy(allow(["ecs:CreateService", "ecs:UpdateService"]))
    assert allowed(p) and allowed(p, action="ecs:CreateService")
    assert not allowed(p, action="ecs:DeleteService")


# -- Resource and NotResource -----------------------------------------------------------

def test_resources_match_with_wildcards_case_sensitively():
    assert allowed(policy(allow(resource="arn:aws:ecs:us-east-1:123456789012:service/ferry/*")))
    assert allowed(policy(allow(resource="arn:aws:ecs:*:*:service/ferry/web_we?")))
    assert not allowed(policy(allow(resource="arn:aws:ecs:us-east-1:123456789012:service/Ferry/*")))
    assert not allowed(policy(allow(resource="arn:aws:ecs:us-east-1:123456789012:service/other/*")))
    assert not allowed(policy(allow(resource="arn:aws:ecs:*:*:service/ferry/web_w?")))


def test_a_wildcard_in_an_arn_component_stays_in_it():
    # "*" in the region component does not swallow the account's colon.
    assert not allowed(policy(allow(resource="arn:aws:ecs:*:service/ferry/web_web")))
    assert allowed(policy(allow(resource="arn:aws:ecs:*:*:*")))
    # Nor does a "*" in the region take the account and a colon with it.
    odd = "arn:aws:ecs:us-east-1:extra:123456789012:service/ferry/web_web"
    assert not allowed(policy(allow(resource="arn:aws:ecs:*:*:service/ferry/web_web")), resource=odd)
    assert allowed(policy(allow(resource="arn:aws:ecs:*:*:*service/ferry/web_web")), resource=odd)


def test_a_star_resource_matches_what_has_no_resource_type():
    assert allowed(policy(allow("ecs:ListServices")), action="ecs:ListServices", resource="*")
    # A scoped statement does not grant an action that takes "*" only.
    assert not allowed(policy(allow("ecs:ListServices", resource="arn:aws:ecs:*:*:service/*")),
                       action="ecs:ListServices", resource="*")


def test_not_resource_allows_every_other_resource():
    p = policy({"Effect": "Allow", "Action": "ecs:UpdateService",
                "NotResource": "arn:aws:ecs:*:*:service/ferry/*"})
    assert allowed(p, resource="arn:aws:ecs:us-east-1:123456789012:service/other/x")
    assert not allowed(p)


# -- conditions ---------------------------------------------------------------------------

TAG = "aws:RequestTag/ferry:managed-by"


def test_string_equals_is_case_sensitive_in_values_not_in_key_names():
    p = policy(allow(Condition={"StringEquals": {TAG: "ferry"}}))
    assert allowed(p, context={TAG: "ferry"})
    assert allowed(p, context={TAG.upper(): "ferry"})
    assert not allowed(p, context={TAG: "Ferry"})
    assert not allowed(p, context={})


def test_string_not_equals_on_a_missing_key_is_true():
    p = policy(allow(Condition={"StringNotEquals": {TAG: "other"}}))
    assert allowed(p, context={})
    assert allowed(p, context={TAG: "ferry"})
    assert not allowed(p, context={TAG: "other"})


def test_string_like_uses_wildcards():
    p = policy(allow(Condition={"StringLike": {"dynamodb:LeadingKeys": "release#*"}}))
    assert allowed(p, context={"dynamodb:LeadingKeys": "release#web"})
    assert not allowed(p, context={"dynamodb:LeadingKeys": "lease"})
    assert not allowed(p, context={})


def test_string_equals_ignore_case():
    p = policy(allow(Condition={"StringEqualsIgnoreCase": {TAG: "FERRY"}}))
    assert allowed(p, context={TAG: "ferry"})
    assert not allowed(p, context={TAG: "ferries"})


def test_multiple_values_of_a_key_are_ored():
    p = policy(allow(Condition={"StringEquals": {"ecs:CreateAction": ["CreateService", "RegisterTaskDefinition"]}}))
    assert allowed(p, context={"ecs:CreateAction": "RegisterTaskDefinition"})
    assert allowed(p, context={"ecs:CreateAction": "CreateService"})
    assert not allowed(p, context={"ecs:CreateAction": "RunTask"})


def test_multiple_keys_and_operators_are_anded():
    p = policy(allow(Condition={
        "StringEquals": {"ecs:CreateAction": "RunTask", TAG: "ferry"},
        "ArnEquals": {"ecs:cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/ferry"},
    }))
    good = {"ecs:CreateAction": "RunTask", TAG: "ferry",
            "ecs:cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/ferry"}
    assert allowed(p, context=good)
    for key in good:
        assert not allowed(p, context={k: v for k, v in good.items() if k != key}), key
    assert not allowed(p, context={**good, TAG: "other"})
    assert not allowed(p, context={**good, "ecs:cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/x"})


def test_arn_like_and_arn_equals_match_per_component_with_wildcards():
    for operator in ("ArnLike", "ArnEquals"):
        p = policy(allow(Condition={operator: {"aws:SourceArn": "arn:aws:ecs:us-east-1:*:cluster/ferry*"}}))
        assert allowed(p, context={"aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:cluster/ferry"})
        assert not allowed(p, context={"aws:SourceArn": "arn:aws:ecs:us-west-2:123456789012:cluster/ferry"})
        assert not allowed(p, context={})


def test_arn_not_like_on_a_missing_key_is_true():
    p = policy(allow(Condition={"ArnNotLike": {"aws:SourceArn": "arn:aws:ecs:*:*:cluster/other"}}))
    assert allowed(p, context={})
    assert not allowed(p, context={"aws:SourceArn": "arn:aws:ecs:us-east-1:1:cluster/other"})


def test_bool_compares_true_and_false():
    p = policy(allow(Condition={"Bool": {"aws:SecureTransport": "true"}}))
    assert allowed(p, context={"aws:SecureTransport": True})
    assert allowed(p, context={"aws:SecureTransport": "true"})
    assert not allowed(p, context={"aws:SecureTransport": False})
    assert not allowed(p, context={})


def test_numeric_operators():
    p = policy(allow(Condition={"NumericLessThanEquals": {"ecs:task-cpu": "512"}}))
    assert allowed(p, context={"ecs:task-cpu": "256"})
    assert not allowed(p, context={"ecs:task-cpu": "1024"})


def test_if_exists_matches_a_missing_key_and_checks_a_present_one():
    p = policy(allow(Condition={"StringEqualsIfExists": {TAG: "ferry"}}))
    assert allowed(p, context={})
    assert allowed(p, context={TAG: "ferry"})
    assert not allowed(p, context={TAG: "other"})


def test_null_true_wants_the_key_absent_and_false_present():
    absent = policy(allow(Condition={"Null": {TAG: "true"}}))
    present = policy(allow(Condition={"Null": {TAG: "false"}}))
    assert allowed(absent, context={}) and not allowed(absent, context={TAG: "x"})
    assert allowed(present, context={TAG: "x"}) and not allowed(present, context={})
    # An empty set is null.
    empty = policy(allow(Condition={"Null": {"aws:TagKeys": "true"}}))
    assert allowed(empty, context={"aws:TagKeys": []})
    assert not allowed(empty, context={"aws:TagKeys": ["a"]})


# -- set operators ---------------------------------------------------------------------------

KEYS = "dynamodb:LeadingKeys"


def test_for_all_values_wants_every_value_in_the_set():
    p = policy(allow(Condition={"ForAllValues:StringEquals": {KEYS: ["app", "meta"]}}))
    assert allowed(p, context={KEYS: ["app"]})
    assert allowed(p, context={KEYS: ["app", "meta"]})
    assert not allowed(p, context={KEYS: ["app", "lease"]})
    assert not allowed(p, context={KEYS: ["lease"]})


def test_for_all_values_is_true_on_a_missing_key_and_an_empty_set():
    p = policy(allow(Condition={"ForAllValues:StringEquals": {KEYS: ["app"]}}))
    assert allowed(p, context={})
    assert allowed(p, context={KEYS: []})
    assert not allowed(p, context={KEYS: ["status"]})


def test_for_all_values_string_like():
    p = policy(allow(Condition={"ForAllValues:StringLike": {KEYS: ["app", "release#*"]}}))
    assert allowed(p, context={KEYS: ["release#web", "app"]})
    assert not allowed(p, context={KEYS: ["release#web", "status"]})


def test_for_any_value_wants_one_value_in_the_set_and_is_false_when_missing():
    p = policy(allow(Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["ferry:app"]}}))
    assert allowed(p, context={"aws:TagKeys": ["other", "ferry:app"]})
    assert not allowed(p, context={"aws:TagKeys": ["other"]})
    assert not allowed(p, context={"aws:TagKeys": []})
    assert not allowed(p, context={})


def test_for_all_values_with_a_negated_operator():
    p = policy(allow(Condition={"ForAllValues:StringNotEquals": {"aws:TagKeys": ["ferry:managed-by"]}}))
    assert allowed(p, context={"aws:TagKeys": ["a", "b"]})
    assert not allowed(p, context={"aws:TagKeys": ["a", "ferry:managed-by"]})


def test_for_any_value_with_a_negated_operator():
    p = policy(allow(Condition={"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["x"]}}))
    assert allowed(p, context={"aws:TagKeys": ["x", "y"]})
    assert not allowed(p, context={"aws:TagKeys": ["x"]})


def test_route53_record_types_by_for_all_values():
    p = policy(allow("route53:ChangeResourceRecordSets", Condition={
        "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["A", "TXT"]}}))
    zone = "arn:aws:route53:::hostedzone/Z1"
    ctx = {"route53:ChangeResourceRecordSetsRecordTypes": ["A", "TXT", "A"]}
    assert allowed(p, "route53:ChangeResourceRecordSets", zone, ctx)
    ctx = {"route53:ChangeResourceRecordSetsRecordTypes": ["A", "CNAME"]}
    assert not allowed(p, "route53:ChangeResourceRecordSets", zone, ctx)


# -- diagnostics and refusals -------------------------------------------------------------------

def test_an_implicit_deny_names_the_closest_statement_and_what_missed():
    p = policy({"Sid": "Other", **allow("ecs:CreateService")},
               {"Sid": "Close", **allow(Condition={"StringEquals": {TAG: "ferry"}})})
    decision = evaluate(p, Request("ecs:UpdateService", SERVICE, {TAG: "other"}))
    assert not decision.allowed
    assert decision.statement == "Close"
    assert any(TAG in m for m in decision.mismatches)


def test_an_implicit_deny_of_an_action_no_statement_names_names_no_statement():
    decision = evaluate(policy({"Sid": "Other", **allow("ecs:CreateService")}),
                        Request("ecs:UpdateService", SERVICE))
    assert not decision.allowed and decision.statement is None


def test_unknown_operators_and_policy_variables_are_errors_not_matches():
    with pytest.raises(PolicyError):
        allowed(policy(allow(Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01"}})))
    with pytest.raises(PolicyError):
        allowed(policy(allow(Condition={"StringLike": {TAG: "${aws:username}"}})), context={TAG: "x"})
    with pytest.raises(PolicyError):
        allowed(policy(allow(Condition={"ForSomeValues:StringEquals": {TAG: "x"}})))


def test_a_statement_without_action_or_resource_is_an_error():
    with pytest.raises(PolicyError):
        allowed(policy({"Effect": "Allow", "Resource": "*"}))
    with pytest.raises(PolicyError):
        allowed(policy({"Effect": "Allow", "Action": "*"}))


def test_arn_matching_helper_directly():
    assert iam_eval.arn_matches("*", "anything")
    assert iam_eval.arn_matches("arn:aws:iam::123456789012:role/x", "arn:aws:iam::123456789012:role/x")
    assert not iam_eval.arn_matches("arn:aws:iam::123456789012:role/x", "arn:aws:iam::123456789012:role/y")
