"""The layer's conventions for what a task does: read from its image and command.

Nothing runs in the local AWS, so a task definition says, through its
container images' tags and its command, how its tasks behave.

Tasks that cannot start (the layer's convention)
------------------------------------------------
A task definition with a container image whose tag starts with ``fail``
(``acme/web:fail``, ``acme/web:fail-missing-binary``) never reaches
RUNNING: each task launched for it stops at the next step with stopCode
``TaskFailedToStart`` and stoppedReason ``CannotPullContainerError: pull
image manifest has been retried 5 time(s): failed to resolve ref IMAGE:
not found`` (modelled on ECS's message), and the deployment's
``failedTasks`` grows by one.

Tasks that run, then exit (the layer's convention)
--------------------------------------------------
An essential container (``essential`` true, ECS's default) whose image tag
is

* ``crash-<N>-after-<S>s`` (``acme/web:crash-3-after-2s``,
  ``acme/web:crash-1-after-0.5s-v2``: N a whole number, taken modulo 256 as
  a shell does; S seconds, whole or decimal; anything may follow after a
  ``-``) reaches RUNNING and, S seconds later, exits with code N;
* ``oom`` or ``oom-after-<S>s`` (``acme/web:oom``, ``acme/web:oom-after-3s``)
  reaches RUNNING and, S seconds later (0 for a bare ``oom``), is killed
  for its memory use: exit code 137, container reason
  ``OutOfMemoryError: Container killed due to memory usage``.

S is on the emulator's clock, unscaled, as FERRY_EMULATOR_TASK_START_SECONDS
and FERRY_EMULATOR_TASK_RUN_SECONDS are (pick small S in tests).

https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-errors.html
  (stop codes) "EssentialContainerExited - An essential container in the
  task exited"; DescribeTasks then shows stoppedReason ``Essential
  container in task exited`` and the container's ``exitCode`` (the
  wording in AWS's own task state change example and in the re:Post
  article "Why is my Amazon ECS task stopped?": "Essential container in
  task exited ... identify the exit code using DescribeTasks API").
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/out-of-memory.html
  "Container killed due to memory usage: This error occurs when a
  container exits due to processes in the container consuming more memory
  than was allocated in the task definition": the container's ``reason``
  is ``OutOfMemoryError: Container killed due to memory usage``, its exit
  code 137 (SIGKILL, 128 + 9), and the task's stoppedReason still
  ``Essential container in task exited``.
moto has no such thing (its RunTask tasks exit 0). A non-essential
container's tag is ignored (its exit does not stop the task on ECS).

Tasks that fail health checks: an image whose tag starts with
``unhealthy`` fails ELB health checks (see ``ecs_model``) and, in a
container with a ``healthCheck``, its container health check
(``container_health``). A one-off task's exit code: ``exit N`` in its
command (see ``ecs_model``).

Sidecars (issue 21: several containers in a task). The conventions apply
to every container as follows, so a sidecar's tag means what ECS would
make of it:

* ``fail``: any container, essential or not: ECS pulls every image before
  the task starts, and a pull that fails stops the task
  (CannotPullContainerError, stopped-task-errors.html);
* ``crash-...`` and ``oom``: essential containers only; a non-essential
  sidecar's exit does not stop the task;
* ``unhealthy``: ELB checks fail for any container's image (the layer's
  older rule, kept); a container check fails the task only in an essential
  container; a non-essential sidecar reports UNHEALTHY and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def image_tag(image: str) -> str | None:
    """The tag of an image reference, or None (``host:5000/app`` has none)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    return last.rsplit(":", 1)[1]


def image_fails(image: str) -> bool:
    """The layer's convention: an image whose tag starts with ``fail`` never starts."""
    tag = image_tag(image)
    return tag is not None and tag.startswith("fail")


def image_unhealthy(image: str) -> bool:
    """The layer's convention: an image whose tag starts with ``unhealthy`` runs but
    never passes a load balancer health check."""
    tag = image_tag(image)
    return tag is not None and tag.startswith("unhealthy")


def unhealthy_image(definition: Mapping[str, Any] | None) -> str | None:
    """The first container image of a task definition that fails health checks, if any."""
    for container in (definition or {}).get("containerDefinitions") or []:
        image = container.get("image") if isinstance(container, dict) else None
        if isinstance(image, str) and image_unhealthy(image):
            return image
    return None



def failing_image(definition: Mapping[str, Any] | None) -> str | None:
    """The first container image of a task definition that cannot start, if any."""
    for container in (definition or {}).get("containerDefinitions") or []:
        image = container.get("image") if isinstance(container, dict) else None
        if isinstance(image, str) and image_fails(image):
            return image
    return None


def cannot_pull(image: str) -> str:
    return ("CannotPullContainerError: pull image manifest has been retried 5 time(s): "
            f"failed to resolve ref {image}: not found")


_EXIT = re.compile(r"\bexit\s+(\d+)\b")


def exit_code(command: Any) -> int:
    """The layer's convention: ``exit N`` in the command, joined with spaces, else 0."""
    if isinstance(command, list):
        text = " ".join(str(part) for part in command)
    elif isinstance(command, str):
        text = command
    else:
        return 0
    match = _EXIT.search(text)
    return int(match.group(1)) % 256 if match else 0


# -- tasks that run, then exit ------------------------------------------------------

OOM_EXIT_CODE = 137
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
ESSENTIAL_EXITED = "Essential container in task exited"

_SECONDS = r"(\d+(?:\.\d+)?)s"
_CRASH = re.compile(rf"crash-(\d+)-after-{_SECONDS}(?:-.*)?")
_OOM = re.compile(rf"oom(?:-after-{_SECONDS})?(?:-.*)?")


@dataclass(frozen=True)
class Exit:
    """How a container that reached RUNNING ends: ``after`` seconds later, with
    ``code``; ``reason`` is the container's ``reason`` (None for a plain exit)."""

    container: str
    code: int
    after: float
    reason: str | None = None


def image_exit(image: str, container: str = "") -> Exit | None:
    """The ``crash-N-after-Ss`` / ``oom[-after-Ss]`` convention for one image, if any."""
    tag = image_tag(image)
    if tag is None:
        return None
    crash = _CRASH.fullmatch(tag)
    if crash:
        return Exit(container, int(crash.group(1)) % 256, float(crash.group(2)))
    oom = _OOM.fullmatch(tag)
    if oom:
        return Exit(container, OOM_EXIT_CODE, float(oom.group(1) or 0), OOM_REASON)
    return None


def essential_exit(definition: Mapping[str, Any] | None) -> Exit | None:
    """The first exit among a task definition's essential containers (the earliest,
    if several would exit): it stops the task."""
    found: list[Exit] = []
    for container in (definition or {}).get("containerDefinitions") or []:
        if not isinstance(container, dict) or container.get("essential") is False:
            continue
        image = container.get("image")
        if isinstance(image, str):
            exit_ = image_exit(image, str(container.get("name") or ""))
            if exit_ is not None:
                found.append(exit_)
    return min(found, key=lambda e: e.after, default=None)
