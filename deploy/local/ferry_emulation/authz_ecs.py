"""ECS's IAM authorizations (see authz.py): services, task definitions,
tasks, clusters, service deployments, tags on create, and the roles each
request passes.
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .authz_base import (ECS_SERVICE, ECS_TASKS, NEW, Ctx, Entry, Unknown, entry, pass_role,
                         request_tags, resource_tags, unscoped, _tag_dict)


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


def _each_in_cluster(action: str, key: str,
                     arn_of: Callable[[Ctx, str, str], str]) -> Callable[[Ctx, Mapping[str, Any]], list[Entry]]:
    """A multi-resource read (DescribeServices, DescribeTasks): one entry per
    resource the parameter ``key`` names, with ``ecs:cluster`` and its tags."""
    def authorize(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
        cluster, cluster_arn = _ecs_cluster(ctx, p.get("cluster"))
        out = []
        for name in p.get(key) or []:
            arn = arn_of(ctx, cluster, str(name))
            out.append(entry(action, arn,
                             {"ecs:cluster": cluster_arn, **resource_tags(ctx.state.ecs_tags(ctx.region, arn))}))
        return out
    return authorize


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


def ecs_tag_resource(ctx: Ctx, p: Mapping[str, Any]) -> list[Entry]:
    arn = str(p.get("resourceArn") or "")
    tags = _ecs_tags(p)
    return [entry("ecs:TagResource", arn,
                  {**request_tags(tags), **resource_tags(ctx.state.ecs_tags(ctx.region, arn))})]


ECS: dict[str, Callable[[Ctx, Any], list[Entry]]] = {
    "CreateService": ecs_create_service,
    "UpdateService": lambda c, p: _existing_service(c, p, "ecs:UpdateService", "service"),
    "DeleteService": lambda c, p: _existing_service(c, p, "ecs:DeleteService", "service"),
    "DescribeServices": _each_in_cluster("ecs:DescribeServices", "services", _ecs_service_arn),
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
    "DescribeTasks": _each_in_cluster("ecs:DescribeTasks", "tasks", _ecs_task_arn),
    "ExecuteCommand": ecs_execute_command,
    "TagResource": ecs_tag_resource,
    # On the service it names, with ecs:cluster and the service's tags.
    "ListServiceDeployments": lambda c, p: _existing_service(c, p, "ecs:ListServiceDeployments", "service"),
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
