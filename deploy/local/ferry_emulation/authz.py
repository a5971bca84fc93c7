"""What AWS would authorize for each request: the IAM actions, the resource
of each, and its condition context, written into the request log.

The local AWS evaluates no IAM. Instead each line of the request log gets
an ``authz`` list, one entry per IAM action AWS authorizes for the request:

    {"action": "ecs:CreateService",
     "resource": "arn:aws:ecs:us-east-1:123456789012:service/ferry/web_web",
     "context": {"aws:RequestTag/ferry:managed-by": "ferry",
                 "aws:TagKeys": ["ferry:app", "ferry:managed-by"],
                 "ecs:cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/ferry"}}

and deploy/cloudformation/tests/test_replay.py evaluates every entry of the
controller's and the CLI's requests against the templates' policies
(``iam_eval.py``). A request this module cannot map gets
``"authz_unknown": "<why>"`` instead, which the replay reports as a failure,
never as allowed.

Sources, per service (the Service Authorization Reference lists each
action's resource types, the condition keys it supports, and its dependent
actions):

* ECS: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
  Tags on create are authorized as ``ecs:TagResource`` with
  ``ecs:CreateAction``: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html
  The roles of a task (task role, execution role) are passed to
  ``ecs-tasks.amazonaws.com``: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
  and https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
  (RunTask passes the task definition's roles, or the overrides' where
  given; EventBridge's and Scheduler's ECS targets document the same need
  of iam:PassRole for RunTask). ExecuteCommand: on the cluster and the
  task, with ``ecs:task`` and ``ecs:container-name``:
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html
  (its "Using IAM policies to limit access to ECS Exec" example). A
  capacity provider strategy adds no action or resource to CreateService,
  UpdateService or RunTask (the reference names no capacity-provider
  resource or condition key for them).
* ELBv2: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticloadbalancingv2.html
  Tags on create: ``elasticloadbalancing:AddTags`` with
  ``elasticloadbalancing:CreateAction``: https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/tagging-resources-during-creation.html
* Route53: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html
  and the record-level keys: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html
* DynamoDB: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
  ``dynamodb:LeadingKeys``: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
  Transactions are authorized item by item as PutItem, UpdateItem,
  DeleteItem, ConditionCheckItem (GetItem for TransactGetItems):
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
* EventBridge Scheduler: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html
  (Create/UpdateSchedule depend on iam:PassRole of the target's role, to
  scheduler.amazonaws.com; CreateScheduleGroup's tags on
  scheduler:TagResource).
* Application Auto Scaling: https://docs.aws.amazon.com/service-authorization/latest/reference/list_applicationautoscaling.html
  The first ECS target creates the service-linked role:
  https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html
  Target tracking checks the caller's own CloudWatch alarm permissions:
  https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_permission_validation.html
  and https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-auto-scaling.html#auto-scaling-IAM
* ECS service deployments (issue 23): ListServiceDeployments is
  authorized on the service, DescribeServiceDeployments,
  ContinueServiceDeployment and StopServiceDeployment on the service
  deployment (``service-deployment/<cluster>/<service>/<id>``), each with
  ``ecs:cluster`` and ``ecs:service``:
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment-permissions.html
  A load balancer's ``advancedConfiguration.roleArn`` (the infrastructure
  role of blue/green, canary and linear deployments) is passed to
  ``ecs.amazonaws.com`` by CreateService and UpdateService:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
* CloudWatch: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
  (alarms: ``alarm:<name>``; PutMetricAlarm's Tags are authorized as
  TagResource too, with ``aws:RequestTag``; DescribeAlarms by name prefix,
  or with no names, names no alarm and is authorized on ``"*"``).
* CloudWatch Logs: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
* SQS (the schedules' dead-letter queue): https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html
* STS GetCallerIdentity needs no permission:
  https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html

``aws:ResourceTag/<k>`` is read from the emulator's state when the request
arrives (before it executes): moto's ECS, ELBv2 and Scheduler backends, and
the tags the Application Auto Scaling layer keeps. A resource that does not
exist yet (the service CreateService makes, the target group
CreateTargetGroup makes) has no resource tags; where its ARN holds an id
AWS assigns on creation, the id is ``NEW`` (a literal, matched by a
policy's ``*`` like any id).

Simplifications, each stricter than AWS or equal: actions with no resource
type (or, like ListTasks, none Ferry could name) are authorized on ``"*"``; a multi-resource read (DescribeServices of
several services) is one entry per resource; the service-linked role of
Application Auto Scaling is asked for whenever no ECS scalable target
exists (AWS asks only the first time, ever, per account).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from .authz_base import (AUTOSCALING_ECS_ROLE, NEW, SCHEDULER, Ctx, Entry, MotoState, State,
                         Unknown, entry, pass_role, request_tags, resource_tags, unscoped, _tag_dict)
from .authz_cloudwatch import CLOUDWATCH, cloudwatch_params
from .authz_ecs import ECS
from .wire import AwsRequest, form_list, form_structs


# -- ELBv2 --------------------------------------------------------------------------------

def _elb_tags(form: Mapping[str, str]) -> dict[str, str]:
    return _tag_dict(form_structs(dict(form), "Tags"))


def _elb_tag_on_create(resource: str, tags: Mapping[str, str], create_action: str) -> list[Entry]:
    if not tags:
        return []
    return [entry("elasticloadbalancing:AddTags", resource,
                  {**request_tags(tags), "elasticloadbalancing:CreateAction": create_action})]


def elb_create_target_group(ctx: Ctx, form: Mapping[str, str]) -> list[Entry]:
    arn = ctx.arn("elasticloadbalancing", f"targetgroup/{form.get('Name', '')}/{NEW}")
    tags = _elb_tags(form)
    return ([entry("elasticloadbalancing:CreateTargetGroup", arn, request_tags(tags))]
            + _elb_tag_on_create(arn, tags, "CreateTargetGroup"))


def elb_create_rule(ctx: Ctx, form: Mapping[str, str]) -> list[Entry]:
    listener = form.get("ListenerArn", "")
    tags = _elb_tags(form)
    # The rule's ARN: listener-rule/app/<lb>/<lb id>/<listener id>/<rule id>.
    rule = listener.replace(":listener/", ":listener-rule/", 1) + f"/{NEW}"
    context = {**request_tags(tags), **resource_tags(ctx.state.elbv2_tags(ctx.region, listener))}
    return ([entry("elasticloadbalancing:CreateRule", listener, context)]
            + _elb_tag_on_create(rule, tags, "CreateRule"))


def elb_on(action: str, key: str) -> Callable[[Ctx, Mapping[str, str]], list[Entry]]:
    """An action on one existing resource, named by parameter ``key``."""
    def authorize(ctx: Ctx, form: Mapping[str, str]) -> list[Entry]:
        arn = form.get(key, "")
        return [entry(action, arn, resource_tags(ctx.state.elbv2_tags(ctx.region, arn)))]
    return authorize


def elb_add_tags(ctx: Ctx, form: Mapping[str, str]) -> list[Entry]:
    tags = _elb_tags(form)
    return [entry("elasticloadbalancing:AddTags", arn,
                  {**request_tags(tags), **resource_tags(ctx.state.elbv2_tags(ctx.region, arn))})
            for arn in form_list(dict(form), "ResourceArns")]


ELBV2: dict[str, Callable[[Ctx, Any], list[Entry]]] = {
    "CreateTargetGroup": elb_create_target_group,
    "CreateRule": elb_create_rule,
    "ModifyRule": elb_on("elasticloadbalancing:ModifyRule", "RuleArn"),
    "DeleteRule": elb_on("elasticloadbalancing:DeleteRule", "RuleArn"),
    "ModifyTargetGroup": elb_on("elasticloadbalancing:ModifyTargetGroup", "TargetGroupArn"),
    "ModifyTargetGroupAttributes": elb_on("elasticloadbalancing:ModifyTargetGroupAttributes",
                                          "TargetGroupArn"),
    "DeleteTargetGroup": elb_on("elasticloadbalancing:DeleteTargetGroup", "TargetGroupArn"),
    "AddTags": elb_add_tags,
    **{op: unscoped(f"elasticloadbalancing:{op}") for op in (
        "DescribeListeners", "DescribeLoadBalancers", "DescribeRules", "DescribeTags",
        "DescribeTargetGroups", "DescribeTargetGroupAttributes", "DescribeTargetHealth",
        "DescribeLoadBalancerAttributes", "DescribeListenerAttributes")},
}


# -- Route53 ------------------------------------------------------------------------------

def _zone_arn(ctx: Ctx) -> str:
    match = re.search(r"/hostedzone/([^/]+)", ctx.request.path)
    if not match:
        raise Unknown("no hosted zone in the path")
    return f"arn:aws:route53:::hostedzone/{unquote(match.group(1))}"


def normalized_record_name(name: str) -> str:
    """Route53's normalization for ``route53:ChangeResourceRecordSetsNormalizedRecordNames``:
    lowercase, without the trailing dot."""
    return name.lower().rstrip(".")


def route53_change(ctx: Ctx, _p: Any) -> list[Entry]:
    root = ET.fromstring(ctx.request.body or b"<x/>")
    actions, types, names = [], [], []
    for change in root.iter():
        if not change.tag.endswith("}Change") and change.tag != "Change":
            continue
        for child in change:
            local = child.tag.rsplit("}", 1)[-1]
            if local == "Action":
                actions.append((child.text or "").strip())
            elif local == "ResourceRecordSet":
                for field in child:
                    fl = field.tag.rsplit("}", 1)[-1]
                    if fl == "Type":
                        types.append((field.text or "").strip())
                    elif fl == "Name":
                        names.append(normalized_record_name((field.text or "").strip()))
    return [entry("route53:ChangeResourceRecordSets", _zone_arn(ctx), {
        "route53:ChangeResourceRecordSetsActions": actions,
        "route53:ChangeResourceRecordSetsRecordTypes": types,
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": names,
    })]


def route53_on_zone(action: str) -> Callable[[Ctx, Any], list[Entry]]:
    return lambda ctx, p: [entry(action, _zone_arn(ctx))]


def route53_get_change(ctx: Ctx, _p: Any) -> list[Entry]:
    change = ctx.request.path.rstrip("/").rsplit("/", 1)[-1]
    return [entry("route53:GetChange", f"arn:aws:route53:::change/{change}")]


ROUTE53: dict[str, Callable[[Ctx, Any], list[Entry]]] = {
    "ChangeResourceRecordSets": route53_change,
    "ListResourceRecordSets": route53_on_zone("route53:ListResourceRecordSets"),
    "GetHostedZone": route53_on_zone("route53:GetHostedZone"),
    "GetChange": route53_get_change,
    "ListHostedZones": unscoped("route53:ListHostedZones"),
    "ListHostedZonesByName": unscoped("route53:ListHostedZonesByName"),
}


# -- DynamoDB -----------------------------------------------------------------------------

def _table_arn(ctx: Ctx, table: str) -> str:
    return ctx.arn("dynamodb", f"table/{table}")


def _leading_key(ctx: Ctx, table: str, item: Any) -> list[str]:
    key = ctx.state.dynamodb_hash_key(ctx.region, table)
    if isinstance(item, Mapping) and isinstance(item.get(key), Mapping):
        value = item[key]
        for kind in ("S", "N", "B"):
            if kind in value:
                return [str(value[kind])]
    return []


def _query_leading_keys(ctx: Ctx, p: Mapping[str, Any]) -> list[str]:
    table = str(p.get("TableName") or "")
    key = ctx.state.dynamodb_hash_key(ctx.region, table)
    names = p.get("ExpressionAttributeNames") or {}
    values = p.get("ExpressionAttributeValues") or {}
    for name, placeholder in re.findall(r"(#?[\w.]+)\s*=\s*(:\w+)", str(p.get("KeyConditionExpression") or "")):
        if names.get(name, name) == key:
            value = values.get(placeholder) or {}
            for kind in ("S", "N", "B"):
                if kind in value:
                    return [str(value[kind])]
    for name, condition in (p.get("KeyConditions") or {}).items():
        if name == key:
            return [str(v.get("S", v.get("N", ""))) for v in condition.get("AttributeValueList") or []]
    return []


def dynamodb_item(action: str, field: str) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    def authorize(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
        table = str(p.get("TableName") or "")
        return [entry(action, _table_arn(ctx, table),
                      {"dynamodb:LeadingKeys": _leading_key(ctx, table, p.get(field))})]
    return authorize


def dynamodb_query(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    table = str(p.get("TableName") or "")
    return [entry("dynamodb:Query", _table_arn(ctx, table),
                  {"dynamodb:LeadingKeys": _query_leading_keys(ctx, p)})]


def dynamodb_batch_get(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    out = []
    for table, request in (p.get("RequestItems") or {}).items():
        keys = sorted({k for item in (request or {}).get("Keys") or [] for k in _leading_key(ctx, table, item)})
        out.append(entry("dynamodb:BatchGetItem", _table_arn(ctx, table), {"dynamodb:LeadingKeys": keys}))
    return out


_TRANSACT_WRITE = {"Put": ("dynamodb:PutItem", "Item"), "Update": ("dynamodb:UpdateItem", "Key"),
                   "Delete": ("dynamodb:DeleteItem", "Key"),
                   "ConditionCheck": ("dynamodb:ConditionCheckItem", "Key")}


def dynamodb_transact_write(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    out = []
    for item in p.get("TransactItems") or []:
        for kind, body in (item or {}).items():
            if kind not in _TRANSACT_WRITE:
                raise Unknown(f"TransactWriteItems item {kind}")
            action, field = _TRANSACT_WRITE[kind]
            table = str(body.get("TableName") or "")
            out.append(entry(action, _table_arn(ctx, table),
                             {"dynamodb:LeadingKeys": _leading_key(ctx, table, body.get(field))}))
    return out


def dynamodb_transact_get(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    out = []
    for item in p.get("TransactItems") or []:
        body = (item or {}).get("Get") or {}
        table = str(body.get("TableName") or "")
        out.append(entry("dynamodb:GetItem", _table_arn(ctx, table),
                         {"dynamodb:LeadingKeys": _leading_key(ctx, table, body.get("Key"))}))
    return out


def dynamodb_table(action: str) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    return lambda ctx, p: [entry(action, _table_arn(ctx, str(p.get("TableName") or "")))]


DYNAMODB: dict[str, Callable[[Ctx, Any], list[Entry]]] = {
    "GetItem": dynamodb_item("dynamodb:GetItem", "Key"),
    "PutItem": dynamodb_item("dynamodb:PutItem", "Item"),
    "UpdateItem": dynamodb_item("dynamodb:UpdateItem", "Key"),
    "DeleteItem": dynamodb_item("dynamodb:DeleteItem", "Key"),
    "Query": dynamodb_query,
    "BatchGetItem": dynamodb_batch_get,
    "TransactWriteItems": dynamodb_transact_write,
    "TransactGetItems": dynamodb_transact_get,
    "DescribeTable": dynamodb_table("dynamodb:DescribeTable"),
    "CreateTable": dynamodb_table("dynamodb:CreateTable"),
    "DescribeContinuousBackups": dynamodb_table("dynamodb:DescribeContinuousBackups"),
    "Scan": dynamodb_table("dynamodb:Scan"),
    "ListTables": unscoped("dynamodb:ListTables"),
}


# -- EventBridge Scheduler ----------------------------------------------------------------

def _path_name(ctx: Ctx) -> str:
    return unquote(ctx.request.path.rstrip("/").rsplit("/", 1)[-1])


def _query(ctx: Ctx) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(ctx.request.environ.get("QUERY_STRING", "")).items()}


def _schedule_arn(ctx: Ctx, group: str, name: str) -> str:
    return ctx.arn("scheduler", f"schedule/{group or 'default'}/{name}")


def scheduler_write(action: str) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    def authorize(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
        group = str(p.get("GroupName") or _query(ctx).get("groupName") or "default")
        out = [entry(action, _schedule_arn(ctx, group, _path_name(ctx)))]
        role = (p.get("Target") or {}).get("RoleArn") if isinstance(p.get("Target"), Mapping) else None
        if role:
            out.append(pass_role(str(role), SCHEDULER))
        return out
    return authorize


def scheduler_on_schedule(action: str) -> Callable[[Ctx, Any], list[Entry]]:
    def authorize(ctx: Ctx, _p: Any) -> list[Entry]:
        group = _query(ctx).get("groupName") or "default"
        return [entry(action, _schedule_arn(ctx, group, _path_name(ctx)))]
    return authorize


def scheduler_create_group(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    arn = ctx.arn("scheduler", f"schedule-group/{_path_name(ctx)}")
    tags = _tag_dict(p.get("Tags"))
    out = [entry("scheduler:CreateScheduleGroup", arn, request_tags(tags))]
    if tags:
        out.append(entry("scheduler:TagResource", arn, request_tags(tags)))
    return out


def scheduler_on_group(action: str) -> Callable[[Ctx, Any], list[Entry]]:
    def authorize(ctx: Ctx, _p: Any) -> list[Entry]:
        arn = ctx.arn("scheduler", f"schedule-group/{_path_name(ctx)}")
        return [entry(action, arn, resource_tags(ctx.state.scheduler_group_tags(ctx.region, arn)))]
    return authorize


def scheduler_tags(action: str) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    def authorize(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
        arn = unquote(ctx.request.path.split("/tags/", 1)[-1])
        context: dict[str, Any] = resource_tags(ctx.state.scheduler_group_tags(ctx.region, arn))
        if action == "scheduler:TagResource":
            context.update(request_tags(_tag_dict(p.get("Tags"))))
        elif action == "scheduler:UntagResource":
            context["aws:TagKeys"] = sorted(_query(ctx).get("TagKeys", "").split(",")) \
                if _query(ctx).get("TagKeys") else []
        return [entry(action, arn, context)]
    return authorize


SCHEDULER_OPS: dict[str, Callable[[Ctx, Any], list[Entry]]] = {
    "CreateSchedule": scheduler_write("scheduler:CreateSchedule"),
    "UpdateSchedule": scheduler_write("scheduler:UpdateSchedule"),
    "DeleteSchedule": scheduler_on_schedule("scheduler:DeleteSchedule"),
    "GetSchedule": scheduler_on_schedule("scheduler:GetSchedule"),
    "ListSchedules": unscoped("scheduler:ListSchedules"),
    "ListScheduleGroups": unscoped("scheduler:ListScheduleGroups"),
    "CreateScheduleGroup": scheduler_create_group,
    "GetScheduleGroup": scheduler_on_group("scheduler:GetScheduleGroup"),
    "DeleteScheduleGroup": scheduler_on_group("scheduler:DeleteScheduleGroup"),
    "ListTagsForResource": scheduler_tags("scheduler:ListTagsForResource"),
    "TagResource": scheduler_tags("scheduler:TagResource"),
    "UntagResource": scheduler_tags("scheduler:UntagResource"),
}


# -- Application Auto Scaling -------------------------------------------------------------

def _target(ctx: Ctx, p: Mapping[str, Any]) -> tuple[str, dict[str, Any], bool]:
    """(ARN, context, exists) of the scalable target a request names."""
    namespace = str(p.get("ServiceNamespace") or "")
    resource_id = str(p.get("ResourceId") or "")
    dimension = str(p.get("ScalableDimension") or "")
    found = ctx.state.scalable_target(ctx.region, namespace, resource_id, dimension)
    arn = found[0] if found else ctx.arn("application-autoscaling", f"scalable-target/{NEW}")
    context: dict[str, Any] = {"application-autoscaling:service-namespace": namespace,
                               "application-autoscaling:scalable-dimension": dimension,
                               **resource_tags(found[1] if found else None)}
    return arn, context, found is not None


def _alarms(ctx: Ctx, p: Mapping[str, Any], actions: tuple[str, ...]) -> list[Entry]:
    """The target-tracking alarms Application Auto Scaling manages for the
    caller, named ``TargetTracking-<resource id>-AlarmHigh|AlarmLow-<uuid>``."""
    resource_id = str(p.get("ResourceId") or "")
    return [entry(action, ctx.arn("cloudwatch", f"alarm:TargetTracking-{resource_id}-{kind}-{NEW}"))
            for action in actions for kind in ("AlarmHigh", "AlarmLow")]


def autoscaling_register(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    arn, context, exists = _target(ctx, p)
    tags = _tag_dict(p.get("Tags"))
    out = [entry("application-autoscaling:RegisterScalableTarget", arn, {**context, **request_tags(tags)})]
    if tags:
        # TagResource supports the tag keys only, not the namespace or dimension.
        out.append(entry("application-autoscaling:TagResource", arn, request_tags(tags)))
    if p.get("RoleARN"):
        # A role of the caller's own instead of the service-linked one.
        out.append(pass_role(str(p["RoleARN"]), "application-autoscaling.amazonaws.com"))
    if (not exists and p.get("ServiceNamespace") == "ecs"
            and not ctx.state.has_ecs_scalable_target(ctx.region)):
        out.append(entry("iam:CreateServiceLinkedRole", f"arn:aws:iam::{ctx.account}:{AUTOSCALING_ECS_ROLE}",
                         {"iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com"}))
    return out


def autoscaling_put_policy(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    arn, context, _ = _target(ctx, p)
    out = [entry("application-autoscaling:PutScalingPolicy", arn, context)]
    if p.get("PolicyType") == "TargetTrackingScaling":
        out += _alarms(ctx, p, ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms",
                                "cloudwatch:DeleteAlarms"))
    return out


def autoscaling_delete_policy(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    arn, context, _ = _target(ctx, p)
    return ([entry("application-autoscaling:DeleteScalingPolicy", arn, context)]
            + _alarms(ctx, p, ("cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms")))


def autoscaling_deregister(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    arn, context, _ = _target(ctx, p)
    return ([entry("application-autoscaling:DeregisterScalableTarget", arn, context)]
            + _alarms(ctx, p, ("cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms")))


def autoscaling_on_arn(action: str) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    def authorize(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
        arn = str(p.get("ResourceARN") or "")
        context: dict[str, Any] = {}
        if action == "application-autoscaling:TagResource":
            context.update(request_tags(_tag_dict(p.get("Tags"))))
        if action == "application-autoscaling:UntagResource":
            context["aws:TagKeys"] = sorted(p.get("TagKeys") or [])
        return [entry(action, arn, context)]
    return authorize


AUTOSCALING: dict[str, Callable[[Ctx, Any], list[Entry]]] = {
    "RegisterScalableTarget": autoscaling_register,
    "PutScalingPolicy": autoscaling_put_policy,
    "DeleteScalingPolicy": autoscaling_delete_policy,
    "DeregisterScalableTarget": autoscaling_deregister,
    "DescribeScalableTargets": unscoped("application-autoscaling:DescribeScalableTargets"),
    "DescribeScalingPolicies": unscoped("application-autoscaling:DescribeScalingPolicies"),
    "DescribeScalingActivities": unscoped("application-autoscaling:DescribeScalingActivities"),
    "ListTagsForResource": autoscaling_on_arn("application-autoscaling:ListTagsForResource"),
    "TagResource": autoscaling_on_arn("application-autoscaling:TagResource"),
    "UntagResource": autoscaling_on_arn("application-autoscaling:UntagResource"),
}


# -- SQS ----------------------------------------------------------------------------------

def _queue_arn(ctx: Ctx, p: Mapping[str, Any]) -> str:
    url = str(p.get("QueueUrl") or "")
    if url:
        # https://sqs.<region>.amazonaws.com/<account>/<name> (or the
        # emulator's http://host:port/<account>/<name>)
        account, name = url.rstrip("/").split("/")[-2:]
        return f"arn:aws:sqs:{ctx.region}:{account}:{name}"
    account = str(p.get("QueueOwnerAWSAccountId") or ctx.account)
    return f"arn:aws:sqs:{ctx.region}:{account}:{p.get('QueueName') or ''}"


def sqs_on_queue(action: str) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    def authorize(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
        arn = _queue_arn(ctx, p)
        return [entry(action, arn, resource_tags(ctx.state.sqs_tags(ctx.region, arn)))]
    return authorize


SQS: dict[str, Callable[[Ctx, Any], list[Entry]]] = {
    op: sqs_on_queue(f"sqs:{op}") for op in (
        "GetQueueUrl", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "SendMessage",
        "GetQueueAttributes", "ChangeMessageVisibility")
}


# -- CloudWatch Logs, STS -----------------------------------------------------------------

def logs_on_group(action: str) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    def authorize(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
        group = str(p.get("logGroupName") or p.get("logGroupIdentifier") or "")
        if group.startswith("arn:"):
            return [entry(action, group if group.endswith(":*") else group + ":*")]
        return [entry(action, ctx.arn("logs", f"log-group:{group}:*"))]
    return authorize


def logs_get_events(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    group = str(p.get("logGroupName") or p.get("logGroupIdentifier") or "")
    stream = str(p.get("logStreamName") or "")
    return [entry("logs:GetLogEvents", ctx.arn("logs", f"log-group:{group}:log-stream:{stream}"))]


LOGS: dict[str, Callable[[Ctx, Any], list[Entry]]] = {
    "FilterLogEvents": logs_on_group("logs:FilterLogEvents"),
    "DescribeLogStreams": logs_on_group("logs:DescribeLogStreams"),
    "GetLogEvents": logs_get_events,
}

STS: dict[str, Callable[[Ctx, Any], list[Entry]]] = {
    # "No permissions are required to perform this operation."
    "GetCallerIdentity": lambda ctx, p: [],
}

# service -> (how its parameters are read, operation -> entries)
SERVICES: dict[str, tuple[str, dict[str, Callable[[Ctx, Any], list[Entry]]]]] = {
    "ecs": ("json", ECS),
    "elbv2": ("form", ELBV2),
    "route53": ("rest", ROUTE53),
    "dynamodb": ("json", DYNAMODB),
    "scheduler": ("json", SCHEDULER_OPS),
    "application-autoscaling": ("json", AUTOSCALING),
    "logs": ("json", LOGS),
    "sts": ("form", STS),
    # JSON (X-Amz-Target AmazonSQS.*) from today's SDKs, the query protocol from older ones.
    "sqs": ("json-or-form", SQS),
    # CloudWatch signs as "monitoring"; RPC v2 CBOR, JSON 1.0 or query.
    "monitoring": ("cloudwatch", CLOUDWATCH),
}


def authorize(request: AwsRequest, state: State) -> list[Entry]:
    """Every IAM authorization AWS makes for ``request``; raises ``Unknown``
    for a request not mapped here."""
    known = SERVICES.get(request.service)
    if known is None:
        raise Unknown(f"no IAM mapping for service {request.service!r}")
    kind, operations = known
    handler = operations.get(request.operation)
    if handler is None:
        raise Unknown(f"no IAM mapping for {request.service}:{request.operation}")
    if kind == "json":
        params: Any = request.json()
        if request.service == "scheduler" and not request.body:
            params = {}
    elif kind == "form" or (kind == "json-or-form" and not request.environ.get("HTTP_X_AMZ_TARGET")):
        params = request.form()
    elif kind == "json-or-form":
        params = request.json()
    elif kind == "cloudwatch":
        params = cloudwatch_params(request)
    else:
        params = None
    return handler(Ctx(request, state), params)


def log_fields(request: AwsRequest, state: State) -> dict[str, Any]:
    """The request log's ``authz`` (or ``authz_unknown``) for one request."""
    try:
        return {"authz": authorize(request, state)}
    except Unknown as exc:
        return {"authz_unknown": str(exc)}
    except Exception as exc:  # a mapping bug must show in the log, never pass as allowed
        return {"authz_unknown": f"error computing authorization: {exc!r}"}


def register(layer: Any) -> None:
    """Make the layer's request log carry each request's authorization."""
    state = MotoState(getattr(layer, "autoscaling_tags", None),
                      getattr(layer, "ecs_service_task_tags", None))
    layer.authorizer = lambda request: log_fields(request, state)


__all__ = ["authorize", "log_fields", "register", "State", "MotoState", "Unknown", "NEW"]
