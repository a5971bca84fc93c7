"""What an AWS request is, as seen on the wire, and how to answer one.

The emulation layer sits in front of moto as WSGI middleware. Everything it
decides depends on two facts about a request: which service and which
operation it calls. Those come from the three wire protocols the Ferry
services use:

* JSON protocols (ECS, DynamoDB, CloudWatch Logs): ``X-Amz-Target:
  <ServicePrefix>.<Operation>`` and a JSON body.
  https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
* Query protocol (ELBv2, EC2, IAM, STS): a form body (or query string) with
  ``Action=<Operation>&Version=<api version>``.
  https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
* REST-XML (Route53): the operation is the HTTP method plus the URI path.
  https://docs.aws.amazon.com/Route53/latest/APIReference/API_Operations_Amazon_Route_53.html

The service is taken from the SigV4 credential scope of the Authorization
header (``Credential=AKID/20240101/us-east-1/ecs/aws4_request``), refined by
the target prefix or API version where one signing name covers several APIs
(``elasticloadbalancing`` signs both ELB classic and ELBv2).
"""

from __future__ import annotations

import io
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode
from xml.sax.saxutils import escape

# X-Amz-Target prefixes (the part before the dot) of the JSON services Ferry
# touches. Unknown prefixes fall back to the signing name.
TARGET_PREFIX_SERVICE = {
    "AmazonEC2ContainerServiceV20141113": "ecs",
    "DynamoDB_20120810": "dynamodb",
    "DynamoDBStreams_20120810": "dynamodbstreams",
    "Logs_20140328": "logs",
    "AmazonSSM": "ssm",
    "secretsmanager": "secretsmanager",
}

_RPC_V2_PATH = re.compile(r"^/service/(\w+)/operation/(\w+)$")

# Signing names whose API is split by the query-protocol Version parameter.
QUERY_VERSION_SERVICE = {
    ("elasticloadbalancing", "2015-12-01"): "elbv2",
    ("elasticloadbalancing", "2012-06-01"): "elb",
}

# Route53 REST operations, 2013-04-01 API. Order matters: first match wins.
# https://docs.aws.amazon.com/Route53/latest/APIReference/API_Operations_Amazon_Route_53.html
_R53 = r"/2013-04-01"
ROUTE53_OPERATIONS: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(_R53 + p + r"/?$"), op)
    for m, p, op in [
        ("POST", r"/hostedzone", "CreateHostedZone"),
        ("GET", r"/hostedzone", "ListHostedZones"),
        ("GET", r"/hostedzonesbyname", "ListHostedZonesByName"),
        ("GET", r"/hostedzonesbyvpc", "ListHostedZonesByVPC"),
        ("GET", r"/hostedzonecount", "GetHostedZoneCount"),
        ("GET", r"/hostedzone/[^/]+", "GetHostedZone"),
        ("POST", r"/hostedzone/[^/]+", "UpdateHostedZoneComment"),
        ("DELETE", r"/hostedzone/[^/]+", "DeleteHostedZone"),
        ("POST", r"/hostedzone/[^/]+/rrset", "ChangeResourceRecordSets"),
        ("GET", r"/hostedzone/[^/]+/rrset", "ListResourceRecordSets"),
        ("POST", r"/hostedzone/[^/]+/associatevpc", "AssociateVPCWithHostedZone"),
        ("POST", r"/hostedzone/[^/]+/disassociatevpc", "DisassociateVPCFromHostedZone"),
        ("GET", r"/change/[^/]+", "GetChange"),
        ("POST", r"/tags/[^/]+", "ListTagsForResources"),
        ("GET", r"/tags/[^/]+/[^/]+", "ListTagsForResource"),
        ("POST", r"/tags/[^/]+/[^/]+", "ChangeTagsForResource"),
        ("POST", r"/healthcheck", "CreateHealthCheck"),
        ("GET", r"/healthcheck", "ListHealthChecks"),
        ("GET", r"/healthcheck/[^/]+", "GetHealthCheck"),
        ("POST", r"/healthcheck/[^/]+", "UpdateHealthCheck"),
        ("DELETE", r"/healthcheck/[^/]+", "DeleteHealthCheck"),
        ("GET", r"/healthcheck/[^/]+/status", "GetHealthCheckStatus"),
        ("POST", r"/queryloggingconfig", "CreateQueryLoggingConfig"),
        ("GET", r"/queryloggingconfig", "ListQueryLoggingConfigs"),
        ("GET", r"/queryloggingconfig/[^/]+", "GetQueryLoggingConfig"),
        ("DELETE", r"/queryloggingconfig/[^/]+", "DeleteQueryLoggingConfig"),
        ("POST", r"/delegationset", "CreateReusableDelegationSet"),
        ("GET", r"/delegationset", "ListReusableDelegationSets"),
        ("GET", r"/delegationset/[^/]+", "GetReusableDelegationSet"),
        ("DELETE", r"/delegationset/[^/]+", "DeleteReusableDelegationSet"),
        ("GET", r"/dnssec/[^/]+", "GetDNSSEC"),
    ]
]

# EventBridge Scheduler REST-JSON operations. First match wins.
# https://docs.aws.amazon.com/scheduler/latest/APIReference/API_Operations.html
SCHEDULER_OPERATIONS: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p + r"/?$"), op)
    for m, p, op in [
        ("GET", r"/schedules", "ListSchedules"),
        ("POST", r"/schedules/[^/]+", "CreateSchedule"),
        ("GET", r"/schedules/[^/]+", "GetSchedule"),
        ("PUT", r"/schedules/[^/]+", "UpdateSchedule"),
        ("DELETE", r"/schedules/[^/]+", "DeleteSchedule"),
        ("GET", r"/schedule-groups", "ListScheduleGroups"),
        ("POST", r"/schedule-groups/[^/]+", "CreateScheduleGroup"),
        ("GET", r"/schedule-groups/[^/]+", "GetScheduleGroup"),
        ("DELETE", r"/schedule-groups/[^/]+", "DeleteScheduleGroup"),
        ("GET", r"/tags/.+", "ListTagsForResource"),
        ("POST", r"/tags/.+", "TagResource"),
        ("DELETE", r"/tags/.+", "UntagResource"),
    ]
]

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


@dataclass
class AwsRequest:
    """One buffered request: enough to classify it and to replay it to moto."""

    environ: dict[str, Any]
    body: bytes
    service: str
    operation: str
    region: str | None = None
    _json: Any = field(default=None, repr=False)

    @property
    def method(self) -> str:
        return self.environ.get("REQUEST_METHOD", "GET")

    @property
    def path(self) -> str:
        return self.environ.get("PATH_INFO", "") or "/"

    def json(self) -> dict[str, Any]:
        """The JSON body of a JSON-protocol request ({} when absent or invalid)."""
        if self._json is None:
            try:
                parsed = json.loads(self.body or b"{}")
            except ValueError:
                parsed = {}
            self._json = parsed if isinstance(parsed, dict) else {}
        return self._json

    def with_json(self, params: dict[str, Any]) -> "AwsRequest":
        """A copy of this request whose JSON body is ``params``."""
        body = json.dumps(params).encode()
        return AwsRequest(
            environ=dict(self.environ), body=body, service=self.service,
            operation=self.operation, region=self.region, _json=params,
        )

    def with_operation(self, operation: str, params: dict[str, Any]) -> "AwsRequest":
        """A JSON-protocol call to another operation of this service, signed like this one.

        The layer's own calls to moto (DescribeTaskDefinition while handling
        UpdateService, say): ``X-Amz-Target`` names the operation, the body
        is ``params``. moto reads the region and account from the copied
        Authorization header and checks no signature.
        """
        environ = dict(self.environ)
        prefix = environ.get("HTTP_X_AMZ_TARGET", "").rsplit(".", 1)[0]
        environ["HTTP_X_AMZ_TARGET"] = f"{prefix}.{operation}"
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return AwsRequest(environ=environ, body=json.dumps(params).encode(), service=self.service,
                          operation=operation, region=self.region, _json=params)

    def form(self) -> dict[str, str]:
        """The parameters of a query-protocol request, query string and form body.

        Flat, as on the wire: ``Names.member.1``, ``Matcher.HttpCode``.
        """
        params = {k: v[0] for k, v in
                  parse_qs(self.environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        ctype = self.environ.get("CONTENT_TYPE", "") or ""
        if ctype.startswith("application/x-www-form-urlencoded") and self.body:
            try:
                body = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                body = {}
            params.update({k: v[0] for k, v in body.items()})
        return params

    def with_form(self, params: dict[str, str]) -> "AwsRequest":
        """A query-protocol request with these parameters, signed like this one.

        Used both to rewrite a request and to make the layer's own calls to
        moto (``Action`` names the operation); moto reads the region and the
        account from the copied Authorization header and checks no signature.
        """
        environ = dict(self.environ)
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8"
        environ["QUERY_STRING"] = ""
        environ["REQUEST_METHOD"] = "POST"
        _set_path(environ, "/", "")
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return AwsRequest(environ=environ, body=urlencode(params).encode(), service=self.service,
                          operation=params.get("Action", self.operation), region=self.region)

    def with_rest(self, method: str, path: str, query: str = "", body: bytes = b"",
                  operation: str | None = None) -> "AwsRequest":
        """A REST request (Route53) to another method and path, signed like this one."""
        environ = dict(self.environ)
        environ["REQUEST_METHOD"] = method
        _set_path(environ, path, query)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return AwsRequest(environ=environ, body=body, service=self.service,
                          operation=operation or self.operation, region=self.region)

    def wsgi_environ(self) -> dict[str, Any]:
        """A fresh environ carrying this request's body, ready for moto."""
        env = dict(self.environ)
        env["wsgi.input"] = io.BytesIO(self.body)
        env["CONTENT_LENGTH"] = str(len(self.body))
        return env


def _set_path(environ: dict[str, Any], path: str, query: str) -> None:
    """Point a WSGI environ at another path and query string.

    werkzeug's server also records the request line in RAW_URI and
    REQUEST_URI, and moto routes REST requests by RAW_URI, so all four move.
    """
    environ["PATH_INFO"] = path
    environ["QUERY_STRING"] = query
    uri = f"{path}?{query}" if query else path
    environ["RAW_URI"] = environ["REQUEST_URI"] = uri


@dataclass
class Response:
    """A complete HTTP response, as a handler returns it.

    ``throttled`` marks the throttling handler's own answers (the request log
    adds ``"throttled": true``). ``fault`` and ``latency_ms`` are set by fault
    injection (``faults.py``): ``"error"`` on its HTTP 500s, ``"reset"`` and
    ``"reset-after"`` on answers that must not be sent (the middleware logs
    them, then drops the connection instead), and the latency it added. None
    of them is ever sent.
    """

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    throttled: bool = False
    fault: str | None = None
    latency_ms: float | None = None

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def status_code(status_line: str) -> int:
    """200 from '200 OK'."""
    try:
        return int(status_line.split(" ", 1)[0])
    except ValueError:
        return 0


def classify(environ: dict[str, Any], body: bytes) -> tuple[str, str, str | None]:
    """(service, operation, region) of a request; never raises.

    Unknown requests still get a stable name, so the request log never drops
    a line: service is the signing name (or "unknown") and the operation is
    "<METHOD> <path>".
    """
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "") or "/"
    signing, region = None, None
    m = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if m:
        region, signing = m.group(1), m.group(2).lower()

    if path.startswith("/moto-api"):
        return "moto-api", f"{method} {path}", region

    # Smithy RPC v2 CBOR (CloudWatch, from today's SDKs): the path names
    # the service and the operation.
    # https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
    rpc_v2 = _RPC_V2_PATH.match(path)
    if rpc_v2 and environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor":
        prefix, op = rpc_v2.groups()
        return TARGET_PREFIX_SERVICE.get(prefix, signing or prefix.lower()), op, region

    target = environ.get("HTTP_X_AMZ_TARGET")
    if target and "." in target:
        prefix, op = target.rsplit(".", 1)
        return TARGET_PREFIX_SERVICE.get(prefix, signing or prefix.lower()), op, region

    params: dict[str, list[str]] = parse_qs(environ.get("QUERY_STRING", ""))
    ctype = environ.get("CONTENT_TYPE", "") or ""
    if ctype.startswith("application/x-www-form-urlencoded") and body:
        try:
            params.update(parse_qs(body.decode("utf-8")))
        except UnicodeDecodeError:
            pass
    if "Action" in params:
        action = params["Action"][0]
        version = params.get("Version", [""])[0]
        service = QUERY_VERSION_SERVICE.get((signing or "", version), signing or "unknown")
        return service, action, region

    if signing == "route53" or path.startswith(_R53 + "/"):
        for m_, pattern, op in ROUTE53_OPERATIONS:
            if m_ == method and pattern.match(path):
                return "route53", op, region
        return "route53", f"{method} {path}", region

    if signing == "scheduler":
        for m_, pattern, op in SCHEDULER_OPERATIONS:
            if m_ == method and pattern.match(path):
                return "scheduler", op, region
        return "scheduler", f"{method} {path}", region

    return signing or "unknown", f"{method} {path}", region


def json_response(status: int, payload: Any, content_type: str = "application/x-amz-json-1.1") -> Response:
    body = json.dumps(payload).encode()
    return Response(status, [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ], body)


def json_object(response: Response) -> dict[str, Any] | None:
    """The JSON object of a 200 answer; None for any other status, a body that
    is not JSON, or JSON that is not an object."""
    if response.status != 200:
        return None
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def json_answer(response: Response, payload: Any) -> Response:
    """A 200 answer of ``payload``, in the content type of ``response`` (the
    answer it rewrites)."""
    content_type = response.header("Content-Type") or "application/x-amz-json-1.1"
    return json_response(200, payload, content_type)


def json_error(status: int, error_type: str, message: str,
               content_type: str = "application/x-amz-json-1.1") -> Response:
    """An error the way AWS JSON-protocol services send one.

    The SDKs read the error code from ``__type`` (botocore and the Rust SDK
    both accept it without a namespace prefix) and the text from ``message``.
    https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization
    """
    return json_response(status, {"__type": error_type, "message": message}, content_type)


def form_list(params: dict[str, str], name: str) -> list[str]:
    """``Name.member.1``, ``Name.member.2``, ... of a query-protocol request, in order."""
    prefix = f"{name}.member."
    items = []
    for key, value in params.items():
        rest = key[len(prefix):] if key.startswith(prefix) else ""
        if rest.isdigit():
            items.append((int(rest), value))
    return [value for _, value in sorted(items)]


def form_structs(params: dict[str, str], name: str) -> list[dict[str, str]]:
    """``Name.member.N.Field`` of a query-protocol request, as one dict per N, in order."""
    prefix = f"{name}.member."
    structs: dict[int, dict[str, str]] = {}
    for key, value in params.items():
        if not key.startswith(prefix):
            continue
        index, _, field_name = key[len(prefix):].partition(".")
        if index.isdigit() and field_name:
            structs.setdefault(int(index), {})[field_name] = value
    return [structs[i] for i in sorted(structs)]


def xml_response(status: int, body: bytes, content_type: str = "text/xml") -> Response:
    return Response(status, [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ], body)


def query_error(status: int, code: str, message: str, namespace: str,
                fault_type: str = "Sender") -> Response:
    """An error the way AWS query-protocol services (ELBv2, EC2 aside) send one.

    botocore and the Rust SDK read ``Error/Code`` and ``Error/Message``.
    ``Type`` is ``Sender`` for the caller's errors, ``Receiver`` for the
    service's own (5xx).
    https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#operation-error-serialization
    """
    request_id = str(uuid.uuid4())
    body = (f'<ErrorResponse xmlns="{namespace}"><Error><Type>{escape(fault_type)}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return xml_response(status, body)


def rest_xml_error(status: int, code: str, message: str, namespace: str,
                   fault_type: str = "Sender") -> Response:
    """An error the way REST-XML services other than S3 (Route53) send one.

    botocore's RestXMLParser and the Rust SDK read ``Error/Code``; the same
    ``<ErrorResponse>`` shape as the query protocol (``Type`` ``Sender`` or,
    for the service's own errors, ``Receiver``).
    https://smithy.io/2.0/aws/protocols/aws-restxml-protocol.html#error-response-serialization
    """
    request_id = str(uuid.uuid4())
    body = ('<?xml version="1.0"?>\n'
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>{escape(fault_type)}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return xml_response(status, body)
