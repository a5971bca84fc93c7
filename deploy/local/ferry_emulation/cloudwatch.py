"""CloudWatch alarms in the local AWS: PutMetricAlarm validated as
CloudWatch validates it, which moto does not.

Today's SDKs (the Rust SDK's aws-sdk-cloudwatch, botocore) call CloudWatch
over Smithy RPC v2 CBOR: ``POST /service/GraniteServiceVersion20100801/
operation/<Operation>``, header ``smithy-protocol: rpc-v2-cbor``, a CBOR
body and a CBOR answer (errors: a CBOR map with ``__type`` and
``message``). moto answers it; this layer reads the CBOR body with
botocore's codec to validate it, and answers a refusal in the protocol of
the request (CBOR, JSON 1.0; query requests go to moto unchecked).
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
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html
"""

from __future__ import annotations

import json
import re
from typing import Any

from .wire import AwsRequest, Response

SERVICE = "monitoring"
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


def handle(request: AwsRequest, forward: Any) -> Response:
    """PutMetricAlarm, validated before moto stores it (CBOR or JSON 1.0)."""
    cbor = is_cbor(request)
    if cbor:
        try:
            params = decode_request(request)
        except Exception as exc:  # a body the codec cannot read is the caller's error
            return cbor_error(400, "SerializationException", f"cannot decode the CBOR body: {exc}")
    elif request.environ.get("HTTP_X_AMZ_TARGET"):
        params = request.json()
    else:
        params = None  # query protocol: moto validates what it reads
    if params is not None:
        problems = alarm_problems(params)
        if problems:
            message = "; ".join(problems)
            if cbor:
                return cbor_error(400, "ValidationError", message)
            return Response(400, [("Content-Type", "application/x-amz-json-1.0")],
                            json.dumps({"__type": "ValidationError", "message": message}).encode())
    return forward(request)


def register(layer: Any) -> None:
    # CloudWatch signs as "monitoring" (wire.classify names a CBOR request's
    # operation by its path, a JSON one's by X-Amz-Target).
    layer.register(SERVICE, "PutMetricAlarm", handle)


__all__ = ["register", "decode_request", "alarm_problems", "is_cbor", "SERVICE"]
