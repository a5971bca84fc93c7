"""Throttling by AWS's documented token buckets: unit tests and boto3 end to end.

The documented numbers are transcribed once, below, from the AWS pages
(independently of throttling.py's tables, so a typo in either fails a
test); every assertion derives from them.
"""

from __future__ import annotations

import io
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.parsers import JSONParser, QueryParser, RestJSONParser, RestXMLParser

from conftest import start_emulator
from ferry_emulation import build, throttling
from ferry_emulation.middleware import EmulationMiddleware, RequestLog
from ferry_emulation.throttling import (LIMITS, Category, ServiceLimits, Throttle, TokenBucket,
                                        buckets_for)
from ferry_emulation.wire import AwsRequest, json_response

# -- the documented numbers: (bucket, burst, refill per second) ------------------

# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html
# Every ECS action Ferry calls. No account-level bucket.
ECS = {
    "RegisterTaskDefinition": ("Task definition modify actions", 20, 1),
    "DeregisterTaskDefinition": ("Task definition modify actions", 20, 1),
    "DescribeTaskDefinition": ("Task definition read actions", 50, 20),
    "ListTaskDefinitions": ("Task definition read actions", 50, 20),
    "ListTaskDefinitionFamilies": ("Task definition read actions", 50, 20),
    "CreateService": ("Service modify actions", 50, 5),
    "UpdateService": ("Service modify actions", 50, 5),
    "DeleteService": ("Service modify actions", 50, 5),
    "DescribeServices": ("Service read actions", 100, 20),
    "ListServices": ("Service read actions", 100, 20),
    "RunTask": ("Cluster resource modify actions", 100, 40),
    "ListTasks": ("Cluster resource read actions", 100, 20),
    "DescribeTasks": ("Cluster resource read actions", 100, 20),
    "DescribeClusters": ("Cluster read actions", 50, 20),
}

# https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html
# Every ELBv2 action Ferry calls, plus the account-level bucket all share.
ELBV2_ACCOUNT = (40, 10)
ELBV2 = {
    **{a: ("Non-mutating", 40, 10) for a in (
        "DescribeLoadBalancers", "DescribeListeners", "DescribeRules", "DescribeTargetGroups",
        "DescribeTargetGroupAttributes", "DescribeTags")},
    **{a: ("Mutating", 20, 3) for a in (
        "CreateRule", "ModifyRule", "DeleteRule", "SetRulePriorities", "CreateTargetGroup",
        "ModifyTargetGroup", "ModifyTargetGroupAttributes", "DeleteTargetGroup", "AddTags",
        "RemoveTags")},
    "CreateLoadBalancer": ("Resource-intensive", 10, 0.2),
    "RegisterTargets": ("Registration", 20, 4),
}

# https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/throttling-api-requests.html
# Per account (not per region); every action also has a bucket of its own.
ROUTE53_ACCOUNT = (50, 10)
ROUTE53 = {
    "ChangeResourceRecordSets": (50, 10),
    "ListResourceRecordSets": (50, 10),
    "GetHostedZone": (50, 10),
    "GetChange": (50, 10),
    "ListHostedZones": (50, 10),
    "ListHostedZonesByName": (50, 10),
    "CreateHostedZone": (40, 2),
}

# Application Auto Scaling documents no rate: one shared bucket per region,
# burst 10, 2/s, ours (repost.aws/knowledge-center/autoscaling-api-calls-throttled).
AUTOSCALING_ALL = (10, 2)
AUTOSCALING = ["RegisterScalableTarget", "DescribeScalableTargets", "PutScalingPolicy",
               "DescribeScalingPolicies", "DeleteScalingPolicy", "DeregisterScalableTarget",
               "ListTagsForResource", "TagResource"]

# https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.html
# Per operation and region; the lowest rate the page has given; burst = rate.
SCHEDULER = {"CreateSchedule": 50, "GetSchedule": 50, "UpdateSchedule": 50, "DeleteSchedule": 50,
             "ListSchedules": 50, "CreateScheduleGroup": 10, "GetScheduleGroup": 10,
             "DeleteScheduleGroup": 10, "ListScheduleGroups": 10, "ListTagsForResource": 10}

# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html
# FilterLogEvents: 5 TPS per account and region; no burst documented.
LOGS_FILTER = (5, 5)

NOT_THROTTLED = ["dynamodb", "ec2", "iam", "sts", "cloudformation", "moto-api", "sqs"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def sizes(found):
    return [(category.capacity, category.refill) for _, category in found]


# -- the bucket ------------------------------------------------------------------

def test_bucket_bursts_then_refills_at_its_rate_up_to_its_capacity():
    clock = FakeClock()
    _, burst, refill = ECS["RegisterTaskDefinition"]
    bucket = TokenBucket(burst, refill, clock)
    assert [bucket.take() for _ in range(burst + 1)] == [True] * burst + [False]
    clock.advance(0.5 / refill)
    assert not bucket.take()  # half a token is no token
    clock.advance(0.5 / refill)
    assert bucket.take() and not bucket.take()
    clock.advance(3 / refill)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.advance(1000)
    assert bucket.tokens() == burst  # never more than the capacity
    assert sum(bucket.take() for _ in range(burst * 2)) == burst


def test_fractional_refill_rates_need_several_seconds_per_token():
    clock = FakeClock()
    _, burst, refill = ELBV2["CreateLoadBalancer"]
    bucket = TokenBucket(burst, refill, clock)
    assert sum(bucket.take() for _ in range(burst + 1)) == burst
    clock.advance(1 / refill - 0.01)
    assert not bucket.take()
    clock.advance(0.01)
    assert bucket.take()


# -- the tables --------------------------------------------------------------------

@pytest.mark.parametrize("action", sorted(ECS))
def test_every_ecs_action_ferry_calls_has_its_documented_bucket(action):
    name, burst, refill = ECS[action]
    found = buckets_for("ecs", action, "us-east-1")
    assert [(key[2], category.capacity, category.refill) for key, category in found] == [
        (name, burst, refill)]


@pytest.mark.parametrize("service,table", [("ecs", ECS), ("elbv2", ELBV2)])
def test_actions_share_a_bucket_exactly_when_the_doc_groups_them(service, table):
    def own_bucket(action):
        return buckets_for(service, action, "us-east-1")[-1][0]

    for a in table:
        for b in table:
            assert (own_bucket(a) == own_bucket(b)) == (table[a][0] == table[b][0]), (a, b)


@pytest.mark.parametrize("action", sorted(ELBV2))
def test_elbv2_actions_take_from_their_category_and_the_account_bucket(action):
    _, burst, refill = ELBV2[action]
    assert sizes(buckets_for("elbv2", action, "us-east-1")) == [ELBV2_ACCOUNT, (burst, refill)]


def test_unlisted_elbv2_actions_are_mutating():
    # "This category generally includes all API actions that are not
    # categorized as non-mutating actions."
    unlisted = buckets_for("elbv2", "SomeNewAction", "us-east-1")
    assert unlisted == buckets_for("elbv2", "CreateRule", "us-east-1")


@pytest.mark.parametrize("action", sorted(ROUTE53))
def test_route53_actions_take_from_their_own_and_the_account_bucket(action):
    found = buckets_for("route53", action, "us-east-1")
    assert sizes(found) == [ROUTE53_ACCOUNT, ROUTE53[action]]
    # One bucket per action, and one set per account whatever the region.
    assert found[1][0] != buckets_for("route53", "GetChange" if action != "GetChange"
                                      else "GetHostedZone", "us-east-1")[1][0]
    assert found == buckets_for("route53", action, "eu-west-1")


def test_ecs_and_elbv2_buckets_are_per_region():
    for service, action in [("ecs", "RegisterTaskDefinition"), ("elbv2", "DescribeRules")]:
        east = [key for key, _ in buckets_for(service, action, "us-east-1")]
        west = [key for key, _ in buckets_for(service, action, "us-west-2")]
        assert not set(east) & set(west)


def test_unlisted_ecs_actions_get_a_small_bucket_each():
    a = buckets_for("ecs", "CreateTaskSet", "us-east-1")
    b = buckets_for("ecs", "DescribeTaskSets", "us-east-1")
    assert sizes(a) == sizes(b) == [(10, 1)]
    assert a[0][0] != b[0][0]


@pytest.mark.parametrize("action", AUTOSCALING)
def test_application_autoscaling_actions_share_one_bucket_per_region(action):
    found = buckets_for("application-autoscaling", action, "us-east-1")
    assert sizes(found) == [AUTOSCALING_ALL]
    assert found == buckets_for("application-autoscaling", "DescribeScalableTargets", "us-east-1")
    assert found != buckets_for("application-autoscaling", action, "us-west-2")


@pytest.mark.parametrize("action", sorted(SCHEDULER))
def test_scheduler_operations_have_a_bucket_each_of_their_rate(action):
    found = buckets_for("scheduler", action, "us-east-1")
    assert sizes(found) == [(SCHEDULER[action], SCHEDULER[action])]
    others = {buckets_for("scheduler", a, "us-east-1")[0][0] for a in SCHEDULER if a != action}
    assert found[0][0] not in others
    assert found != buckets_for("scheduler", action, "us-west-2")


def test_only_filter_log_events_is_throttled_in_logs():
    assert sizes(buckets_for("logs", "FilterLogEvents", "us-east-1")) == [LOGS_FILTER]
    for action in ("GetLogEvents", "DescribeLogStreams", "PutLogEvents", "CreateLogGroup"):
        assert buckets_for("logs", action, "us-east-1") == []


@pytest.mark.parametrize("service", NOT_THROTTLED)
def test_other_services_are_not_throttled(service):
    assert buckets_for(service, "Anything", "us-east-1") == []


@pytest.mark.parametrize("service", sorted(LIMITS))
def test_no_action_is_in_two_rows(service):
    actions = [a for category in LIMITS[service].categories for a in category.actions]
    assert len(actions) == len(set(actions))


# -- the throttle -------------------------------------------------------------------

def test_a_refused_request_takes_no_token_from_any_bucket():
    clock = FakeClock()
    throttle = Throttle(clock=clock)
    _, mutating, _ = ELBV2["CreateRule"]
    _, described, _ = ELBV2["DescribeRules"]
    account = ELBV2_ACCOUNT[0]
    assert all(throttle.admit("elbv2", "CreateRule", "r") for _ in range(mutating))
    assert not throttle.admit("elbv2", "CreateRule", "r")  # Mutating empty
    # Had the refused CreateRule taken an account token, one fewer would pass.
    left = account - mutating
    assert sum(throttle.admit("elbv2", "DescribeRules", "r") for _ in range(described)) == left
    assert not throttle.admit("elbv2", "DescribeRules", "r")  # the account bucket is empty
    assert throttle.admit("elbv2", "DescribeRules", "other-region")


def test_throttled_requests_never_reach_the_rest_of_the_chain():
    clock = FakeClock()
    throttle = Throttle(clock=clock)
    forwarded = []

    def forward(request):
        forwarded.append(request.operation)
        return json_response(200, {"taskDefinition": {}})

    request = AwsRequest(environ={}, body=b"{}", service="ecs",
                         operation="RegisterTaskDefinition", region="us-east-1")
    _, burst, refill = ECS["RegisterTaskDefinition"]
    responses = [throttle(request, forward) for _ in range(burst + 3)]
    assert [r.status for r in responses] == [200] * burst + [400] * 3
    assert len(forwarded) == burst
    assert [r.throttled for r in responses] == [False] * burst + [True] * 3
    clock.advance(1 / refill)
    assert throttle(request, forward).status == 200 and len(forwarded) == burst + 1


def botocore_error(parser, response, service, operation):
    model = ServiceModel(Loader().load_service_model(service, "service-2"), service)
    shape = model.operation_model(operation).output_shape
    return parser().parse({"body": response.body, "status_code": response.status,
                           "headers": dict(response.headers)}, shape)["Error"]


@pytest.mark.parametrize("service,operation,parser,code,status,content_type", [
    ("ecs", "RegisterTaskDefinition", JSONParser, "ThrottlingException", 400,
     "application/x-amz-json-1.1"),
    ("elbv2", "DescribeRules", QueryParser, "Throttling", 400, "text/xml"),
    ("route53", "ChangeResourceRecordSets", RestXMLParser, "Throttling", 400, "text/xml"),
    ("application-autoscaling", "RegisterScalableTarget", JSONParser, "ThrottlingException", 400,
     "application/x-amz-json-1.1"),
    ("logs", "FilterLogEvents", JSONParser, "ThrottlingException", 400,
     "application/x-amz-json-1.1"),
    ("scheduler", "CreateSchedule", RestJSONParser, "ThrottlingException", 429,
     "application/json"),
])
def test_throttling_errors_parse_in_botocore(service, operation, parser, code, status,
                                             content_type):
    response = LIMITS[service].error()
    assert response.status == status
    error = botocore_error(parser, response, service, operation)
    assert (error["Code"], error["Message"]) == (code, "Rate exceeded")
    assert response.header("Content-Type") == content_type


def fake_moto(calls):
    def app(environ, start_response):
        calls.append(environ["HTTP_X_AMZ_TARGET"])
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
        return [b"{}"]
    return app


def ecs_call(app, operation):
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_LENGTH": "2",
               "CONTENT_TYPE": "application/x-amz-json-1.1", "wsgi.input": io.BytesIO(b"{}"),
               "HTTP_X_AMZ_TARGET": f"AmazonEC2ContainerServiceV20141113.{operation}",
               "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/ecs/"
                                     "aws4_request, SignedHeaders=host, Signature=x"}
    status = []
    b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    return int(status[0].split()[0])


def test_the_request_log_marks_throttled_requests():
    calls, log = [], io.StringIO()
    layer = EmulationMiddleware(fake_moto(calls), RequestLog(log))
    tiny = {"ecs": ServiceLimits(categories=(Category("tiny", ("ListClusters",), 2, 1),),
                                 unlisted=Category("u", (), 1, 1), unlisted_shared=False,
                                 error=LIMITS["ecs"].error)}
    layer.register("ecs", "*", Throttle(tiny, clock=FakeClock()))
    assert [ecs_call(layer, "ListClusters") for _ in range(3)] == [200, 200, 400]
    assert len(calls) == 2
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [(r["status"], r.get("throttled")) for r in lines] == [
        (200, None), (200, None), (400, True)]
    assert list(lines[2]) == ["t", "service", "operation", "status", "received", "throttled"]


# -- the setting ----------------------------------------------------------------------

@pytest.mark.parametrize("value,on", [
    (None, True), ("", True), ("on", True), ("1", True), ("true", True), ("TRUE", True),
    ("off", False), ("0", False), ("false", False), (" Off ", False)])
def test_the_setting(value, on):
    assert throttling.enabled({} if value is None else {"FERRY_EMULATOR_THROTTLING": value}) is on


@pytest.mark.parametrize("value", ["no", "yes", "2", "of"])
def test_an_unusable_setting_is_refused(value):
    with pytest.raises(ValueError, match=f"FERRY_EMULATOR_THROTTLING must be .*{value!r}"):
        throttling.enabled({"FERRY_EMULATOR_THROTTLING": value})


def test_build_reads_the_setting_and_puts_the_throttle_outermost(monkeypatch):
    monkeypatch.delenv("FERRY_EMULATOR_THROTTLING", raising=False)
    layer = build(fake_moto([]))
    for service, operation in [("ecs", "UpdateService"), ("ecs", "DescribeServices"),
                               ("elbv2", "CreateRule"), ("route53", "ChangeResourceRecordSets")]:
        handlers = layer.handlers_for(service, operation)
        assert isinstance(handlers[0], Throttle) and len(handlers) > 1, (service, operation)
    assert layer.handlers_for("ec2", "CreateVpc") == []  # still streamed to moto
    monkeypatch.setenv("FERRY_EMULATOR_THROTTLING", "off")
    layer = build(fake_moto([]))
    assert not any(isinstance(h, Throttle) for _, _, h in layer._handlers)


# -- end to end: boto3 against emulator.py ---------------------------------------------

# No retries at all (max_attempts alone still allows one retry in botocore's
# legacy mode), so every throttled call is seen.
NO_RETRIES = Config(retries={"total_max_attempts": 1})


def client(emu, service, region):
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=region,
    ).client(service, endpoint_url=emu.url, config=NO_RETRIES)


@pytest.fixture(scope="module")
def emulators(tmp_path_factory):
    """(on, off): throttling on (the default) and FERRY_EMULATOR_THROTTLING=off, started together."""
    with ThreadPoolExecutor(2) as pool:
        on = pool.submit(start_emulator, tmp_path_factory.mktemp("throttled"))
        off = pool.submit(start_emulator, tmp_path_factory.mktemp("unthrottled"),
                          env={"FERRY_EMULATOR_THROTTLING": "off"})
        emus = [on.result(), off.result()]
    try:
        yield emus
    finally:
        for emu in emus:
            emu.stop()


def burst(call, n):
    """Make n calls at once; (successes, throttled error responses, seconds taken)."""
    ok, throttled = 0, []
    started = time.monotonic()
    for _ in range(n):
        try:
            call()
            ok += 1
        except ClientError as err:
            throttled.append(err.response)
    return ok, throttled, time.monotonic() - started


def assert_burst(ok, throttled, elapsed, n, capacity, refill, code, status=400):
    # The bucket starts full; what refills during the burst may pass too
    # (none when the burst takes less than 1/refill seconds).
    assert capacity <= ok <= capacity + math.floor(elapsed * refill), (ok, elapsed)
    assert len(throttled) == n - ok >= 1
    for response in throttled:
        assert (response["Error"]["Code"], response["Error"]["Message"]) == (code, "Rate exceeded")
        assert response["ResponseMetadata"]["HTTPStatusCode"] == status
        assert response["ResponseMetadata"]["RetryAttempts"] == 0


def register(ecs, family):
    return lambda: ecs.register_task_definition(
        family=family, containerDefinitions=[{"name": "app", "image": "busybox", "memory": 16}])


def test_a_burst_of_task_definitions_is_throttled_at_the_documented_size(emulators):
    on, _ = emulators
    ecs = client(on, "ecs", "us-west-2")  # buckets are per region: this test's own
    _, capacity, refill = ECS["RegisterTaskDefinition"]
    n = capacity + 5
    before = len(on.requests())
    ok, throttled, elapsed = burst(register(ecs, "burst"), n)
    assert_burst(ok, throttled, elapsed, n, capacity, refill, "ThrottlingException")
    # Throttled calls never reached moto: it registered exactly the others.
    # (ListTaskDefinitions has a bucket of its own, still full.)
    arns = ecs.list_task_definitions(familyPrefix="burst")["taskDefinitionArns"]
    assert len(arns) == ok
    lines = [(r["status"], r.get("throttled", False)) for r in on.requests()[before:]
             if r["operation"] == "RegisterTaskDefinition"]
    assert len(lines) == n and lines[:capacity] == [(200, False)] * capacity
    assert sorted(lines) == sorted([(200, False)] * ok + [(400, True)] * len(throttled))


def test_without_throttling_every_call_succeeds(emulators):
    _, off = emulators
    ecs = client(off, "ecs", "us-west-2")
    _, capacity, _ = ECS["RegisterTaskDefinition"]
    n = capacity + 5
    ok, throttled, _ = burst(register(ecs, "burst"), n)
    assert (ok, throttled) == (n, [])
    assert not any("throttled" in r for r in off.requests())


def test_elbv2_is_throttled_with_its_query_error(emulators):
    on, _ = emulators
    elb = client(on, "elbv2", "eu-west-1")
    # DescribeLoadBalancers takes from Non-mutating and from the account
    # bucket; the smaller of the two decides.
    _, capacity, refill = ELBV2["DescribeLoadBalancers"]
    capacity, refill = min(capacity, ELBV2_ACCOUNT[0]), min(refill, ELBV2_ACCOUNT[1])
    n = capacity + 20
    ok, throttled, elapsed = burst(elb.describe_load_balancers, n)
    assert_burst(ok, throttled, elapsed, n, capacity, refill, "Throttling")
    assert all(r["Error"]["Type"] == "Sender" for r in throttled)


def test_route53_is_throttled_with_its_rest_xml_error(emulators):
    on, _ = emulators
    r53 = client(on, "route53", "us-east-1")
    capacity = min(ROUTE53["ListHostedZones"][0], ROUTE53_ACCOUNT[0])
    refill = min(ROUTE53["ListHostedZones"][1], ROUTE53_ACCOUNT[1])
    n = capacity + 20
    ok, throttled, elapsed = burst(r53.list_hosted_zones, n)
    assert_burst(ok, throttled, elapsed, n, capacity, refill, "Throttling")
    lines = [r for r in on.requests() if r["service"] == "route53" and r.get("throttled")]
    assert len(lines) == len(throttled) and {r["status"] for r in lines} == {400}


def test_application_autoscaling_is_throttled(emulators):
    on, _ = emulators
    aas = client(on, "application-autoscaling", "ap-south-1")
    capacity, refill = AUTOSCALING_ALL
    n = capacity + 5
    ok, throttled, elapsed = burst(lambda: aas.describe_scalable_targets(ServiceNamespace="ecs"), n)
    assert_burst(ok, throttled, elapsed, n, capacity, refill, "ThrottlingException")


def test_scheduler_is_throttled_with_429(emulators):
    on, _ = emulators
    scheduler = client(on, "scheduler", "ap-south-1")
    rate = SCHEDULER["GetScheduleGroup"]
    n = rate + 5
    ok, throttled, elapsed = burst(lambda: scheduler.get_schedule_group(Name="default"), n)
    assert_burst(ok, throttled, elapsed, n, rate, rate, "ThrottlingException", status=429)
    # Another operation has a bucket of its own, still full.
    scheduler.list_schedules()


def test_filter_log_events_is_throttled_and_other_logs_reads_are_not(emulators):
    on, _ = emulators
    logs = client(on, "logs", "ap-south-1")
    logs.create_log_group(logGroupName="/burst")
    capacity, refill = LOGS_FILTER
    n = capacity + 5
    ok, throttled, elapsed = burst(lambda: logs.filter_log_events(logGroupName="/burst"), n)
    assert_burst(ok, throttled, elapsed, n, capacity, refill, "ThrottlingException")
    for _ in range(n):
        logs.describe_log_streams(logGroupName="/burst")


def test_an_unusable_setting_stops_the_emulator(tmp_path):
    with pytest.raises(RuntimeError, match="exited 2: emulator: FERRY_EMULATOR_THROTTLING must be"):
        start_emulator(tmp_path, env={"FERRY_EMULATOR_THROTTLING": "maybe"})
    assert len((tmp_path / "emulator.stderr").read_text().strip().splitlines()) == 1


def _change_batch(*actions: str) -> bytes:
    changes = "".join(
        f"<Change><Action>{a}</Action><ResourceRecordSet><Name>r{i}.example.com.</Name>"
        f"<Type>A</Type></ResourceRecordSet></Change>" for i, a in enumerate(actions))
    return (f'<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
            f"<ChangeBatch><Changes>{changes}</Changes></ChangeBatch>"
            f"</ChangeResourceRecordSetsRequest>").encode()


def test_route53_counts_record_changes_an_upsert_twice():
    from ferry_emulation import route53
    request = AwsRequest(environ={}, body=_change_batch("CREATE", "UPSERT", "DELETE"),
                         service="route53", operation="ChangeResourceRecordSets")
    assert route53.change_count(request) == 4
    other = AwsRequest(environ={}, body=b"", service="route53", operation="ListHostedZones")
    assert route53.change_count(other) == 0


def test_route53_change_throughput_is_a_bucket_of_1500_changes_refilled_at_100():
    clock = FakeClock()
    throttle = Throttle(clock=clock)
    # The request buckets (50 at 10/s) are not what runs out here: three
    # batches of 500 changes take the whole change bucket.
    for _ in range(3):
        assert throttle.admit("route53", "ChangeResourceRecordSets", None, units=500)
    assert not throttle.admit("route53", "ChangeResourceRecordSets", None, units=1)
    # A refused batch takes nothing: after 1 s, 100 changes fit, 101 do not.
    clock.now += 1.0
    assert not throttle.admit("route53", "ChangeResourceRecordSets", None, units=101)
    assert throttle.admit("route53", "ChangeResourceRecordSets", None, units=100)
    # Reads count no changes.
    assert throttle.admit("route53", "ListResourceRecordSets", None, units=0)


def test_the_handler_charges_a_batch_its_changes():
    throttle = Throttle(clock=FakeClock())
    batch = _change_batch(*["CREATE"] * 800)
    request = AwsRequest(environ={}, body=batch, service="route53",
                         operation="ChangeResourceRecordSets")
    ok = json_response(200, {})
    assert throttle(request, lambda r: ok) is ok
    refused = throttle(request, lambda r: ok)
    assert refused.throttled and refused.status == 400
