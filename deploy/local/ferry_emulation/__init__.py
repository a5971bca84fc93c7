"""Ferry's emulation layer over moto: AWS behaviours moto lacks.

``build(app, request_log)`` wraps a moto WSGI app with every emulated
behaviour. ``MODULES`` register in order, and handlers run in registration
order, first registered outermost: ``faults`` comes first, then
``throttling``, so a faulted (before execution) or throttled request reaches
no other handler (and takes no lock), and ``ecs`` (whose lock covers every
ECS request) comes before ``deployments``. New behaviours are new modules
with a ``register(layer)`` function, added to ``MODULES``. Modules read
their ``FERRY_EMULATOR_*`` settings in ``register``, so each ``build`` sees
the environment of its time.
"""

from __future__ import annotations

from typing import IO

from . import (authz, autoscaling, cloudwatch, deployments, dynamodb, ecs, ecs_capacity, elbv2,
               faults, route53, scheduler, throttling)
from .middleware import EmulationMiddleware, RequestLog, WsgiApp

# authz registers last: it reads what the others keep (autoscaling's tags).
# ecs_capacity registers after deployments: it sits between deployments' handlers
# and moto, so deployments sees the services it completes.
MODULES = [faults, throttling, dynamodb, ecs, deployments, ecs_capacity, elbv2, route53, scheduler,
           autoscaling, cloudwatch, authz]


def build(app: WsgiApp, request_log: IO[str] | None = None) -> EmulationMiddleware:
    layer = EmulationMiddleware(app, RequestLog(request_log))
    for module in MODULES:
        module.register(layer)
    return layer


__all__ = ["build", "EmulationMiddleware", "RequestLog", "MODULES"]
