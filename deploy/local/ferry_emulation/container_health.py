"""Container health checks: when a task's containers turn HEALTHY or UNHEALTHY.

Pure: ``timing(definition)`` reads a task definition, ``Timing`` says when,
relative to the task's start and on the health time scale
(FERRY_EMULATOR_HEALTH_TIME_SCALE, the one ELB target health uses), so a
30 s interval takes 0.6 s by default.

https://docs.aws.amazon.com/AmazonECS/latest/developerguide/healthcheck.html
  Container health status: "UNKNOWN" while the check has not been
  evaluated (and for a container without a health check), "HEALTHY" once it
  passes, "UNHEALTHY" when it fails. Task health: "the task reports as
  UNHEALTHY if any essential container is unhealthy, HEALTHY when all
  essential containers with health checks are healthy, UNKNOWN otherwise"
  (paraphrased; non-essential containers do not count). "The Amazon ECS
  service scheduler replaces tasks that are reported as unhealthy"; the
  task's stoppedReason is ``Task failed container health checks`` and the
  service event ``(service NAME) (task ID) failed container health
  checks.``; the healthCheckGracePeriodSeconds of the service applies to
  container health checks too (API_CreateService.html).
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html
  interval (default 30), retries (default 3), startPeriod ("failures
  during that time don't count towards the maximum number of retries").
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
  stage 2 judges container health checks as it judges ELB ones.

The layer's convention: a checked container whose image tag starts with
``unhealthy`` (task_conventions.image_unhealthy: the same tag that fails
ELB checks) fails its check: UNHEALTHY after startPeriod + interval x
retries; any other checked container is HEALTHY after its first check,
one interval after the task started. Only essential containers decide the
task's health and get a service's task replaced; a non-essential one
reports its own status only. Standalone (RunTask) tasks report their
health and are not stopped for it (only the service scheduler replaces
unhealthy tasks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .task_conventions import image_unhealthy

INTERVAL_DEFAULT, RETRIES_DEFAULT = 30, 3
STOPPED_REASON = "Task failed container health checks"


@dataclass(frozen=True)
class Check:
    """One checked container: HEALTHY after ``healthy_after`` seconds, or
    UNHEALTHY after ``fails_after`` (unscaled, from the task's start)."""

    container: str
    essential: bool
    healthy_after: float | None
    fails_after: float | None


def _seconds(check: Mapping[str, Any], key: str, default: float) -> float:
    value = check.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def checks(definition: Mapping[str, Any] | None) -> list[Check]:
    """The health-checked containers of a task definition."""
    found = []
    for container in (definition or {}).get("containerDefinitions") or []:
        check = container.get("healthCheck") if isinstance(container, dict) else None
        if not isinstance(check, dict):
            continue
        interval = _seconds(check, "interval", INTERVAL_DEFAULT)
        retries = _seconds(check, "retries", RETRIES_DEFAULT)
        start = _seconds(check, "startPeriod", 0)
        fails = image_unhealthy(str(container.get("image") or ""))
        found.append(Check(str(container.get("name")), container.get("essential") is not False,
                           None if fails else interval, start + interval * retries if fails else None))
    return found


@dataclass(frozen=True)
class Timing:
    """A task's health over time, scaled: ``healthy_after`` (None: never, or no
    essential check), ``fails_after`` (the first essential container to fail)."""

    checks: tuple[Check, ...]
    scale: float

    @property
    def checked(self) -> bool:
        return any(c.essential for c in self.checks)

    @property
    def healthy_after(self) -> float | None:
        essential = [c for c in self.checks if c.essential]
        if not essential or any(c.healthy_after is None for c in essential):
            return None
        return max(c.healthy_after for c in essential) * self.scale  # type: ignore[type-var]

    @property
    def fails_after(self) -> float | None:
        failing = [c.fails_after for c in self.checks if c.essential and c.fails_after is not None]
        return min(failing) * self.scale if failing else None

    def container_status(self, name: str, running_for: float | None) -> str | None:
        """A container's healthStatus after running that long (None: not checked)."""
        check = next((c for c in self.checks if c.container == name), None)
        if check is None:
            return None
        if running_for is None:
            return "UNKNOWN"
        if check.fails_after is not None and running_for >= check.fails_after * self.scale:
            return "UNHEALTHY"
        if check.healthy_after is not None and running_for >= check.healthy_after * self.scale:
            return "HEALTHY"
        return "UNKNOWN"

    def task_status(self, running_for: float | None) -> str:
        statuses = [self.container_status(c.container, running_for) for c in self.checks
                    if c.essential]
        if "UNHEALTHY" in statuses:
            return "UNHEALTHY"
        if statuses and all(s == "HEALTHY" for s in statuses):
            return "HEALTHY"
        return "UNKNOWN"


def timing(definition: Mapping[str, Any] | None, scale: float) -> Timing:
    return Timing(tuple(checks(definition)), scale)


def render(task_json: dict[str, Any], health: Timing, running_for: float | None) -> None:
    """Write container and task healthStatus into a task's description."""
    for container in task_json.get("containers") or []:
        if isinstance(container, dict):
            status = health.container_status(str(container.get("name")), running_for)
            container["healthStatus"] = status or "UNKNOWN"
    task_json["healthStatus"] = health.task_status(running_for)
