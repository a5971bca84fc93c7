"""What DescribeTasks shows of a task's containers, and of where and how it runs.

Written into the layer's task descriptions (``deployments.py``: one-off and
service tasks) after their status is known.

https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html
  containers: "The containers that's associated with the task" (every
  container of its task definition; moto describes only the first);
  capacityProviderName: "The capacity provider that's associated with the
  task"; enableExecuteCommand: "Determines whether execute command
  functionality is turned on for this task".
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Container.html
  containerArn "The Amazon Resource Name (ARN) of the container"
  (``arn:aws:ecs:REGION:ACCOUNT:container/CLUSTER/TASK_ID/UUID``; moto puts
  the task definition's ARN in it); runtimeId "The ID of the Docker
  container"; managedAgents "The details of any Amazon ECS managed agents
  associated with the container"; healthStatus "The health status of the
  container. If health checks aren't configured for this container in its
  task definition, then it reports the health status as UNKNOWN." (moto
  says HEALTHY for every container).
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html
  With ECS Exec on, each container runs the ``ExecuteCommandAgent``
  (API_ManagedAgent.html): its lastStatus is RUNNING while the container
  runs, PENDING before.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

AGENT = "ExecuteCommandAgent"


def runtime_id(task_arn: str, container: str) -> str:
    """A container's Docker id (the layer's: stable for a task and container)."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, f"{task_arn}/{container}").hex
    return f"{task_arn.rsplit('/', 1)[-1][:32]}-{digest[:10]}"


def container_arn(task_arn: str, container: str) -> str:
    prefix, _, rest = task_arn.partition(":task/")
    return f"{prefix}:container/{rest}/{uuid.uuid5(uuid.NAMESPACE_URL, task_arn + '/' + container)}"


def render_containers(task_json: dict[str, Any], definition: Mapping[str, Any] | None,
                      capacity_provider: str | None, exec_enabled: bool) -> None:
    """Complete a task's description: every container of its definition (with its
    ARN, runtimeId and ECS Exec agent), its capacity provider
    (launch type FARGATE then) and enableExecuteCommand."""
    arn = str(task_json.get("taskArn") or "")
    status = task_json.get("lastStatus")
    containers = [c for c in task_json.get("containers") or [] if isinstance(c, dict)]
    named = {c.get("name") for c in containers}
    definitions = [c for c in (definition or {}).get("containerDefinitions") or []
                   if isinstance(c, dict)]
    for container in definitions:
        if container.get("name") not in named:
            containers.append({"taskArn": arn, "name": container.get("name"),
                               "image": container.get("image"), "lastStatus": status,
                               "networkInterfaces": []})
    for container in containers:
        name = str(container.get("name"))
        container["containerArn"] = container_arn(arn, name)
        container["runtimeId"] = runtime_id(arn, name)
        if exec_enabled:
            agent_status = "RUNNING" if container.get("lastStatus") == "RUNNING" else "PENDING"
            container["managedAgents"] = [{"name": AGENT, "lastStatus": agent_status}]
        else:
            container.pop("managedAgents", None)
    task_json["containers"] = containers
    if capacity_provider is not None:
        task_json["capacityProviderName"] = capacity_provider
        task_json["launchType"] = "FARGATE"
    else:
        task_json.pop("capacityProviderName", None)
    task_json["enableExecuteCommand"] = exec_enabled
