"""The IAM policies in ferry.yaml match the AWS operations the code calls.

Every AWS call Ferry makes goes through ``Caller::call`` or ``call_raw``
(crate ferry-call) with a service and an operation name as literals, so
the operations are read off the source: each call site is attributed to
the function it sits in, functions are followed through the calls they
make within the library crates, and the binaries' sources say which
library functions each binary reaches. The result is compared, in both
directions, with:

* ``ControllerTaskPolicy``: what ``ferry-controller`` may call;
* ``DeployerPolicy``: what ``ferry`` calls for apply, diff, status,
  releases, rollback, run and ps (and doctor's reads, which degrade to
  "skip" without them).

An operation's IAM actions are not always its own name; the mapping below
(``IMPLIED``) cites AWS's documentation for each case. Operations that
need no permission, or that belong to an administrator rather than to the
controller or the deployer, are listed in ``NOT_GRANTED`` with the reason.

The parse is deliberately simple (regular expressions over the source,
not a Rust parser). It over-approximates reachability by function name,
so a binary can appear to reach more than it does, never less: a policy
can then only be asked to grant too much, which this test reports like
any other mismatch, and the fix is to rename the function, not to grant.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
CRATES = ROOT / "crates"
TEMPLATE = Path(__import__("os").environ.get("FERRY_TEMPLATE", ROOT / "deploy" / "cloudformation" / "ferry.yaml"))

LIBRARIES = ("ferry-call", "ferry-store", "ferry-aws", "ferry-core", "ferry-manifest")
BINARIES = {"controller": "ferry-controller", "cli": "ferry-cli"}

# The IAM prefix of each service name the code uses.
IAM_PREFIX = {
    "ecs": "ecs",
    "elbv2": "elasticloadbalancing",
    "route53": "route53",
    "dynamodb": "dynamodb",
    "sts": "sts",
    "scheduler": "scheduler",
    "logs": "logs",
    "application-autoscaling": "application-autoscaling",
    "sqs": "sqs",
    "cloudwatch": "cloudwatch",
}

# Operations whose IAM actions differ from their names.
IMPLIED: dict[str, set[str]] = {
    # "Permissions for Put, Update, Delete, and Get actions are governed by
    # the permissions used for the underlying PutItem, UpdateItem,
    # DeleteItem, and GetItem operations. For the ConditionCheck action,
    # you can use the dynamodb:ConditionCheckItem permission."
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
    # Which of them a transaction holds is read off the builders of its
    # items (`TRANSACTION_ITEMS`), in the functions that build them.
    "dynamodb:TransactWriteItems": set(),
    # Tags on create: "you must have permissions to use the action that
    # creates the resource, such as ecs:CreateService. If tags are specified
    # in the resource-creating action, Amazon performs additional
    # authorization on the ecs:TagResource action."
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html
    # RegisterTaskDefinition also passes the task's roles:
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
    # A blue/green, canary or linear service's load balancers name the ECS
    # infrastructure role (advancedConfiguration.roleArn): handing a role
    # to a service is an iam:PassRole of it.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
    "ecs:CreateService": {"ecs:CreateService", "ecs:TagResource", "iam:PassRole"},
    "ecs:UpdateService": {"ecs:UpdateService", "iam:PassRole"},
    "ecs:RegisterTaskDefinition": {
        "ecs:RegisterTaskDefinition", "ecs:TagResource", "iam:PassRole"},
    "ecs:RunTask": {"ecs:RunTask", "ecs:TagResource", "iam:PassRole"},
    # "elasticloadbalancing:AddTags ... is required when tags are added on
    # create": https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-permissions.html
    "elasticloadbalancing:CreateTargetGroup": {
        "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:AddTags"},
    "elasticloadbalancing:CreateRule": {
        "elasticloadbalancing:CreateRule", "elasticloadbalancing:AddTags"},
    # EventBridge Scheduler: Create/UpdateSchedule pass the target's role
    # ("iam:PassRole" is a dependent action), and CreateScheduleGroup's tags
    # are authorized as scheduler:TagResource.
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html
    "scheduler:CreateSchedule": {"scheduler:CreateSchedule", "iam:PassRole"},
    "scheduler:UpdateSchedule": {"scheduler:UpdateSchedule", "iam:PassRole"},
    "scheduler:CreateScheduleGroup": {"scheduler:CreateScheduleGroup", "scheduler:TagResource"},
    # Tags on create are authorized as TagResource too, and registering the
    # first ECS target creates the service-linked role
    # AWSServiceRoleForApplicationAutoScaling_ECSService:
    # https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html
    "application-autoscaling:RegisterScalableTarget": {
        "application-autoscaling:RegisterScalableTarget", "application-autoscaling:TagResource",
        "iam:CreateServiceLinkedRole"},
    # Target tracking: Application Auto Scaling creates and deletes the
    # policy's CloudWatch alarms, and first checks that the caller itself
    # may ("Application Auto Scaling validates permissions for requests
    # associated with both the target service and CloudWatch before
    # proceeding"); the ECS page lists the three alarm actions.
    # https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_permission_validation.html
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/auto-scaling-IAM.html
    "application-autoscaling:PutScalingPolicy": {
        "application-autoscaling:PutScalingPolicy", "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"},
    # PutMetricAlarm's Tags are authorized as cloudwatch:TagResource (the
    # reference lists aws:RequestTag for both).
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
    "cloudwatch:PutMetricAlarm": {"cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"},
    "application-autoscaling:DeleteScalingPolicy": {
        "application-autoscaling:DeleteScalingPolicy", "cloudwatch:DescribeAlarms",
        "cloudwatch:DeleteAlarms"},
}

# Permissions a template grants for code written alongside it on another
# branch and not merged yet, by binary: operation -> why. They excuse only
# "granted but not called": once the code calls them each entry must go.
ISSUE_23 = "issue 23, written on the aws and cli branches"
GRANTED_AHEAD_OF_CODE: dict[str, dict[str, str]] = {}

# Operations the code calls that neither policy grants, and why.
NOT_GRANTED = {
    # STS answers GetCallerIdentity for any caller with credentials: "No
    # permissions are required to perform this operation."
    # https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
    "sts:GetCallerIdentity": "needs no permission",
    # `ferry init` creates the table: an administrator's action once per
    # installation (the template creates the table instead).
    "dynamodb:CreateTable": "ferry init only, an administrator's action",
    # `ferry doctor` reports point-in-time recovery as "skip" when it may
    # not ask; the deployer does not need it.
    "dynamodb:DescribeContinuousBackups": "ferry doctor only, optional",
}

# What a binary reaches only in the parse, not when it runs, and why: the
# policy neither needs nor grants it.
PARSE_ONLY = {
    "cli": {
        # Store::apply's transaction starts with the lease's ConditionCheck
        # only when given a fence, which only the controller has.
        "dynamodb:ConditionCheckItem": "the fence check of the controller's writes",
        # ferry-aws's alarm adapter is reached by function names only: the
        # CLI builds no CloudWatch client (`ferry diff` observes without
        # alarms), so it never calls CloudWatch.
        "cloudwatch:DescribeAlarms": "the controller's alarm inventory",
        "cloudwatch:ListTagsForResource": "the controller's alarm ownership check",
        "cloudwatch:PutMetricAlarm": "the controller's `alarms: default`",
        "cloudwatch:TagResource": "the controller's alarm owner tag",
    },
}

CALL = re.compile(r"\.call(?:_raw)?\(\s*(\w+|\"[a-z0-9-]+\")\s*,\s*\"([A-Z]\w+)\"", re.S)
CONST = re.compile(r"const (\w+): &str = \"([a-z0-9-]+)\";")
FN = re.compile(r"^([ \t]*)(pub(?:\([^)]*\))? )?(?:async )?fn (\w+)", re.M)
CALLEE = re.compile(r"(\.|::|\b)([a-z_][a-z0-9_]*)\s*(?:::<[^>]*>)?\(")
# Items of a DynamoDB transaction, by their builder, and their IAM action.
TRANSACTION_ITEMS = {
    ".put(": "dynamodb:PutItem",
    ".update(": "dynamodb:UpdateItem",
    ".delete(": "dynamodb:DeleteItem",
    ".condition_check(": "dynamodb:ConditionCheckItem",
}


def production_source(path: Path) -> str:
    """A file's text without its unit tests."""
    if path.name.endswith("_tests.rs"):
        return ""
    text = path.read_text()
    cut = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod \w+", text, re.M)
    return text[: cut.start()] if cut else text


class Function:
    """One function: the AWS operations it calls itself, and the names of
    the functions it calls (any of its own crate's; only public ones of
    other crates, which is all another crate can call)."""

    def __init__(self, crate: str, name: str, public: bool, body: str, consts: dict[str, str]):
        self.crate = crate
        self.name = name
        self.public = public
        self.ops: set[str] = set()
        for service, operation in CALL.findall(body):
            service = service.strip('"') if service.startswith('"') else consts.get(service, "")
            assert service in IAM_PREFIX, f"{crate}::{name}: unknown service {service!r}"
            self.ops.add(f"{IAM_PREFIX[service]}:{operation}")
        # A transaction's items need their own actions; each is the
        # function's that builds it.
        for builder, action in TRANSACTION_ITEMS.items():
            if re.search(r"TransactWriteItem::builder\(\)\s*" + re.escape(builder), body):
                self.ops.add(action)
        self.callees = {callee for _, callee in CALLEE.findall(body)} - {name}

    def may_call(self, other: "Function") -> bool:
        return other.crate == self.crate or other.public


def functions(crate: str) -> list[Function]:
    found = []
    paths = sorted((CRATES / crate / "src").rglob("*.rs"))
    # Service constants are shared across a crate's modules (`crate::SERVICE`).
    consts = {}
    for path in paths:
        consts.update(CONST.findall(production_source(path)))
    for path in paths:
        text = production_source(path)
        for match in FN.finditer(text):
            body = function_text(text, match.start(), match.group(1))
            public = match.group(2) == "pub "
            found.append(Function(crate, match.group(3), public, body, consts))
    return found


def function_text(text: str, start: int, indent: str) -> str:
    """From `fn` to its closing brace, which rustfmt puts on a line of its
    own at the function's indentation (or to the `;` of a declaration)."""
    lines = text[start:].split("\n")
    for i, line in enumerate(lines):
        if "{" in line:
            if line.rstrip().endswith("}") and line.count("{") == line.count("}"):
                return "\n".join(lines[: i + 1])
            break
        if line.rstrip().endswith(";"):
            return "\n".join(lines[: i + 1])
    for j, line in enumerate(lines[1:], start=1):
        if line == indent + "}":
            return "\n".join(lines[: j + 1])
    return text[start:]


def reached_operations() -> dict[str, set[str]]:
    library = [f for crate in LIBRARIES for f in functions(crate)]
    by_name: dict[str, list[Function]] = {}
    for f in library:
        by_name.setdefault(f.name, []).append(f)

    def closure(start: list[Function]) -> set[str]:
        ops: set[str] = set()
        seen: set[int] = set()
        todo = list(start)
        while todo:
            f = todo.pop()
            if id(f) in seen:
                continue
            seen.add(id(f))
            ops |= f.ops
            for callee in f.callees:
                todo.extend(g for g in by_name.get(callee, []) if f.may_call(g))
        return ops

    reached = {}
    for binary, crate in BINARIES.items():
        ops = closure(functions(crate))
        actions = set()
        for op in ops:
            actions |= IMPLIED.get(op, {op})
        reached[binary] = actions
    return reached


def _tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


class TemplateLoader(yaml.SafeLoader):
    """CloudFormation YAML: `!Sub`, `!Ref`, ... become one-key mappings."""


TemplateLoader.add_multi_constructor("!", _tagged)


def granted(resource: str) -> set[str]:
    template = yaml.load(TEMPLATE.read_text(), Loader=TemplateLoader)
    statements = template["Resources"][resource]["Properties"]["PolicyDocument"]["Statement"]
    # A statement under a condition (`!If [Cond, statement, !Ref AWS::NoValue]`)
    # counts as granted: the template may include it.
    unfolded = []
    for statement in statements:
        if "If" in statement:
            unfolded.extend(s for s in statement["If"][1:] if "Effect" in s)
        else:
            unfolded.append(statement)
    actions = set()
    for statement in unfolded:
        assert statement["Effect"] == "Allow", f"{resource}: only Allow statements expected"
        listed = statement["Action"]
        for action in [listed] if isinstance(listed, str) else listed:
            assert "*" not in action, f"{resource}: {action} is a wildcard; name each action"
            actions.add(action)
    return actions


REACHED = reached_operations()


def test_the_parse_finds_the_calls_it_must():
    """Guards the parse itself: if these vanish, the regexes broke."""
    controller = REACHED["controller"]
    for action in ("ecs:CreateService", "ecs:UpdateService", "elasticloadbalancing:CreateRule",
                   "route53:ChangeResourceRecordSets", "dynamodb:UpdateItem",
                   "dynamodb:ConditionCheckItem", "iam:PassRole"):
        assert action in controller, action
    cli = REACHED["cli"]
    for action in ("ecs:RunTask", "ecs:DescribeTasks", "dynamodb:PutItem", "dynamodb:Query"):
        assert action in cli, action
    # The controller never runs one-off tasks, nor creates the table.
    assert "ecs:RunTask" not in controller
    assert "dynamodb:CreateTable" not in controller


@pytest.mark.parametrize("binary,policy", [("controller", "ControllerTaskPolicy"),
                                           ("cli", "DeployerPolicy")])
def test_the_policy_grants_exactly_what_the_code_calls(binary, policy):
    needed = REACHED[binary] - set(NOT_GRANTED) - set(PARSE_ONLY.get(binary, {}))
    allowed = granted(policy)
    missing = sorted(needed - allowed)
    unused = sorted(allowed - needed - set(GRANTED_AHEAD_OF_CODE.get(binary, {})))
    assert not missing, f"{policy} lacks what {binary} calls: {missing}"
    assert not unused, f"{policy} grants what no {binary} code path calls: {unused}"


def test_the_deployer_gets_nothing_only_the_controller_needs():
    cli = REACHED["cli"] - set(PARSE_ONLY["cli"])
    only_controller = REACHED["controller"] - cli
    assert "dynamodb:ConditionCheckItem" in only_controller
    assert not (granted("DeployerPolicy") & only_controller)


def test_the_security_guide_explains_every_permission():
    guide = (ROOT / "docs" / "security.md").read_text()
    for policy in ("ControllerTaskPolicy", "DeployerPolicy"):
        for action in sorted(granted(policy)):
            assert f"`{action}`" in guide, f"docs/security.md does not explain {action}"
