"""RegisterTaskDefinition: the task definitions AWS refuses and moto accepts.

``refusal(params)`` is a pure function of the request's parameters: the
(code, message) AWS answers with, or None. ``register_task_definition_checks``
is the handler: a refused request never reaches moto (no revision is
registered, as on AWS). Every refusal is HTTP 400 ``ClientException``.
Checks run in the order below; the first that fails answers (AWS's own
order is not documented).

1. Size. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html
   "Task definition size limit | The maximum size, in KiB, of a task
   definition. | 64 | No" (adjustable: no). awsdocs/amazon-ecs-developer-guide#149
   (which raised the page's figure from 32 to 64 KiB) quotes what
   RegisterTaskDefinition answers above it: ClientException "Actual length:
   '66420'. Max allowed length is '65536' bytes." The page does not say
   what is measured. The stricter reading is taken: the whole request
   (every parameter, tags included, not only ``containerDefinitions``),
   serialized as compact JSON in UTF-8 (``separators=(",", ":")``, no
   ASCII escaping), so the figure does not depend on the client's
   whitespace. Above 65536 bytes it is refused with that wording.
2. Containers. Same page: "Task definition max containers | The maximum
   number of containers definitions within a task definition. | 10".
   Above 10: ClientException "Too many containers." (the wording quoted in
   aws/amazon-ecs-cli#184).
3. Secrets, on any launch type. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
   lists among the uses of the execution role, for tasks "hosted on either
   AWS Fargate or Amazon EC2 instances": "the task definition is referencing
   sensitive data using Secrets Manager secrets or AWS Systems Manager
   Parameter Store parameters." AWS refuses a container with ``secrets``
   and no ``executionRoleArn``: ClientException "When you are specifying
   container secrets, you must also specify a value for 'executionRoleArn'."
   (quoted in fabfuel/ecs-deploy#87, hashicorp/terraform-provider-aws#6503,
   silinternational/ecs-deploy#179). A log configuration's
   ``secretOptions`` are secrets too (fetched with the same role); AWS's
   answer for them is not quoted anywhere we found, so they get the same
   refusal (the stricter reading).
4. Private registry authentication, on any launch type (same page: "is
   using private registry authentication"): a container with
   ``repositoryCredentials`` and no execution role gets ClientException
   "Private repository authentication requires that the task definition
   specify a value for executionRoleArn." (silinternational/ecs-deploy#188).
5. Fargate only (``requiresCompatibilities`` contains FARGATE). Same page:
   "Your task is hosted on AWS Fargate ... and: ... sends container logs to
   CloudWatch Logs using the awslogs log driver"; "is pulling a container
   image from an Amazon ECR private repository". Without an execution role
   AWS answers ClientException "Fargate requires task definition to have
   execution role ARN to support log driver awslogs." (virtual-kubelet#193)
   and "Fargate requires task definition to have execution role ARN to
   support ECR images." (hashicorp/terraform-provider-aws#3051). An ECR
   image is one whose registry is ``ACCOUNT.dkr.ecr.REGION.amazonaws.com``
   (or ``.amazonaws.com.cn``).

An ``executionRoleArn`` that is absent, null or empty counts as none. moto
registers every one of these. Then the container, platform and storage
rules of ``ecs_containers.refusal``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from . import ecs_containers
from .wire import AwsRequest, Response, json_error

SIZE_LIMIT_BYTES = 64 * 1024
MAX_CONTAINERS = 10

SECRETS_MESSAGE = ("When you are specifying container secrets, you must also specify a value "
                   "for 'executionRoleArn'.")
PRIVATE_REGISTRY_MESSAGE = ("Private repository authentication requires that the task "
                            "definition specify a value for executionRoleArn.")
AWSLOGS_MESSAGE = ("Fargate requires task definition to have execution role ARN to support "
                   "log driver awslogs.")
ECR_MESSAGE = "Fargate requires task definition to have execution role ARN to support ECR images."
TOO_MANY_CONTAINERS_MESSAGE = "Too many containers."

_ECR_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


def definition_size(params: Mapping[str, Any]) -> int:
    """The size the layer measures: the request's compact UTF-8 JSON, in bytes."""
    return len(json.dumps(params, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def is_ecr_image(image: Any) -> bool:
    return isinstance(image, str) and bool(_ECR_IMAGE.match(image))


def _has_secrets(container: Mapping[str, Any]) -> bool:
    log = container.get("logConfiguration")
    options = log.get("secretOptions") if isinstance(log, dict) else None
    return bool(container.get("secrets")) or bool(options)


def _log_driver(container: Mapping[str, Any]) -> Any:
    log = container.get("logConfiguration")
    return log.get("logDriver") if isinstance(log, dict) else None


def refusal(params: Mapping[str, Any]) -> tuple[str, str] | None:
    """(error code, message) AWS refuses this RegisterTaskDefinition with, or None."""
    size = definition_size(params)
    if size > SIZE_LIMIT_BYTES:
        return ("ClientException",
                f"Actual length: '{size}'. Max allowed length is '{SIZE_LIMIT_BYTES}' bytes.")
    containers = [c for c in params.get("containerDefinitions") or [] if isinstance(c, dict)]
    if len(containers) > MAX_CONTAINERS:
        return "ClientException", TOO_MANY_CONTAINERS_MESSAGE
    if params.get("executionRoleArn"):
        return None
    fargate = "FARGATE" in (params.get("requiresCompatibilities") or [])
    for container in containers:
        if _has_secrets(container):
            return "ClientException", SECRETS_MESSAGE
        if container.get("repositoryCredentials"):
            return "ClientException", PRIVATE_REGISTRY_MESSAGE
        if fargate and _log_driver(container) == "awslogs":
            return "ClientException", AWSLOGS_MESSAGE
        if fargate and is_ecr_image(container.get("image")):
            return "ClientException", ECR_MESSAGE
    return None


def register_task_definition_checks(request: AwsRequest,
                                    forward: Callable[[AwsRequest], Response]) -> Response:
    params = request.json()
    refused = refusal(params) or ecs_containers.refusal(params)
    if refused is not None:
        return json_error(400, *refused)
    return forward(request)


def register(layer: Any) -> None:
    """Called from ``ecs.register``."""
    layer.register("ecs", "RegisterTaskDefinition", register_task_definition_checks)
