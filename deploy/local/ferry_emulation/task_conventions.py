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

A container image whose tag starts with ``nosecret`` has a secret that
cannot be retrieved: its tasks stop the same way, with ECS's
``ResourceInitializationError`` for a missing secret (worded and cited in
``task_resources``, which checks real secrets too).

A container image whose tag starts with ``stuck`` never finishes its pull:
its tasks stay PENDING and never fail by themselves, until StopTask,
scale-in or a newer deployment stops them as any PENDING task (what a
progress deadline exists for; ECS's task lifecycle: a task is PENDING
until its images are pulled,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html).

Tasks that run, then exit (the layer's convention)
--------------------------------------------------
An essential container (``essential`` true, ECS's default) whose image tag
is

* ``crash``, ``crash-<N>`` or ``crash-<N>-after-<S>s`` (``acme/web:crash``,
  ``acme/web:crash-3``, ``acme/web:crash-1-after-0.5s-v2``: N a whole
  number, default 1, taken modulo 256 as a shell does; S seconds, whole or
  decimal, default 2, "a few seconds" as issue 22 puts it; anything may
  follow after a ``-`` but an ``after-`` that does not parse) reaches
  RUNNING and, S seconds later, exits with code N;
* ``oom`` or ``oom-after-<S>s`` (``acme/web:oom``, ``acme/web:oom-after-3s``)
  reaches RUNNING and, S seconds later (default 2), is killed for its
  memory use: exit code 137, container reason ``OutOfMemoryError:
  Container killed due to memory usage``.

Before it ends, such a container prints its last words (``Exit.last_words``,
put in its log stream by ``tasklogs`` just before ``stoppedAt``).

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

* ``fail``, ``nosecret`` and ``stuck``: any container, essential or not:
  ECS pulls every image and resolves every secret before the task starts,
  and a pull or a secret that fails stops the task
  (CannotPullContainerError, ResourceInitializationError,
  stopped-task-errors.html);
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


# The tag prefixes (each documented in deploy/local/README.md).
FAIL = "fail"
UNHEALTHY = "unhealthy"
STUCK = "stuck"
NOSECRET = "nosecret"


def image_tag(image: str) -> str | None:
    """The tag of an image reference, or None (``host:5000/app`` has none)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    return last.rsplit(":", 1)[1]


def _tag_starts(image: str, prefix: str) -> bool:
    tag = image_tag(image)
    return tag is not None and tag.startswith(prefix)


def image_fails(image: str) -> bool:
    """The layer's convention: an image whose tag starts with ``fail`` never starts."""
    return _tag_starts(image, FAIL)


def image_unhealthy(image: str) -> bool:
    """The layer's convention: an image whose tag starts with ``unhealthy`` runs but
    never passes a load balancer health check."""
    return _tag_starts(image, UNHEALTHY)


def _first_image(definition: Mapping[str, Any] | None, prefix: str) -> str | None:
    """The first container image of a task definition whose tag starts with ``prefix``.

    Any container, essential or not: ECS pulls every image and resolves every
    secret before a task starts.
    """
    for container in (definition or {}).get("containerDefinitions") or []:
        image = container.get("image") if isinstance(container, dict) else None
        if isinstance(image, str) and _tag_starts(image, prefix):
            return image
    return None


def unhealthy_image(definition: Mapping[str, Any] | None) -> str | None:
    """The first container image of a task definition that fails health checks, if any."""
    return _first_image(definition, UNHEALTHY)


def failing_image(definition: Mapping[str, Any] | None) -> str | None:
    """The first container image of a task definition that cannot be pulled, if any."""
    return _first_image(definition, FAIL)


def stuck_image(definition: Mapping[str, Any] | None) -> str | None:
    """The first container image of a task definition whose pull never ends, if any:
    its tasks stay PENDING until something stops them."""
    return _first_image(definition, STUCK)


def secretless_container(definition: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The first container whose image tag starts with ``nosecret``, if any: its
    secret cannot be retrieved (``task_resources`` words the stop)."""
    for container in (definition or {}).get("containerDefinitions") or []:
        image = container.get("image") if isinstance(container, dict) else None
        if isinstance(image, str) and _tag_starts(image, NOSECRET):
            return container
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

# How long a bare ``crash``, ``crash-N`` or ``oom`` runs before it exits: "a few
# seconds" (issue 22), on the emulator's clock, unscaled.
DEFAULT_RUN_SECONDS = 2.0
DEFAULT_CRASH_CODE = 1

_SECONDS = r"(\d+(?:\.\d+)?)s"
# Anything may follow after a ``-``, but no ``after-`` that did not parse: a
# tag that meant to give a time and got it wrong is no convention at all.
_REST = r"(?:-(?!.*after-).*)?"
_CRASH = re.compile(rf"crash(?:-(\d+))?(?:-after-{_SECONDS})?{_REST}")
_OOM = re.compile(rf"oom(?:-after-{_SECONDS})?{_REST}")


@dataclass(frozen=True)
class Exit:
    """How a container that reached RUNNING ends: ``after`` seconds later, with
    ``code``; ``reason`` is the container's ``reason`` (None for a plain exit)."""

    container: str
    code: int
    after: float
    reason: str | None = None

    @property
    def last_words(self) -> tuple[str, ...]:
        """What the app prints just before it ends (tasklogs puts them right before
        stoppedAt): an exit's own fatal line, or, for an out-of-memory kill, the last
        thing it printed before the kernel killed it (a killed process says nothing)."""
        if self.reason == OOM_REASON:
            return ("allocating a buffer: memory use is at the container's limit",)
        return (f"fatal: exiting with code {self.code}",)


def image_exit(image: str, container: str = "") -> Exit | None:
    """The ``crash[-N][-after-Ss]`` / ``oom[-after-Ss]`` convention for one image, if any."""
    tag = image_tag(image)
    if tag is None:
        return None
    crash = _CRASH.fullmatch(tag)
    if crash:
        code = int(crash.group(1)) % 256 if crash.group(1) else DEFAULT_CRASH_CODE
        return Exit(container, code, _seconds(crash.group(2)))
    oom = _OOM.fullmatch(tag)
    if oom:
        return Exit(container, OOM_EXIT_CODE, _seconds(oom.group(1)), OOM_REASON)
    return None


def _seconds(text: str | None) -> float:
    return float(text) if text is not None else DEFAULT_RUN_SECONDS


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
