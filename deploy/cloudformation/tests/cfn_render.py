"""Render a CloudFormation template offline: parameters and pseudo
parameters substituted, intrinsic functions evaluated, resources whose
Condition is false left out, the way CloudFormation would for a stack
created with those parameters. The tests that need a template's concrete
values without deploying it use this one renderer (test_iam_static.py:
the policies' ARNs and condition values; test_templates.py: Rules,
listener actions).

What it knows is what Ferry's templates use: Ref, Fn::Sub (both forms),
Fn::GetAtt, Fn::If, Fn::Join, Fn::Split, Fn::Select, Fn::FindInMap,
Fn::Equals, Fn::Not, Fn::And, Fn::Or, Fn::Contains, Condition, and
AWS::NoValue, plus the Ref values and attributes of the resource types the
templates create, as the CloudFormation resource reference documents them
(a role's Arn, a log group's Arn ending in `:*`, a queue's Ref being its
URL). Anything else raises, so a template that grows a new intrinsic or
resource type fails loudly here instead of rendering wrong.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable

NO_VALUE = object()

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"


@dataclass
class Stack:
    """A template with parameter values; `resources()` renders it."""

    template: dict
    parameters: dict[str, str]
    stack_name: str = "ferry"
    account: str = ACCOUNT
    region: str = REGION
    partition: str = PARTITION
    _conditions: dict[str, bool] = field(default_factory=dict)
    _rendering: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        declared = self.template.get("Parameters", {})
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in self.parameters:
                value = self.parameters[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise KeyError(f"parameter {name} has no default and no value")
            value = str(value) if not isinstance(value, list) else ",".join(map(str, value))
            if spec["Type"].startswith(("List<", "CommaDelimitedList")):
                values[name] = value.split(",") if value != "" else [""]
            else:
                values[name] = value
        unknown = set(self.parameters) - set(declared)
        if unknown:
            raise KeyError(f"unknown parameters {sorted(unknown)}")
        self.values = values

    # -- conditions and rules -------------------------------------------------

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.eval(self.template["Conditions"][name]))
        return self._conditions[name]

    def failed_rules(self) -> list[str]:
        """The AssertDescription of every rule assertion these parameters
        break (CloudFormation refuses the stack before creating anything)."""
        failed = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.eval(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self.eval(assertion["Assert"]):
                    failed.append(assertion.get("AssertDescription", name))
        return failed

    # -- resources --------------------------------------------------------------

    def included(self, logical_id: str) -> bool:
        resource = self.template["Resources"][logical_id]
        return "Condition" not in resource or self.condition(resource["Condition"])

    def properties(self, logical_id: str) -> dict:
        if logical_id in self._rendering:
            raise RecursionError(f"{logical_id} refers to itself")
        self._rendering.add(logical_id)
        try:
            return self.eval(self.template["Resources"][logical_id].get("Properties", {}))
        finally:
            self._rendering.discard(logical_id)

    def resources(self) -> dict[str, dict]:
        """Each included resource: {"Type": ..., "Properties": rendered}."""
        return {logical_id: {"Type": r["Type"], "Properties": self.properties(logical_id)}
                for logical_id, r in self.template["Resources"].items() if self.included(logical_id)}

    def outputs(self) -> dict[str, Any]:
        out = {}
        for key, output in self.template.get("Outputs", {}).items():
            if "Condition" in output and not self.condition(output["Condition"]):
                continue
            out[key] = self.eval(output["Value"])
        return out

    # -- intrinsic functions ------------------------------------------------------

    def eval(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.eval(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, arg)] = node.items()
            if key in INTRINSICS:
                return INTRINSICS[key](self, arg)
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                raise NotImplementedError(f"{key} is not rendered by cfn_render")
        out = {}
        for key, value in node.items():
            value = self.eval(value)
            if value is not NO_VALUE:
                out[key] = value
        return out

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.values:
            return self.values[name]
        if name in self.template["Resources"]:
            return self.attribute(name, "Ref")
        raise KeyError(f"Ref {name}: no such parameter or resource")

    def attribute(self, logical_id: str, attribute: str) -> str:
        resource = self.template["Resources"][logical_id]
        if not self.included(logical_id):
            raise KeyError(f"{logical_id} is not created under these parameters")
        kind = resource["Type"]
        if kind not in RESOURCE_TYPES:
            raise NotImplementedError(f"{kind} ({logical_id}) is not rendered by cfn_render")
        values = RESOURCE_TYPES[kind](self, logical_id, self.properties(logical_id))
        if attribute not in values:
            raise KeyError(f"{logical_id} ({kind}) has no {attribute} in cfn_render")
        return values[attribute]

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def one(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and name.split(".", 1)[0] in self.template["Resources"]:
                value = self.attribute(*name.split(".", 1))
            else:
                value = self.ref(name)
            if not isinstance(value, str):
                raise TypeError(f"Fn::Sub ${{{name}}} is not a string: {value!r}")
            return value
        return re.sub(r"\$\{([^}]+)\}", one, text)

    def physical_name(self, logical_id: str) -> str:
        """A generated name, as CloudFormation makes one when a template names
        none: stack name, logical id and a random suffix."""
        return f"{self.stack_name}-{logical_id}-ABCDEF123456"


def _sub(stack: Stack, arg: Any) -> str:
    if isinstance(arg, str):
        return stack.sub(arg, {})
    text, variables = arg
    return stack.sub(text, {k: stack.eval(v) for k, v in variables.items()})


def _get_att(stack: Stack, arg: Any) -> str:
    logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
    return stack.attribute(logical_id, attribute)


def _if(stack: Stack, arg: list) -> Any:
    name, then, otherwise = arg
    return stack.eval(then if stack.condition(name) else otherwise)


def _join(stack: Stack, arg: list) -> str:
    delimiter, items = arg
    items = stack.eval(items)
    return delimiter.join(items)


def _split(stack: Stack, arg: list) -> list[str]:
    delimiter, text = arg
    return stack.eval(text).split(delimiter)


def _select(stack: Stack, arg: list) -> Any:
    index, items = arg
    return stack.eval(items)[int(stack.eval(index))]


def _find_in_map(stack: Stack, arg: list) -> Any:
    name, top, second = (stack.eval(a) for a in arg)
    return stack.template["Mappings"][name][top][second]


def _equals(stack: Stack, arg: list) -> bool:
    a, b = (stack.eval(x) for x in arg)
    return str(a) == str(b) if not isinstance(a, list) and not isinstance(b, list) else a == b


def _contains(stack: Stack, arg: list) -> bool:
    items, value = (stack.eval(x) for x in arg)
    return str(value) in [str(i) for i in items]


INTRINSICS: dict[str, Callable[[Stack, Any], Any]] = {
    "Ref": lambda stack, name: stack.ref(name),
    "Fn::Sub": _sub,
    "Fn::GetAtt": _get_att,
    "Fn::If": _if,
    "Fn::Join": _join,
    "Fn::Split": _split,
    "Fn::Select": _select,
    "Fn::FindInMap": _find_in_map,
    "Fn::Equals": _equals,
    "Fn::Not": lambda stack, arg: not stack.eval(arg[0]),
    "Fn::And": lambda stack, arg: all(stack.eval(x) for x in arg),
    "Fn::Or": lambda stack, arg: any(stack.eval(x) for x in arg),
    "Fn::Contains": _contains,
}


# -- what CloudFormation returns for each resource type ---------------------------
# Ref and Fn::GetAtt of each type, from its page of the CloudFormation
# template reference ("Return values").


def _arn(stack: Stack, service: str, resource: str, region: bool = True, account: bool = True) -> str:
    return (f"arn:{stack.partition}:{service}:{stack.region if region else ''}:"
            f"{stack.account if account else ''}:{resource}")


def _table(stack, logical_id, props):
    name = props.get("TableName") or stack.physical_name(logical_id)
    return {"Ref": name, "Arn": _arn(stack, "dynamodb", f"table/{name}")}


def _cluster(stack, logical_id, props):
    name = props.get("ClusterName") or stack.physical_name(logical_id)
    return {"Ref": name, "Arn": _arn(stack, "ecs", f"cluster/{name}")}


def _log_group(stack, logical_id, props):
    name = props.get("LogGroupName") or stack.physical_name(logical_id)
    # AWS::Logs::LogGroup: "Arn: ... such as
    # arn:aws:logs:us-west-1:123456789012:log-group:/mystack-testgroup-12ABC1AB12A1:*"
    return {"Ref": name, "Arn": _arn(stack, "logs", f"log-group:{name}:*")}


def _queue(stack, logical_id, props):
    name = props.get("QueueName") or stack.physical_name(logical_id)
    # AWS::SQS::Queue: Ref is the queue URL.
    return {"Ref": f"https://sqs.{stack.region}.amazonaws.com/{stack.account}/{name}",
            "Arn": _arn(stack, "sqs", name), "QueueName": name,
            "QueueUrl": f"https://sqs.{stack.region}.amazonaws.com/{stack.account}/{name}"}


def _role(stack, logical_id, props):
    name = props.get("RoleName") or stack.physical_name(logical_id)
    path = props.get("Path", "/")
    return {"Ref": name, "Arn": _arn(stack, "iam", f"role{path}{name}", region=False),
            "RoleId": "AROAEXAMPLE" + logical_id.upper()[:10]}


def _managed_policy(stack, logical_id, props):
    name = props.get("ManagedPolicyName") or stack.physical_name(logical_id)
    arn = _arn(stack, "iam", f"policy/{name}", region=False)
    return {"Ref": arn, "PolicyArn": arn}


def _policy(stack, logical_id, props):
    return {"Ref": props.get("PolicyName") or stack.physical_name(logical_id)}


def _security_group(stack, logical_id, props):
    return {"Ref": "sg-0123456789abcdef0", "GroupId": "sg-0123456789abcdef0", "VpcId": props.get("VpcId")}


def _task_definition(stack, logical_id, props):
    family = props.get("Family") or stack.physical_name(logical_id)
    arn = _arn(stack, "ecs", f"task-definition/{family}:1")
    return {"Ref": arn, "TaskDefinitionArn": arn}


def _service(stack, logical_id, props):
    name = props.get("ServiceName") or stack.physical_name(logical_id)
    arn = _arn(stack, "ecs", f"service/{props['Cluster']}/{name}")
    return {"Ref": arn, "ServiceArn": arn, "Name": name}


def _load_balancer(stack, logical_id, props):
    name = props.get("Name") or stack.physical_name(logical_id)[:32]
    arn = _arn(stack, "elasticloadbalancing", f"loadbalancer/app/{name}/50dc6c495c0c9188")
    return {"Ref": arn, "LoadBalancerArn": arn, "LoadBalancerName": name,
            "DNSName": f"{name}-1234567890.{stack.region}.elb.amazonaws.com",
            "CanonicalHostedZoneID": "Z35SXDOTRQ7X7K"}


def _listener(stack, logical_id, props):
    lb = props["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    digest = hashlib.sha256(logical_id.encode()).hexdigest()[:16]
    arn = _arn(stack, "elasticloadbalancing", f"listener/{lb}/{digest}")
    return {"Ref": arn, "ListenerArn": arn}


def _hosted_zone(stack, logical_id, props):
    return {"Ref": "Z0EXAMPLE" + logical_id.upper()[:8], "Id": "Z0EXAMPLE" + logical_id.upper()[:8]}


RESOURCE_TYPES: dict[str, Callable[[Stack, str, dict], dict[str, str]]] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::ECS::Cluster": _cluster,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::SQS::Queue": _queue,
    "AWS::IAM::Role": _role,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::IAM::Policy": _policy,
    "AWS::EC2::SecurityGroup": _security_group,
    "AWS::ECS::TaskDefinition": _task_definition,
    "AWS::ECS::Service": _service,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::ElasticLoadBalancingV2::Listener": _listener,
    "AWS::Route53::HostedZone": _hosted_zone,
}


# -- the policies of a rendered template ----------------------------------------------


@dataclass
class Policy:
    """One policy document of a template, rendered: where it is (resource,
    and the inline policy's name), whether it is a role's trust policy, and
    its statements."""

    resource: str
    name: str
    trust: bool
    statements: list[dict]

    @property
    def where(self) -> str:
        return f"{self.resource}/{self.name}"


def _statements(document: dict) -> list[dict]:
    statement = document["Statement"]
    return [statement] if isinstance(statement, dict) else list(statement)


def policies(stack: Stack) -> list[Policy]:
    """Every policy document the rendered template holds: roles' trust
    policies and inline policies, AWS::IAM::Policy and ManagedPolicy
    documents. (Managed policies a role attaches by ARN are AWS's, not
    the template's, and are not here.)"""
    found = []
    for logical_id, resource in stack.resources().items():
        props = resource["Properties"]
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            found.append(Policy(logical_id, "AssumeRolePolicyDocument", True,
                                _statements(props["AssumeRolePolicyDocument"])))
            for inline in props.get("Policies", []):
                found.append(Policy(logical_id, inline["PolicyName"], False,
                                    _statements(inline["PolicyDocument"])))
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            found.append(Policy(logical_id, props.get("PolicyName") or props.get("ManagedPolicyName")
                                or logical_id, False, _statements(props["PolicyDocument"])))
        elif kind.startswith("AWS::IAM::") or kind.endswith("Policy"):
            raise NotImplementedError(f"{kind} ({logical_id}): policies of this type are not collected")
    return found
