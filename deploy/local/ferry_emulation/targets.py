"""Target health: the ECS service tasks registered in their target groups.

moto 5.2.5 registers only the targets a client registers itself and calls
every one of them ``healthy`` at once. ECS registers a service's tasks by
itself: "Amazon ECS automatically registers and deregisters the targets"
of a service with a load balancer (ECS developer guide, service load
balancing,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-load-balancing.html,
paraphrased). The layer keeps those targets here; ``deployments.py``
registers a task's private IP and container port (targets of type ip) in
each of its service's target groups when the task is RUNNING, and
deregisters them when the task stops or starts draining. DescribeTargetHealth
(``elbv2.py``) adds them to moto's answer.

States (ELBv2 API reference, TargetHealth and TargetHealthDescription,
https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html):
``initial`` while the load balancer is still sending the minimum number of
health checks (reason ``Elb.InitialHealthChecking``; ``Elb.RegistrationInProgress``
is the other ``initial`` reason), ``healthy`` with no reason,
``unhealthy`` (``Target.FailedHealthChecks``, a connection error or a
malformed answer), ``draining`` while a deregistered target finishes its
in-flight requests (``Target.DeregistrationInProgress``), then the target
is gone from the answer.

Timing (ALB user guide, target group health checks,
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html,
paraphrased: a target is healthy after HealthyThresholdCount consecutive
successful checks, unhealthy after UnhealthyThresholdCount consecutive
failures, one check every HealthCheckIntervalSeconds; and the
deregistration delay, ``deregistration_delay.timeout_seconds``, 300 s by
default, is how long a deregistering target drains): a target passes after
interval x healthy threshold, fails after interval x unhealthy threshold,
drains for the deregistration delay, each multiplied by
``FERRY_EMULATOR_HEALTH_TIME_SCALE`` (default 0.02: a 30 s interval x 5
checks, moto's defaults, is 3 s; 10 s x 2 is 0.4 s; a 300 s delay is 6 s).
The target group's settings are read from moto's backend when the target
is registered (or deregistered, for the delay).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import envsettings, locks

HEALTH_SCALE_ENV = "FERRY_EMULATOR_HEALTH_TIME_SCALE"
HEALTH_SCALE_DEFAULT = 0.02


def health_scale(environ: Mapping[str, str] = os.environ) -> float:
    """The time scale from the environment; ValueError names a bad value."""
    return envsettings.number(environ, HEALTH_SCALE_ENV, HEALTH_SCALE_DEFAULT, allow_zero=True,
                              requirement="a number >= 0 (a factor on target group health check "
                                          "and deregistration times)")


@dataclass(frozen=True)
class GroupTiming:
    interval: float = 30.0
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    deregistration_delay: float = 300.0


def moto_target_group(arn: str) -> Any:
    """moto's target group object for an ARN, or None."""
    from moto.elbv2.models import elbv2_backends

    try:
        _, _, _, region, account, _ = arn.split(":", 5)
        return elbv2_backends[account][region].target_groups.get(arn)
    except Exception:  # noqa: BLE001 - anything moto raises means "not there"
        return None


def group_timing(arn: str) -> GroupTiming:
    group = moto_target_group(arn)
    if group is None:
        return GroupTiming()
    try:
        return GroupTiming(
            interval=float(group.health_check_interval_seconds),
            healthy_threshold=int(group.healthy_threshold_count),
            unhealthy_threshold=int(group.unhealthy_threshold_count),
            deregistration_delay=float(
                group.attributes.get("deregistration_delay.timeout_seconds", 300)),
        )
    except (AttributeError, TypeError, ValueError):
        return GroupTiming()


@dataclass
class Target:
    group: str
    ip: str
    port: int
    registered_at: float
    settles_at: float  # healthy, or unhealthy for a failing one
    passes: bool
    deregistered_at: float | None = None
    gone_at: float | None = None

    def state(self, now: float) -> tuple[str, str | None, str | None] | None:
        """(State, Reason, Description) at ``now``; None once it is gone."""
        if self.gone_at is not None and now >= self.gone_at:
            return None
        if self.deregistered_at is not None and now >= self.deregistered_at:
            return ("draining", "Target.DeregistrationInProgress",
                    "Target deregistration is in progress")
        if now < self.settles_at:
            return "initial", "Elb.InitialHealthChecking", "Initial health checks in progress"
        if self.passes:
            return "healthy", None, None
        return "unhealthy", "Target.FailedHealthChecks", "Health checks failed"


class Registry:
    """The layer's targets by target group ARN."""

    def __init__(self, scale: float = HEALTH_SCALE_DEFAULT) -> None:
        self.scale = scale
        self.lock = locks.TARGETS
        self.groups: dict[str, list[Target]] = {}

    def register(self, group: str, ip: str, port: int, at: float, passes: bool) -> Target:
        timing = group_timing(group)
        checks = timing.healthy_threshold if passes else timing.unhealthy_threshold
        target = Target(group=group, ip=ip, port=port, registered_at=at,
                        settles_at=at + timing.interval * checks * self.scale, passes=passes)
        with self.lock:
            self.groups.setdefault(group, []).append(target)
        return target

    def deregister(self, target: Target, at: float) -> None:
        if target.deregistered_at is not None:
            return
        target.deregistered_at = at
        target.gone_at = at + group_timing(target.group).deregistration_delay * self.scale

    def describe(self, group: str, now: float) -> list[tuple[Target, tuple[str, str | None, str | None]]]:
        with self.lock:
            targets = self.groups.get(group, [])
            live = [t for t in targets if t.state(now) is not None]
            self.groups[group] = live
            return [(t, t.state(now)) for t in live]  # type: ignore[misc]


REGISTRY = Registry()
