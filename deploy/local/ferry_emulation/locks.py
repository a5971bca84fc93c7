"""The emulation layer's locks, one per emulated service, in one place.

moto's backends take no locks of their own, and AWS makes each call
atomic; so every request to an emulated service runs under that service's
lock (its module's ``serialize`` handler, registered first for it), and a
check the layer makes and the write it guards see no other request of the
same service in between. A module that must read another service's state
takes that service's lock here, by name, never another module's private
one.

Locks
-----
``ECS``
    Every ECS request (``ecs.serialize``); the layer's ECS model
    (``deployments.py``, ``ecs_model.py``: services, deployments, tasks,
    one-off tasks), moto's ECS backend and the narrow writes the layer
    makes to it (RunTask's lent ``memoryReservation``, a service's task
    definition). Taken alone by readers of the model from other services:
    ``DescribeTargetHealth`` (to advance the scheduler first) and the
    task log lines (``tasklogs``).
``ELBV2``
    Every ELBv2 request (``elbv2.serialize``): moto's ELBv2 backend and
    the layer's checks on it. ECS's CreateService reads target groups'
    associations under it.
``TARGETS``
    The layer's registered targets (``targets.Registry``): written by the
    ECS model (under ``ECS``), read by DescribeTargetHealth (under
    ``ELBV2``). Innermost: nothing is taken while it is held.
``ROUTE53``
    Every Route 53 request (``route53.serialize``).
``DYNAMODB``
    The DynamoDB requests the layer makes atomic (``dynamodb.py``).
``SCHEDULER``
    Every EventBridge Scheduler request and each firing of the
    schedules (``scheduler.py``).
``AUTOSCALING``
    Every Application Auto Scaling request (``autoscaling.serialize``).
``LOGS``
    Every CloudWatch Logs read (``tasklogs.py``): the lines a read writes
    and the read are one step.

Lock order (where one is taken while another is held), always in this
order and never the other way round:

    LOGS -> ECS -> ELBV2 -> TARGETS

(``tasklogs`` takes ECS under LOGS to list the tasks' containers;
CreateService takes ELBV2 under ECS, and so do the blue/green checks and
rule weights of ``ecs_strategy_links``; the ECS model registers targets
under ECS, DescribeTargetHealth reads them under ELBV2; ``TARGETS`` is
innermost.) DescribeTargetHealth releases ECS before it takes ELBV2. The
other locks are taken alone.

Every module takes these by name; none keeps a private lock for its
service (the fault injector and the request log guard only their own
bookkeeping, ``self._lock``).
"""

from __future__ import annotations

import threading

ECS = threading.Lock()
ELBV2 = threading.Lock()
TARGETS = threading.Lock()
ROUTE53 = threading.Lock()
DYNAMODB = threading.Lock()
SCHEDULER = threading.Lock()
AUTOSCALING = threading.Lock()
LOGS = threading.Lock()
