"""What a blue/green, canary or linear service needs from ELBv2, IAM and CloudWatch
(moto's backends): ECS's checks of ``advancedConfiguration``, the weights ECS
writes into the production and test rules, and the alarms it watches.

https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AdvancedConfiguration.html
  alternateTargetGroupArn, productionListenerRule ("The Amazon Resource
  Name (ARN) that identifies the production listener rule ... for
  routing production traffic"), testListenerRule, roleArn ("The Amazon
  Resource Name (ARN) that grants Amazon ECS permission to call the
  Elastic Load Balancing APIs for you").
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html
  (paraphrased) both target groups belong to the listener's load balancer;
  the listener rules forward (weighted) to the primary and alternate
  target groups; ECS moves the weights between them during the deployment.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
  the infrastructure role is assumed by ``ecs.amazonaws.com``. The layer
  is stricter than "the role exists": its trust policy must name that
  service principal.

Every function here reads moto's objects directly (the layer's own reads,
not logged), called under ``locks.ECS``; the ELBv2 ones take ``locks.ELBV2``
(the documented order ECS -> ELBV2), so no ELBv2 request runs in between.
IAM and CloudWatch are read without a lock (no layer lock guards them).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import locks
from .ecs_strategies import ROLLING


def _region_account(arn: str) -> tuple[str, str] | None:
    parts = arn.split(":", 5)
    return (parts[3], parts[4]) if len(parts) == 6 else None


def _elbv2(arn: str) -> Any:
    from moto.elbv2.models import elbv2_backends

    found = _region_account(arn)
    try:
        return elbv2_backends[found[1]][found[0]] if found else None
    except Exception:  # noqa: BLE001 - anything moto raises means "not there"
        return None


def moto_rule(arn: str) -> Any:
    """moto's listener rule for an ARN, or None."""
    backend = _elbv2(arn)
    if backend is None:
        return None
    for balancer in list(backend.load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            rule = listener.rules.get(arn)
            if rule is not None:
                return rule
    return None


def _forward_groups(rule: Any) -> list[dict[str, Any]] | None:
    """The rule's forward entries (``{TargetGroupArn, Weight}``), or None unless the
    rule's only action is a forward."""
    actions = list(getattr(rule, "actions", None) or [])
    if len(actions) != 1 or getattr(actions[0], "type", None) != "forward":
        return None
    data = actions[0].data
    forward = data.get("ForwardConfig")
    if isinstance(forward, dict) and isinstance(forward.get("TargetGroups"), list):
        return forward["TargetGroups"]
    if data.get("TargetGroupArn"):  # the short form: one group
        data["ForwardConfig"] = {"TargetGroups": [{"TargetGroupArn": data["TargetGroupArn"],
                                                   "Weight": 1}],
                                 "TargetGroupStickinessConfig": {"Enabled": False}}
        return data["ForwardConfig"]["TargetGroups"]
    return None


def _balancer_of_listener(listener_arn: str) -> str:
    # arn:...:listener/app/NAME/LB-ID/LISTENER-ID -> arn:...:loadbalancer/app/NAME/LB-ID
    head, _, tail = listener_arn.partition(":listener/")
    return f"{head}:loadbalancer/{tail.rsplit('/', 1)[0]}"


def _group_balancers(arn: str) -> list[str] | None:
    backend = _elbv2(arn)
    group = backend.target_groups.get(arn) if backend is not None else None
    return None if group is None else list(getattr(group, "load_balancer_arns", []) or [])


def _role_trusts_ecs(arn: str) -> bool | None:
    """True/False: the role exists and does/does not trust ecs.amazonaws.com; None: no role."""
    from moto.iam.models import iam_backends

    found = _region_account(arn)
    try:
        role = iam_backends[found[1]]["global"].get_role_by_arn(arn) if found else None
    except Exception:  # noqa: BLE001 - moto's IAMNotFoundException
        return None
    if role is None:
        return None
    document = role.assume_role_policy_document
    try:
        policy = json.loads(urllib.parse.unquote(document) if isinstance(document, str) else "{}")
    except ValueError:
        return False
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        service = (statement.get("Principal") or {}).get("Service")
        services = service if isinstance(service, list) else [service]
        if "ecs.amazonaws.com" in services:
            return True
    return False


@dataclass(frozen=True)
class Pair:
    """One load balancer entry's pair: the target groups and the rules."""

    primary: str
    alternate: str
    production_rule: str
    test_rule: str


def pairs(load_balancers: list[Any]) -> list[Pair]:
    out = []
    for entry in load_balancers:
        advanced = entry.get("advancedConfiguration") if isinstance(entry, dict) else None
        if isinstance(advanced, dict) and entry.get("targetGroupArn"):
            out.append(Pair(entry["targetGroupArn"], str(advanced.get("alternateTargetGroupArn")),
                            str(advanced.get("productionListenerRule")),
                            str(advanced.get("testListenerRule") or "")))
    return out


def refusal(kind: str, load_balancers: list[Any]) -> str | None:
    """ECS's InvalidParameterException message for what moto's ELBv2 and IAM say about
    the entries' ``advancedConfiguration``, or None (checked after
    ``ecs_strategies.missing_advanced_configuration``)."""
    if kind == ROLLING:
        return None
    with locks.ELBV2:
        return _refusal(load_balancers)


def _refusal(load_balancers: list[Any]) -> str | None:
    for entry in load_balancers:
        advanced = entry.get("advancedConfiguration") if isinstance(entry, dict) else None
        if not isinstance(advanced, dict):
            continue
        role = str(advanced.get("roleArn"))
        trusted = _role_trusts_ecs(role)
        if trusted is None:
            return f"The role {role} does not exist."
        if not trusted:
            return f"The role {role} cannot be assumed by ecs.amazonaws.com."
        pair = pairs([entry])[0]
        for rule_arn in (pair.production_rule, pair.test_rule):
            rule = moto_rule(rule_arn)
            if rule is None:
                return f"The listener rule {rule_arn} does not exist."
            groups = _forward_groups(rule)
            if groups is None:
                return f"The listener rule {rule_arn} must have a single forward action."
            named = {g.get("TargetGroupArn") for g in groups}
            if not named or not named <= {pair.primary, pair.alternate}:
                return (f"The listener rule {rule_arn} must forward to the target group "
                        f"{pair.primary} and/or the alternate target group {pair.alternate}.")
            balancer = _balancer_of_listener(rule.listener_arn)
            for group in (pair.primary, pair.alternate):
                on = _group_balancers(group)
                if on is None:
                    return f"The target group {group} does not exist."
                if on and balancer not in on:
                    return (f"The target group {group} is not associated with the load "
                            f"balancer of the listener rule {rule_arn}.")
    return None


def rule_weights(rule_arn: str) -> dict[str, int] | None:
    """The forward weights of a rule (target group ARN -> weight), or None."""
    with locks.ELBV2:
        rule = moto_rule(rule_arn)
        groups = _forward_groups(rule) if rule is not None else None
        if groups is None:
            return None
        return {str(g.get("TargetGroupArn")): int(g.get("Weight", 1)) for g in groups}


def write_weights(rule_arn: str, weights: Mapping[str, int]) -> None:
    """Set the rule's forward to exactly these groups and weights (what ECS does: the
    rule forwards to both groups, their weights moved), if the rule is still there."""
    with locks.ELBV2:
        rule = moto_rule(rule_arn)
        groups = _forward_groups(rule) if rule is not None else None
        if groups is not None:
            groups[:] = [{"TargetGroupArn": group, "Weight": int(weight)}
                         for group, weight in weights.items()]


def alarms_in_alarm(names: tuple[str, ...], service_arn: str) -> tuple[str, ...]:
    """The named CloudWatch alarms (the service's account and region) in state ALARM."""
    from moto.cloudwatch.models import cloudwatch_backends

    found = _region_account(service_arn)
    if not names or found is None:
        return ()
    try:
        alarms = cloudwatch_backends[found[1]][found[0]].alarms
    except Exception:  # noqa: BLE001 - no backend: no alarms
        return ()
    return tuple(n for n in names if getattr(alarms.get(n), "state_value", None) == "ALARM")
