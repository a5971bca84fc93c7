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

A bad value is refused with a ValueError that names the variable.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from . import targets

TASK_START_ENV = "FERRY_EMULATOR_TASK_START_SECONDS"
TASK_RUN_ENV = "FERRY_EMULATOR_TASK_RUN_SECONDS"
TASK_DRAIN_ENV = "FERRY_EMULATOR_TASK_DRAIN_SECONDS"
TASK_START_DEFAULT = 1.0
TASK_RUN_DEFAULT = 1.0
TASK_DRAIN_DEFAULT = 0.0
THROTTLE_SCALE_ENV = "FERRY_EMULATOR_SERVICE_THROTTLE_SCALE"
THROTTLE_SCALE_DEFAULT = 1 / 30


@dataclass(frozen=True)
class Settings:
    """``task_start_seconds``: one scheduler step, and how long a task is PENDING.
    ``task_run_seconds``: how long a one-off task is RUNNING.
    ``task_drain_seconds``: how long an old deployment's task, once the
    scheduler stops it, stays RUNNING (draining) before it is STOPPED.
    ``throttle_scale``: the service throttle's delays, times this."""

    task_start_seconds: float = TASK_START_DEFAULT
    task_run_seconds: float = TASK_RUN_DEFAULT
    task_drain_seconds: float = TASK_DRAIN_DEFAULT
    health_time_scale: float = targets.HEALTH_SCALE_DEFAULT
    throttle_scale: float = THROTTLE_SCALE_DEFAULT


def _seconds(environ: Mapping[str, str], name: str, default: float, allow_zero: bool) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a number of seconds {bound}, got {raw!r}")
    return value


def settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings from the environment; ValueError names a bad variable."""
    return Settings(
        task_start_seconds=_seconds(environ, TASK_START_ENV, TASK_START_DEFAULT, allow_zero=False),
        task_run_seconds=_seconds(environ, TASK_RUN_ENV, TASK_RUN_DEFAULT, allow_zero=True),
        task_drain_seconds=_seconds(environ, TASK_DRAIN_ENV, TASK_DRAIN_DEFAULT, allow_zero=True),
        health_time_scale=targets.health_scale(environ),
        throttle_scale=throttle_scale(environ),
    )


def throttle_scale(environ: Mapping[str, str] = os.environ) -> float:
    """FERRY_EMULATOR_SERVICE_THROTTLE_SCALE; ValueError unless a number > 0."""
    raw = environ.get(THROTTLE_SCALE_ENV, "").strip()
    if not raw:
        return THROTTLE_SCALE_DEFAULT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{THROTTLE_SCALE_ENV} must be a number > 0, got {raw!r}")
    return value
