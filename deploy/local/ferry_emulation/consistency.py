"""ECS eventual consistency: just-created services and tasks are not seen yet.

https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
  "The Amazon ECS API follows an eventual consistency model. This is
  because of the distributed nature of the system supporting the API. This
  means that the result of an API command you run that affects your Amazon
  ECS resources might not be immediately visible to all subsequent commands
  you run. Keep this in mind when you carry out an API command that
  immediately follows a previous API command."
  "To manage eventual consistency, you can do the following: Confirm the
  state of the resource before you run a command to modify it. Run the
  DescribeTasks command using an exponential backoff algorithm to ensure
  that you allow enough time for the previous command to propagate through
  the system. ... Add wait time between subsequent commands, even if the
  DescribeTasks command returns an accurate response."
DescribeServices and DescribeTasks report a resource they cannot find
under ``failures`` with reason ``MISSING`` (API_Failure.html; the SDKs'
``tasks_running`` waiter, generated from AWS's service model, fails on
``failures[].reason == "MISSING"``, e.g. aws-sdk-ruby's
Aws::ECS::Waiters::TasksRunning; moto answers so for a service it does not
know).

moto is consistent at once. With ``FERRY_EMULATOR_CONSISTENCY_LAG_SECONDS``
= L > 0 (read once when the emulator starts; default 0 = off, the handlers
are not even registered; a value that is not a number of seconds >= 0
stops the emulator), for L seconds after a service or task is created:

* DescribeServices leaves the service out of ``services`` and reports it
  under ``failures`` as ``{"arn": ..., "reason": "MISSING"}``;
* ListServices leaves its ARN out;
* DescribeTasks leaves the task out of ``tasks`` and reports it MISSING;
* ListTasks leaves its ARN out (before paging: pages stay full).

When a resource was created: a service, when CreateService answered; a
one-off task, when RunTask answered; a task the service scheduler started,
its ``createdAt`` in the first DescribeTasks answer that shows it. A task
first met in a ListTasks answer (a service task nobody has described yet)
counts from its creation in the layer's ECS model (``know_task_births``)
when the model knows it; otherwise from that moment, until a DescribeTasks answer gives its
``createdAt``: it is hidden at least as long as on AWS, possibly up to L
longer (the stricter reading; the docs give no figure at all). A service
created again under its old name (same ARN) is hidden again from its new
creation. The failure's ``arn`` is the identifier asked for when it is an
ARN, else built as moto builds it for a missing service
(``arn:...:service/NAME``) or the task's ARN.

Not modelled: reads that lag behind an UpdateService, DeleteService or
StopTask (they show the new state at once), and lag in other services.
Records are kept for the emulator's life (a few hundred bytes per
resource).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import envsettings
from .wire import AwsRequest, Response, json_answer, json_object

Forward = Callable[[AwsRequest], Response]

LAG_ENV = "FERRY_EMULATOR_CONSISTENCY_LAG_SECONDS"


def lag_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """The configured lag; ValueError naming the variable for an unusable value."""
    return envsettings.seconds(environ, LAG_ENV, 0.0)


# -- the decision (pure) ----------------------------------------------------------------

def hidden(born: float | None, now: float, lag: float) -> bool:
    """Whether a resource created at ``born`` is still invisible at ``now``."""
    return born is not None and now < born + lag


def missing_service_arn(identifier: str, service_arn: str) -> str:
    """The failure ARN for a service asked for as ``identifier`` (name or ARN)."""
    if identifier.startswith("arn:"):
        return identifier
    return f"{service_arn.split(':service/', 1)[0]}:service/{identifier}"


def _identifier(requested: Iterable[Any], arn: str, name: str) -> str:
    for ident in requested:
        if isinstance(ident, str) and (ident == arn or ident == name
                                       or (name and ident.endswith("/" + name))):
            return ident
    return arn


def hide_services(payload: dict[str, Any], requested: list[Any],
                  is_hidden: Callable[[str], bool]) -> dict[str, Any]:
    """A DescribeServices answer without the hidden services, which become MISSING failures."""
    shown, failures = [], list(payload.get("failures") or [])
    for service in payload.get("services") or []:
        arn = service.get("serviceArn") if isinstance(service, dict) else None
        if isinstance(arn, str) and is_hidden(arn):
            ident = _identifier(requested, arn, str(service.get("serviceName") or ""))
            failures.append({"arn": missing_service_arn(ident, arn), "reason": "MISSING"})
        else:
            shown.append(service)
    return {**payload, "services": shown, "failures": failures}


def hide_tasks(payload: dict[str, Any], requested: list[Any],
               is_hidden: Callable[[str], bool]) -> dict[str, Any]:
    """A DescribeTasks answer without the hidden tasks, which become MISSING failures."""
    shown, failures = [], list(payload.get("failures") or [])
    for task in payload.get("tasks") or []:
        arn = task.get("taskArn") if isinstance(task, dict) else None
        if isinstance(arn, str) and is_hidden(arn):
            ident = _identifier(requested, arn, arn.rsplit("/", 1)[-1])
            failures.append({"arn": ident if ident.startswith("arn:") else arn,
                             "reason": "MISSING"})
        else:
            shown.append(task)
    return {**payload, "tasks": shown, "failures": failures}


def visible_arns(arns: list[Any], is_hidden: Callable[[str], bool]) -> list[Any]:
    return [arn for arn in arns if not (isinstance(arn, str) and is_hidden(arn))]


# -- the record of creation times ---------------------------------------------------------

class Visibility:
    """When each service and task was created, as far as the layer knows, and the handlers."""

    def __init__(self, lag: float, clock: Callable[[], float] = time.time):
        self.lag = lag
        self.clock = clock
        self.born: dict[str, float] = {}

    def created(self, arn: str, at: float) -> None:
        """A creation the layer saw happen: replaces any older record (a re-created service)."""
        self.born[arn] = at

    def learned(self, arn: str, at: float) -> None:
        """A creation time learned later (createdAt, or first sight): the earliest wins."""
        known = self.born.get(arn)
        self.born[arn] = at if known is None else min(known, at)

    def is_hidden(self, now: float) -> Callable[[str], bool]:
        return lambda arn: hidden(self.born.get(arn), now, self.lag)

    # -- handlers ---------------------------------------------------------------------------

    def create_service(self, request: AwsRequest, forward: Forward) -> Response:
        response = forward(request)
        payload = json_object(response)
        service = payload.get("service") if payload else None
        if isinstance(service, dict) and isinstance(service.get("serviceArn"), str):
            self.created(service["serviceArn"], self.clock())
        return response

    def run_task(self, request: AwsRequest, forward: Forward) -> Response:
        response = forward(request)
        payload = json_object(response)
        now = self.clock()
        for task in (payload or {}).get("tasks") or []:
            if isinstance(task, dict) and isinstance(task.get("taskArn"), str):
                self.created(task["taskArn"], now)
        return response

    def describe_services(self, request: AwsRequest, forward: Forward) -> Response:
        return _rewritten(request, forward, self._describe_services)

    def list_services(self, request: AwsRequest, forward: Forward) -> Response:
        return _rewritten(request, forward, self._list_services)

    def describe_tasks(self, request: AwsRequest, forward: Forward) -> Response:
        return _rewritten(request, forward, self._describe_tasks)

    def list_tasks(self, request: AwsRequest, forward: Forward) -> Response:
        return _rewritten(request, forward, self._list_tasks)

    # -- what each handler makes of moto's answer ----------------------------------------------

    def _describe_services(self, request: AwsRequest, payload: dict[str, Any]) -> dict[str, Any]:
        requested = request.json().get("services") or []
        return hide_services(payload, requested, self.is_hidden(self.clock()))

    def _list_services(self, _request: AwsRequest, payload: dict[str, Any]) -> dict[str, Any]:
        arns = payload.get("serviceArns") or []
        return {**payload, "serviceArns": visible_arns(arns, self.is_hidden(self.clock()))}

    def _describe_tasks(self, request: AwsRequest, payload: dict[str, Any]) -> dict[str, Any]:
        for task in payload.get("tasks") or []:
            if not isinstance(task, dict):
                continue
            created = task.get("createdAt")
            if isinstance(task.get("taskArn"), str) and isinstance(created, (int, float)):
                self.learned(task["taskArn"], float(created))
        requested = request.json().get("tasks") or []
        return hide_tasks(payload, requested, self.is_hidden(self.clock()))

    def _list_tasks(self, _request: AwsRequest, payload: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        arns = payload.get("taskArns") or []
        for arn in arns:
            if isinstance(arn, str) and arn not in self.born:
                born = _task_birth(arn) if _task_birth is not None else None
                # The layer's own record of when it started the task, else
                # first sight (see the module docstring).
                self.learned(arn, born if born is not None else now)
        return {**payload, "taskArns": visible_arns(arns, self.is_hidden(now))}


# When the layer's ECS model created a task, by ARN (``deployments`` tells it):
# a service task nobody has described yet is hidden for the lag after its real
# creation, not after the first ListTasks that shows it.
_task_birth: Callable[[str], float | None] | None = None


def know_task_births(lookup: Callable[[str], float | None]) -> None:
    """Where ListTasks learns when a task it has not seen was created."""
    global _task_birth
    _task_birth = lookup


def _rewritten(request: AwsRequest, forward: Forward,
               rewrite: Callable[[AwsRequest, dict[str, Any]], dict[str, Any]]) -> Response:
    """moto's answer to ``request``, its JSON object as ``rewrite`` makes it; an answer
    that is not a 200 JSON object passes unchanged."""
    response = forward(request)
    payload = json_object(response)
    if payload is None:
        return response
    return json_answer(response, rewrite(request, payload))


def register(layer: Any, environ: Mapping[str, str] = os.environ,
             clock: Callable[[], float] = time.time) -> Visibility | None:
    """Called from ``ecs.register`` after the paging handlers (so pages are cut from
    what is visible) and before ``deployments`` (so what it renders is what is hidden)."""
    lag = lag_seconds(environ)
    if lag == 0:
        return None
    visibility = Visibility(lag, clock)
    layer.register("ecs", "CreateService", visibility.create_service)
    layer.register("ecs", "RunTask", visibility.run_task)
    layer.register("ecs", "DescribeServices", visibility.describe_services)
    layer.register("ecs", "ListServices", visibility.list_services)
    layer.register("ecs", "DescribeTasks", visibility.describe_tasks)
    layer.register("ecs", "ListTasks", visibility.list_tasks)
    return visibility
