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


Tasks that fail ELB health checks: an image whose tag starts with
``unhealthy`` (see ``ecs_model``). A one-off task's exit code: ``exit N``
in its command (see ``ecs_model``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
