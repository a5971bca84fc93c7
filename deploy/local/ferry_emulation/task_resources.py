"""What a task needs before it runs: its secrets and its log groups.

ECS resolves a container's ``secrets[].valueFrom`` and checks its
``awslogs`` log group when the task starts, not when the task definition is
registered; a task whose secret or log group is not there stops before it
runs, with stopCode ``TaskFailedToStart`` and a ``ResourceInitializationError``.

https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-errors.html
  (stop codes) "TaskFailedToStart - The task failed to start." The
  ResourceInitializationError troubleshooting page
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/resource-initialization-error.html)
  lists "unable to pull secrets or registry auth" and "failed to validate
  logger args" among its messages; the whole wordings ECS writes into
  stoppedReason are not in the guide. The layer writes them as publicly
  quoted from DescribeTasks (re:Post knowledge-center/ecs-unable-to-pull-secrets
  and many bug reports):

* Secrets Manager: ``ResourceInitializationError: unable to pull secrets or
  registry auth: execution resource retrieval failed: unable to retrieve
  secret from asm: service call has been retried 1 time(s): failed to
  fetch secret ARN from secrets manager: ResourceNotFoundException:
  Secrets Manager can't find the specified secret.``
* SSM Parameter Store: ``ResourceInitializationError: unable to pull
  secrets or registry auth: execution resource retrieval failed: unable to
  retrieve secrets from ssm: service call has been retried 1 time(s):
  invalid ssm parameters: NAME``
* awslogs: ``ResourceInitializationError: failed to validate logger args:
  create stream has been retried 1 times: failed to create Cloudwatch log
  stream: ResourceNotFoundException: The specified log group does not
  exist. : exit status 1`` (unless the container's ``awslogs-create-group``
  option is ``true``: the agent then creates the group, per the
  task-definition guide's awslogs options).

The layer's convention (``task_conventions``): a container whose image tag
starts with ``nosecret`` has a secret that cannot be retrieved, whatever
moto holds: its task stops the same way, naming the container's first
``secrets[].valueFrom`` (else ``arn:aws:secretsmanager:REGION:ACCOUNT:secret:
CONTAINER/nosecret``). The message shape is the one re:Post's
knowledge-center/ecs-unable-to-pull-secrets lists: "ResourceInitializationError:
unable to pull secrets or registry auth: execution resource retrieval failed:
unable to retrieve secret from asm: service call has been retried 1 time(s):
failed to fetch secret arn:aws:secretsmanager:<region>:<accountID>:secret:<secretName>
from secrets manager: ...".

moto starts nothing, so never checks. The layer reads moto's Secrets
Manager, SSM and CloudWatch Logs backends directly (as ``deployments``
reads moto's task definitions), in the task definition's account and
region. The secrets are checked first, then the log groups; the first
missing one is the message (ECS reports one).

Caveat: the layer checks existence only, not the execution role's
permission to read (authz.py judges the requests Ferry makes, not the
agent's), nor a JSON key or version suffix in a Secrets Manager
``valueFrom``. Everything but the moto reads is pure: ``start_failure``
takes the lookups as functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .task_conventions import secretless_container

Exists = Callable[[str, str, str], bool]  # (account, region, name or ARN) -> there?

_PULL = ("ResourceInitializationError: unable to pull secrets or registry auth: "
         "execution resource retrieval failed: ")


def missing_secret(value_from: str) -> str:
    """The stoppedReason for a secret that is not there."""
    if value_from.startswith("arn:") and ":secretsmanager:" in value_from:
        return (f"{_PULL}unable to retrieve secret from asm: service call has been retried "
                f"1 time(s): failed to fetch secret {value_from} from secrets manager: "
                "ResourceNotFoundException: Secrets Manager can't find the specified secret.")
    return (f"{_PULL}unable to retrieve secrets from ssm: service call has been retried "
            f"1 time(s): invalid ssm parameters: {parameter_name(value_from)}")


def missing_log_group() -> str:
    """The stoppedReason for an awslogs group that is not there."""
    return ("ResourceInitializationError: failed to validate logger args: create stream has "
            "been retried 1 times: failed to create Cloudwatch log stream: "
            "ResourceNotFoundException: The specified log group does not exist. : exit status 1")


def parameter_name(value_from: str) -> str:
    """An SSM parameter's name from its ARN (``...:parameter/a/b`` is ``/a/b``) or name."""
    if value_from.startswith("arn:") and ":parameter" in value_from:
        name = value_from.split(":parameter", 1)[1]
        return name if name.startswith("/") else "/" + name.lstrip("/")
    return value_from


def secret_id(value_from: str) -> str:
    """A Secrets Manager ARN without the ``:json-key:version-stage:version-id`` suffix."""
    parts = value_from.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else value_from


def start_failure(definition: Mapping[str, Any] | None, *, secret_exists: Exists,
                  parameter_exists: Exists, log_group_exists: Exists) -> str | None:
    """Why a task of ``definition`` cannot start, or None (see the module docstring)."""
    arn = str((definition or {}).get("taskDefinitionArn") or "")
    fields = arn.split(":")
    if len(fields) < 6:
        return None
    region, account = fields[3], fields[4]
    containers = [c for c in (definition or {}).get("containerDefinitions") or []
                  if isinstance(c, dict)]
    secretless = secretless_container(definition)
    if secretless is not None:
        return missing_secret(convention_secret(secretless, account, region))
    for container in containers:
        for secret in container.get("secrets") or []:
            value_from = secret.get("valueFrom") if isinstance(secret, dict) else None
            if not isinstance(value_from, str) or not value_from:
                continue
            if value_from.startswith("arn:") and ":secretsmanager:" in value_from:
                there = secret_exists(*_where(value_from, account, region), secret_id(value_from))
            else:
                there = parameter_exists(*_where(value_from, account, region),
                                         parameter_name(value_from))
            if not there:
                return missing_secret(value_from)
    for container in containers:
        logs = container.get("logConfiguration")
        if not isinstance(logs, dict) or logs.get("logDriver") != "awslogs":
            continue
        options = logs.get("options") if isinstance(logs.get("options"), dict) else {}
        group = options.get("awslogs-group")
        if not isinstance(group, str) or str(options.get("awslogs-create-group")).lower() == "true":
            continue
        if not log_group_exists(account, str(options.get("awslogs-region") or region), group):
            return missing_log_group()
    return None


def convention_secret(container: Mapping[str, Any], account: str, region: str) -> str:
    """The secret a ``nosecret`` container cannot get: its first ``secrets[].valueFrom``,
    else a Secrets Manager secret named after the container (in the task's account
    and region), so the message names a secret as ECS's always does."""
    for secret in container.get("secrets") or []:
        value_from = secret.get("valueFrom") if isinstance(secret, dict) else None
        if isinstance(value_from, str) and value_from:
            return value_from
    name = str(container.get("name") or "app")
    return f"arn:aws:secretsmanager:{region}:{account}:secret:{name}/nosecret"


def _where(value_from: str, account: str, region: str) -> tuple[str, str]:
    """The account and region an ARN names (a bare name: the task's)."""
    fields = value_from.split(":")
    if value_from.startswith("arn:") and len(fields) > 5:
        return fields[4] or account, fields[3] or region
    return account, region


# -- moto's backends (read directly, not logged) ---------------------------------------

def moto_secret_exists(account: str, region: str, secret: str) -> bool:
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        # moto's store finds a secret by name, full ARN or partial ARN; one
        # scheduled for deletion cannot be read (GetSecretValue refuses it).
        found = secretsmanager_backends[account][region].secrets.get(secret)
        return found is not None and getattr(found, "deleted_date", None) is None
    except Exception:  # noqa: BLE001 - anything moto raises means "not there"
        return False


def moto_parameter_exists(account: str, region: str, name: str) -> bool:
    from moto.ssm.models import ssm_backends

    try:
        return ssm_backends[account][region].get_parameter(name) is not None
    except Exception:  # noqa: BLE001
        return False


def moto_log_group_exists(account: str, region: str, group: str) -> bool:
    from moto.logs.models import logs_backends

    try:
        return group in logs_backends[account][region].groups
    except Exception:  # noqa: BLE001
        return False


def moto_start_failure(definition: Mapping[str, Any] | None) -> str | None:
    """``start_failure`` against moto's backends."""
    return start_failure(definition, secret_exists=moto_secret_exists,
                         parameter_exists=moto_parameter_exists,
                         log_group_exists=moto_log_group_exists)
