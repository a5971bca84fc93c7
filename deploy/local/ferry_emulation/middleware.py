"""The emulation layer: WSGI middleware between the SDK and moto.

Each request is classified (service, operation), then offered to the chain
of handlers registered for it. A handler is a callable

    handler(request: AwsRequest, forward: Forward) -> Response

that either answers by itself (validation errors, throttling, injected
faults) or calls ``forward(request)`` to pass the request, possibly
rewritten, to the next handler and finally to moto, and may rewrite what
comes back (pagination). Handlers are registered per (service, operation);
operation ``"*"`` matches every operation of a service and ``("*", "*")``
every request. Handlers run in registration order, first registered
outermost: fault injection (``faults.py``) registers first, then throttling
(``throttling.py``), so a faulted or throttled request reaches no other
handler and not moto.

A response a handler marks ``fault="reset"`` or ``"reset-after"`` is logged,
then not sent: the middleware raises ``faults.DropConnection``, and the
server's request handler (``faults.resetting``) resets the connection.

Requests no handler claims are streamed to moto unbuffered.

Every request, handled or not, gets one line in the request log.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, Any

from .faults import RESET_AFTER, RESETS, DropConnection
from .wire import AwsRequest, Response, classify, status_code

Forward = Callable[[AwsRequest], Response]
Handler = Callable[[AwsRequest, Forward], Response]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# The WSGI environ key under which a request's arrival time is kept.
RECEIVED = "ferry.received"
# The WSGI environ key of the request log's authorization fields (authz.py).
AUTHZ = "ferry.authz"


class RequestLog:
    """One JSON line per request, flushed per line so tests can read it live.

    Format: {"t": 1700000000.123, "received": 1700000000.071, "service": "ecs",
             "operation": "DescribeServices", "status": 200,
             "throttled": true, "fault": "error", "latency_ms": 50.0,
             "agent": "replica-a", "pk": ["lease"], "target": "web_web"}

    ``t`` is when the answer was ready, ``received`` when the request had
    arrived (its body read), before any latency or queueing here: what a
    test compares to say which of two clients sent first. ``signed`` is the
    SigV4 signing time the client put in ``X-Amz-Date`` (Unix seconds, whole
    seconds as the header has them): when the client's SDK had finished
    building the request, which may be long before it arrived if the client
    was stopped in between. ``throttled`` is
    present (and true) only on a request the throttling
    handler refused (its ``status`` is the 400 the client got). ``fault``
    (``"error"``, ``"reset"``, ``"reset-after"``) only on a request fault
    injection failed: ``status`` is the 500 sent, or null for a reset
    (nothing was sent; ``"executed_status"`` is what a reset after
    execution would have answered). ``latency_ms`` is the latency fault
    injection added, when it added some. ``agent`` is
    the caller's SDK app id (``app/<id>`` in the User-Agent), which tells
    controller replicas apart; ``pk`` lists the partition keys of the
    DynamoDB items a single-item or transactional request names; ``target``
    the task-definition family or service an ECS write names. ``authz``
    lists the IAM authorizations AWS would make for the request, computed
    from the emulator's state when it arrived (or ``authz_unknown`` says
    why they are unknown): see ``authz.py``. Each is
    omitted when absent. A request is logged before its response is sent,
    so whatever a client has seen answered is already in the log.
    """

    def __init__(self, stream: IO[str] | None):
        self._stream = stream
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._stream is not None

    def record(self, request: AwsRequest, status: int | None, throttled: bool = False,
               fault: str | None = None, latency_ms: float | None = None,
               executed_status: int | None = None) -> None:
        if self._stream is None:
            return
        entry: dict[str, Any] = {"t": time.time(), "service": request.service,
                                 "operation": request.operation, "status": status}
        received = request.environ.get(RECEIVED)
        if received is not None:
            entry["received"] = received
        signed = signing_time(request.environ)
        if signed is not None:
            entry["signed"] = signed
        if throttled:
            entry["throttled"] = True
        if fault:
            entry["fault"] = fault
        if executed_status is not None:
            entry["executed_status"] = executed_status
        if latency_ms:
            entry["latency_ms"] = latency_ms
        agent = app_id(request.environ)
        if agent:
            entry["agent"] = agent
        keys = dynamodb_partitions(request)
        if keys:
            entry["pk"] = keys
        target = ecs_target(request)
        if target:
            entry["target"] = target
        entry.update(request.environ.get(AUTHZ) or {})
        line = json.dumps(entry)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class EmulationMiddleware:
    def __init__(self, app: WsgiApp, request_log: RequestLog | None = None):
        self.app = app
        self.log = request_log or RequestLog(None)
        self._handlers: list[tuple[str, str, Handler]] = []
        # Set by authz.register: the request log's authorization fields of
        # a request, computed when it arrives, before any handler runs.
        self.authorizer: Callable[[AwsRequest], dict[str, Any]] | None = None

    def register(self, service: str, operation: str, handler: Handler) -> None:
        self._handlers.append((service, operation, handler))

    def handlers_for(self, service: str, operation: str) -> list[Handler]:
        return [h for s, o, h in self._handlers
                if s in (service, "*") and o in (operation, "*")]

    # -- moto, as the innermost ``forward`` --------------------------------

    def call_moto(self, request: AwsRequest) -> Response:
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"] = status_code(status)
            captured["headers"] = list(headers)
            return lambda _data: None

        result = self.app(request.wsgi_environ(), start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        headers = [(k, v) for k, v in captured.get("headers", [])
                   if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        return Response(captured.get("status", 500), headers, body)

    def _chain(self, handlers: list[Handler]) -> Forward:
        forward: Forward = self.call_moto
        for handler in reversed(handlers):
            forward = (lambda h, nxt: lambda req: h(req, nxt))(handler, forward)
        return forward

    # -- WSGI ---------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _read_body(environ)
        environ[RECEIVED] = time.time()
        service, operation, region = classify(environ, body)
        request = AwsRequest(environ=environ, body=body, service=service,
                             operation=operation, region=region)
        if self.authorizer is not None and self.log.enabled:
            environ[AUTHZ] = self.authorizer(request)
        handlers = self.handlers_for(service, operation)

        if not handlers:
            status_seen: list[int] = []

            def logging_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                status_seen.append(status_code(status))
                return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

            try:
                result = self.app(request.wsgi_environ(), logging_start_response)
            except Exception:
                self.log.record(request, 500)
                raise
            self.log.record(request, status_seen[0] if status_seen else 500)
            return result

        try:
            response = self._chain(handlers)(request)
        except Exception as exc:  # a bug in a handler must not hang the client
            response = Response(500, [("Content-Type", "text/plain")],
                                f"emulation layer error: {exc!r}".encode())
        if response.fault in RESETS:
            self.log.record(request, None, response.throttled, response.fault, response.latency_ms,
                            response.status if response.fault == RESET_AFTER else None)
            raise DropConnection(f"injected fault: {response.fault}")
        self.log.record(request, response.status, response.throttled, response.fault,
                        response.latency_ms)
        start_response(f"{response.status} {_reason(response.status)}", response.headers)
        return [response.body]


_APP_ID = re.compile(r"(?:^|\s)app/(\S+)")


def signing_time(environ: dict[str, Any]) -> int | None:
    """The ``X-Amz-Date`` a SigV4-signed request carries (``20261201T185037Z``,
    `Elements of an AWS API request signature
    <https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html>`_),
    as Unix seconds; None when absent or malformed."""
    value = environ.get("HTTP_X_AMZ_DATE", "")
    try:
        moment = datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
    return int(moment.replace(tzinfo=datetime.timezone.utc).timestamp())


def app_id(environ: dict[str, Any]) -> str | None:
    """The ``app/<id>`` an SDK client was configured with, if any."""
    for header in ("HTTP_X_AMZ_USER_AGENT", "HTTP_USER_AGENT"):
        match = _APP_ID.search(environ.get(header, ""))
        if match:
            return match.group(1)
    return None


def ecs_target(request: AwsRequest) -> str | None:
    """What an ECS write is about: the task-definition family it registers,
    the revision it deregisters, or the service it creates, updates or
    deletes. Lets tests tell which
    app's writes went when."""
    if request.service != "ecs" or request.operation not in _ECS_TARGETS:
        return None
    value = request.json().get(_ECS_TARGETS[request.operation])
    return value if isinstance(value, str) else None


_ECS_TARGETS = {
    "RegisterTaskDefinition": "family",
    "DeregisterTaskDefinition": "taskDefinition",
    "CreateService": "serviceName",
    "UpdateService": "service",
    "DeleteService": "service",
}


def dynamodb_partitions(request: AwsRequest) -> list[str]:
    """Partition keys (attribute ``pk``) of the items a DynamoDB request names."""
    if request.service != "dynamodb":
        return []
    params = request.json()
    items: list[Any] = [params.get("Item"), params.get("Key")]
    for entry in params.get("TransactItems") or []:
        if isinstance(entry, dict):
            for action in entry.values():
                if isinstance(action, dict):
                    items += [action.get("Item"), action.get("Key")]
    keys = []
    for item in items:
        if isinstance(item, dict):
            pk = item.get("pk")
            if isinstance(pk, dict) and isinstance(pk.get("S"), str):
                keys.append(pk["S"])
    return keys


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length > 0:
        return stream.read(length)
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        # werkzeug's dev server de-chunks and marks the stream terminated.
        return stream.read()
    return b""


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
