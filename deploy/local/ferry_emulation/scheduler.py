"""Amazon EventBridge Scheduler behaviours that moto does not model, and firing.

moto 5.2.5 stores schedules and schedule groups but checks little and runs
nothing. The layer follows the API reference
(https://docs.aws.amazon.com/scheduler/latest/APIReference/) where Ferry
depends on it:

* CreateSchedule / UpdateSchedule (API_CreateSchedule.html,
  API_UpdateSchedule.html): ``Name`` is 1-64 characters of
  ``[0-9a-zA-Z-_.]``; ``ScheduleExpression``, ``FlexibleTimeWindow`` and
  ``Target`` (with ``Arn`` and ``RoleArn``) are required; the expression
  and ``ScheduleExpressionTimezone`` are validated (schedule_model.py);
  a ``GroupName`` that does not exist is ResourceNotFoundException (moto
  answers HTTP 500). UpdateSchedule "replaces all the parameters of the
  schedule": a ``State`` left out is ENABLED again (moto stores null).
  ``EcsParameters.Tags`` is an array of string-to-string maps, every entry
  a tag, as schedule_delivery.py reads it; other shapes, and
  ``RetryPolicy`` or ``DeadLetterConfig`` outside their constraints, are
  ValidationException. ``PropagateTags`` is ``TASK_DEFINITION`` or absent.
* CreateScheduleGroup (API_CreateScheduleGroup.html): a name that exists
  is ConflictException; moto replaces the group, dropping its schedules.
* Errors are REST-JSON: HTTP status, ``__type`` and ``message``.

Firing. "EventBridge Scheduler invokes the target" on each occurrence
(schedule-types.html); for an ECS target it calls RunTask with the
target's ``EcsParameters`` (API_EcsParameters.html): the cluster ARN
(``Target.Arn``), ``TaskDefinitionArn``, ``TaskCount`` (default 1),
``LaunchType`` or ``CapacityProviderStrategy`` (items ``capacityProvider``,
``base``, ``weight``; both at once is refused at Create/UpdateSchedule with
ValidationException, as RunTask refuses them together: the stricter
reading, Scheduler's page does not say), ``EnableExecuteCommand``,
``NetworkConfiguration.awsvpcConfiguration``
(``Subnets``, ``SecurityGroups``, ``AssignPublicIp``), ``Tags``,
``EnableECSManagedTags``, ``PropagateTags``, ``ReferenceId``, ``Group``
(the task's ``group``). The task's
``startedBy`` is ``chronos-schedule/<schedule name>``: what ECS shows for
tasks EventBridge Scheduler starts (not documented; seen in DescribeTasks
output of such tasks). A background thread fires every ENABLED schedule
on the emulator's schedule clock by sending that RunTask through the
whole layer (so the task is a one-off of deployments.py, listed by
ListTasks and logged with agent ``eventbridge-scheduler``). Tags whose
keys repeat (every entry of every map is a tag) fail the invocation with
``InvalidParameterException`` ``Multiple tags contain the same key.``, as
ECS refuses that RunTask. An invocation that fails is retried on the next
ticks while the target's ``RetryPolicy`` allows (default 185 retries
within 24 hours; AWS backs off between retries, the layer does not), then
sent to ``DeadLetterConfig.Arn`` with the documented message attributes
(schedule_delivery.py), or dropped without one. The dead letter goes
straight into moto's SQS backend (as RunTask goes through the layer); a
queue that does not exist loses it, with a line on stderr.

The schedule clock runs ``1 / FERRY_EMULATOR_SCHEDULE_TIME_SCALE`` times
as fast as real time (default 1.0, real time): with 0.05, ``rate(1
minute)`` fires every 3 real seconds and a cron minute lasts 3 s. Rate
schedules fire one period after they were created (or their expression
last updated), then every period; cron schedules at each matching minute
in their timezone; ``at()`` once. ``FlexibleTimeWindow`` FLEXIBLE is
fired at the start of its window (AWS fires anywhere in it).

Every Scheduler request runs under one lock, which the firing thread
takes too, so a schedule is never fired while it is being changed.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from . import envsettings, locks, schedule_delivery, schedule_model
from .wire import AwsRequest, Response, json_error

SERVICE = "scheduler"

TIME_SCALE_ENV = "FERRY_EMULATOR_SCHEDULE_TIME_SCALE"
TIME_SCALE_DEFAULT = 1.0
TICK_SECONDS = 0.2
STARTED_BY_PREFIX = "chronos-schedule/"
NAME = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}$")


Forward = Callable[[AwsRequest], Response]


def time_scale(environ: Mapping[str, str] = os.environ) -> float:
    return envsettings.number(environ, TIME_SCALE_ENV, TIME_SCALE_DEFAULT, allow_zero=False,
                              requirement="a positive number")


def _error(status: int, code: str, message: str) -> Response:
    return json_error(status, code, message, "application/json")


def _validation(message: str) -> Response:
    return _error(400, "ValidationException", message)


def name_from_path(request: AwsRequest) -> str:
    return unquote(request.path.rstrip("/").rsplit("/", 1)[-1])


def check_schedule(params: Mapping[str, Any], name: str) -> str | None:
    """Why CreateSchedule or UpdateSchedule would be refused, or None."""
    if not NAME.match(name):
        return (f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$ "
                "and have length between 1 and 64")
    for required in ("ScheduleExpression", "FlexibleTimeWindow", "Target"):
        if params.get(required) in (None, "", {}):
            return f"1 validation error detected: Value null at '{required}' failed to satisfy constraint: Member must not be null"
    window = params["FlexibleTimeWindow"]
    if not isinstance(window, dict) or window.get("Mode") not in ("OFF", "FLEXIBLE"):
        return "FlexibleTimeWindow.Mode must be OFF or FLEXIBLE"
    try:
        schedule_model.parse(str(params["ScheduleExpression"]))
        schedule_model.timezone(params.get("ScheduleExpressionTimezone"))
    except schedule_model.Invalid as e:
        return str(e)
    target = params["Target"]
    if not isinstance(target, dict) or not target.get("Arn") or not target.get("RoleArn"):
        return "Target.Arn and Target.RoleArn are required"
    try:
        schedule_delivery.check_target(target)
    except schedule_delivery.Invalid as e:
        return str(e)
    ecs = target.get("EcsParameters")
    if ecs is not None:
        if not isinstance(ecs, dict) or not ecs.get("TaskDefinitionArn"):
            return "EcsParameters.TaskDefinitionArn is required"
        try:
            schedule_delivery.check_tags(ecs.get("Tags"))
        except schedule_delivery.Invalid as e:
            return str(e)
        if ecs.get("PropagateTags") not in (None, "TASK_DEFINITION"):
            return "EcsParameters.PropagateTags must be TASK_DEFINITION"
        if ecs.get("LaunchType") and ecs.get("CapacityProviderStrategy"):
            return ("EcsParameters: LaunchType and CapacityProviderStrategy are mutually "
                    "exclusive; specify one")
    return None


@dataclass
class Invocation:
    """One occurrence of a schedule, until its target is invoked or it is given up on."""

    scheduled: float  # schedule-clock seconds it was due at
    execution_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    retries: int = 0


@dataclass
class Firing:
    """What the layer keeps per schedule to fire it."""

    arn: str
    region: str
    anchor: float  # schedule-clock seconds the rate counts from
    next_at: float | None
    pending: list[Invocation] = field(default_factory=list)  # not yet started
    fired: int = 0
    dead_letters: int = 0


class SchedulerEmulation:
    def __init__(self, scale: float, clock: Callable[[], float] = time.time):
        self.scale = scale
        self.clock = clock
        self._origin = clock()
        self.firings: dict[tuple[str, str, str], Firing] = {}  # (region, group, name)
        self.template: dict[str, Any] | None = None
        self.dispatch: Callable[[dict[str, Any], Callable[..., Any]], Any] | None = None

    def now(self) -> float:
        """The schedule clock: starts at real time, runs 1/scale as fast."""
        real = self.clock()
        return self._origin + (real - self._origin) / self.scale

    # -- handlers --------------------------------------------------------------------------

    def serialize(self, request: AwsRequest, forward: Forward) -> Response:
        with locks.SCHEDULER:
            if self.template is None:
                self.template = dict(request.environ)
            return forward(request)

    def create_schedule_group(self, request: AwsRequest, forward: Forward) -> Response:
        name = name_from_path(request)
        probe = forward(request.with_rest("GET", f"/schedule-groups/{name}", operation="GetScheduleGroup"))
        if probe.status == 200:
            return _error(409, "ConflictException", f"Schedule group {name} already exists.")
        return forward(request)

    def _group_exists(self, request: AwsRequest, forward: Forward, group: str) -> bool:
        probe = forward(request.with_rest("GET", f"/schedule-groups/{group}", operation="GetScheduleGroup"))
        return probe.status == 200

    def create_schedule(self, request: AwsRequest, forward: Forward) -> Response:
        params = request.json()
        name = name_from_path(request)
        problem = check_schedule(params, name)
        if problem:
            return _validation(problem)
        group = params.get("GroupName") or "default"
        if not self._group_exists(request, forward, group):
            return _error(404, "ResourceNotFoundException", f"Schedule group {group} does not exist.")
        response = forward(request)
        if response.status == 200:
            self._track(request.region or "us-east-1", group, name, params, response, anchor=None)
        return response

    def update_schedule(self, request: AwsRequest, forward: Forward) -> Response:
        params = dict(request.json())
        name = name_from_path(request)
        problem = check_schedule(params, name)
        if problem:
            return _validation(problem)
        group = params.get("GroupName") or "default"
        params.setdefault("State", "ENABLED")
        before = forward(request.with_rest("GET", f"/schedules/{name}", f"groupName={group}",
                                           operation="GetSchedule"))
        response = forward(request.with_json(params))
        if response.status == 200:
            previous = before.json() if before.status == 200 else {}
            key = (request.region or "us-east-1", group, name)
            same = (previous.get("ScheduleExpression") == params["ScheduleExpression"]
                    and previous.get("ScheduleExpressionTimezone", "UTC")
                    == (params.get("ScheduleExpressionTimezone") or "UTC"))
            anchor = self.firings[key].anchor if same and key in self.firings else None
            self._track(key[0], group, name, params, response, anchor=anchor)
        return response

    def delete_schedule(self, request: AwsRequest, forward: Forward) -> Response:
        response = forward(request)
        if response.status == 200:
            group = _query(request).get("groupName") or "default"
            self.firings.pop((request.region or "us-east-1", group, name_from_path(request)), None)
        return response

    def _track(self, region: str, group: str, name: str, params: Mapping[str, Any],
               response: Response, anchor: float | None) -> None:
        now = self.now()
        anchor = now if anchor is None else anchor
        expression = schedule_model.parse(params["ScheduleExpression"])
        zone = schedule_model.timezone(params.get("ScheduleExpressionTimezone"))
        arn = response.json().get("ScheduleArn", "")
        key = (region, group, name)
        previous = self.firings.get(key)
        self.firings[key] = Firing(arn=arn, region=region, anchor=anchor,
                                   next_at=schedule_model.next_fire(expression, zone, now, anchor),
                                   pending=previous.pending if previous else [],
                                   fired=previous.fired if previous else 0)

    # -- firing ----------------------------------------------------------------------------

    def tick(self, get_schedule: Callable[[str, str, str], dict[str, Any] | None]) -> None:
        """Fires every schedule that is due; ``get_schedule`` reads moto's copy."""
        now = self.now()
        with locks.SCHEDULER:
            due = []
            for key, firing in list(self.firings.items()):
                schedule = get_schedule(*key)
                if schedule is None:
                    self.firings.pop(key, None)
                    continue
                expression = schedule_model.parse(schedule["ScheduleExpression"])
                zone = schedule_model.timezone(schedule.get("ScheduleExpressionTimezone"))
                while firing.next_at is not None and firing.next_at <= now:
                    if schedule.get("State", "ENABLED") == "ENABLED":
                        firing.pending.append(Invocation(scheduled=firing.next_at))
                    firing.next_at = schedule_model.next_fire(expression, zone, firing.next_at,
                                                              firing.anchor)
                if firing.pending:
                    due.append((key, firing, schedule))
        for key, firing, schedule in due:
            invocations = firing.pending
            firing.pending = []
            target = schedule.get("Target") or {}
            policy = schedule_delivery.retry_policy(target)
            for invocation in invocations:
                failure = self.invoke(key, schedule)
                if failure is None:
                    firing.fired += 1
                    continue
                condition = schedule_delivery.exhausted(policy, invocation.retries,
                                                        now - invocation.scheduled)
                if condition is None:
                    invocation.retries += 1
                    firing.pending.append(invocation)
                    continue
                letter = schedule_delivery.dead_letter(
                    target, schedule.get("Arn") or firing.arn, invocation.execution_id,
                    invocation.scheduled, invocation.retries, condition, *failure)
                if letter is not None and send_dead_letter(letter):
                    firing.dead_letters += 1

    def run_task_params(self, name: str, target: Mapping[str, Any]) -> dict[str, Any]:
        ecs = target.get("EcsParameters") or {}
        params: dict[str, Any] = {
            "cluster": target.get("Arn"),
            "taskDefinition": ecs.get("TaskDefinitionArn"),
            "count": ecs.get("TaskCount") or 1,
            "startedBy": f"{STARTED_BY_PREFIX}{name}"[:128],
        }
        if ecs.get("LaunchType"):
            params["launchType"] = ecs["LaunchType"]
        if ecs.get("CapacityProviderStrategy"):
            params["capacityProviderStrategy"] = [
                {k: item[k] for k in ("capacityProvider", "base", "weight") if k in item}
                for item in ecs["CapacityProviderStrategy"] if isinstance(item, dict)]
        vpc = (ecs.get("NetworkConfiguration") or {}).get("awsvpcConfiguration")
        if vpc:
            network = {"subnets": vpc.get("Subnets") or []}
            if vpc.get("SecurityGroups"):
                network["securityGroups"] = vpc["SecurityGroups"]
            if vpc.get("AssignPublicIp"):
                network["assignPublicIp"] = vpc["AssignPublicIp"]
            params["networkConfiguration"] = {"awsvpcConfiguration": network}
        tags = schedule_delivery.task_tags(ecs.get("Tags"))
        if tags:
            params["tags"] = tags
        for source, dest in (("EnableECSManagedTags", "enableECSManagedTags"),
                             ("PropagateTags", "propagateTags"), ("ReferenceId", "referenceId"),
                             ("PlatformVersion", "platformVersion"), ("Group", "group"),
                             ("EnableExecuteCommand", "enableExecuteCommand")):
            if ecs.get(source) is not None:
                params[dest] = ecs[source]
        return params

    def invoke(self, key: tuple[str, str, str],
               schedule: Mapping[str, Any]) -> tuple[str, str] | None:
        """RunTask through the whole layer, as EventBridge Scheduler would call it.

        Returns None when the task started, else the error code and message.
        """
        if self.dispatch is None or self.template is None:
            return ("InternalServerException", "the emulator is not serving yet")
        region, _, name = key
        params = self.run_task_params(name, schedule.get("Target") or {})
        if schedule_delivery.duplicate_key(params.get("tags") or []) is not None:
            return schedule_delivery.DUPLICATE_TAGS
        account = _account(schedule.get("Arn", ""))
        environ = dict(self.template)
        body = json.dumps(params).encode()
        environ.update({
            "REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "", "RAW_URI": "/",
            "REQUEST_URI": "/", "CONTENT_TYPE": "application/x-amz-json-1.1",
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
            "HTTP_X_AMZ_TARGET": "AmazonEC2ContainerServiceV20141113.RunTask",
            "HTTP_AUTHORIZATION": (f"AWS4-HMAC-SHA256 Credential={account}/20240101/{region}/ecs/"
                                   "aws4_request, SignedHeaders=host, Signature=0"),
            "HTTP_USER_AGENT": "app/eventbridge-scheduler",
        })
        for header in ("HTTP_X_AMZ_USER_AGENT", "HTTP_TRANSFER_ENCODING", "HTTP_CONTENT_MD5"):
            environ.pop(header, None)
        status: list[int] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
            status.append(int(line.split(" ", 1)[0]))
            return lambda _data: None

        try:
            result = self.dispatch(environ, start_response)
            payload = b"".join(result)
        except Exception as e:  # a reset or a bug: the invocation failed
            print(f"scheduler: invoking {name} failed: {e!r}", file=sys.stderr)
            return ("InternalServerException", repr(e))
        try:
            answer = json.loads(payload or b"{}")
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        if not status or status[0] != 200:
            print(f"scheduler: RunTask for {name} answered {status[:1]}: {payload[:300]!r}",
                  file=sys.stderr)
            code = str(answer.get("__type") or "ServerException").rsplit("#", 1)[-1]
            return (code, str(answer.get("message") or answer.get("Message") or ""))
        failures = answer.get("failures") or []
        if failures:
            # RunTask's own failures (API_Failure): its reason and detail.
            first = failures[0] if isinstance(failures[0], dict) else {}
            return (str(first.get("reason") or "RunTaskFailure"),
                    str(first.get("detail") or first.get("arn") or ""))
        return None


def _query(request: AwsRequest) -> dict[str, str]:
    from urllib.parse import parse_qs
    return {k: v[0] for k, v in parse_qs(request.environ.get("QUERY_STRING", "")).items()}


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() and len(parts[4]) == 12 else "123456789012"


def moto_schedule(region: str, group: str, name: str) -> dict[str, Any] | None:
    """moto's stored schedule as GetSchedule would answer it, or None."""
    from moto.scheduler.models import scheduler_backends

    for account in list(scheduler_backends.keys()):
        backend = scheduler_backends[account].get(region)
        group_obj = backend.schedule_groups.get(group) if backend else None
        schedule = group_obj.schedules.get(name) if group_obj else None
        if schedule is not None:
            return schedule.to_dict()
    return None


def send_dead_letter(letter: schedule_delivery.DeadLetter) -> bool:
    """Puts a dead-letter event in moto's queue; False when the queue does not exist."""
    from moto.sqs.models import sqs_backends

    region, account, queue = schedule_delivery.queue_of(letter.queue_arn)
    try:
        sqs_backends[account][region].send_message(queue, "{}",
                                                   message_attributes=letter.attributes)
    except Exception as e:  # no such queue: AWS loses the event too
        print(f"scheduler: dead letter to {letter.queue_arn} failed: {e!r}", file=sys.stderr)
        return False
    return True


def register(layer: Any) -> None:
    emulation = SchedulerEmulation(time_scale())
    emulation.dispatch = layer
    layer.register(SERVICE, "*", emulation.serialize)
    layer.register(SERVICE, "CreateScheduleGroup", emulation.create_schedule_group)
    layer.register(SERVICE, "CreateSchedule", emulation.create_schedule)
    layer.register(SERVICE, "UpdateSchedule", emulation.update_schedule)
    layer.register(SERVICE, "DeleteSchedule", emulation.delete_schedule)
    layer.scheduler = emulation

    def loop() -> None:
        while True:
            time.sleep(TICK_SECONDS)
            try:
                emulation.tick(moto_schedule)
            except Exception as e:  # keep firing the others
                print(f"scheduler: tick failed: {e!r}", file=sys.stderr)

    threading.Thread(target=loop, name="scheduler", daemon=True).start()
