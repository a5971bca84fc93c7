"""CloudWatch's IAM authorizations (see authz.py): alarms.
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .authz_base import Ctx, Entry, entry, request_tags, resource_tags, _tag_dict
from .wire import AwsRequest, form_list, form_structs


def _alarm_arn(ctx: Ctx, name: str) -> str:
    return ctx.arn("cloudwatch", f"alarm:{name}")


def _cloudwatch_tags(p: Mapping[str, Any]) -> dict[str, str]:
    return _tag_dict(p.get("Tags"))


def cloudwatch_put_metric_alarm(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    arn = _alarm_arn(ctx, str(p.get("AlarmName") or ""))
    tags = _cloudwatch_tags(p)
    context: dict[str, Any] = {**request_tags(tags),
                               **resource_tags(ctx.state.alarm_tags(ctx.region, arn))}
    actions = [str(a) for key in ("AlarmActions", "OKActions", "InsufficientDataActions")
               for a in p.get(key) or []]
    if actions:
        context["cloudwatch:AlarmActions"] = actions
    out = [entry("cloudwatch:PutMetricAlarm", arn, context)]
    if tags:
        out.append(entry("cloudwatch:TagResource", arn,
                         {**request_tags(tags), **resource_tags(ctx.state.alarm_tags(ctx.region, arn))}))
    return out


def cloudwatch_on_alarms(action: str) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    """One entry per alarm of ``AlarmNames`` (DeleteAlarms)."""
    def authorize(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
        out = []
        for name in p.get("AlarmNames") or []:
            arn = _alarm_arn(ctx, str(name))
            out.append(entry(action, arn, resource_tags(ctx.state.alarm_tags(ctx.region, arn))))
        return out
    return authorize


def cloudwatch_describe_alarms(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    """On each named alarm; a prefix (or no filter) names none before the
    call, so it is authorized on every alarm of the account, ``alarm:*``
    (DescribeAlarms takes only the alarm resource type in the Service
    Authorization Reference; a policy must grant all alarms, stricter than
    AWS or equal)."""
    names = p.get("AlarmNames") or []
    if not names or p.get("AlarmNamePrefix") or p.get("ActionPrefix"):
        return [entry("cloudwatch:DescribeAlarms", _alarm_arn(ctx, "*"))]
    return cloudwatch_on_alarms("cloudwatch:DescribeAlarms")(ctx, p)


def cloudwatch_on_arn(action: str) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    def authorize(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
        arn = str(p.get("ResourceARN") or "")
        context: dict[str, Any] = resource_tags(ctx.state.alarm_tags(ctx.region, arn))
        if action == "cloudwatch:TagResource":
            context.update(request_tags(_cloudwatch_tags(p)))
        elif action == "cloudwatch:UntagResource":
            context["aws:TagKeys"] = sorted(str(k) for k in p.get("TagKeys") or [])
        return [entry(action, arn, context)]
    return authorize


CLOUDWATCH: dict[str, Callable[[Ctx, Any], list[Entry]]] = {
    "PutMetricAlarm": cloudwatch_put_metric_alarm,
    "DescribeAlarms": cloudwatch_describe_alarms,
    "DeleteAlarms": cloudwatch_on_alarms("cloudwatch:DeleteAlarms"),
    "SetAlarmState": lambda c, p: [entry("cloudwatch:SetAlarmState", _alarm_arn(c, str(p.get("AlarmName") or "")),
                                         resource_tags(c.state.alarm_tags(
                                             c.region, _alarm_arn(c, str(p.get("AlarmName") or "")))))],
    "ListTagsForResource": cloudwatch_on_arn("cloudwatch:ListTagsForResource"),
    "TagResource": cloudwatch_on_arn("cloudwatch:TagResource"),
    "UntagResource": cloudwatch_on_arn("cloudwatch:UntagResource"),
}


def cloudwatch_params(request: AwsRequest) -> dict[str, Any]:
    """A CloudWatch request's parameters, whichever of its protocols it
    came in: RPC v2 CBOR (today's SDKs), JSON 1.0 or query (older ones);
    query lists and structures are read into the shapes the others use."""
    if request.environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor":
        from .cloudwatch import decode_request

        return decode_request(request)
    if request.environ.get("HTTP_X_AMZ_TARGET"):
        return request.json()
    form = request.form()
    out: dict[str, Any] = dict(form)
    for key in ("AlarmNames", "AlarmActions", "OKActions", "InsufficientDataActions", "TagKeys"):
        if any(k.startswith(f"{key}.member.") for k in form):
            out[key] = form_list(dict(form), key)
    if any(k.startswith("Tags.member.") for k in form):
        out["Tags"] = form_structs(dict(form), "Tags")
    return out
