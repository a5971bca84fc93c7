"""ECS Exec: what a task shows of it, and ExecuteCommand.

https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html
  ECS Exec is turned on per service (CreateService/UpdateService
  ``enableExecuteCommand``) or per task (RunTask); "The ECS Exec feature
  is only supported for tasks launched after the feature is turned on"
  (a service's tasks take the service's value when they start, so an
  UpdateService without a new deployment leaves running tasks as they
  were). A task with it on shows ``enableExecuteCommand: true`` and, on
  each container, the managed agent ``ExecuteCommandAgent``, whose
  ``lastStatus`` is RUNNING while the task runs (API_ManagedAgent.html:
  lastStatus of the agent). Every container has a ``runtimeId``
  (API_Container.html: "The ID of the Docker container").
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ExecuteCommand.html
  Request: cluster, container ("A container name only needs to be
  specified for tasks containing multiple containers."), command,
  interactive (required), task. Response: clusterArn, containerArn,
  containerName, interactive, session {sessionId, streamUrl, tokenValue},
  taskArn. Errors: ClusterNotFoundException, InvalidParameterException,
  TargetNotConnectedException, AccessDeniedException, ClientException.
  The developer guide: "ECS Exec ... currently only supports interactive
  mode"; ECS answers ``interactive: false`` with InvalidParameterException
  "Interactive is the only mode supported currently." (publicly quoted).
  A task started without ECS Exec gets InvalidParameterException with
  ``NOT_ENABLED`` below (ECS's wording, publicly quoted).

The layer's choices where ECS publishes no wording (all
InvalidParameterException, the stricter reading: refused, never a session):
a task that is not RUNNING, a task the cluster does not have, a container
the task does not have, and no container named for a task with several.
The session is a made-up one shaped as AWS's: ``streamUrl``
``wss://ssmmessages.<region>.amazonaws.com/v1/data-channel/<sessionId>?role=publish_subscribe&cell-number=<n>``,
``sessionId`` ``ecs-execute-command-<hex>``, and an opaque ``tokenValue``.
Nothing listens at that URL: the session-manager-plugin cannot be run
against the local AWS.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import Any

from .task_containers import AGENT
from .wire import AwsRequest, Response, json_error, json_response

NOT_ENABLED = ("The execute command failed because execute command was not enabled when the "
               "task was run or the execute command agent isn't running. Wait and try again or "
               "run a new task with execute command enabled and try again.")
INTERACTIVE_ONLY = "Interactive is the only mode supported currently."


def session(region: str) -> dict[str, str]:
    session_id = f"ecs-execute-command-{secrets.token_hex(8)}"
    cell = secrets.randbelow(10**6)
    return {
        "sessionId": session_id,
        "streamUrl": (f"wss://ssmmessages.{region}.amazonaws.com/v1/data-channel/{session_id}"
                      f"?role=publish_subscribe&cell-number={cell}"),
        "tokenValue": base64.b64encode(secrets.token_bytes(48)).decode("ascii"),
    }


def answer(params: dict[str, Any], task: dict[str, Any] | None,
           region: str) -> tuple[int, dict[str, Any]] | tuple[int, str, str]:
    """ExecuteCommand's answer for a described task (None: not found): (200, body) or
    (status, error code, message)."""
    if params.get("interactive") is not True:
        return 400, "InvalidParameterException", INTERACTIVE_ONLY
    if not isinstance(params.get("command"), str) or not params["command"]:
        return 400, "InvalidParameterException", "command is required."
    if task is None:
        return 400, "InvalidParameterException", f"The task {params.get('task')} was not found."
    if task.get("lastStatus") != "RUNNING" or task.get("desiredStatus") == "STOPPED":
        return 400, "InvalidParameterException", (
            f"The execute command failed because the task is {task.get('lastStatus')}; "
            "only a RUNNING task accepts it.")
    containers = [c for c in task.get("containers") or [] if isinstance(c, dict)]
    wanted = params.get("container")
    if wanted is None and len(containers) != 1:
        return 400, "InvalidParameterException", (
            "The task has several containers: specify the container to execute the command on.")
    container = next((c for c in containers if wanted is None or c.get("name") == wanted), None)
    if container is None:
        return 400, "InvalidParameterException", f"The container {wanted} was not found in the task."
    agents = container.get("managedAgents") or []
    # The agent runs only in a task started with ECS Exec (task_containers).
    if not any(a.get("name") == AGENT and a.get("lastStatus") == "RUNNING" for a in agents):
        return 400, "InvalidParameterException", NOT_ENABLED
    return 200, {"clusterArn": task.get("clusterArn"), "containerArn": container.get("containerArn"),
                 "containerName": container.get("name"), "interactive": True,
                 "session": session(region), "taskArn": task.get("taskArn")}


def handler(describe_tasks: Callable[[AwsRequest, Callable[[AwsRequest], Response]], Response]
            ) -> Callable[[AwsRequest, Callable[[AwsRequest], Response]], Response]:
    """ExecuteCommand, answered by the layer (moto has none) from the layer's own
    DescribeTasks (``deployments``), which renders the task as it stands now."""
    def execute_command(request: AwsRequest, forward: Callable[[AwsRequest], Response]) -> Response:
        params = request.json()
        described = describe_tasks(request.with_operation(
            "DescribeTasks", {"cluster": params.get("cluster") or "default",
                              "tasks": [params.get("task")]}), forward)
        if described.status != 200:
            return described  # ClusterNotFoundException, as ECS answers
        tasks = [t for t in described.json().get("tasks") or [] if isinstance(t, dict)]
        result = answer(params, tasks[0] if tasks else None, request.region)
        if len(result) == 3:
            return json_error(result[0], result[1], result[2])  # type: ignore[misc]
        return json_response(200, result[1])

    return execute_command
