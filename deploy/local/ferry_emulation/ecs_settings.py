"""The ECS emulation's settings, read once when the emulator starts.

``FERRY_EMULATOR_TASK_START_SECONDS`` (default 1.0, > 0): one scheduler step,
  and how long a task is PENDING.
``FERRY_EMULATOR_TASK_RUN_SECONDS`` (default 1.0, >= 0): how long a one-off
  task is RUNNING.
``FERRY_EMULATOR_TASK_DRAIN_SECONDS`` (default 0, >= 0): how long an old
  deployment's task drains before it is STOPPED.
``FERRY_EMULATOR_HEALTH_TIME_SCALE``: see ``targets.py``.
``FERRY_EMULATOR_SERVICE_THROTTLE_SCALE`` (default 1/30 = 0.0333..., > 0):
  multiplies the service throttle's delays between launch attempts (see
  ``ecs_model``: 30 s, doubling, up to AWS's 27 minutes). The default
  makes the first delay 1 s and the longest 54 s, so the end-to-end tests
  see the throttle without waiting minutes; 1 is AWS's pace, 0.01 makes
  27 minutes 16.2 s.
``FERRY_EMULATOR_DEPLOYMENT_TIME_SCALE`` (default 1, > 0): multiplies the
  timers of blue/green, canary and linear service deployments
  (``ecs_strategies``): bakeTimeInMinutes, the canary and linear step
  bakes and the PAUSE hooks' timeouts. A minute is ``60 * scale``
  seconds; 0.05 makes a minute 3 s.

A bad value is refused with a ValueError that names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from . import envsettings, targets

TASK_START_ENV = "FERRY_EMULATOR_TASK_START_SECONDS"
TASK_RUN_ENV = "FERRY_EMULATOR_TASK_RUN_SECONDS"
TASK_DRAIN_ENV = "FERRY_EMULATOR_TASK_DRAIN_SECONDS"
TASK_START_DEFAULT = 1.0
TASK_RUN_DEFAULT = 1.0
TASK_DRAIN_DEFAULT = 0.0
THROTTLE_SCALE_ENV = "FERRY_EMULATOR_SERVICE_THROTTLE_SCALE"
THROTTLE_SCALE_DEFAULT = 1 / 30
DEPLOYMENT_SCALE_ENV = "FERRY_EMULATOR_DEPLOYMENT_TIME_SCALE"
DEPLOYMENT_SCALE_DEFAULT = 1.0


@dataclass(frozen=True)
class Settings:
    """``task_start_seconds``: one scheduler step, and how long a task is PENDING.
    ``task_run_seconds``: how long a one-off task is RUNNING.
    ``task_drain_seconds``: how long an old deployment's task, once the
    scheduler stops it, stays RUNNING (draining) before it is STOPPED.
    ``throttle_scale``: the service throttle's delays, times this.
    ``deployment_time_scale``: the strategies' bakes and hook timeouts, times this."""

    task_start_seconds: float = TASK_START_DEFAULT
    task_run_seconds: float = TASK_RUN_DEFAULT
    task_drain_seconds: float = TASK_DRAIN_DEFAULT
    health_time_scale: float = targets.HEALTH_SCALE_DEFAULT
    throttle_scale: float = THROTTLE_SCALE_DEFAULT
    deployment_time_scale: float = DEPLOYMENT_SCALE_DEFAULT


def settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings from the environment; ValueError names a bad variable."""
    return Settings(
        task_start_seconds=envsettings.seconds(environ, TASK_START_ENV, TASK_START_DEFAULT,
                                               allow_zero=False),
        task_run_seconds=envsettings.seconds(environ, TASK_RUN_ENV, TASK_RUN_DEFAULT),
        task_drain_seconds=envsettings.seconds(environ, TASK_DRAIN_ENV, TASK_DRAIN_DEFAULT),
        health_time_scale=targets.health_scale(environ),
        throttle_scale=throttle_scale(environ),
        deployment_time_scale=envsettings.number(environ, DEPLOYMENT_SCALE_ENV,
                                                 DEPLOYMENT_SCALE_DEFAULT, allow_zero=False),
    )


def throttle_scale(environ: Mapping[str, str] = os.environ) -> float:
    """FERRY_EMULATOR_SERVICE_THROTTLE_SCALE; ValueError unless a number > 0."""
    return envsettings.number(environ, THROTTLE_SCALE_ENV, THROTTLE_SCALE_DEFAULT, allow_zero=False)
