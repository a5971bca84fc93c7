"""CloudWatch Logs lines of the emulated ECS tasks (the ``awslogs`` log driver).

moto's ECS runs nothing, so its tasks never write a log line, and moto's
CloudWatch Logs only holds what a client put there. This module writes,
into moto's CloudWatch Logs (through its API: CreateLogStream and
PutLogEvents), the lines the layer's emulated tasks (``deployments.py``:
service tasks and RunTask's one-off tasks) would print, at the times they
would print them on the layer's clock, so that a client reading the logs
sees what it would see on AWS.

Where the lines go (the awslogs driver)
---------------------------------------
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
  ``awslogs-group``: "Specify the log group that the awslogs log driver
  sends its log streams to." ``awslogs-stream-prefix``: "Use the
  awslogs-stream-prefix option to associate a log stream with the
  specified prefix, the container name, and the ID of the Amazon ECS task
  that the container belongs to. If you specify a prefix with this option,
  then the log stream takes the following format:
  prefix-name/container-name/ecs-task-id". ``awslogs-create-group``
  (default false): without it the log group must exist.

So a container whose ``logConfiguration`` has ``logDriver`` ``awslogs``, an
``awslogs-group`` and an ``awslogs-stream-prefix`` writes to the stream
``PREFIX/CONTAINER/TASK_ID`` of that group, in ``awslogs-region`` (the
request's region when unset). A container without a prefix (AWS then
names the stream after the Docker container id, which the layer has
none of), in another region than the reader's, or whose group does not
exist (AWS: the task fails to start; here its lines are dropped), writes
nothing. A task that never started (a ``fail`` image, or stopped while
PENDING) writes nothing: no container ran.

What a container prints (the layer's convention)
------------------------------------------------
Every line is timestamped on the layer's clock (Unix milliseconds), each at
least one millisecond after the one before it in its stream, so their
order is the order they were printed:

* when the task starts RUNNING: ``starting IMAGE COMMAND`` (the command
  shell-quoted, omitted when the container has none);
* for a command ``sh -c SCRIPT`` (also ``bash``, ``ash``, ``dash``,
  ``/bin/sh``): the text SCRIPT's ``echo`` and ``printf`` commands would
  print, one log event per line, right after the start line (see
  ``shell_output.script_output`` for the interpreted subset);
* when a one-off task's container exits on its own: ``exited with code N``
  (the exit code deployments.py reports in DescribeTasks);
* when an essential container exits by an image convention (``crash...``,
  ``oom...``, see ``task_conventions``), instead: the app's own last words,
  timestamped just before the task's ``stoppedAt`` (the last one 1 ms
  before it): ``fatal: exiting with code N`` for a crash, ``allocating a
  buffer: memory use is at the container's limit`` for an out-of-memory
  kill (a killed process prints nothing after it);
* when a task that ran is stopped (StopTask, the service scheduler, a
  failed health check): ``stopped: STOP_CODE: REASON``.

Reading the logs: ingestion delay
---------------------------------
The lines of a task are written into moto lazily, when a client reads logs
(FilterLogEvents, GetLogEvents, DescribeLogStreams): first the ECS state is
brought up to now (as every ECS request does), then every line *visible*
by now and not yet written is put. A line is never written twice, and once
visible it stays visible.

On AWS a line is not readable the moment the container prints it. The
awslogs driver ships lines in PutLogEvents batches, and CloudWatch Logs
keeps two times per event: API_FilteredLogEvent.html and
API_OutputLogEvent.html, ``timestamp``: "The time the event occurred";
``ingestionTime``: "The time the event was ingested". FilterLogEvents
(API_FilterLogEvents.html): "The returned log events are sorted by event
timestamp, the timestamp when the event was ingested by CloudWatch Logs,
and the ID of the PutLogEvents request." PutLogEvents
(API_PutLogEvents.html): "You can use parallel PutLogEvents actions on the
same log stream", so batches, and streams, arrive in any order. No AWS page
gives the lag a number; users measure seconds (ingestionTime - timestamp,
e.g. dev.to/shu85t "Visualize CloudWatch Logs ingestion lag", "a time lag
of several seconds"), and readers that stop reading when a task stops lose
its last lines (apache/airflow#21573, #40875, #43717; a poller checkpointing
by timestamp skips late events: grafana/alloy#5854).

So a line printed at time t (its ``timestamp``) becomes readable at
t + lag, each line with a lag of its own: ``FERRY_EMULATOR_LOG_DELAY_SECONDS``
(default 1.5) plus or minus up to ``FERRY_EMULATOR_LOG_DELAY_JITTER_SECONDS``
(default 0.5), drawn uniformly per line from a hash of its task, container
and position (reproducible, no seed). A later line, of the same stream or
of another, may therefore become readable before an earlier one, and a
reader following by timestamp sees events appear *behind* the newest it
has seen. The longest lag is delay + jitter (2.0 s by default): a reader
that keeps reading that long after a task stopped misses nothing. Each
event keeps its ``timestamp`` and its ``eventId`` (moto's, fixed when the
line is put), and its ``ingestionTime`` is when it became readable (the
layer rewrites moto's, which is the time of the read that put it).
``FERRY_EMULATOR_LOG_DELAY_SECONDS=0`` turns the delay off (the jitter is
then ignored): a line is readable at its timestamp, as before. A jitter
above the delay is refused (a line cannot be readable before it was
printed). Both are read once at emulator start; an unusable value is a
ValueError naming the variable (the emulator exits 2).

Pagination under the delay. moto's ``nextToken`` names the last event of
the page (stream and eventId) in the timestamp-sorted result; the next
page starts after it. An event that becomes readable between two pages
with a timestamp before that point is not on a later page. AWS promises
no more: "If the results include a nextToken, there might be more log
events available" and "If the results don't include a nextToken, then
pagination is finished" (API_FilterLogEvents.html) say nothing of events
ingested behind the cursor, and the order is by timestamp first. A client
must re-read the recent window (its start time) and deduplicate by
``eventId``; a test here shows that a re-read finds the late event.

FilterLogEvents
---------------
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
  ``logStreamNamePrefix``: "Filters the results to include only events
  from log streams that have names starting with this prefix. If you
  specify a value for both logStreamNamePrefix and logStreamNames, the
  action returns an InvalidParameterException error." ``interleaved``:
  "Starting on June 17, 2019, this parameter is ignored and the value is
  assumed to be true. The response from this operation always interleaves
  events from multiple log streams within a log group." "Each page returned
  can contain up to 1 MB of log events or up to 10,000 log events. A
  returned page might only be partially full, or even empty. ... If the
  results include a nextToken, there might be more log events available."
moto 5.2.5 ignores ``logStreamNamePrefix`` (it returns every stream's
events) and interleaves only when asked. Here the prefix filters events and
``searchedLogStreams``, both given is HTTP 400 ``InvalidParameterException``
(wording ours), events are always interleaved (sorted by timestamp), and a
page holds at most ``FERRY_EMULATOR_LOGS_PAGE_EVENTS`` events (default
10000, AWS's maximum; a smaller client ``limit`` wins). Pages are moto's,
cut before the prefix filters them, so a page may be partially full or
empty while a ``nextToken`` says there is more, as AWS allows.

FilterLogEvents is throttled by throttling.py (5 per second, AWS's
quota). Not emulated: fault injection of Logs requests; the request log
does record every Logs request.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import envsettings, locks
from .shell_output import script_output
from .wire import AwsRequest, Response, json_answer, json_error

SERVICE = "logs"

Forward = Callable[[AwsRequest], Response]

DELAY_ENV = "FERRY_EMULATOR_LOG_DELAY_SECONDS"
JITTER_ENV = "FERRY_EMULATOR_LOG_DELAY_JITTER_SECONDS"
DELAY_DEFAULT = 1.5
JITTER_DEFAULT = 0.5

PAGE_ENV = "FERRY_EMULATOR_LOGS_PAGE_EVENTS"
PAGE_DEFAULT = 10000  # "up to 10,000 log events" per page

# Every Logs request runs under this lock: the lines a read writes and the
# read itself are one step, so two readers never write a line twice (moto's
# Logs backend takes no lock of its own). Lock order: this one, then ECS's.


def page_size(environ: Mapping[str, str] = os.environ) -> int:
    """FERRY_EMULATOR_LOGS_PAGE_EVENTS; ValueError unless a whole number in 1..10000."""
    return envsettings.whole_number(environ, PAGE_ENV, PAGE_DEFAULT, low=1, high=PAGE_DEFAULT)


# -- the ingestion delay (see the module docstring) ------------------------------------------

@dataclass(frozen=True)
class Ingestion:
    """How long after it is printed a line becomes readable: delay +/- jitter seconds."""

    delay: float = 0.0
    jitter: float = 0.0

    @property
    def longest(self) -> float:
        """The longest lag of any line, seconds."""
        return self.delay + self.jitter if self.delay > 0 else 0.0

    def lag(self, key: str) -> float:
        """The lag of the line named ``key``, in [delay - jitter, delay + jitter).

        Uniform, drawn from SHA-256 of the key: the same line always has the
        same lag, so once readable it stays readable.
        """
        if self.delay <= 0:
            return 0.0
        digest = hashlib.sha256(key.encode()).digest()
        unit = int.from_bytes(digest[:8], "big") / 2 ** 64  # [0, 1)
        return self.delay + self.jitter * (2 * unit - 1)

    def readable_at(self, printed_ms: int, key: str) -> int:
        """When a line printed at ``printed_ms`` (Unix ms) becomes readable (Unix ms)."""
        return printed_ms + int(round(self.lag(key) * 1000))


def ingestion(environ: Mapping[str, str] = os.environ) -> Ingestion:
    """FERRY_EMULATOR_LOG_DELAY_SECONDS and ..._JITTER_SECONDS; ValueError if unusable."""
    delay = envsettings.seconds(environ, DELAY_ENV, DELAY_DEFAULT)
    if delay == 0:
        return Ingestion()
    jitter = envsettings.seconds(environ, JITTER_ENV, min(JITTER_DEFAULT, delay))
    if jitter > delay:
        raise ValueError(f"{JITTER_ENV} must not exceed {DELAY_ENV} ({delay:g}), "
                         f"got {environ.get(JITTER_ENV)!r}")
    return Ingestion(delay, jitter)


# -- where a container's lines go ------------------------------------------------------------

@dataclass(frozen=True)
class Destination:
    """A container's awslogs destination."""

    container: str
    group: str
    prefix: str
    region: str | None

    def stream(self, task_id: str) -> str:
        """``prefix-name/container-name/ecs-task-id``."""
        return f"{self.prefix}/{self.container}/{task_id}"


def destinations(definition: Mapping[str, Any] | None) -> list[Destination]:
    """The awslogs destinations of a task definition's containers (see the module docstring)."""
    found = []
    for container in (definition or {}).get("containerDefinitions") or []:
        if not isinstance(container, dict) or not isinstance(container.get("name"), str):
            continue
        config = container.get("logConfiguration")
        if not isinstance(config, dict) or config.get("logDriver") != "awslogs":
            continue
        options = config.get("options") if isinstance(config.get("options"), dict) else {}
        group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
        if not isinstance(group, str) or not group or not isinstance(prefix, str) or not prefix:
            continue
        region = options.get("awslogs-region")
        found.append(Destination(container["name"], group, prefix,
                                 region if isinstance(region, str) and region else None))
    return found


# -- the lines of one container --------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """What a container did: started (RUNNING) at, stopped at, and how it ended."""

    image: str
    command: Any
    started_at: float | None
    stopped_at: float | None = None
    exit_code: int | None = None  # it exited on its own with this code
    stop_code: str | None = None  # else it was stopped: ECS's stopCode and reason
    stopped_reason: str | None = None
    # An image convention's exit (task_conventions.Exit.last_words): what the
    # app prints as it dies, instead of the layer's ``exited with code N``.
    last_words: tuple[str, ...] = ()


def _ms(t: float) -> int:
    return int(round(t * 1000))


def lines(run: Run) -> list[tuple[int, str]]:
    """Every line the container prints over its life, (Unix ms, message), in order."""
    if run.started_at is None:
        return []
    command = run.command if isinstance(run.command, list) else []
    start = f"starting {run.image}"
    if command:
        start += " " + shlex.join(str(part) for part in command)
    at = _ms(run.started_at)
    out = [(at, start)]
    for text in script_output(command):
        at += 1
        out.append((at, text))
    if run.stopped_at is not None and run.last_words:
        # Printed before it stopped: the last one a millisecond before stoppedAt
        # (later only when the task ran for less than its lines' milliseconds).
        at = max(at + 1, _ms(run.stopped_at) - len(run.last_words))
        for text in run.last_words:
            out.append((at, text))
            at += 1
    elif run.stopped_at is not None:
        at = max(at + 1, _ms(run.stopped_at))
        if run.exit_code is not None:
            out.append((at, f"exited with code {run.exit_code}"))
        else:
            parts = [run.stop_code or "UserInitiated"] + ([run.stopped_reason] if run.stopped_reason else [])
            out.append((at, "stopped: " + ": ".join(parts)))
    return out


def due(run: Run, now: float) -> list[tuple[int, str]]:
    """The lines printed by ``now``."""
    limit = _ms(now)
    return [line for line in lines(run) if line[0] <= limit]


@dataclass(frozen=True)
class Line:
    """One line of a container: its position, when printed and readable (Unix ms), its text."""

    index: int
    timestamp: int
    readable: int
    message: str


def readable(run: Run, now: float, lag: Ingestion, key: str) -> list[Line]:
    """The lines of ``run`` readable by ``now``, in the order printed.

    ``key`` names the container (its task and name); each line's lag is
    drawn from ``key`` and its position, so it never changes.
    """
    limit = _ms(now)
    found = []
    for index, (timestamp, message) in enumerate(due(run, now)):
        at = lag.readable_at(timestamp, f"{key}#{index}")
        if at <= limit:
            found.append(Line(index, timestamp, at, message))
    return found


# -- the handlers ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Container:
    """One container of one task: where its lines go and what it did."""

    task_arn: str
    destination: Destination
    run: Run

    @property
    def stream(self) -> str:
        return self.destination.stream(self.task_arn.rsplit("/", 1)[-1])


class TaskLogs:
    """Writes the tasks' lines into moto's CloudWatch Logs before each Logs read.

    ``containers(now)`` lists every task's containers as they stand at
    ``now`` (deployments.py provides it, under ECS's lock).
    """

    def __init__(self, containers: Callable[[float], list[Container]], clock: Callable[[], float],
                 page: int = PAGE_DEFAULT, lag: Ingestion = Ingestion()):
        self.containers = containers
        self.clock = clock
        self.page = page
        self.lag = lag
        # The positions of the lines of each (task, group, stream) put into moto.
        self.written: dict[tuple[str, str, str], set[int]] = {}
        # When each line put became readable: (group, stream, timestamp) -> Unix ms.
        # A stream's lines have distinct timestamps (each >= 1 ms after the last).
        self.ingested: dict[tuple[str, str, int], int] = {}
        self.streams: set[tuple[str, str]] = set()
        self.dropped: set[tuple[str, str]] = set()

    def flush(self, request: AwsRequest, forward: Forward) -> None:
        """Put every line readable by now that is not in moto yet."""
        now = self.clock()
        for container in self.containers(now):
            destination = container.destination
            if destination.region not in (None, request.region):
                continue
            key = (destination.group, container.stream)
            if key in self.dropped:
                continue
            done = self.written.setdefault((container.task_arn, *key), set())
            name = f"{container.task_arn}/{destination.container}"
            pending = [line for line in readable(container.run, now, self.lag, name)
                       if line.index not in done]
            if not pending:
                continue
            if key not in self.streams:
                created = forward(request.with_operation("CreateLogStream", {
                    "logGroupName": destination.group, "logStreamName": container.stream}))
                if created.status != 200 and _code(created) != "ResourceAlreadyExistsException":
                    # No such group: AWS would not have started the task.
                    self.dropped.add(key)
                    continue
                self.streams.add(key)
            # In the order printed: PutLogEvents wants a batch in timestamp order.
            put = forward(request.with_operation("PutLogEvents", {
                "logGroupName": destination.group, "logStreamName": container.stream,
                "logEvents": [{"timestamp": line.timestamp, "message": line.message}
                              for line in pending]}))
            if put.status == 200:
                done.update(line.index for line in pending)
                for line in pending:
                    self.ingested[(*key, line.timestamp)] = line.readable

    def restamp(self, events: Any, group: Any, stream: Any = None) -> None:
        """Give the layer's events the ``ingestionTime`` they became readable at."""
        for event in events if isinstance(events, list) else []:
            if not isinstance(event, dict):
                continue
            at = self.ingested.get((group, event.get("logStreamName", stream), event.get("timestamp")))
            if at is not None:
                event["ingestionTime"] = at

    def read(self, request: AwsRequest, forward: Forward) -> Response:
        """DescribeLogStreams: moto's answer, after the lines readable are in."""
        with locks.LOGS:
            self.flush(request, forward)
            return forward(request)

    def get_log_events(self, request: AwsRequest, forward: Forward) -> Response:
        """GetLogEvents: moto's answer, after the lines readable are in, restamped.

        moto pages from the tail as AWS does (API_GetLogEvents.html,
        startFromHead: "If the value is false, the latest log events are returned
        first"; the events of a page are oldest first), so ``startFromHead=false,
        limit=N`` is the stream's last N lines. For a stream that does not exist in
        a group that does, moto says the *group* does not exist; the layer gives
        CloudWatch Logs' own message, ``The specified log stream does not exist.``
        """
        with locks.LOGS:
            self.flush(request, forward)
            response = forward(request)
            params = request.json()
            if response.status == 400 and _code(response) == "ResourceNotFoundException":
                return self._missing_stream(request, forward, params, response)
            payload = response.json() if response.status == 200 else None
            if not isinstance(payload, dict):
                return response
            self.restamp(payload.get("events"), params.get("logGroupName"),
                         params.get("logStreamName"))
            return json_answer(response, payload)

    @staticmethod
    def _missing_stream(request: AwsRequest, forward: Forward, params: Mapping[str, Any],
                        response: Response) -> Response:
        """The not-found error of a GetLogEvents, naming the stream when the group exists."""
        group = params.get("logGroupName")
        if not isinstance(group, str):
            return response
        found = forward(request.with_operation("DescribeLogStreams", {
            "logGroupName": group, "limit": 1}))
        if found.status != 200:
            return response
        return json_error(400, "ResourceNotFoundException",
                          "The specified log stream does not exist.")

    def filter_log_events(self, request: AwsRequest, forward: Forward) -> Response:
        with locks.LOGS:
            self.flush(request, forward)
            params = request.json()
            prefix = params.get("logStreamNamePrefix")
            if prefix is not None and params.get("logStreamNames") is not None:
                return json_error(400, "InvalidParameterException",
                                  "logStreamNames and logStreamNamePrefix cannot both be specified.")
            limit = params.get("limit")
            page = min(limit, self.page) if isinstance(limit, int) and limit > 0 else self.page
            upstream = {k: v for k, v in params.items() if k != "logStreamNamePrefix"}
            upstream.update(interleaved=True, limit=page)
            response = forward(request.with_json(upstream))
            if response.status != 200:
                return response
            payload = response.json()
            if not isinstance(payload, dict):
                return response
            self.restamp(payload.get("events"), params.get("logGroupName"))
            if isinstance(prefix, str):
                payload["events"] = [e for e in payload.get("events") or []
                                     if isinstance(e, dict)
                                     and str(e.get("logStreamName", "")).startswith(prefix)]
                payload["searchedLogStreams"] = [
                    s for s in payload.get("searchedLogStreams") or []
                    if isinstance(s, dict) and str(s.get("logStreamName", "")).startswith(prefix)]
            if payload.get("nextToken") is None:
                payload.pop("nextToken", None)
            return json_answer(response, payload)


def _code(response: Response) -> str | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    kind = payload.get("__type") if isinstance(payload, dict) else None
    return kind.rsplit("#", 1)[-1] if isinstance(kind, str) else None


def attach(layer: Any, containers: Callable[[float], list[Container]],
           clock: Callable[[], float]) -> TaskLogs:
    """Register the Logs handlers (deployments.register calls this with its tasks)."""
    logs = TaskLogs(containers, clock, page_size(), ingestion())
    layer.register(SERVICE, "FilterLogEvents", logs.filter_log_events)
    layer.register(SERVICE, "GetLogEvents", logs.get_log_events)
    layer.register(SERVICE, "DescribeLogStreams", logs.read)
    return logs
