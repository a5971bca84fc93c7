"""Fault injection: HTTP 500s, connection resets and added latency, per AWS service.

moto always answers, at once, and never fails by itself. AWS does: the
SDKs retry 5xx answers and broken connections as transient errors
(https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html),
and a client that cannot tell whether a write happened must be idempotent.
This module makes the local AWS fail that way, on purpose and reproducibly.

Settings (environment, read once when the layer is built; all off by default)
----------------------------------------------------------------------------

One variable per kind of fault. Each value is per service: a comma-separated
list of ``SERVICE=VALUE`` entries, ``SERVICE`` one of ``ecs``, ``dynamodb``,
``elbv2``, ``route53``, ``application-autoscaling`` (the names the request
log uses: the five services Ferry calls) or ``*`` for all five. A named service wins over ``*`` whatever
the order; a service not named (and no ``*``) gets no faults. A bare
``VALUE`` means ``*=VALUE``. ``SERVICE:Operation=VALUE`` (``ecs:RunTask=1``)
sets one operation's value, which wins over its service's. Examples: ``*=0.1``,
``ecs=0.1,elbv2=0.05,dynamodb=0,route53=0.1``, ``*=0.2,dynamodb=0``.

``FERRY_EMULATOR_FAULT_ERRORS`` (a rate from 0 to 1)
    The share of requests answered with HTTP 500 and the service's own
    server error, in its protocol's exact shape, as the SDKs parse it:

    ========  ==========================================================  =========
    service   error (``Code`` / ``__type``), body                         reference
    ========  ==========================================================  =========
    ecs       ``ServerException``, awsJson1_1 ``{"__type", "message"}``   [1]
    dynamodb  ``com.amazonaws.dynamodb.v20120810#InternalServerError``,   [2]
              awsJson1_0 (``application/x-amz-json-1.0``)
    elbv2     ``InternalFailure``, query ``<ErrorResponse>``,             [3]
              ``<Type>Receiver</Type>``
    route53   ``InternalFailure``, REST-XML ``<ErrorResponse>``,          [4]
              ``<Type>Receiver</Type>``
    appl.-    ``InternalServiceException``, awsJson1_1, the server error  [5]
    autosc.   every Application Auto Scaling action lists
    ========  ==========================================================  =========

    The request is **not executed**: it reaches no other handler and not
    moto (and takes no throttling token). AWS gives no such promise (a 5xx
    may come from a request that did take effect); the emulator keeps the
    two cases apart so that a test knows which one it made: "failed, not
    done" is an error, "done, but the client never heard" is a reset after
    execution (below).

``FERRY_EMULATOR_FAULT_RESETS`` (a rate from 0 to 1)
    The share of requests whose connection is reset (TCP RST, no response
    at all) **before** the request is executed: nothing happened, the
    client sees a connection error.

``FERRY_EMULATOR_FAULT_RESETS_AFTER`` (a rate from 0 to 1)
    The share of requests that are **executed** (the whole chain and moto,
    as usual), after which the connection is reset instead of answered.
    The nasty case for idempotency: a write took effect and the client,
    not knowing it, retries it.

``FERRY_EMULATOR_FAULT_LATENCY`` (a duration, or a range of durations)
    Time added before the request is handled (and before any fault above):
    ``50ms``, ``0.2s``, ``0``, or ``LOW-HIGH`` (``20ms-200ms``) for a
    duration drawn uniformly from the range for each request. A unit
    (``ms`` or ``s``) is required, except for ``0``. The request sleeps
    outside every lock, so other requests go on meanwhile.

``FERRY_EMULATOR_FAULT_SEED`` (a whole number >= 0)
    The seed of every decision. Unset: a random one, printed at startup
    (``emulator: fault injection ..., seed N``) so that a failing run can
    be repeated with ``FERRY_EMULATOR_FAULT_SEED=N``.

A value the layer cannot parse (a rate outside 0..1, an unknown service, a
duration without a unit, a duplicate service, ...) is a ValueError naming
the variable: the emulator exits with status 2 and that one-line cause.

Decisions
---------

Each client request of a service gets one decision: the k-th request of
(service, operation) since the emulator started draws, for each kind,
``u = H(seed, kind, service, operation, k)`` uniform in [0, 1) (SHA-256),
and has that fault when ``u < rate``. So rate 0 never faults, rate 1
always does, the same seed gives the same faults to the same sequence of
calls, and a retry (the k+1-th call) draws afresh. With concurrent callers,
which request is the k-th of its operation follows their arrival order.

When several kinds hit one request: a reset before execution wins over an
error, which wins over a reset after execution. Latency is independent and
applies to every outcome.

Exempt (never delayed or faulted, and not counted): every other service
(EC2, IAM, Logs, ...), moto's own ``/moto-api`` endpoints, and requests
carrying the header ``X-Ferry-Emulator-Faults: off``, which
``bootstrap.py`` sends: the base environment is set up, not tested. Faults
apply to client requests only; the layer's own calls to moto never pass
through here.

Request log
-----------

A faulted request's line has ``"fault"``: ``"error"`` (``status`` 500),
``"reset"`` or ``"reset-after"`` (``status`` null: nothing was sent; a
reset after execution adds ``"executed_status"``, the status the client
would have got). Latency adds ``"latency_ms"`` (milliseconds, rounded to
microseconds). Both are absent on requests without them.

References
----------

[1] ECS ``ServerException`` ("These errors are usually caused by a server
    issue", HTTP 500) in every action's errors, e.g.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
[2] DynamoDB ``InternalServerError`` (HTTP 500), e.g.
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html
    and https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
[3] ELBv2 common errors, ``InternalFailure`` (HTTP 500):
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/CommonErrors.html
[4] Route 53 common errors, ``InternalFailure`` (HTTP 500):
    https://docs.aws.amazon.com/Route53/latest/APIReference/CommonErrors.html
[5] Application Auto Scaling ``InternalServiceException`` ("The service
    encountered an internal error"), in every action's errors, e.g.
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import elbv2, route53
from .wire import AwsRequest, Response, json_error, query_error, rest_xml_error

Forward = Callable[[AwsRequest], Response]
V = TypeVar("V")

SERVICES = ("dynamodb", "ecs", "elbv2", "route53", "application-autoscaling")

ERRORS_ENV = "FERRY_EMULATOR_FAULT_ERRORS"
RESETS_ENV = "FERRY_EMULATOR_FAULT_RESETS"
RESETS_AFTER_ENV = "FERRY_EMULATOR_FAULT_RESETS_AFTER"
LATENCY_ENV = "FERRY_EMULATOR_FAULT_LATENCY"
SEED_ENV = "FERRY_EMULATOR_FAULT_SEED"

# Requests with this header set to "off" are never faulted (bootstrap.py).
EXEMPT_HEADER = "X-Ferry-Emulator-Faults"
_EXEMPT_ENVIRON = "HTTP_" + EXEMPT_HEADER.upper().replace("-", "_")

# Values of a log line's "fault".
ERROR, RESET, RESET_AFTER = "error", "reset", "reset-after"
RESETS = (RESET, RESET_AFTER)

MESSAGE = "Internal failure injected by the Ferry emulator (FERRY_EMULATOR_FAULT_ERRORS)"


def error_response(service: str) -> Response:
    """The HTTP 500 a service sends for its own failure, in its protocol (see [1]-[4])."""
    if service == "ecs":
        return json_error(500, "ServerException", MESSAGE)
    if service == "dynamodb":
        return json_error(500, "com.amazonaws.dynamodb.v20120810#InternalServerError", MESSAGE,
                          content_type="application/x-amz-json-1.0")
    if service == "elbv2":
        return query_error(500, "InternalFailure", MESSAGE, elbv2.NS, fault_type="Receiver")
    if service == "route53":
        return rest_xml_error(500, "InternalFailure", MESSAGE, route53.NS, fault_type="Receiver")
    if service == "application-autoscaling":
        return json_error(500, "InternalServiceException", MESSAGE)
    raise ValueError(f"no fault injection for service {service!r}")


# --------------------------------------------------------------------------
# Parsing the settings
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    """Added latency, in seconds: ``low`` when fixed, uniform in [low, high] otherwise."""

    low: float
    high: float

    def at(self, u: float) -> float:
        return self.low + (self.high - self.low) * u


_SERVICE_HELP = "SERVICE: *, " + ", ".join(SERVICES[:-1]) + " or " + SERVICES[-1]
_ALIASES = {"elasticloadbalancing": "elbv2", "elasticloadbalancingv2": "elbv2", "elb": "elbv2"}


def per_service(name: str, raw: str, what: str, parse: Callable[[str], V]) -> dict[str, V]:
    """``SERVICE=VALUE,...`` (or a bare ``VALUE``) as one value per service named.

    ``*`` stands for every service in SERVICES; a named service wins over it.
    ValueError, naming the variable and the grammar, for anything else.
    """
    def bad(problem: str) -> ValueError:
        return ValueError(f"{name} must be SERVICE={what}[,SERVICE={what}...] ({_SERVICE_HELP}; "
                          f"{_VALUE_HELP[what]}), got {raw!r}: {problem}")

    text = raw.strip()
    if not text:
        return {}
    entries = [entry.strip() for entry in text.split(",")]
    if len(entries) == 1 and "=" not in entries[0]:
        entries = [f"*={entries[0]}"]
    wildcard: V | None = None
    has_wildcard = False
    named: dict[str, V] = {}
    for entry in entries:
        if not entry:
            raise bad("an empty entry")
        key, sep, value = (part.strip() for part in entry.partition("="))
        if not sep:
            raise bad(f"{entry!r} has no '='")
        service_part, colon, operation = key.partition(":")
        service_part = service_part.lower()
        if colon and (service_part == "*" or not operation.isalnum()):
            raise bad(f"{key!r}: an operation follows a service, as in ecs:RunTask")
        key = f"{service_part}:{operation}" if colon else service_part
        if service_part != "*" and service_part not in SERVICES:
            hint = f" (use {_ALIASES[service_part]})" if service_part in _ALIASES else ""
            raise bad(f"unknown service {service_part!r}{hint}")
        if key in named or (key == "*" and has_wildcard):
            raise bad(f"{key!r} is given twice")
        try:
            parsed = parse(value)
        except ValueError as e:
            raise bad(f"{key}: {e}") from None
        if key == "*":
            wildcard, has_wildcard = parsed, True
        else:
            named[key] = parsed
    out: dict[str, V] = {}
    for service in SERVICES:
        if service in named:
            out[service] = named[service]
        elif has_wildcard:
            out[service] = wildcard  # type: ignore[assignment]
    # `SERVICE:Operation` entries win over their service's value.
    out.update({k: v for k, v in named.items() if ":" in k})
    return out


def parse_rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
        raise ValueError(f"{value!r} is not from 0 to 1")
    return rate


_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(ms|s)$")


def parse_duration(value: str) -> float:
    """``50ms``, ``0.2s`` or ``0``, in seconds."""
    if value == "0":
        return 0.0
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a duration such as 50ms or 0.2s")
    number = float(m.group(1))
    return number / 1000.0 if m.group(2) == "ms" else number


def parse_latency(value: str) -> Latency:
    low_text, sep, high_text = value.partition("-")
    low = parse_duration(low_text.strip())
    high = parse_duration(high_text.strip()) if sep else low
    if high < low:
        raise ValueError(f"{value!r} is a range that ends before it starts")
    return Latency(low, high)


_VALUE_HELP = {
    "RATE": "RATE: a number from 0 to 1",
    "LATENCY": "LATENCY: a duration such as 50ms or 0.2s, or a range LOW-HIGH such as 20ms-200ms",
}


def parse_seed(raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not text.isdigit():
        raise ValueError(f"{SEED_ENV} must be a whole number >= 0, got {raw!r}")
    return int(text)


@dataclass(frozen=True)
class Settings:
    """The four knobs, per service (a service absent from a map: 0), and the seed."""

    errors: Mapping[str, float] = field(default_factory=dict)
    resets: Mapping[str, float] = field(default_factory=dict)
    resets_after: Mapping[str, float] = field(default_factory=dict)
    latency: Mapping[str, Latency] = field(default_factory=dict)
    seed: int = 0
    seed_given: bool = True

    def services(self) -> list[str]:
        """The services that can get a fault or latency (all others are never touched)."""
        def on(s: str) -> bool:
            keys = lambda values: [k for k in values if k == s or k.startswith(f"{s}:")]
            return (any(self.errors[k] > 0 for k in keys(self.errors))
                    or any(self.resets[k] > 0 for k in keys(self.resets))
                    or any(self.resets_after[k] > 0 for k in keys(self.resets_after))
                    or any(self.latency[k].high > 0 for k in keys(self.latency)))

        return [s for s in SERVICES if on(s)]

    def describe(self) -> str:
        """One line for the emulator's log: what is on, and the seed."""
        parts = []
        for label, values in (("errors", self.errors), ("resets", self.resets),
                              ("resets-after", self.resets_after)):
            on = [f"{s}={v:g}" for s, v in values.items() if v > 0]
            if on:
                parts.append(f"{label} {','.join(on)}")
        lat = []
        for s, v in self.latency.items():
            if v.high > 0:
                lat.append(f"{s}={_ms(v.low)}" if v.low == v.high else f"{s}={_ms(v.low)}-{_ms(v.high)}")
        if lat:
            parts.append(f"latency {','.join(lat)}")
        origin = "" if self.seed_given else f" (random; {SEED_ENV}={self.seed} repeats it)"
        return f"fault injection: {'; '.join(parts)}; seed {self.seed}{origin}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:g}ms"


def settings_from(environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings in ``environ``; ValueError for a value that cannot be used."""
    errors = per_service(ERRORS_ENV, environ.get(ERRORS_ENV, ""), "RATE", parse_rate)
    resets = per_service(RESETS_ENV, environ.get(RESETS_ENV, ""), "RATE", parse_rate)
    resets_after = per_service(RESETS_AFTER_ENV, environ.get(RESETS_AFTER_ENV, ""), "RATE", parse_rate)
    latency = per_service(LATENCY_ENV, environ.get(LATENCY_ENV, ""), "LATENCY", parse_latency)
    seed = parse_seed(environ.get(SEED_ENV))
    given = seed is not None
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
    return Settings(errors, resets, resets_after, latency, seed, given)


# --------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------


def draw(seed: int, kind: str, service: str, operation: str, k: int) -> float:
    """A number uniform in [0, 1), fixed by its arguments."""
    digest = hashlib.sha256(f"{seed}\0{kind}\0{service}\0{operation}\0{k}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


@dataclass(frozen=True)
class Decision:
    fault: str | None  # ERROR, RESET, RESET_AFTER or None
    latency: float  # seconds


def decide(settings: Settings, service: str, operation: str, k: int) -> Decision:
    """What the k-th request (from 0) of (service, operation) gets."""
    def hit(kind: str, rates: Mapping[str, float]) -> bool:
        rate = rates.get(f"{service}:{operation}", rates.get(service, 0.0))
        return rate > 0 and draw(settings.seed, kind, service, operation, k) < rate

    if hit(RESET, settings.resets):
        fault: str | None = RESET
    elif hit(ERROR, settings.errors):
        fault = ERROR
    elif hit(RESET_AFTER, settings.resets_after):
        fault = RESET_AFTER
    else:
        fault = None
    latency = settings.latency.get(f"{service}:{operation}", settings.latency.get(service))
    seconds = 0.0
    if latency is not None and latency.high > 0:
        seconds = latency.at(draw(settings.seed, "latency", service, operation, k))
    return Decision(fault, seconds)


def exempt(request: AwsRequest) -> bool:
    return request.environ.get(_EXEMPT_ENVIRON, "").strip().lower() == "off"


class Faults:
    """The handler. Outermost, so a fault before execution reaches nothing else."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self._sleep = sleep
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def next_decision(self, service: str, operation: str) -> Decision:
        with self._lock:
            k = self._counts.get((service, operation), 0)
            self._counts[(service, operation)] = k + 1
        return decide(self.settings, service, operation, k)

    def __call__(self, request: AwsRequest, forward: Forward) -> Response:
        if request.service not in SERVICES or exempt(request):
            return forward(request)
        decision = self.next_decision(request.service, request.operation)
        if decision.latency > 0:
            self._sleep(decision.latency)
        if decision.fault == RESET:
            response = Response(0, [], b"")
        elif decision.fault == ERROR:
            response = error_response(request.service)
        else:
            response = forward(request)
        changes: dict[str, Any] = {}
        if decision.fault is not None:
            changes["fault"] = decision.fault
        if decision.latency > 0:
            changes["latency_ms"] = round(decision.latency * 1000.0, 3)
        return dataclasses.replace(response, **changes) if changes else response


def register(layer: Any) -> None:
    """Register the handler for the services with a fault or latency, if any.

    ``ferry_emulation.MODULES`` lists this module first: the handler is
    outermost (before throttling), so an error or a reset before execution
    reaches no other handler, takes no lock and no throttling token.
    """
    settings = settings_from()
    services = settings.services()
    if not services:
        return
    print(f"emulator: {settings.describe()}", file=sys.stderr, flush=True)
    handler = Faults(settings)
    for service in services:
        layer.register(service, "*", handler)


# --------------------------------------------------------------------------
# Resetting a connection (the server side)
# --------------------------------------------------------------------------


class DropConnection(ConnectionAbortedError):
    """Raised by the middleware, instead of answering, for a reset.

    A ConnectionError, so werkzeug's request handler treats it as a dropped
    connection (``connection_dropped``) and writes nothing. ``resetting``
    request handlers then close the socket with an RST.
    """


def resetting(handler_class: type) -> type:
    """A subclass of a werkzeug request handler that resets on DropConnection.

    After the request, the socket is closed with SO_LINGER 0, which sends a
    TCP RST instead of a FIN: the client sees "connection reset by peer",
    and no byte of a response.
    """

    class ResettingRequestHandler(handler_class):  # type: ignore[valid-type, misc]
        _ferry_reset = False

        def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
            if isinstance(error, DropConnection):
                self._ferry_reset = True
                self.close_connection = True
                return
            super().connection_dropped(error, environ)

        def finish(self) -> None:
            super().finish()
            if self._ferry_reset:
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                except OSError:
                    pass
                self.connection.close()

    ResettingRequestHandler.__name__ = f"Resetting{handler_class.__name__}"
    return ResettingRequestHandler
