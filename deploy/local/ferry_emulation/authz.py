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

from .wire import AwsRequest, form_list, form_structs

Entry = dict[str, Any]
NEW = "NEW"

ECS_TASKS = "ecs-tasks.amazonaws.com"
ECS_SERVICE = "ecs.amazonaws.com"
SCHEDULER = "scheduler.amazonaws.com"
AUTOSCALING_ECS_ROLE = ("role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
                        "AWSServiceRoleForApplicationAutoScaling_ECSService")


class Unknown(Exception):
    """A request whose authorization this module does not know."""


# -- state: what exists when the request arrives --------------------------------------

class State:
    """Lookups into the emulator's state. The base class knows nothing
    (every resource is absent); ``MotoState`` reads moto's backends."""

    account = "123456789012"

    def ecs_tags(self, region: str, arn: str) -> dict[str, str] | None:
        return None

    def task_definition(self, region: str, ref: str) -> dict[str, Any] | None:
        """``{"arn", "family", "revision", "taskRoleArn", "executionRoleArn", "tags"}``
        of a family, family:revision or ARN (the latest ACTIVE revision of a
        family), or None."""
        return None

    def next_revision(self, region: str, family: str) -> int:
        return 1

    def elbv2_tags(self, region: str, arn: str) -> dict[str, str] | None:
        return None

    def scheduler_group_tags(self, region: str, arn: str) -> dict[str, str] | None:
        return None

    def scalable_target(self, region: str, namespace: str, resource_id: str,
                        dimension: str) -> tuple[str, dict[str, str] | None] | None:
        """(ARN, tags) of a registered scalable target, or None."""
        return None

    def has_ecs_scalable_target(self, region: str) -> bool:
        return False

    def scaling_policy_type(self, region: str, namespace: str, resource_id: str,
                            dimension: str, name: str) -> str | None:
        return None

    def dynamodb_hash_key(self, region: str, table: str) -> str:
        return "pk"

    def sqs_tags(self, region: str, arn: str) -> dict[str, str] | None:
        return None

    def alarm_tags(self, region: str, arn: str) -> dict[str, str] | None:
        return None


def _tag_dict(tags: Any) -> dict[str, str]:
    """ECS's ``[{"key","value"}]``, ELBv2's ``[{"Key","Value"}]`` or a plain map."""
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    out = {}
    for tag in tags or []:
        if isinstance(tag, Mapping):
            key = tag.get("key", tag.get("Key"))
            value = tag.get("value", tag.get("Value", ""))
            if key is not None:
                out[str(key)] = str(value)
    return out


class MotoState(State):
    """The emulator's own state: moto's backends, and the tags the
    Application Auto Scaling layer keeps (``autoscaling.Tags``)."""

    def __init__(self, autoscaling_tags: Any = None, service_task_tags: Any = None):
        """``service_task_tags(arn)``: the tags of a service's task, which only
        the layer's ECS model knows (``deployments``), or None."""
        from moto.core import DEFAULT_ACCOUNT_ID

        self.account = DEFAULT_ACCOUNT_ID
        self._autoscaling_tags = autoscaling_tags
        self._service_task_tags = service_task_tags

    def _ecs(self, region: str) -> Any:
        from moto.ecs.models import ecs_backends

        return ecs_backends[self.account][region]

    def ecs_tags(self, region: str, arn: str) -> dict[str, str] | None:
        backend = self._ecs(region)
        resource = arn.split(":", 5)[-1]
        kind, _, rest = resource.partition("/")
        if kind == "service":
            cluster, _, name = rest.rpartition("/")
            service = backend.services.get(f"{cluster}:{name}")
            return None if service is None else _tag_dict(service.tags)
        if kind == "cluster":
            cluster = backend.clusters.get(rest)
            return None if cluster is None else _tag_dict(cluster.tags)
        if kind == "task":
            # moto keys a cluster's tasks by ARN, long (task/<cluster>/<id>)
            # or short (task/<id>) as its setting says.
            cluster, _, task_id = rest.rpartition("/")
            tasks = backend.tasks.get(cluster) or {}
            task = tasks.get(arn) or tasks.get(arn.replace(f"task/{cluster}/", "task/", 1))
            if task is None and self._service_task_tags is not None:
                return self._service_task_tags(arn)
            return None if task is None else _tag_dict(task.tags)
        if kind == "task-definition":
            found = self.task_definition(region, arn)
            return None if found is None else found["tags"]
        return None

    def task_definition(self, region: str, ref: str) -> dict[str, Any] | None:
        backend = self._ecs(region)
        name = ref.split(":", 5)[-1].removeprefix("task-definition/") if ref.startswith("arn:") else ref
        family, _, revision = name.partition(":")
        revisions = backend.task_definitions.get(family) or {}
        if revision:
            definition = revisions.get(int(revision)) if revision.isdigit() else None
        else:
            # Copies: other requests change moto's dicts while this one is read.
            active = [d for d in list(revisions.values()) if getattr(d, "status", "ACTIVE") == "ACTIVE"]
            definition = max(active, key=lambda d: d.revision) if active else None
        if definition is None:
            return None
        return {"arn": definition.arn, "family": definition.family, "revision": definition.revision,
                "taskRoleArn": getattr(definition, "task_role_arn", None),
                "executionRoleArn": getattr(definition, "execution_role_arn", None),
                "tags": _tag_dict(definition.tags)}

    def next_revision(self, region: str, family: str) -> int:
        revisions = self._ecs(region).task_definitions.get(family) or {}
        return max(list(revisions), default=0) + 1

    def elbv2_tags(self, region: str, arn: str) -> dict[str, str] | None:
        from moto.elbv2.models import elbv2_backends

        backend = elbv2_backends[self.account][region]
        exists = arn in backend.target_groups or any(
            listener.arn == arn or any(rule.arn == arn for rule in list(listener.rules.values()))
            for lb in list(backend.load_balancers.values())
            for listener in list(lb.listeners.values()))
        if not exists:
            return None
        return dict(backend.tagging_service.get_tag_dict_for_resource(arn))

    def scheduler_group_tags(self, region: str, arn: str) -> dict[str, str] | None:
        from moto.scheduler.models import scheduler_backends

        backend = scheduler_backends[self.account][region]
        name = arn.rsplit("/", 1)[-1]
        if name not in backend.schedule_groups:
            return None
        return dict(backend.tagger.get_tag_dict_for_resource(arn))

    def _autoscaling(self, region: str) -> Any:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        return applicationautoscaling_backends[self.account][region]

    def scalable_target(self, region: str, namespace: str, resource_id: str,
                        dimension: str) -> tuple[str, dict[str, str] | None] | None:
        target = (self._autoscaling(region).targets.get(dimension) or {}).get(resource_id)
        if target is None or target.service_namespace != namespace:
            return None
        tags = self._autoscaling_tags.get(target.arn) if self._autoscaling_tags else None
        return target.arn, tags

    def has_ecs_scalable_target(self, region: str) -> bool:
        backend = self._autoscaling(region)
        return any(t.service_namespace == "ecs"
                   for targets in list(backend.targets.values()) for t in list(targets.values()))

    def scaling_policy_type(self, region: str, namespace: str, resource_id: str,
                            dimension: str, name: str) -> str | None:
        from moto.applicationautoscaling.models import FakeApplicationAutoscalingPolicy

        key = FakeApplicationAutoscalingPolicy.formulate_key(namespace, resource_id, dimension, name)
        policy = self._autoscaling(region).policies.get(key)
        return None if policy is None else policy.policy_type

    def sqs_tags(self, region: str, arn: str) -> dict[str, str] | None:
        from moto.sqs.models import sqs_backends

        account, name = arn.split(":")[4:6]
        queue = sqs_backends[account][region].queues.get(name)
        return None if queue is None else dict(getattr(queue, "tags", None) or {})

    def alarm_tags(self, region: str, arn: str) -> dict[str, str] | None:
        from moto.cloudwatch.models import cloudwatch_backends

        backend = cloudwatch_backends[self.account][region]
        if arn.rsplit(":alarm:", 1)[-1] not in backend.alarms:
            return None
        return dict(backend.tagger.get_tag_dict_for_resource(arn))

    def dynamodb_hash_key(self, region: str, table: str) -> str:
        from moto.dynamodb.models import dynamodb_backends

        found = dynamodb_backends[self.account][region].tables.get(table)
        return getattr(found, "hash_key_attr", None) or "pk"


# -- helpers ------------------------------------------------------------------------------

class Ctx:
    """One request, with its region and account."""

    def __init__(self, request: AwsRequest, state: State):
        self.request = request
        self.state = state
        self.region = request.region or "us-east-1"
        self.account = state.account

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (f"arn:aws:{service}:{self.region if region else ''}:"
                f"{self.account if account else ''}:{resource}")


def entry(action: str, resource: str, context: Mapping[str, Any] | None = None) -> Entry:
    return {"action": action, "resource": resource, "context": dict(context or {})}


def request_tags(tags: Mapping[str, str]) -> dict[str, Any]:
    """``aws:RequestTag/<k>`` for each tag, and ``aws:TagKeys``."""
    out: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    out["aws:TagKeys"] = sorted(tags)
    return out


def resource_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    return {f"aws:ResourceTag/{k}": v for k, v in (tags or {}).items()}


def pass_role(role_arn: str, service: str) -> Entry:
    return entry("iam:PassRole", role_arn, {"iam:PassedToService": service})


# -- ECS ----------------------------------------------------------------------------------

def _ecs_cluster(ctx: Ctx, value: Any) -> tuple[str, str]:
    """(name, ARN) of a cluster parameter (name or ARN; ECS's default is "default")."""
    value = str(value or "default")
    name = value.rsplit("/", 1)[-1] if value.startswith("arn:") else value
    return name, ctx.arn("ecs", f"cluster/{name}")


def _ecs_service_arn(ctx: Ctx, cluster: str, service: str) -> str:
    if service.startswith("arn:"):
        parts = service.split(":", 5)[-1].split("/")
        # service/<cluster>/<name>, or the old service/<name>
        service = parts[-1]
    return ctx.arn("ecs", f"service/{cluster}/{service}")


def _ecs_task_arn(ctx: Ctx, cluster: str, task: str) -> str:
    if task.startswith("arn:"):
        task = task.rsplit("/", 1)[-1]
    return ctx.arn("ecs", f"task/{cluster}/{task}")


def _ecs_tags(params: Mapping[str, Any]) -> dict[str, str]:
    return _tag_dict(params.get("tags"))


def _tag_on_create(ctx: Ctx, resource: str, tags: Mapping[str, str], create_action: str) -> list[Entry]:
    if not tags:
        return []
    return [entry("ecs:TagResource", resource, {**request_tags(tags), "ecs:CreateAction": create_action})]


def ecs_create_service(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    cluster, cluster_arn = _ecs_cluster(ctx, p.get("cluster"))
    arn = _ecs_service_arn(ctx, cluster, str(p.get("serviceName") or ""))
    tags = _ecs_tags(p)
    context: dict[str, Any] = {"ecs:cluster": cluster_arn, **request_tags(tags)}
    if p.get("taskDefinition"):
        found = ctx.state.task_definition(ctx.region, str(p["taskDefinition"]))
        context["ecs:task-definition"] = found["arn"] if found else _td_arn(ctx, str(p["taskDefinition"]))
    out = [entry("ecs:CreateService", arn, context)]
    out += _tag_on_create(ctx, arn, tags, "CreateService")
    if p.get("role"):
        out.append(pass_role(_role_arn(ctx, str(p["role"])), ECS_SERVICE))
    return out + _pass_load_balancer_roles(ctx, p)


def _pass_load_balancer_roles(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    """One iam:PassRole per distinct ``loadBalancers[].advancedConfiguration.roleArn``
    (the infrastructure role ECS shifts traffic with), to ECS."""
    roles: list[str] = []
    for balancer in p.get("loadBalancers") or []:
        advanced = balancer.get("advancedConfiguration") if isinstance(balancer, Mapping) else None
        role = advanced.get("roleArn") if isinstance(advanced, Mapping) else None
        if role and _role_arn(ctx, str(role)) not in roles:
            roles.append(_role_arn(ctx, str(role)))
    return [pass_role(role, ECS_SERVICE) for role in roles]


def _td_arn(ctx: Ctx, ref: str) -> str:
    return ref if ref.startswith("arn:") else ctx.arn("ecs", f"task-definition/{ref}")


def _role_arn(ctx: Ctx, role: str) -> str:
    return role if role.startswith("arn:") else f"arn:aws:iam::{ctx.account}:role/{role}"


def _existing_service(ctx: Ctx, p: Mapping[str, Any], action: str, service_key: str) -> list[Entry]:
    cluster, cluster_arn = _ecs_cluster(ctx, p.get("cluster"))
    arn = _ecs_service_arn(ctx, cluster, str(p.get(service_key) or ""))
    context: dict[str, Any] = {"ecs:cluster": cluster_arn,
                               **resource_tags(ctx.state.ecs_tags(ctx.region, arn))}
    if action == "ecs:UpdateService" and p.get("taskDefinition"):
        found = ctx.state.task_definition(ctx.region, str(p["taskDefinition"]))
        context["ecs:task-definition"] = found["arn"] if found else _td_arn(ctx, str(p["taskDefinition"]))
    out = [entry(action, arn, context)]
    if action == "ecs:UpdateService":
        out += _pass_load_balancer_roles(ctx, p)
    return out


def _service_deployment(ctx: Ctx, deployment_arn: str) -> tuple[str, dict[str, Any]]:
    """(ARN, context) of a service deployment
    ``arn:aws:ecs:<region>:<account>:service-deployment/<cluster>/<service>/<id>``:
    ``ecs:cluster`` and ``ecs:service`` are read off the ARN."""
    resource = deployment_arn.split(":", 5)[-1]
    kind, _, rest = resource.partition("/")
    parts = rest.split("/")
    if kind != "service-deployment" or len(parts) != 3 or not all(parts):
        raise Unknown(f"not a service deployment ARN: {deployment_arn!r}")
    cluster, service, _ = parts
    return deployment_arn, {"ecs:cluster": ctx.arn("ecs", f"cluster/{cluster}"),
                            "ecs:service": ctx.arn("ecs", f"service/{cluster}/{service}")}


def ecs_on_service_deployment(action: str) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    def authorize(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
        arn, context = _service_deployment(ctx, str(p.get("serviceDeploymentArn") or ""))
        return [entry(action, arn, context)]
    return authorize


def ecs_describe_service_deployments(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    out = []
    for deployment in p.get("serviceDeploymentArns") or []:
        arn, context = _service_deployment(ctx, str(deployment))
        out.append(entry("ecs:DescribeServiceDeployments", arn, context))
    return out


def ecs_list_service_deployments(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    cluster, cluster_arn = _ecs_cluster(ctx, p.get("cluster"))
    arn = _ecs_service_arn(ctx, cluster, str(p.get("service") or ""))
    return [entry("ecs:ListServiceDeployments", arn,
                  {"ecs:cluster": cluster_arn, **resource_tags(ctx.state.ecs_tags(ctx.region, arn))})]


def ecs_describe_services(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    cluster, cluster_arn = _ecs_cluster(ctx, p.get("cluster"))
    out = []
    for service in p.get("services") or []:
        arn = _ecs_service_arn(ctx, cluster, str(service))
        out.append(entry("ecs:DescribeServices", arn,
                         {"ecs:cluster": cluster_arn, **resource_tags(ctx.state.ecs_tags(ctx.region, arn))}))
    return out


def ecs_describe_clusters(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    out = []
    for cluster in p.get("clusters") or ["default"]:
        _, arn = _ecs_cluster(ctx, cluster)
        out.append(entry("ecs:DescribeClusters", arn, resource_tags(ctx.state.ecs_tags(ctx.region, arn))))
    return out


def ecs_register_task_definition(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    family = str(p.get("family") or "")
    tags = _ecs_tags(p)
    # On the revision it creates (the reference lists the task-definition
    # resource type for it), which has no tags yet.
    arn = ctx.arn("ecs", f"task-definition/{family}:{ctx.state.next_revision(ctx.region, family)}")
    out = [entry("ecs:RegisterTaskDefinition", arn, request_tags(tags))]
    out += _tag_on_create(ctx, arn, tags, "RegisterTaskDefinition")
    for key in ("taskRoleArn", "executionRoleArn"):
        if p.get(key):
            out.append(pass_role(_role_arn(ctx, str(p[key])), ECS_TASKS))
    return out


def ecs_run_task(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    cluster, cluster_arn = _ecs_cluster(ctx, p.get("cluster"))
    ref = str(p.get("taskDefinition") or "")
    found = ctx.state.task_definition(ctx.region, ref)
    arn = found["arn"] if found else _td_arn(ctx, ref)
    tags = _ecs_tags(p)
    context: dict[str, Any] = {"ecs:cluster": cluster_arn, **request_tags(tags),
                               **resource_tags(found["tags"] if found else None)}
    out = [entry("ecs:RunTask", arn, context)]
    out += _tag_on_create(ctx, ctx.arn("ecs", f"task/{cluster}/{NEW}"), tags, "RunTask")
    overrides = p.get("overrides") if isinstance(p.get("overrides"), Mapping) else {}
    for key in ("taskRoleArn", "executionRoleArn"):
        role = overrides.get(key) or (found or {}).get(key)
        if role:
            out.append(pass_role(_role_arn(ctx, str(role)), ECS_TASKS))
    return out


def ecs_stop_task(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    cluster, cluster_arn = _ecs_cluster(ctx, p.get("cluster"))
    arn = _ecs_task_arn(ctx, cluster, str(p.get("task") or ""))
    return [entry("ecs:StopTask", arn,
                  {"ecs:cluster": cluster_arn, **resource_tags(ctx.state.ecs_tags(ctx.region, arn))})]


def ecs_describe_tasks(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    cluster, cluster_arn = _ecs_cluster(ctx, p.get("cluster"))
    out = []
    for task in p.get("tasks") or []:
        arn = _ecs_task_arn(ctx, cluster, str(task))
        out.append(entry("ecs:DescribeTasks", arn,
                         {"ecs:cluster": cluster_arn, **resource_tags(ctx.state.ecs_tags(ctx.region, arn))}))
    return out


def ecs_execute_command(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    """On the cluster and on the task (the reference lists both resource types for
    ecs:ExecuteCommand, with the keys ecs:cluster, ecs:task, ecs:container-name
    and aws:ResourceTag; the ecs-exec guide's example policy names both ARNs)."""
    cluster, cluster_arn = _ecs_cluster(ctx, p.get("cluster"))
    task_arn = _ecs_task_arn(ctx, cluster, str(p.get("task") or ""))
    context: dict[str, Any] = {"ecs:cluster": cluster_arn, "ecs:task": task_arn}
    if p.get("container"):
        context["ecs:container-name"] = str(p["container"])
    return [entry("ecs:ExecuteCommand", cluster_arn,
                  {**context, **resource_tags(ctx.state.ecs_tags(ctx.region, cluster_arn))}),
            entry("ecs:ExecuteCommand", task_arn,
                  {**context, **resource_tags(ctx.state.ecs_tags(ctx.region, task_arn))})]


def ecs_cluster_scoped(action: str) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    """A read with no resource type but the ``ecs:cluster`` key."""
    def authorize(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
        _, cluster_arn = _ecs_cluster(ctx, p.get("cluster"))
        return [entry(action, "*", {"ecs:cluster": cluster_arn})]
    return authorize


def unscoped(action: str) -> Callable[[Ctx, Any], list[Entry]]:
    """An action with no resource type and no condition key we use."""
    return lambda ctx, p: [entry(action, "*")]


def ecs_tag_resource(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    arn = str(p.get("resourceArn") or "")
    tags = _ecs_tags(p)
    return [entry("ecs:TagResource", arn,
                  {**request_tags(tags), **resource_tags(ctx.state.ecs_tags(ctx.region, arn))})]


ECS: dict[str, Callable[[Ctx, Any], list[Entry]]] = {
    "CreateService": ecs_create_service,
    "UpdateService": lambda c, p: _existing_service(c, p, "ecs:UpdateService", "service"),
    "DeleteService": lambda c, p: _existing_service(c, p, "ecs:DeleteService", "service"),
    "DescribeServices": ecs_describe_services,
    "DescribeClusters": ecs_describe_clusters,
    "RegisterTaskDefinition": ecs_register_task_definition,
    "DeregisterTaskDefinition": unscoped("ecs:DeregisterTaskDefinition"),
    "DescribeTaskDefinition": unscoped("ecs:DescribeTaskDefinition"),
    "ListTaskDefinitions": unscoped("ecs:ListTaskDefinitions"),
    "ListTaskDefinitionFamilies": unscoped("ecs:ListTaskDefinitionFamilies"),
    "ListServices": ecs_cluster_scoped("ecs:ListServices"),
    "ListTasks": ecs_cluster_scoped("ecs:ListTasks"),
    "RunTask": ecs_run_task,
    "StopTask": ecs_stop_task,
    "DescribeTasks": ecs_describe_tasks,
    "ExecuteCommand": ecs_execute_command,
    "TagResource": ecs_tag_resource,
    "ListServiceDeployments": ecs_list_service_deployments,
    "DescribeServiceDeployments": ecs_describe_service_deployments,
    "ContinueServiceDeployment": ecs_on_service_deployment("ecs:ContinueServiceDeployment"),
    "StopServiceDeployment": ecs_on_service_deployment("ecs:StopServiceDeployment"),
    "ListClusters": unscoped("ecs:ListClusters"),
    "CreateCluster": lambda c, p: ([entry("ecs:CreateCluster", "*", request_tags(_ecs_tags(p)))]
                                   + _tag_on_create(c, _ecs_cluster(c, p.get("clusterName"))[1],
                                                    _ecs_tags(p), "CreateCluster")),
    "DeleteCluster": lambda c, p: [entry("ecs:DeleteCluster", _ecs_cluster(c, p.get("cluster"))[1],
                                         resource_tags(c.state.ecs_tags(c.region,
                                                                        _ecs_cluster(c, p.get("cluster"))[1])))],
}


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


# -- CloudWatch (alarms) ------------------------------------------------------------------

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
    call, so it is authorized on "*" (stricter than AWS or equal)."""
    names = p.get("AlarmNames") or []
    if not names or p.get("AlarmNamePrefix") or p.get("ActionPrefix"):
        return [entry("cloudwatch:DescribeAlarms", "*")]
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
