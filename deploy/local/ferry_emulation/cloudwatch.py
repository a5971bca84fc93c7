"""CloudWatch alarms in the local AWS: the RPC v2 CBOR protocol, and
PutMetricAlarm validated as CloudWatch validates it.

The Rust SDK (aws-sdk-cloudwatch, which Ferry's controller uses) calls
CloudWatch over Smithy RPC v2 CBOR: ``POST /service/GraniteServiceVersion20100801/
operation/<Operation>``, header ``smithy-protocol: rpc-v2-cbor``, a CBOR
body and a CBOR answer (errors: a CBOR map with ``__type`` and
``message``). moto answers CloudWatch's JSON 1.0 and query protocols only
(a CBOR request is a 404), so each CBOR request is handed to moto as the
same operation in JSON 1.0 (``X-Amz-Target: GraniteServiceVersion20100801.<Operation>``)
and the answer encoded back, both with botocore's model of the service and
its CBOR codec. (boto3 speaks JSON 1.0 to CloudWatch, which moto serves.)
https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html

Stricter than moto, as CloudWatch is (API_PutMetricAlarm): an alarm takes
either ``MetricName`` (one metric) or ``Metrics`` (metric math), not both;
each of ``Metrics`` has an ``Id`` starting with a lower-case letter, and
exactly one of ``MetricStat`` and ``Expression``; exactly one of them
returns data; an expression names only ids of the same request; a
``MetricStat`` has a ``Period`` (10, 20, 30 or a multiple of 60), a
``Stat`` and a metric name; ``DatapointsToAlarm`` is at most
``EvaluationPeriods``; ``TreatMissingData`` is one of its four values. A
refused request is a ``ValidationError`` (HTTP 400), as CloudWatch answers.
DescribeAlarms pages (moto answers every alarm at once): ``MaxRecords``
(1 to 100, default 50) metric alarms a page, in name order, and a
``NextToken`` while more follow (API_DescribeAlarms).
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from .wire import AwsRequest, Response

SERVICE = "monitoring"
TARGET_PREFIX = "GraniteServiceVersion20100801"
TREAT_MISSING_DATA = {"breaching", "notBreaching", "ignore", "missing"}
# Ids in metric math: "must start with a lowercase letter" and hold
# letters, digits and underscores (API_MetricDataQuery).
METRIC_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
ID_REFERENCE = re.compile(r"\b([a-z][a-zA-Z0-9_]*)\b")
# Words of CloudWatch's metric math that are not ids (functions and keywords).
MATH_WORDS = {"e", "pi"}


def is_cbor(request: AwsRequest) -> bool:
    return request.environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor"


def decode_request(request: AwsRequest) -> dict[str, Any]:
    """The parameters of an RPC v2 CBOR request (an empty body is no parameters)."""
    from botocore.parsers import RpcV2CBORParser

    if not request.body:
        return {}
    parser = RpcV2CBORParser()
    decoded = parser.parse_data_item(parser.get_peekable_stream_from_bytes(request.body))
    return decoded if isinstance(decoded, dict) else {}


@functools.cache
def _service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("cloudwatch")


def _encode(value: dict[str, Any], shape: Any) -> bytes:
    from botocore.serialize import RpcV2CBORSerializer

    out = bytearray()
    RpcV2CBORSerializer()._serialize_data_item(out, value, shape)
    return bytes(out)


def _json_default(value: Any) -> Any:
    if hasattr(value, "timestamp"):  # a CBOR timestamp (tag 1), decoded as a datetime
        return value.timestamp()
    raise TypeError(f"not JSON: {type(value).__name__}")


def as_json_request(request: AwsRequest, params: dict[str, Any]) -> AwsRequest:
    """The same call in CloudWatch's JSON 1.0 protocol, signed like the original."""
    environ = dict(request.environ)
    environ.pop("HTTP_SMITHY_PROTOCOL", None)
    environ["PATH_INFO"] = "/"
    environ["HTTP_X_AMZ_TARGET"] = f"{TARGET_PREFIX}.{request.operation}"
    environ["CONTENT_TYPE"] = "application/x-amz-json-1.0"
    body = json.dumps(params, default=_json_default).encode()
    return AwsRequest(environ=environ, body=body, service=request.service,
                      operation=request.operation, region=request.region)


def to_cbor(operation: str, response: Response) -> Response:
    """moto's JSON 1.0 answer to ``operation``, as RPC v2 CBOR."""
    try:
        payload = json.loads(response.body) if response.body else {}
    except ValueError:
        payload = None
    if response.status >= 400 or not isinstance(payload, dict):
        error = payload if isinstance(payload, dict) else {}
        error_type = str(error.get("__type") or "InternalFailure").rsplit("#", 1)[-1]
        message = str(error.get("message") or error.get("Message") or "")
        return cbor_error(response.status if response.status >= 400 else 500, error_type, message)
    shape = _service_model().operation_model(operation).output_shape
    if shape is None or not payload:
        return _cbor_response(response.status, b"")
    return _cbor_response(response.status, _encode(payload, shape))


def _cbor_response(status: int, body: bytes) -> Response:
    headers = [("smithy-protocol", "rpc-v2-cbor"), ("Content-Length", str(len(body)))]
    if body:
        headers.append(("Content-Type", "application/cbor"))
    return Response(status, headers, body)


def cbor_error(status: int, error_type: str, message: str) -> Response:
    from botocore.serialize import RpcV2CBORSerializer

    out = bytearray()
    serializer = RpcV2CBORSerializer()
    # A map of two strings, written without a shape (the error shapes of
    # CloudWatch's model hold only `message`).
    serializer._serialize_type_map(out, {"__type": error_type, "message": message},
                                   _StringMap(), None)
    return _cbor_response(status, bytes(out))


class _Shape:
    def __init__(self, type_name: str):
        self.type_name = type_name


class _StringMap(_Shape):
    """The minimal shape botocore's CBOR map writer reads: string keys and values."""

    def __init__(self) -> None:
        super().__init__("map")
        self.key = _Shape("string")
        self.value = _Shape("string")


# -- PutMetricAlarm's validation --------------------------------------------------------

def alarm_problems(params: dict[str, Any]) -> list[str]:
    """What CloudWatch refuses in a PutMetricAlarm request (API_PutMetricAlarm)."""
    problems = []
    metrics = params.get("Metrics") or []
    if metrics and params.get("MetricName"):
        problems.append("Metrics and MetricName are mutually exclusive")
    if not metrics and not params.get("MetricName"):
        problems.append("either MetricName or Metrics is required")
    ids = [str(m.get("Id") or "") for m in metrics]
    for metric, metric_id in zip(metrics, ids):
        if not METRIC_ID.match(metric_id):
            problems.append(f"metric id {metric_id!r} must start with a lower-case letter")
        has_stat, has_expression = bool(metric.get("MetricStat")), bool(metric.get("Expression"))
        if has_stat == has_expression:
            problems.append(f"metric {metric_id!r} needs exactly one of MetricStat and Expression")
        if has_stat:
            stat = metric["MetricStat"]
            period = stat.get("Period")
            if not isinstance(period, int) or not (period in (10, 20, 30) or (period >= 60 and period % 60 == 0)):
                problems.append(f"metric {metric_id!r}: Period must be 10, 20, 30 or a multiple of 60")
            if not stat.get("Stat"):
                problems.append(f"metric {metric_id!r}: MetricStat needs a Stat")
            if not (stat.get("Metric") or {}).get("MetricName"):
                problems.append(f"metric {metric_id!r}: MetricStat needs a Metric with a MetricName")
        if has_expression:
            unknown = {name for name in ID_REFERENCE.findall(str(metric["Expression"]))
                       if name not in ids and name not in MATH_WORDS}
            if unknown:
                problems.append(f"expression of {metric_id!r} names unknown ids {sorted(unknown)}")
    if len(set(ids)) != len(ids):
        problems.append("metric ids must be unique")
    if metrics and sum(1 for m in metrics if m.get("ReturnData", True)) != 1:
        problems.append("exactly one of Metrics must have ReturnData true")
    evaluation = params.get("EvaluationPeriods")
    if not isinstance(evaluation, int) or evaluation < 1:
        problems.append("EvaluationPeriods must be at least 1")
    datapoints = params.get("DatapointsToAlarm")
    if datapoints is not None and (not isinstance(datapoints, int) or not isinstance(evaluation, int)
                                   or not 1 <= datapoints <= evaluation):
        problems.append("DatapointsToAlarm must be between 1 and EvaluationPeriods")
    treat = params.get("TreatMissingData")
    if treat is not None and treat not in TREAT_MISSING_DATA:
        problems.append(f"TreatMissingData must be one of {sorted(TREAT_MISSING_DATA)}")
    return problems


DEFAULT_MAX_RECORDS = 50


def page_of_alarms(payload: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """One page of moto's DescribeAlarms answer: metric alarms in name
    order after ``NextToken`` (the last name of the previous page), at most
    ``MaxRecords``; composite alarms (Ferry makes none) on the first page."""
    size = int(params.get("MaxRecords") or DEFAULT_MAX_RECORDS)
    after = params.get("NextToken")
    alarms = sorted(payload.get("MetricAlarms") or [], key=lambda a: str(a.get("AlarmName")))
    if after:
        alarms = [a for a in alarms if str(a.get("AlarmName")) > str(after)]
    out = dict(payload, MetricAlarms=alarms[:size])
    out.pop("NextToken", None)
    if after:
        out["CompositeAlarms"] = []
    if len(alarms) > size:
        out["NextToken"] = str(alarms[size - 1].get("AlarmName"))
    return out


def _max_records_problem(params: dict[str, Any]) -> str | None:
    size = params.get("MaxRecords")
    if size is not None and (not isinstance(size, int) or not 1 <= size <= 100):
        return "MaxRecords must be between 1 and 100"
    return None


def _paged(response: Response, params: dict[str, Any]) -> Response:
    """moto's JSON answer to DescribeAlarms, cut to one page."""
    if response.status != 200:
        return response
    try:
        payload = json.loads(response.body)
    except ValueError:
        return response
    body = json.dumps(page_of_alarms(payload, params)).encode()
    headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
    return Response(response.status, headers + [("Content-Length", str(len(body)))], body)


def handle(request: AwsRequest, forward: Any) -> Response:
    """Every CloudWatch request: a CBOR one bridged to moto's JSON 1.0; a
    PutMetricAlarm (CBOR or JSON) validated before moto stores it."""
    cbor = is_cbor(request)
    if cbor:
        try:
            params: dict[str, Any] | None = decode_request(request)
        except Exception as exc:  # a body the codec cannot read is the caller's error
            return cbor_error(400, "SerializationException", f"cannot decode the CBOR body: {exc}")
    elif request.environ.get("HTTP_X_AMZ_TARGET"):
        params = request.json()
    else:
        params = None  # query protocol: moto validates what it reads
    if params is not None and request.operation in ("PutMetricAlarm", "DescribeAlarms"):
        problems = (alarm_problems(params) if request.operation == "PutMetricAlarm"
                    else [p for p in [_max_records_problem(params)] if p])
        if problems:
            message = "; ".join(problems)
            if cbor:
                return cbor_error(400, "ValidationError", message)
            return Response(400, [("Content-Type", "application/x-amz-json-1.0")],
                            json.dumps({"__type": "ValidationError", "message": message}).encode())
    if not cbor:
        answer = forward(request)
        return _paged(answer, params) if request.operation == "DescribeAlarms" and params is not None else answer
    answer = forward(as_json_request(request, params or {}))
    if request.operation == "DescribeAlarms":
        answer = _paged(answer, params or {})
    return to_cbor(request.operation, answer)


def register(layer: Any) -> None:
    # CloudWatch signs as "monitoring" (wire.classify names a CBOR request's
    # operation by its path, a JSON one's by X-Amz-Target).
    layer.register(SERVICE, "*", handle)


__all__ = ["register", "decode_request", "alarm_problems", "is_cbor", "SERVICE"]
