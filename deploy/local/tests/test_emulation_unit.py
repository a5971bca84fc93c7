"""The emulation layer's pieces, without a server: fake ``forward`` functions."""

from __future__ import annotations

import io
import json

import pytest

from ferry_emulation import build, ecs
from ferry_emulation.wire import AwsRequest, Response, classify, json_response

ECS_TARGET = "AmazonEC2ContainerServiceV20141113"
AUTH = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=x"


def ecs_request(operation: str, params: dict) -> AwsRequest:
    body = json.dumps(params).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_TYPE": "application/x-amz-json-1.1",
               "HTTP_X_AMZ_TARGET": f"{ECS_TARGET}.{operation}", "HTTP_AUTHORIZATION": AUTH.format("ecs")}
    return AwsRequest(environ=environ, body=body, service="ecs", operation=operation)


def moto_listing(arns):
    calls = []

    def forward(request):
        calls.append(request.json())
        return json_response(200, {"serviceArns": list(arns)})

    return forward, calls


# -- classify ------------------------------------------------------------------

@pytest.mark.parametrize("environ,body,expected", [
    ({"HTTP_X_AMZ_TARGET": f"{ECS_TARGET}.DescribeServices", "HTTP_AUTHORIZATION": AUTH.format("ecs")},
     b"{}", ("ecs", "DescribeServices")),
    ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem", "HTTP_AUTHORIZATION": AUTH.format("dynamodb")},
     b"{}", ("dynamodb", "PutItem")),
    ({"CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
      "HTTP_AUTHORIZATION": AUTH.format("elasticloadbalancing")},
     b"Action=DescribeListeners&Version=2015-12-01", ("elbv2", "DescribeListeners")),
    ({"CONTENT_TYPE": "application/x-www-form-urlencoded", "HTTP_AUTHORIZATION": AUTH.format("ec2")},
     b"Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16", ("ec2", "CreateVpc")),
    ({"REQUEST_METHOD": "POST", "PATH_INFO": "/2013-04-01/hostedzone/Z123/rrset/",
      "HTTP_AUTHORIZATION": AUTH.format("route53")}, b"<xml/>", ("route53", "ChangeResourceRecordSets")),
    ({"REQUEST_METHOD": "GET", "PATH_INFO": "/2013-04-01/hostedzone/Z123/rrset",
      "HTTP_AUTHORIZATION": AUTH.format("route53")}, b"", ("route53", "ListResourceRecordSets")),
    ({"REQUEST_METHOD": "GET", "PATH_INFO": "/2013-04-01/hostedzonesbyname",
      "QUERY_STRING": "dnsname=a.", "HTTP_AUTHORIZATION": AUTH.format("route53")}, b"",
     ("route53", "ListHostedZonesByName")),
    ({"REQUEST_METHOD": "GET", "PATH_INFO": "/2013-04-01/hostedzone/Z1",
      "HTTP_AUTHORIZATION": AUTH.format("route53")}, b"", ("route53", "GetHostedZone")),
    ({"REQUEST_METHOD": "GET", "PATH_INFO": "/weird"}, b"", ("unknown", "GET /weird")),
])
def test_classify(environ, body, expected):
    environ.setdefault("REQUEST_METHOD", "POST")
    environ.setdefault("PATH_INFO", "/")
    assert classify(environ, body)[:2] == expected


# -- DescribeServices ----------------------------------------------------------

def test_describe_services_limit_passes_ten_through():
    passed = []
    request = ecs_request("DescribeServices", {"services": [f"s{i}" for i in range(10)]})
    ecs.describe_services_limit(request, lambda r: passed.append(r) or json_response(200, {}))
    assert passed == [request]


def test_describe_services_limit_rejects_eleven_without_calling_moto():
    request = ecs_request("DescribeServices", {"services": [f"s{i}" for i in range(11)]})
    response = ecs.describe_services_limit(request, lambda r: pytest.fail("forwarded"))
    assert response.status == 400
    assert response.json() == {"__type": "InvalidParameterException",
                               "message": "service names can have at most 10 items."}


def test_describe_tasks_limit_is_a_hundred():
    # API_DescribeTasks: "A list of up to 100 task IDs or full ARN entries."
    passed = []
    hundred = ecs_request("DescribeTasks", {"tasks": [f"t{i}" for i in range(100)]})
    ecs.describe_tasks_limit(hundred, lambda r: passed.append(r) or json_response(200, {}))
    assert passed == [hundred]
    response = ecs.describe_tasks_limit(
        ecs_request("DescribeTasks", {"tasks": [f"t{i}" for i in range(101)]}),
        lambda r: pytest.fail("forwarded"))
    assert response.status == 400
    assert response.json() == {"__type": "InvalidParameterException",
                               "message": "tasks can have at most 100 items."}


# -- ListServices --------------------------------------------------------------

ARNS = [f"arn:aws:ecs:us-east-1:123456789012:service/c/s{i:02d}" for i in range(25)]


def test_paginate_walks_every_arn_once_in_order():
    seen, token = [], None
    while True:
        page, token = ecs.paginate(list(reversed(ARNS)), 7, token)
        seen += page
        if token is None:
            break
    assert seen == sorted(ARNS)


def test_paginate_exact_multiple_has_no_trailing_token():
    page, token = ecs.paginate(ARNS[:10], 10, None)
    assert page == ARNS[:10] and token is None


def test_paginate_rejects_foreign_tokens():
    with pytest.raises(ValueError):
        ecs.paginate(ARNS, 10, "garbage")


def test_list_services_strips_paging_params_before_moto():
    forward, calls = moto_listing(ARNS)
    response = ecs.list_services_pagination(
        ecs_request("ListServices", {"cluster": "c", "maxResults": 5}), forward)
    assert calls == [{"cluster": "c"}]
    body = response.json()
    assert body["serviceArns"] == ARNS[:5]
    assert ecs.decode_token(body["nextToken"]) == ARNS[4]


def test_list_services_defaults_to_ten():
    forward, _ = moto_listing(ARNS)
    body = ecs.list_services_pagination(ecs_request("ListServices", {}), forward).json()
    assert len(body["serviceArns"]) == 10


@pytest.mark.parametrize("value", [0, 101, "10", True, None])
def test_list_services_validates_max_results(value):
    forward, calls = moto_listing(ARNS)
    response = ecs.list_services_pagination(
        ecs_request("ListServices", {"maxResults": value}), forward)
    assert response.status == 400 and calls == []
    assert response.json()["__type"] == "InvalidParameterException"


def test_list_services_passes_errors_through_untouched():
    error = Response(400, [("Content-Type", "application/x-amz-json-1.1")],
                     b'{"__type": "ClusterNotFoundException", "message": "Cluster not found."}')
    response = ecs.list_services_pagination(ecs_request("ListServices", {}), lambda r: error)
    assert response is error


# -- middleware ----------------------------------------------------------------

def fake_moto(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    payload = json.dumps({"echo": json.loads(body or b"{}")}).encode()
    start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                              ("Content-Length", str(len(payload)))])
    return [payload]


def call(app, operation, params):
    body = json.dumps(params).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_LENGTH": str(len(body)),
               "CONTENT_TYPE": "application/x-amz-json-1.1", "wsgi.input": io.BytesIO(body),
               "HTTP_X_AMZ_TARGET": f"{ECS_TARGET}.{operation}", "HTTP_AUTHORIZATION": AUTH.format("ecs")}
    status = []
    chunks = app(environ, lambda s, h, e=None: status.append(s))
    return status[0], b"".join(chunks)


def test_middleware_logs_handled_and_passthrough_requests():
    log = io.StringIO()
    app = build(fake_moto, log)
    assert call(app, "ListClusters", {"a": 1}) == ("200 OK", b'{"echo": {"a": 1}}')
    status, _ = call(app, "DescribeServices", {"services": ["x"] * 11})
    assert status.startswith("400")
    records = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [(r["service"], r["operation"], r["status"]) for r in records] == [
        ("ecs", "ListClusters", 200), ("ecs", "DescribeServices", 400)]


def test_middleware_chains_handlers_outermost_first():
    app = build(fake_moto)
    order = []

    def outer(request, forward):
        order.append("outer")
        return forward(request)

    def inner(request, forward):
        order.append("inner")
        return forward(request.with_json({"rewritten": True}))

    app.register("*", "*", outer)
    app.register("ecs", "ListClusters", inner)
    status, body = call(app, "ListClusters", {})
    assert order == ["outer", "inner"]
    assert json.loads(body) == {"echo": {"rewritten": True}}


def test_middleware_turns_a_handler_crash_into_a_500():
    app = build(fake_moto)
    app.register("ecs", "ListClusters", lambda r, f: 1 / 0)
    status, body = call(app, "ListClusters", {})
    assert status.startswith("500") and b"ZeroDivisionError" in body


# -- request log fields -------------------------------------------------------

def test_app_id_comes_from_the_sdk_user_agent():
    from ferry_emulation.middleware import app_id
    ua = "aws-sdk-rust/1.3.9 ua/2.1 api/ecs/1.157.0 os/linux lang/rust/1.95.0 app/replica-a"
    assert app_id({"HTTP_X_AMZ_USER_AGENT": ua}) == "replica-a"
    assert app_id({"HTTP_USER_AGENT": "aws-sdk-rust/1.3.9 os/linux"}) is None
    assert app_id({}) is None


def test_dynamodb_partitions_of_single_and_transactional_requests():
    from ferry_emulation.middleware import dynamodb_partitions

    def request(operation, params):
        return AwsRequest(environ={}, body=json.dumps(params).encode(),
                          service="dynamodb", operation=operation)

    key = lambda pk: {"pk": {"S": pk}, "sk": {"S": "x"}}  # noqa: E731
    assert dynamodb_partitions(request("UpdateItem", {"Key": key("lease")})) == ["lease"]
    assert dynamodb_partitions(request("PutItem", {"Item": key("app")})) == ["app"]
    transaction = {"TransactItems": [{"ConditionCheck": {"Key": key("lease")}},
                                     {"Put": {"Item": key("status")}},
                                     {"Update": {"Key": key("meta")}}]}
    assert dynamodb_partitions(request("TransactWriteItems", transaction)) == ["lease", "status", "meta"]
    assert dynamodb_partitions(request("Query", {"KeyConditionExpression": "pk = :pk"})) == []
    assert dynamodb_partitions(ecs_request("DescribeServices", {})) == []


# -- client tokens (ECS_Idempotency.html) ------------------------------------

def _counting_forward():
    calls = []

    def forward(request):
        calls.append(request.json())
        return json_response(200, {"tasks": [{"taskArn": f"arn:task/{len(calls)}"}]})

    return forward, calls


def test_a_retry_with_the_same_token_and_parameters_gets_the_first_answer():
    tokens = ecs.ClientTokens(clock=lambda: 0.0)
    forward, calls = _counting_forward()
    params = {"cluster": "c", "taskDefinition": "td:1", "clientToken": "t-1"}
    first = tokens(ecs_request("RunTask", params), forward)
    again = tokens(ecs_request("RunTask", dict(params)), forward)
    assert len(calls) == 1
    assert again.json() == first.json() == {"tasks": [{"taskArn": "arn:task/1"}]}
    # Without a token, or with another one, each request runs.
    tokens(ecs_request("RunTask", {"cluster": "c", "taskDefinition": "td:1"}), forward)
    tokens(ecs_request("RunTask", dict(params, clientToken="t-2")), forward)
    # The same token in another cluster is another request.
    tokens(ecs_request("RunTask", dict(params, cluster="arn:aws:ecs:r:1:cluster/d")), forward)
    assert len(calls) == 4


def test_the_same_token_with_other_parameters_is_a_conflict():
    tokens = ecs.ClientTokens(clock=lambda: 0.0)
    forward, calls = _counting_forward()
    params = {"cluster": "c", "taskDefinition": "td:1", "clientToken": "t-1"}
    tokens(ecs_request("RunTask", params), forward)
    other = tokens(ecs_request("RunTask", dict(params, taskDefinition="td:2")), forward)
    assert other.status == 400
    assert json.loads(other.body)["__type"].endswith("ConflictException")
    assert len(calls) == 1


def test_tokens_expire_after_a_day_and_failures_are_not_kept():
    now = [0.0]
    tokens = ecs.ClientTokens(clock=lambda: now[0])
    forward, calls = _counting_forward()
    params = {"cluster": "c", "taskDefinition": "td:1", "clientToken": "t-1"}
    tokens(ecs_request("RunTask", params), forward)
    now[0] = 24 * 3600.0 + 1
    tokens(ecs_request("RunTask", params), forward)
    assert len(calls) == 2
    failing = lambda request: json_response(400, {"__type": "InvalidParameterException"})
    tokens(ecs_request("RunTask", dict(params, clientToken="t-9")), failing)
    tokens(ecs_request("RunTask", dict(params, clientToken="t-9")), forward)
    assert len(calls) == 3


def test_tokens_out_of_the_documented_range_are_refused():
    tokens = ecs.ClientTokens(clock=lambda: 0.0)
    forward, calls = _counting_forward()
    long_for_create = {"cluster": "c", "serviceName": "s", "clientToken": "x" * 37}
    assert tokens(ecs_request("CreateService", long_for_create), forward).status == 400
    assert tokens(ecs_request("RunTask", {"cluster": "c", "clientToken": "x" * 64}), forward).status == 200
    assert tokens(ecs_request("RunTask", {"cluster": "c", "clientToken": "a b"}), forward).status == 400
    assert len(calls) == 1
