"""RegisterTaskDefinition: the container, platform and storage rules moto skips,
and the health-check defaults ECS fills in.

``refusal(params)`` is a pure function of the request's parameters: the
(code, message) ECS answers with, or None. ``ecs_taskdefs``'s handler asks
it after its own checks (size, count, roles). Every refusal is HTTP 400 ``ClientException``, the
error RegisterTaskDefinition documents for a request that is not valid
("These errors are usually caused by a client action"). The messages are
the layer's own wherever ECS's wording is not published; each names the
parameter, as ECS's do. Where in doubt the layer refuses (stricter than
AWS, never kinder).

Sources:

* Ephemeral storage. https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_EphemeralStorage.html
  sizeInGiB: "The minimum supported value is 21 GiB and the maximum
  supported value is 200 GiB."
* Runtime platform. https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RuntimePlatform.html
  cpuArchitecture "Valid Values: X86_64 | ARM64"; operatingSystemFamily
  "Valid Values: WINDOWS_SERVER_2019_FULL | ... | LINUX".
* Containers. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html
  name: "Up to 255 letters (uppercase and lowercase), numbers, underscores,
  and hyphens are allowed" and it names the container for links and
  dependencies, so two containers may not share one; essential: "All tasks
  must have at least one essential container."
  Task size (same page): "If using the Fargate launch type ... the total
  amount of memory reserved for all containers within a task must be lower
  than the task memory value" and, for cpu, "the total amount of CPU
  reserved for all containers in a task be lower than the task-level cpu
  value" (taken as "at most": equal sums are accepted).
* Container dependencies. https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDependency.html
  condition "Valid Values: START | COMPLETE | SUCCESS | HEALTHY".
  COMPLETE and SUCCESS: "This condition can't be set on an essential
  container." HEALTHY: "This requires that the dependent container has
  health checks configured." The named container must be one of the task
  definition's (a dependency on nothing cannot be met; refused).
* Health checks. https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html
  command required; interval "between 5 and 300 seconds. The default value
  is 30 seconds"; timeout "between 2 and 60 seconds. The default value is
  5"; retries "between 1 and 10. The default value is 3"; startPeriod
  "between 0 and 300 seconds ... off by default". DescribeTaskDefinition
  returns the defaults for what was left out (moto returns only what it
  was given): ``with_health_check_defaults`` fills interval, timeout and
  retries into RegisterTaskDefinition's and DescribeTaskDefinition's
  answers (startPeriod stays absent: it has no default).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .wire import AwsRequest, Response, json_answer, json_object

CLIENT = "ClientException"

EPHEMERAL_MIN_GIB, EPHEMERAL_MAX_GIB = 21, 200
CPU_ARCHITECTURES = ("X86_64", "ARM64")
OS_FAMILIES = ("LINUX", "WINDOWS_SERVER_2019_FULL", "WINDOWS_SERVER_2019_CORE",
               "WINDOWS_SERVER_2016_FULL", "WINDOWS_SERVER_2004_CORE",
               "WINDOWS_SERVER_2022_CORE", "WINDOWS_SERVER_2022_FULL",
               "WINDOWS_SERVER_2025_CORE", "WINDOWS_SERVER_2025_FULL",
               "WINDOWS_SERVER_20H2_CORE")
CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY")
EXIT_CONDITIONS = ("COMPLETE", "SUCCESS")

# (field, minimum, maximum, default or None) per API_HealthCheck.
HEALTH_CHECK_RANGES = (("interval", 5, 300, 30), ("timeout", 2, 60, 5),
                       ("retries", 1, 10, 3), ("startPeriod", 0, 300, None))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


_VCPU = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*vcpu\s*$", re.IGNORECASE)
_GB = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*gb\s*$", re.IGNORECASE)


def task_units(value: Any, unit: re.Pattern[str]) -> int | None:
    """A task-level cpu or memory ("256", 256, "1 vCPU", "2 GB") in units or MiB."""
    plain = _int(value)
    if plain is not None:
        return plain
    match = unit.match(value) if isinstance(value, str) else None
    return int(float(match.group(1)) * 1024) if match else None


def _containers(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [c for c in params.get("containerDefinitions") or [] if isinstance(c, dict)]


def _storage(params: Mapping[str, Any]) -> str | None:
    storage = params.get("ephemeralStorage")
    if storage is None:
        return None
    size = _int(storage.get("sizeInGiB")) if isinstance(storage, dict) else None
    if size is None or not EPHEMERAL_MIN_GIB <= size <= EPHEMERAL_MAX_GIB:
        return (f"Invalid 'ephemeralStorage.sizeInGiB' setting: {size if size is not None else storage!r}."
                f" The value must be between {EPHEMERAL_MIN_GIB} and {EPHEMERAL_MAX_GIB} GiB.")
    return None


def _platform(params: Mapping[str, Any]) -> str | None:
    platform = params.get("runtimePlatform")
    if platform is None:
        return None
    if not isinstance(platform, dict):
        return "Invalid 'runtimePlatform': must be an object."
    arch = platform.get("cpuArchitecture")
    if arch is not None and arch not in CPU_ARCHITECTURES:
        return (f"Invalid 'runtimePlatform.cpuArchitecture' setting: {arch!r}. "
                f"Valid values: {' | '.join(CPU_ARCHITECTURES)}.")
    family = platform.get("operatingSystemFamily")
    if family is not None and family not in OS_FAMILIES:
        return (f"Invalid 'runtimePlatform.operatingSystemFamily' setting: {family!r}. "
                f"Valid values: {' | '.join(OS_FAMILIES)}.")
    return None


def _names(containers: list[dict[str, Any]]) -> str | None:
    seen: set[str] = set()
    for container in containers:
        name = container.get("name")
        if name in seen:
            return f"Duplicate container name '{name}': container names must be unique."
        seen.add(str(name))
    if containers and all(c.get("essential") is False for c in containers):
        return "Task definition must have at least one essential container."
    return None


def _health_check(container: Mapping[str, Any]) -> str | None:
    check = container.get("healthCheck")
    if check is None:
        return None
    name = container.get("name")
    command = check.get("command") if isinstance(check, dict) else None
    if not isinstance(command, list) or not command or not all(isinstance(p, str) for p in command):
        return f"Container '{name}': 'healthCheck.command' is required and must be a list of strings."
    for field, low, high, _ in HEALTH_CHECK_RANGES:
        if field not in check or check[field] is None:
            continue
        value = _int(check[field])
        if value is None or not low <= value <= high:
            return (f"Container '{name}': 'healthCheck.{field}' must be between {low} and {high}; "
                    f"got {check[field]!r}.")
    return None


def _dependencies(containers: list[dict[str, Any]]) -> str | None:
    by_name = {str(c.get("name")): c for c in containers}
    for container in containers:
        name = container.get("name")
        depends = container.get("dependsOn")
        if depends is None:
            continue
        if not isinstance(depends, list):
            return f"Container '{name}': 'dependsOn' must be a list."
        for dependency in depends:
            target = dependency.get("containerName") if isinstance(dependency, dict) else None
            condition = dependency.get("condition") if isinstance(dependency, dict) else None
            if target not in by_name or target == name:
                return (f"Container '{name}' depends on container '{target}', which is not "
                        "another container of this task definition.")
            if condition not in CONDITIONS:
                return (f"Container '{name}': dependsOn condition {condition!r} is not valid. "
                        f"Valid values: {' | '.join(CONDITIONS)}.")
            dependency_target = by_name[target]
            if condition in EXIT_CONDITIONS and dependency_target.get("essential") is not False:
                return (f"Container '{name}': dependsOn condition {condition} can't be set on "
                        f"the essential container '{target}'.")
            if condition == "HEALTHY" and not dependency_target.get("healthCheck"):
                return (f"Container '{name}': dependsOn condition HEALTHY requires container "
                        f"'{target}' to have a health check.")
    return None


def _sums(params: Mapping[str, Any], containers: list[dict[str, Any]]) -> str | None:
    for field, unit, what in (("memory", _GB, "memory"), ("cpu", _VCPU, "cpu")):
        task = task_units(params.get(field), unit)
        if task is None:
            continue
        reserved = 0
        for container in containers:
            value = container.get(field)
            if field == "memory" and value is None:
                value = container.get("memoryReservation")
            reserved += _int(value) or 0
        if reserved > task:
            return (f"The total {what} of the containers ({reserved}) is greater than the "
                    f"task {what} ({task}).")
    return None


def refusal(params: Mapping[str, Any]) -> tuple[str, str] | None:
    """(error code, message) ECS refuses this RegisterTaskDefinition with, or None."""
    containers = _containers(params)
    checks: Iterable[Callable[[], str | None]] = (
        lambda: _storage(params), lambda: _platform(params), lambda: _names(containers),
        *[(lambda c=c: _health_check(c)) for c in containers],
        lambda: _dependencies(containers), lambda: _sums(params, containers))
    for check in checks:
        message = check()
        if message is not None:
            return CLIENT, message
    return None


def with_health_check_defaults(definition: dict[str, Any]) -> bool:
    """Fill ECS's defaults into each container's healthCheck; True if anything changed."""
    changed = False
    for container in definition.get("containerDefinitions") or []:
        check = container.get("healthCheck") if isinstance(container, dict) else None
        if not isinstance(check, dict):
            continue
        for field, _, _, default in HEALTH_CHECK_RANGES:
            if default is not None and check.get(field) is None:
                check[field] = default
                changed = True
    return changed


def answer_with_defaults(request: AwsRequest,
                         forward: Callable[[AwsRequest], Response]) -> Response:
    """moto's answer with the health-check defaults ECS returns filled in."""
    response = forward(request)
    payload = json_object(response) if response.status == 200 else None
    definition = payload.get("taskDefinition") if payload is not None else None
    if isinstance(definition, dict) and with_health_check_defaults(definition):
        return json_answer(response, payload)
    return response


def register(layer: Any) -> None:
    """Called from ``ecs.register``, after ``ecs_taskdefs`` (whose handler refuses
    with ``refusal`` too)."""
    layer.register("ecs", "RegisterTaskDefinition", answer_with_defaults)
    layer.register("ecs", "DescribeTaskDefinition", answer_with_defaults)
