"""Elastic Load Balancing v2 (ALB) behaviours that moto does not model.

Ferry manages target groups and listener rules. moto 5.2.5 gets most of
that right by itself (PriorityInUse on CreateRule, tags on rules and target
groups, ModifyTargetGroup, target group attributes, ResourceInUse when
deleting a target group a rule still forwards to, ModifyRule); those are
left alone. What it gets wrong is emulated here, each handler after one page of
the ELBv2 API reference
(https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/):

* CreateRule: the rule quota per load balancer (``TooManyRules``) and
  priorities 1..50000 (``ValidationError``);
* CreateRule, ModifyRule, CreateListener, ModifyListener: a target group
  forwards for one load balancer only (``TargetGroupAssociationLimit``);
* CreateTargetGroup: same name and same settings returns the existing group;
* DescribeTargetGroups and DescribeRules: ``PageSize`` and ``Marker``;
* DeleteRule: ``RuleNotFound`` and ``OperationNotPermitted``;
* SetRulePriorities: conflicts judged on the new order, so rules can swap;
* DescribeTags: ``TargetGroupNotFound`` / ``RuleNotFound`` for resources
  that do not exist (moto describes the tags of deleted ones);
* DescribeTargetHealth: the targets ECS registers for service tasks
  (``targets.py``; registered from ``deployments.register``).

Handlers read moto's state through moto's own API: they send it their own
query-protocol requests (``request.with_form``) through ``forward``, which
are not logged (the request log has one line per client request). Every
ELBv2 request runs under one lock, so a check and the write it guards are
atomic, as they are in AWS.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any

from . import envsettings, locks
from .wire import AwsRequest, Response, form_list, form_structs, query_error, xml_response

SERVICE = "elbv2"
VERSION = "2015-12-01"
NS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

Forward = Callable[[AwsRequest], Response]

# --------------------------------------------------------------------------
# One ELBv2 request at a time.
#
# moto's ELBv2 backend takes no lock, and the checks below read state before
# the write they guard (the rule count before CreateRule, every priority
# before SetRulePriorities). AWS makes each call atomic; so does this lock.
# --------------------------------------------------------------------------



def serialize(request: AwsRequest, forward: Forward) -> Response:
    with locks.ELBV2:
        return forward(request)


# -- talking to moto -----------------------------------------------------------

def q(path: str) -> str:
    """An ElementTree path in the ELBv2 namespace: ``q("A/B")`` -> ``{ns}A/{ns}B``."""
    return "/".join(f"{{{NS}}}{part}" for part in path.split("/"))


def call(request: AwsRequest, forward: Forward, action: str, params: dict[str, str]) -> Response:
    """One of the layer's own calls to moto (not logged)."""
    return forward(request.with_form({"Action": action, "Version": VERSION, **params}))


def members(prefix: str, values: list[str]) -> dict[str, str]:
    return {f"{prefix}.member.{i}": v for i, v in enumerate(values, 1)}


def parse(response: Response) -> ET.Element:
    return ET.fromstring(response.body)


def serialize_xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="unicode", default_namespace=NS).encode()


def text(element: ET.Element, path: str) -> str | None:
    """The text at ``path`` ("" if empty), or None if there is no such element."""
    found = element.find(q(path))
    if found is None:
        return None
    return found.text or ""


def error(code: str, message: str) -> Response:
    return query_error(400, code, message, NS)


def fetch_all(request: AwsRequest, forward: Forward, action: str, result_key: str,
              params: dict[str, str]) -> tuple[Response, list[ET.Element]]:
    """Every member moto has for a Describe call, following moto's own markers.

    Returns (first response, members); on an error, (the error, []). moto's
    markers are safe to follow here: nothing changes under the lock.
    """
    first: Response | None = None
    items: list[ET.Element] = []
    marker = None
    while True:
        page_params = dict(params, PageSize="400")
        if marker:
            page_params["Marker"] = marker
        response = call(request, forward, action, page_params)
        if response.status != 200:
            return response, []
        first = first or response
        root = parse(response)
        container = root.find(q(f"{action}Result/{result_key}"))
        items += list(container) if container is not None else []
        marker = text(root, f"{action}Result/NextMarker")
        if not marker:
            return first, items


def page_response(response: Response, action: str, result_key: str,
                  page: list[ET.Element], next_marker: str | None) -> Response:
    """moto's response to ``action`` with ``page`` as its items and our marker."""
    root = parse(response)
    result = root.find(q(f"{action}Result"))
    assert result is not None
    container = result.find(q(result_key))
    if container is None:
        container = ET.SubElement(result, q(result_key))
    for child in list(container):
        container.remove(child)
    container.extend(page)
    for old in result.findall(q("NextMarker")):
        result.remove(old)
    if next_marker is not None:
        ET.SubElement(result, q("NextMarker")).text = next_marker
    return xml_response(200, serialize_xml(root))


# --------------------------------------------------------------------------
# PageSize and Marker (DescribeTargetGroups, DescribeRules).
#
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetGroups.html
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeRules.html
#   PageSize: "The maximum number of results to return with this call."
#   Valid Range: Minimum value of 1. Maximum value of 400.
#   Marker: "The marker for the next set of results. (You received this
#   marker from a previous call.)"
#
# moto ignores both on DescribeTargetGroups (every group, always) and, on
# DescribeRules, pages 50 at a time in creation order with the last rule's
# ARN as the marker: a marker naming a rule deleted since is an HTTP 500.
# Here the layer reads moto's full list and pages it itself. Without
# PageSize a call returns up to 400 (the documented maximum; AWS does not
# document its default). Markers are opaque and name the last item served,
# so items created or deleted between pages are neither repeated nor
# skipped. Target groups come sorted by name (as moto sorts them), rules by
# priority with the default rule last. Out-of-range PageSize is AWS's
# standard ValidationError; the wording for a marker we did not issue
# ("Invalid Marker") is ours.
# --------------------------------------------------------------------------

PAGE_SIZE_MAX = 400


def encode_marker(after: Any) -> str:
    raw = json.dumps({"v": 1, "after": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_marker(marker: str) -> Any:
    """What a marker continues after, or None if the marker is not ours."""
    try:
        data = json.loads(base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("v") != 1 or "after" not in data:
        return None
    return data["after"]


def page_size(params: dict[str, str]) -> int | Response:
    raw = params.get("PageSize")
    if raw is None:
        return PAGE_SIZE_MAX
    try:
        size = int(raw)
    except ValueError:
        return error("ValidationError", f"1 validation error detected: Value '{raw}' at "
                     "'pageSize' failed to satisfy constraint: Member must be a number")
    if size < 1:
        return error("ValidationError", f"1 validation error detected: Value '{size}' at "
                     "'pageSize' failed to satisfy constraint: Member must have value "
                     "greater than or equal to 1")
    if size > PAGE_SIZE_MAX:
        return error("ValidationError", f"1 validation error detected: Value '{size}' at "
                     "'pageSize' failed to satisfy constraint: Member must have value "
                     f"less than or equal to {PAGE_SIZE_MAX}")
    return size


def paginate(items: list[tuple[Any, ET.Element]], size: int, marker: str | None
             ) -> tuple[list[ET.Element], str | None] | None:
    """One page of (sort key, item) pairs, and the next marker; None for a bad marker."""
    ordered = sorted(items, key=lambda pair: pair[0])
    if marker is not None:
        after = decode_marker(marker)
        if after is None:
            return None
        try:
            ordered = [pair for pair in ordered if pair[0] > after]
        except TypeError:  # well-formed, but a marker of another operation
            return None
    page = ordered[:size]
    next_marker = encode_marker(page[-1][0]) if len(ordered) > size else None
    return [item for _, item in page], next_marker


def rule_key(rule: ET.Element) -> list[Any]:
    """Priority order, the default rule last; the ARN breaks no real tie."""
    priority = text(rule, "Priority") or ""
    arn = text(rule, "RuleArn") or ""
    if priority.isdigit():
        return [0, int(priority), arn]
    return [1, 0, arn]


def paged_describe(action: str, result_key: str, key: Callable[[ET.Element], Any]
                   ) -> Callable[[AwsRequest, Forward], Response]:
    def handler(request: AwsRequest, forward: Forward) -> Response:
        params = request.form()
        size = page_size(params)
        if isinstance(size, Response):
            return size
        marker = params.get("Marker")
        if marker is not None and decode_marker(marker) is None:
            return error("ValidationError", "Invalid Marker")
        upstream = {k: v for k, v in params.items()
                    if k not in ("Action", "Version", "PageSize", "Marker")}
        first, items = fetch_all(request, forward, action, result_key, upstream)
        if first.status != 200:
            return first
        result = paginate([(key(item), item) for item in items], size, marker)
        if result is None:
            return error("ValidationError", "Invalid Marker")
        page, next_marker = result
        return page_response(first, action, result_key, page, next_marker)

    handler.__name__ = f"{action}_pagination"
    return handler


describe_target_groups_pagination = paged_describe(
    "DescribeTargetGroups", "TargetGroups", lambda tg: text(tg, "TargetGroupName") or "")
describe_rules_pagination = paged_describe("DescribeRules", "Rules", rule_key)


# --------------------------------------------------------------------------
# CreateRule: at most 100 rules per load balancer.
#
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
#   Rules: "Rules per Application Load Balancer (excluding default rules)",
#   default 100, adjustable.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html
#   TooManyRules: "You've reached the limit on the number of rules per load
#   balancer." HTTP 400.
#
# The count is over every listener of the rule's load balancer; each
# listener's default rule is not counted. moto has no quota. The quota is
# FERRY_EMULATOR_ELB_RULE_QUOTA (default 100), read when the layer is built,
# so tests can reach it with a handful of rules. The message is the error's
# documented description; AWS's exact wording is not published.
# --------------------------------------------------------------------------

RULE_QUOTA_ENV = "FERRY_EMULATOR_ELB_RULE_QUOTA"
RULE_QUOTA_DEFAULT = 100


def rule_quota(environ: Mapping[str, str] = os.environ) -> int:
    return envsettings.whole_number(environ, RULE_QUOTA_ENV, RULE_QUOTA_DEFAULT, low=0)


def load_balancer_of(arn: str, kind: str) -> str:
    """The load balancer ARN of a listener (kind ``listener``) or rule ARN."""
    prefix, _, path = arn.partition(f":{kind}/")
    # path: app/NAME/LB-ID/LISTENER-ID[/RULE-ID]
    parts = path.split("/")
    return f"{prefix}:loadbalancer/{'/'.join(parts[:3])}"


def listener_of_rule(rule_arn: str) -> str:
    prefix, _, path = rule_arn.partition(":listener-rule/")
    return f"{prefix}:listener/{path.rsplit('/', 1)[0]}"


def count_rules(request: AwsRequest, forward: Forward, load_balancer_arn: str) -> int | None:
    """Non-default rules on every listener of a load balancer; None if unknown."""
    listeners, items = fetch_all(request, forward, "DescribeListeners", "Listeners",
                                 {"LoadBalancerArn": load_balancer_arn})
    if listeners.status != 200:
        return None
    count = 0
    for listener in items:
        arn = text(listener, "ListenerArn")
        if not arn:
            continue
        first, rules = fetch_all(request, forward, "DescribeRules", "Rules", {"ListenerArn": arn})
        if first.status != 200:
            return None
        count += sum(1 for rule in rules if text(rule, "IsDefault") != "true")
    return count


def create_rule_quota(quota: int) -> Callable[[AwsRequest, Forward], Response]:
    def create_rule_limit(request: AwsRequest, forward: Forward) -> Response:
        listener_arn = request.form().get("ListenerArn", "")
        if ":listener/" in listener_arn:
            count = count_rules(request, forward, load_balancer_of(listener_arn, "listener"))
            if count is not None and count >= quota:
                return error("TooManyRules",
                             "You've reached the limit on the number of rules per load balancer.")
        return forward(request)

    return create_rule_limit


# --------------------------------------------------------------------------
# CreateTargetGroup is idempotent.
#
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html
#   "This operation is idempotent, which means that it completes at most one
#   time. If you attempt to create multiple target groups with the same
#   settings, each call succeeds."
#   DuplicateTargetGroupName: "A target group with the specified name
#   already exists."
#
# moto answers DuplicateTargetGroupName to every second call. Here a call
# naming an existing group with the same settings gets that group back, as
# a CreateTargetGroup response; different settings still reach moto, which
# answers DuplicateTargetGroupName. "Same settings": every setting in the
# request equals the group's; a setting left out must equal the default a
# new group would get (for HTTP/HTTPS groups of type instance or ip, the
# defaults moto applies, which are AWS's except the health check timeout:
# moto 5 s, AWS 6 s for HTTP). Tags are not settings: an idempotent call
# neither compares nor applies them (AWS does not document either way).
# --------------------------------------------------------------------------

TARGET_GROUP_SETTINGS = [
    "Protocol", "ProtocolVersion", "Port", "VpcId", "TargetType", "IpAddressType",
    "HealthCheckProtocol", "HealthCheckPort", "HealthCheckEnabled", "HealthCheckPath",
    "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds", "HealthyThresholdCount",
    "UnhealthyThresholdCount", "Matcher.HttpCode", "Matcher.GrpcCode",
]


def target_group_defaults(params: dict[str, str]) -> dict[str, str]:
    protocol = params.get("Protocol", "")
    target_type = params.get("TargetType", "instance")
    if protocol not in ("HTTP", "HTTPS") or target_type not in ("instance", "ip"):
        return {"TargetType": target_type}
    return {
        "TargetType": target_type, "ProtocolVersion": "HTTP1", "IpAddressType": "ipv4",
        "HealthCheckProtocol": protocol, "HealthCheckPort": "traffic-port",
        "HealthCheckEnabled": "true", "HealthCheckPath": "/",
        "HealthCheckIntervalSeconds": "30", "HealthCheckTimeoutSeconds": "5",
        "HealthyThresholdCount": "5", "UnhealthyThresholdCount": "2", "Matcher.HttpCode": "200",
    }


def same_target_group(params: dict[str, str], existing: ET.Element) -> bool:
    defaults = target_group_defaults(params)
    for setting in TARGET_GROUP_SETTINGS:
        wanted = params.get(setting, defaults.get(setting))
        if wanted is None:
            continue
        have = text(existing, setting.replace(".", "/"))
        if setting == "HealthCheckEnabled":
            wanted, have = wanted.lower(), (have or "").lower()
        if wanted != have:
            return False
    return True


def create_target_group_idempotent(request: AwsRequest, forward: Forward) -> Response:
    params = request.form()
    name = params.get("Name")
    if not name:
        return forward(request)
    found = call(request, forward, "DescribeTargetGroups", {"Names.member.1": name})
    if found.status != 200:
        return forward(request)  # no such group (or a moto error): moto creates it
    root = parse(found)
    groups = root.findall(q("DescribeTargetGroupsResult/TargetGroups/member"))
    if len(groups) != 1 or not same_target_group(params, groups[0]):
        return forward(request)  # moto answers DuplicateTargetGroupName
    root.tag = q("CreateTargetGroupResponse")
    result = root.find(q("DescribeTargetGroupsResult"))
    assert result is not None
    result.tag = q("CreateTargetGroupResult")
    for old in result.findall(q("NextMarker")):
        result.remove(old)
    return xml_response(200, serialize_xml(root))


# --------------------------------------------------------------------------
# DeleteRule: the rule must exist and must not be a default rule.
#
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeleteRule.html
#   "You can't delete the default rule." Errors: RuleNotFound ("The
#   specified rule does not exist."), OperationNotPermitted ("This
#   operation is not allowed.").
#
# moto answers 200 for a rule that does not exist (its source says so) and
# HTTP 500 for a default rule. The RuleNotFound answer is moto's own
# (DescribeRules'); the OperationNotPermitted wording is ours.
# --------------------------------------------------------------------------

def describe_rules_by_arn(request: AwsRequest, forward: Forward,
                          arns: list[str]) -> tuple[Response, list[ET.Element]]:
    response = call(request, forward, "DescribeRules", members("RuleArns", arns))
    if response.status != 200:
        return response, []
    return response, parse(response).findall(q("DescribeRulesResult/Rules/member"))


def delete_rule_checks(request: AwsRequest, forward: Forward) -> Response:
    arn = request.form().get("RuleArn", "")
    found, rules = describe_rules_by_arn(request, forward, [arn])
    if found.status != 200:
        return found
    if any(text(rule, "IsDefault") == "true" for rule in rules):
        return error("OperationNotPermitted", f"Default rule '{arn}' cannot be deleted")
    return forward(request)


# --------------------------------------------------------------------------
# SetRulePriorities: rules can be reordered, conflicts judged on the result.
#
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_SetRulePriorities.html
#   "You can reorder the rules as long as there are no priority conflicts in
#   the new order. Any existing rules that you do not specify retain their
#   current priority."
#
# moto compares each new priority with the current ones, so a swap (A 10->20,
# B 20->10) is PriorityInUse, and so is giving a rule the priority it has.
# Here the new order is checked per listener: the named rules at their new
# priorities, the others at their current ones, no two alike, else
# PriorityInUse ("The specified priority is in use.", moto's wording and
# the error's documented description). A default rule's priority cannot be
# set (OperationNotPermitted; wording ours). The valid order is then applied
# through moto in two steps: the named rules first move to free priorities
# above every used one, then to their new ones, where nothing is in the way;
# the answer is moto's answer to the second step.
# --------------------------------------------------------------------------

PRIORITY_MIN, PRIORITY_MAX = 1, 50000


def priority_error(raw: str, where: str) -> Response | None:
    """AWS's ValidationError for a rule priority outside 1..50000, or None.

    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html
    and API_RulePriorityPair.html: Priority, "Valid Range: Minimum value of
    1. Maximum value of 50000." The wording is AWS's standard constraint
    message (as for PageSize above). A value that is not a number is left
    to moto.
    """
    try:
        priority = int(raw)
    except ValueError:
        return None
    if priority < PRIORITY_MIN:
        return error("ValidationError", f"1 validation error detected: Value '{priority}' at "
                     f"'{where}' failed to satisfy constraint: Member must have value "
                     f"greater than or equal to {PRIORITY_MIN}")
    if priority > PRIORITY_MAX:
        return error("ValidationError", f"1 validation error detected: Value '{priority}' at "
                     f"'{where}' failed to satisfy constraint: Member must have value "
                     f"less than or equal to {PRIORITY_MAX}")
    return None


def create_rule_priority_range(request: AwsRequest, forward: Forward) -> Response:
    """CreateRule: the priority must be 1..50000 (moto takes any number)."""
    refused = priority_error(request.form().get("Priority", ""), "priority")
    return refused or forward(request)


def set_rule_priorities(request: AwsRequest, forward: Forward) -> Response:
    wanted = form_structs(request.form(), "RulePriorities")
    if not wanted or any("RuleArn" not in w or "Priority" not in w for w in wanted):
        return forward(request)  # malformed: moto's validation answers
    arns = [w["RuleArn"] for w in wanted]
    if len(set(arns)) != len(arns):
        return forward(request)
    for i, w in enumerate(wanted, 1):
        refused = priority_error(w["Priority"], f"rulePriorities.{i}.member.priority")
        if refused is not None:
            return refused
        if not w["Priority"].isdigit():
            return forward(request)  # not a number: moto's validation answers
    found, rules = describe_rules_by_arn(request, forward, arns)
    if found.status != 200:
        return found
    if any(text(rule, "IsDefault") == "true" for rule in rules):
        return error("OperationNotPermitted", "The default rule's priority cannot be set")
    new_priority = {w["RuleArn"]: w["Priority"] for w in wanted}

    highest = 0
    for listener_arn in sorted({listener_of_rule(arn) for arn in arns}):
        first, current = fetch_all(request, forward, "DescribeRules", "Rules",
                                   {"ListenerArn": listener_arn})
        if first.status != 200:
            return first
        final: dict[str, str] = {}
        for rule in current:
            if text(rule, "IsDefault") == "true":
                continue
            arn = text(rule, "RuleArn") or ""
            priority = text(rule, "Priority") or ""
            if priority.isdigit():
                highest = max(highest, int(priority))
            final[arn] = new_priority.get(arn, priority)
        values = [int(p) if p.isdigit() else p for p in final.values()]
        if len(set(values)) != len(values):
            return error("PriorityInUse", "The specified priority is in use.")

    parking = {f"RulePriorities.member.{i}.RuleArn": arn for i, arn in enumerate(arns, 1)}
    parking.update({f"RulePriorities.member.{i}.Priority": str(highest + i)
                    for i in range(1, len(arns) + 1)})
    parked = call(request, forward, "SetRulePriorities", parking)
    if parked.status != 200:
        return parked
    return forward(request)


# --------------------------------------------------------------------------
# DescribeTags: the resources must exist.
#
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html
#   Errors: LoadBalancerNotFound, TargetGroupNotFound, ListenerNotFound,
#   RuleNotFound ("The specified rule does not exist.").
#
# moto describes the tags of any ARN, including rules and target groups
# deleted long ago (with their old tags). Here target-group and rule ARNs
# are looked up first; a missing one gets moto's own TargetGroupNotFound or
# RuleNotFound answer.
# --------------------------------------------------------------------------

def describe_tags_existence(request: AwsRequest, forward: Forward) -> Response:
    arns = form_list(request.form(), "ResourceArns")
    groups = [a for a in arns if ":targetgroup/" in a]
    rules = [a for a in arns if ":listener-rule/" in a]
    if groups:
        found = call(request, forward, "DescribeTargetGroups", members("TargetGroupArns", groups))
        if found.status != 200:
            return found
    if rules:
        found, _ = describe_rules_by_arn(request, forward, rules)
        if found.status != 200:
            return found
    return forward(request)


# --------------------------------------------------------------------------
# A target group is used by one load balancer only.
#
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
#   Target groups: "Load balancers per target group": 1.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html
#   each target group can be used with only one load balancer.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html
#   (and ModifyRule, CreateListener, ModifyListener): TargetGroupAssociationLimit,
#   "You've reached the limit on the number of load balancers per target
#   group." HTTP 400.
#
# moto lets any listener or rule of any load balancer forward to any target
# group. Here a CreateRule, ModifyRule, CreateListener or ModifyListener
# whose actions forward (``TargetGroupArn`` or ``ForwardConfig``) to a
# target group that a listener's default actions or a rule of ANOTHER load
# balancer already forward to is refused with TargetGroupAssociationLimit
# and the message AWS sends, as publicly quoted
# (hashicorp/terraform-provider-aws#22005): "The following target groups
# cannot be associated with more than one load balancer: ARN" (several
# ARNs: comma-separated, our guess). Associations are read through moto's
# API (DescribeLoadBalancers, DescribeListeners, DescribeRules) under the
# ELBv2 lock, so they are current. ``target_group_associations`` is also
# what the ECS check "target group has no load balancer" reads (ecs.py).
# --------------------------------------------------------------------------

_FORWARDED = re.compile(r"^(?:Default)?Actions\.member\.\d+\."
                        r"(?:TargetGroupArn|ForwardConfig\.TargetGroups\.member\.\d+\.TargetGroupArn)$")


def forwarded_target_groups(params: Mapping[str, str]) -> list[str]:
    """The target groups the (default) actions of a query request forward to, in order."""
    found: list[str] = []
    for key, value in params.items():
        if _FORWARDED.match(key) and value and value not in found:
            found.append(value)
    return found


def _action_target_groups(element: ET.Element) -> set[str]:
    return {e.text for e in element.iter(f"{{{NS}}}TargetGroupArn") if e.text}


def target_group_associations(request: AwsRequest, forward: Forward) -> dict[str, set[str]]:
    """Target group ARN -> the load balancers whose listeners or rules forward to it."""
    associations: dict[str, set[str]] = {}
    first, balancers = fetch_all(request, forward, "DescribeLoadBalancers", "LoadBalancers", {})
    if first.status != 200:
        return associations
    for balancer in balancers:
        lb_arn = text(balancer, "LoadBalancerArn")
        if not lb_arn:
            continue
        found, listeners = fetch_all(request, forward, "DescribeListeners", "Listeners",
                                     {"LoadBalancerArn": lb_arn})
        if found.status != 200:
            continue
        for listener in listeners:
            groups = set()
            defaults = listener.find(q("DefaultActions"))
            if defaults is not None:
                groups |= _action_target_groups(defaults)
            listener_arn = text(listener, "ListenerArn")
            if listener_arn:
                got, rules = fetch_all(request, forward, "DescribeRules", "Rules",
                                       {"ListenerArn": listener_arn})
                if got.status == 200:
                    for rule in rules:
                        actions = rule.find(q("Actions"))
                        if actions is not None:
                            groups |= _action_target_groups(actions)
            for group in groups:
                associations.setdefault(group, set()).add(lb_arn)
    return associations


def _load_balancer_of_request(operation: str, params: Mapping[str, str]) -> str | None:
    if operation == "CreateListener":
        return params.get("LoadBalancerArn") or None
    if operation in ("CreateRule", "ModifyListener"):
        arn = params.get("ListenerArn", "")
        return load_balancer_of(arn, "listener") if ":listener/" in arn else None
    if operation == "ModifyRule":
        arn = params.get("RuleArn", "")
        return load_balancer_of(arn, "listener-rule") if ":listener-rule/" in arn else None
    return None


def association_limit(request: AwsRequest, forward: Forward) -> Response:
    params = request.form()
    wanted = forwarded_target_groups(params)
    load_balancer = _load_balancer_of_request(request.operation, params)
    if not wanted or load_balancer is None:
        return forward(request)
    associations = target_group_associations(request, forward)
    taken = [group for group in wanted if associations.get(group, set()) - {load_balancer}]
    if taken:
        return error("TargetGroupAssociationLimit",
                     "The following target groups cannot be associated with more than one "
                     f"load balancer: {', '.join(taken)}")
    return forward(request)


ASSOCIATING_OPERATIONS = ("CreateRule", "ModifyRule", "CreateListener", "ModifyListener")


def register_association_limit(layer: Any) -> None:
    """One load balancer per target group (always on; see above).

    Kept apart for review: Ferry's Rust code (at the time of writing) puts
    one target group behind both the internal and the internet-facing
    load balancer, which AWS refuses and this check now refuses too.
    """
    for operation in ASSOCIATING_OPERATIONS:
        layer.register(SERVICE, operation, association_limit)


# -- DescribeTargetHealth: the ECS tasks' targets (targets.py) --------------------------
#
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetHealth.html
# answers one TargetHealthDescription per registered target (Target Id and
# Port, HealthCheckPort, TargetHealth State / Reason / Description), for the
# targets named in ``Targets`` or else all of them. moto answers the targets
# a client registered; the targets ECS registers for its tasks are added.

def describe_target_health(registry: Any, clock: Callable[[], float]
                           ) -> Callable[[AwsRequest, Forward], Response]:
    def handler(request: AwsRequest, forward: Forward) -> Response:
        params = request.form()
        group = params.get("TargetGroupArn", "")
        ours = registry.describe(group, clock())
        if not ours:
            return forward(request)
        named = form_structs(params, "Targets")
        mine = {t.ip for t, _ in ours}
        upstream = request
        if any(n.get("Id") in mine for n in named):  # moto would not know them
            upstream = request.with_form({k: v for k, v in params.items()
                                          if not k.startswith("Targets.")})
        response = forward(upstream)
        if response.status != 200:
            return response
        root = parse(response)
        descriptions = root.find(q("DescribeTargetHealthResult/TargetHealthDescriptions"))
        if descriptions is None:
            return response
        wanted = [(n.get("Id"), n.get("Port")) for n in named]
        if upstream is not request:  # keep only moto's targets that were asked for
            for member in list(descriptions):
                key = (text(member, "Target/Id"), text(member, "Target/Port"))
                if not any(key[0] == i and (p is None or key[1] == p) for i, p in wanted):
                    descriptions.remove(member)
        for target, (state, reason, description) in ours:
            if wanted and not any(target.ip == i and (p is None or str(target.port) == p)
                                  for i, p in wanted):
                continue
            member = ET.SubElement(descriptions, q("member"))
            t = ET.SubElement(member, q("Target"))
            ET.SubElement(t, q("Id")).text = target.ip
            ET.SubElement(t, q("Port")).text = str(target.port)
            ET.SubElement(member, q("HealthCheckPort")).text = str(target.port)
            health = ET.SubElement(member, q("TargetHealth"))
            ET.SubElement(health, q("State")).text = state
            if reason:
                ET.SubElement(health, q("Reason")).text = reason
            if description:
                ET.SubElement(health, q("Description")).text = description
        return xml_response(200, serialize_xml(root))

    return handler


def register(layer: Any) -> None:
    layer.register(SERVICE, "*", serialize)
    layer.register(SERVICE, "CreateRule", create_rule_priority_range)
    layer.register(SERVICE, "CreateRule", create_rule_quota(rule_quota()))
    register_association_limit(layer)
    layer.register(SERVICE, "CreateTargetGroup", create_target_group_idempotent)
    layer.register(SERVICE, "DescribeTargetGroups", describe_target_groups_pagination)
    layer.register(SERVICE, "DescribeRules", describe_rules_pagination)
    layer.register(SERVICE, "DeleteRule", delete_rule_checks)
    layer.register(SERVICE, "SetRulePriorities", set_rule_priorities)
    layer.register(SERVICE, "DescribeTags", describe_tags_existence)
