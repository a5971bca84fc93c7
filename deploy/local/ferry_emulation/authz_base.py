"""What authz.py's mappings share: the emulator's state when a request
arrives (resource tags, task definitions, scalable targets, alarms), the
request's context (region, account), and the pieces of an authorization
entry (request tags, resource tags, iam:PassRole). See authz.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .wire import AwsRequest

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


def unscoped(action: str) -> Callable[[Ctx, Any], list[Entry]]:
    """An action with no resource type and no condition key we use."""
    return lambda ctx, p: [entry(action, "*")]
