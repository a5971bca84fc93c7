"""Fault injection (ferry_emulation/faults.py): unit tests, then boto3 and raw
HTTP against emulators started with FERRY_EMULATOR_FAULT_* settings.

Every end-to-end client here makes exactly one attempt per call, so each
injected fault is seen by the test as it is by an SDK's first attempt.
Whether a faulted request was executed is checked with requests carrying
``X-Ferry-Emulator-Faults: off``, which fault injection leaves alone.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from conftest import BOOTSTRAP, REGION, start_emulator
from ferry_emulation import MODULES, build, faults
from ferry_emulation.faults import (DropConnection, Faults, Latency, Settings, decide, draw,
                                    settings_from)
from ferry_emulation.middleware import EmulationMiddleware, RequestLog
from ferry_emulation.wire import AwsRequest, json_response

ALL = {"dynamodb", "ecs", "elbv2", "route53", "application-autoscaling"}

# -- parsing the settings ------------------------------------------------------------


def rates(value):
    return settings_from({"FERRY_EMULATOR_FAULT_ERRORS": value}).errors


def test_a_wildcard_sets_every_service():
    assert rates("*=0.1") == {s: 0.1 for s in ALL}
    assert rates("0.25") == {s: 0.25 for s in ALL}  # a bare value is *=value


def test_each_service_can_have_its_own_rate():
    assert rates("ecs=0.1,elbv2=0.05,dynamodb=0,route53=0.1") == {
        "ecs": 0.1, "elbv2": 0.05, "dynamodb": 0.0, "route53": 0.1}
    assert rates(" ecs = 1 , route53=0.5 ") == {"ecs": 1.0, "route53": 0.5}


def test_a_named_service_wins_over_the_wildcard_in_any_order():
    expected = {"ecs": 0.2, "elbv2": 0.2, "route53": 0.2, "application-autoscaling": 0.2,
                "dynamodb": 0.0}
    assert rates("*=0.2,dynamodb=0") == expected
    assert rates("dynamodb=0,*=0.2") == expected


def test_one_operation_can_have_its_own_rate():
    assert rates("ecs:RunTask=1,ecs=0.1") == {"ecs": 0.1, "ecs:RunTask": 1.0}
    assert rates("ECS:RunTask=0.5") == {"ecs:RunTask": 0.5}
    settings = Settings(resets_after={"ecs:RunTask": 1.0, "ecs": 0.0}, seed=1)
    assert set(faults_of(settings, "ecs", "RunTask")) == {"reset-after"}
    assert set(faults_of(settings, "ecs", "ListTasks")) == {None}
    assert Settings(resets_after={"ecs:RunTask": 1.0}).services() == ["ecs"]
    for bad in ("*:RunTask=1", "ecs:=1", "nope:RunTask=1"):
        with pytest.raises(ValueError):
            rates(bad)


def test_unset_or_empty_means_no_faults():
    for environ in ({}, {"FERRY_EMULATOR_FAULT_ERRORS": ""}, {"FERRY_EMULATOR_FAULT_ERRORS": "  "}):
        settings = settings_from(environ)
        assert settings.errors == {} and settings.services() == []


def test_rate_zero_everywhere_injects_nothing():
    settings = settings_from({name: "*=0" for name in (
        "FERRY_EMULATOR_FAULT_ERRORS", "FERRY_EMULATOR_FAULT_RESETS",
        "FERRY_EMULATOR_FAULT_RESETS_AFTER", "FERRY_EMULATOR_FAULT_LATENCY")})
    assert settings.services() == []


def test_latency_values():
    def latency(value):
        return settings_from({"FERRY_EMULATOR_FAULT_LATENCY": value}).latency

    assert latency("ecs=50ms") == {"ecs": Latency(0.05, 0.05)}
    assert latency("*=0.2s") == {s: Latency(0.2, 0.2) for s in ALL}
    assert latency("route53=20ms-200ms,ecs=0") == {"route53": Latency(0.02, 0.2),
                                                   "ecs": Latency(0.0, 0.0)}
    assert latency("dynamodb=1.5ms - 2s") == {"dynamodb": Latency(0.0015, 2.0)}


def test_the_seed():
    assert settings_from({"FERRY_EMULATOR_FAULT_SEED": "42"}).seed == 42
    settings = settings_from({})
    assert not settings.seed_given and settings.seed >= 0
    assert f"FERRY_EMULATOR_FAULT_SEED={settings.seed} repeats it" in settings.describe()


@pytest.mark.parametrize("name,value,problem", [
    ("FERRY_EMULATOR_FAULT_ERRORS", "ecs=1.5", "ecs: '1.5' is not from 0 to 1"),
    ("FERRY_EMULATOR_FAULT_ERRORS", "ecs=-0.1", "ecs: '-0.1' is not from 0 to 1"),
    ("FERRY_EMULATOR_FAULT_ERRORS", "ecs=nan", "ecs: 'nan' is not from 0 to 1"),
    ("FERRY_EMULATOR_FAULT_ERRORS", "ecs=often", "ecs: 'often' is not a number"),
    ("FERRY_EMULATOR_FAULT_ERRORS", "ecss=0.1", "unknown service 'ecss'"),
    ("FERRY_EMULATOR_FAULT_ERRORS", "ec2=0.1", "unknown service 'ec2'"),
    ("FERRY_EMULATOR_FAULT_ERRORS", "elasticloadbalancing=0.1",
     "unknown service 'elasticloadbalancing' (use elbv2)"),
    ("FERRY_EMULATOR_FAULT_ERRORS", "ecs=0.1,ecs=0.2", "'ecs' is given twice"),
    ("FERRY_EMULATOR_FAULT_ERRORS", "*=0.1,*=0.2", "'*' is given twice"),
    ("FERRY_EMULATOR_FAULT_ERRORS", "ecs=0.1,", "an empty entry"),
    ("FERRY_EMULATOR_FAULT_ERRORS", "ecs=0.1,elbv2", "'elbv2' has no '='"),
    ("FERRY_EMULATOR_FAULT_RESETS", "route53=2", "route53: '2' is not from 0 to 1"),
    ("FERRY_EMULATOR_FAULT_RESETS_AFTER", "dynamo=0.1", "unknown service 'dynamo'"),
    ("FERRY_EMULATOR_FAULT_LATENCY", "ecs=50", "ecs: '50' is not a duration such as 50ms or 0.2s"),
    ("FERRY_EMULATOR_FAULT_LATENCY", "ecs=fast", "'fast' is not a duration"),
    ("FERRY_EMULATOR_FAULT_LATENCY", "ecs=200ms-20ms", "'200ms-20ms' is a range that ends before"),
    ("FERRY_EMULATOR_FAULT_LATENCY", "ecs=-5ms", "is not a duration"),
])
def test_unusable_values_are_refused_naming_the_variable(name, value, problem):
    with pytest.raises(ValueError) as raised:
        settings_from({name: value})
    message = str(raised.value)
    assert message.startswith(f"{name} must be SERVICE="), message
    assert f"got {value!r}: " in message and problem in message, message


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "0x10"])
def test_an_unusable_seed_is_refused(value):
    with pytest.raises(ValueError, match=f"FERRY_EMULATOR_FAULT_SEED must be a whole number >= 0, got {value!r}"):
        settings_from({"FERRY_EMULATOR_FAULT_SEED": value})


# -- decisions --------------------------------------------------------------------------


def faults_of(settings, service="ecs", operation="ListClusters", n=500):
    return [decide(settings, service, operation, k).fault for k in range(n)]


def test_rate_zero_never_faults_and_rate_one_always_does():
    assert set(faults_of(Settings(errors={"ecs": 0.0}, seed=1))) == {None}
    assert set(faults_of(Settings(errors={"ecs": 1.0}, seed=1))) == {"error"}
    assert set(faults_of(Settings(resets={"ecs": 1.0}, seed=1))) == {"reset"}
    assert set(faults_of(Settings(resets_after={"ecs": 1.0}, seed=1))) == {"reset-after"}


def test_a_rate_is_the_share_of_requests_faulted():
    got = faults_of(Settings(errors={"ecs": 0.2}, seed=3), n=5000)
    assert abs(got.count("error") / len(got) - 0.2) < 0.03


def test_only_the_services_named_are_faulted():
    settings = Settings(errors={"ecs": 1.0, "elbv2": 0.0}, seed=1)
    assert set(faults_of(settings, "elbv2", "DescribeRules")) == {None}
    assert set(faults_of(settings, "route53", "ListHostedZones")) == {None}


def test_a_reset_wins_over_an_error_which_wins_over_a_reset_after():
    assert set(faults_of(Settings(errors={"ecs": 1}, resets={"ecs": 1}, resets_after={"ecs": 1},
                                  seed=1))) == {"reset"}
    assert set(faults_of(Settings(errors={"ecs": 1}, resets_after={"ecs": 1}, seed=1))) == {"error"}


def test_decisions_are_fixed_by_the_seed():
    settings = Settings(errors={"ecs": 0.5}, latency={"ecs": Latency(0.001, 0.02)}, seed=7)
    first = [decide(settings, "ecs", "ListClusters", k) for k in range(64)]
    assert first == [decide(settings, "ecs", "ListClusters", k) for k in range(64)]
    other = Settings(errors={"ecs": 0.5}, latency={"ecs": Latency(0.001, 0.02)}, seed=8)
    assert first != [decide(other, "ecs", "ListClusters", k) for k in range(64)]
    # Each operation has its own sequence, so other calls do not shift it.
    assert first != [decide(settings, "ecs", "DescribeServices", k) for k in range(64)]
    assert all(0.001 <= d.latency <= 0.02 for d in first)
    assert len({d.latency for d in first}) > 32


def test_draws_are_uniform_in_the_unit_interval():
    values = [draw(5, "error", "ecs", "X", k) for k in range(4000)]
    assert all(0 <= v < 1 for v in values)
    assert abs(sum(values) / len(values) - 0.5) < 0.02


# -- the handler, with a fake forward ---------------------------------------------------


def request(service="ecs", operation="CreateCluster", **environ):
    return AwsRequest(environ=dict(environ), body=b"{}", service=service, operation=operation,
                      region="us-east-1")


def handler_and_calls(**settings):
    sleeps, forwarded = [], []
    handler = Faults(Settings(seed=1, **settings), sleep=sleeps.append)

    def forward(req):
        forwarded.append(req.operation)
        return json_response(201, {"ok": True})

    return handler, forward, forwarded, sleeps


def test_an_error_is_not_executed():
    handler, forward, forwarded, _ = handler_and_calls(errors={"ecs": 1.0})
    response = handler(request(), forward)
    assert (response.status, response.fault, forwarded) == (500, "error", [])
    assert response.json()["__type"] == "ServerException"


def test_a_reset_is_not_executed_and_a_reset_after_is():
    handler, forward, forwarded, _ = handler_and_calls(resets={"ecs": 1.0})
    assert handler(request(), forward).fault == "reset" and forwarded == []
    handler, forward, forwarded, _ = handler_and_calls(resets_after={"ecs": 1.0})
    response = handler(request(), forward)
    assert (response.fault, response.status, forwarded) == ("reset-after", 201, ["CreateCluster"])


def test_latency_is_slept_before_the_request():
    handler, forward, forwarded, sleeps = handler_and_calls(latency={"ecs": Latency(0.05, 0.05)})
    response = handler(request(), forward)
    assert sleeps == [0.05] and forwarded == ["CreateCluster"]
    assert (response.status, response.fault, response.latency_ms) == (201, None, 50.0)


def test_exempt_requests_are_neither_faulted_nor_counted():
    handler, forward, forwarded, sleeps = handler_and_calls(
        errors={s: 1.0 for s in ALL}, latency={"ecs": Latency(1, 1)})
    exempt = request(HTTP_X_FERRY_EMULATOR_FAULTS="off")
    assert handler(exempt, forward).status == 201
    assert handler(request("ec2", "CreateVpc"), forward).status == 201
    assert handler(request("moto-api", "GET /moto-api/data.json"), forward).status == 201
    assert sleeps == [] and len(forwarded) == 3
    assert handler._counts == {}


@pytest.mark.parametrize("service,code,content_type", [
    ("ecs", "ServerException", "application/x-amz-json-1.1"),
    ("dynamodb", "com.amazonaws.dynamodb.v20120810#InternalServerError", "application/x-amz-json-1.0"),
])
def test_json_errors(service, code, content_type):
    response = faults.error_response(service)
    assert response.status == 500 and response.header("Content-Type") == content_type
    assert response.json() == {"__type": code, "message": faults.MESSAGE}


@pytest.mark.parametrize("service,namespace", [
    ("elbv2", "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"),
    ("route53", "https://route53.amazonaws.com/doc/2013-04-01/"),
])
def test_xml_errors(service, namespace):
    response = faults.error_response(service)
    assert response.status == 500 and response.header("Content-Type") == "text/xml"
    body = response.body.decode()
    assert f'<ErrorResponse xmlns="{namespace}"><Error><Type>Receiver</Type>' in body
    assert "<Code>InternalFailure</Code>" in body


# -- the middleware and the request log -------------------------------------------------


def fake_moto(calls):
    def app(environ, start_response):
        calls.append(environ["HTTP_X_AMZ_TARGET"])
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
        return [b"{}"]
    return app


def ecs_environ(operation):
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_LENGTH": "2",
            "CONTENT_TYPE": "application/x-amz-json-1.1", "wsgi.input": io.BytesIO(b"{}"),
            "HTTP_X_AMZ_TARGET": f"AmazonEC2ContainerServiceV20141113.{operation}",
            "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/ecs/"
                                  "aws4_request, SignedHeaders=host, Signature=x"}


@pytest.mark.parametrize("knob,fault,executed", [
    ("resets", "reset", False), ("resets_after", "reset-after", True)])
def test_the_middleware_drops_the_connection_of_a_reset(knob, fault, executed):
    calls, log = [], io.StringIO()
    layer = EmulationMiddleware(fake_moto(calls), RequestLog(log))
    layer.register("ecs", "*", Faults(Settings(seed=1, **{knob: {"ecs": 1.0}}), sleep=lambda s: None))
    started = []
    with pytest.raises(DropConnection):
        layer(ecs_environ("CreateCluster"), lambda *a: started.append(a))
    assert started == [] and len(calls) == int(executed)
    (line,) = [json.loads(x) for x in log.getvalue().splitlines()]
    assert line["status"] is None and line["fault"] == fault
    assert line.get("executed_status") == (200 if executed else None)
    assert isinstance(DropConnection(), ConnectionError)  # werkzeug: a dropped connection


def test_the_request_log_records_errors_and_latency():
    calls, log = [], io.StringIO()
    layer = EmulationMiddleware(fake_moto(calls), RequestLog(log))
    layer.register("ecs", "*", Faults(Settings(seed=1, errors={"ecs": 1.0},
                                               latency={"ecs": Latency(0.002, 0.002)})))
    status = []
    b"".join(layer(ecs_environ("ListClusters"), lambda s, h, e=None: status.append(s)))
    assert status == ["500 Internal Server Error"] and calls == []
    (line,) = [json.loads(x) for x in log.getvalue().splitlines()]
    assert (line["status"], line["fault"], line["latency_ms"]) == (500, "error", 2.0)


def test_build_puts_faults_outermost_and_only_when_asked(monkeypatch):
    assert MODULES[0] is faults
    for name in ("ERRORS", "RESETS", "RESETS_AFTER", "LATENCY", "SEED"):
        monkeypatch.delenv(f"FERRY_EMULATOR_FAULT_{name}", raising=False)
    assert not any(isinstance(h, Faults) for _, _, h in build(fake_moto([]))._handlers)
    monkeypatch.setenv("FERRY_EMULATOR_FAULT_ERRORS", "ecs=0.5,dynamodb=0")
    layer = build(fake_moto([]))
    assert isinstance(layer.handlers_for("ecs", "CreateService")[0], Faults)
    assert not any(isinstance(h, Faults) for h in layer.handlers_for("dynamodb", "PutItem"))
    monkeypatch.setenv("FERRY_EMULATOR_FAULT_ERRORS", "ecs=2")
    with pytest.raises(ValueError, match="FERRY_EMULATOR_FAULT_ERRORS must be"):
        build(fake_moto([]))


# -- end to end: boto3 and raw HTTP against emulator.py ---------------------------------

ONE_ATTEMPT = Config(retries={"total_max_attempts": 1}, read_timeout=10, connect_timeout=5)


def client(emu, service, exempt=False):
    made = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION,
    ).client(service, endpoint_url=emu.url, config=ONE_ATTEMPT)
    if exempt:
        def add(request, **_):
            request.headers["X-Ferry-Emulator-Faults"] = "off"
        made.meta.events.register("before-sign", add)
    return made


MIXED = {
    "FERRY_EMULATOR_FAULT_ERRORS": "ecs=1",
    "FERRY_EMULATOR_FAULT_RESETS": "route53=1",
    "FERRY_EMULATOR_FAULT_RESETS_AFTER": "dynamodb=1",
    "FERRY_EMULATOR_FAULT_LATENCY": "elbv2=300ms",
    "FERRY_EMULATOR_FAULT_SEED": "11",
}
EVERYWHERE = {"FERRY_EMULATOR_FAULT_ERRORS": "*=1"}
NOWHERE = {name: "*=0" for name in ("FERRY_EMULATOR_FAULT_ERRORS", "FERRY_EMULATOR_FAULT_RESETS",
                                    "FERRY_EMULATOR_FAULT_RESETS_AFTER",
                                    "FERRY_EMULATOR_FAULT_LATENCY")}
HALF = {"FERRY_EMULATOR_FAULT_ERRORS": "ecs=0.5", "FERRY_EMULATOR_FAULT_LATENCY": "ecs=1ms-20ms",
        "FERRY_EMULATOR_FAULT_SEED": "7"}


@pytest.fixture(scope="module")
def emulators(tmp_path_factory):
    """One emulator per setting, started together."""
    settings = {"mixed": MIXED, "everywhere": EVERYWHERE, "nowhere": NOWHERE,
                "half-a": HALF, "half-b": HALF}
    with ThreadPoolExecutor(len(settings)) as pool:
        futures = {name: pool.submit(start_emulator, tmp_path_factory.mktemp(name), env=env)
                   for name, env in settings.items()}
        emus = {name: future.result() for name, future in futures.items()}
    try:
        yield emus
    finally:
        for emu in emus.values():
            emu.stop()


def lines(emu, service):
    return [r for r in emu.requests() if r["service"] == service]


def test_errors_at_rate_one_fail_every_request_and_execute_none(emulators):
    emu = emulators["mixed"]
    ecs = client(emu, "ecs")
    for _ in range(3):
        with pytest.raises(ClientError) as raised:
            ecs.create_cluster(clusterName="faulted")
        error = raised.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert error["Error"]["Code"] == "ServerException"
    assert client(emu, "ecs", exempt=True).list_clusters()["clusterArns"] == []
    faulted = [r for r in lines(emu, "ecs") if r["operation"] == "CreateCluster"]
    assert [(r["status"], r["fault"]) for r in faulted] == [(500, "error")] * 3


def test_resets_before_execution_send_nothing_and_execute_nothing(emulators):
    emu = emulators["mixed"]
    with pytest.raises(ConnectionClosedError):
        client(emu, "route53").create_hosted_zone(Name="reset.example", CallerReference="r1")
    # On the wire: no byte of a response, a TCP reset.
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(b"GET /2013-04-01/hostedzone HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = sock.recv(1024)
        except ConnectionResetError:
            data = None
        assert data is None, f"expected a TCP reset, got {data!r}"  # b"": a FIN, not a reset
    zones = client(emu, "route53", exempt=True).list_hosted_zones()["HostedZones"]
    assert [z["Name"] for z in zones] == []
    faulted = lines(emu, "route53")
    assert [(r["operation"], r["status"], r.get("fault")) for r in faulted] == [
        ("CreateHostedZone", None, "reset"), ("ListHostedZones", None, "reset"),
        ("ListHostedZones", 200, None)]


def test_resets_after_execution_execute_then_send_nothing(emulators):
    emu = emulators["mixed"]
    with pytest.raises(ConnectionClosedError):
        client(emu, "dynamodb").create_table(
            TableName="reset-after", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    assert client(emu, "dynamodb", exempt=True).list_tables()["TableNames"] == ["reset-after"]
    first = lines(emu, "dynamodb")[0]
    assert (first["operation"], first["status"], first["fault"], first["executed_status"]) == (
        "CreateTable", None, "reset-after", 200)


def test_latency_is_added_and_logged(emulators):
    emu = emulators["mixed"]
    elbv2 = client(emu, "elbv2")
    started = time.monotonic()
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert time.monotonic() - started >= 0.3
    (line,) = lines(emu, "elbv2")
    assert (line["status"], line["latency_ms"], line.get("fault")) == (200, 300.0, None)


def test_other_services_and_moto_api_are_never_faulted(emulators):
    for emu in (emulators["mixed"], emulators["everywhere"]):
        client(emu, "ec2").describe_vpcs()
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"{emu.url}/moto-api/data.json", timeout=30) as response:
            assert response.status == 200
        for line in emu.requests():
            if line["service"] in ("ec2", "moto-api"):
                assert "fault" not in line and "latency_ms" not in line, line


def test_every_service_sends_its_own_500(emulators):
    emu = emulators["everywhere"]
    calls = {
        "ecs": (lambda: client(emu, "ecs").list_clusters(), "ServerException"),
        "dynamodb": (lambda: client(emu, "dynamodb").list_tables(), "InternalServerError"),
        "elbv2": (lambda: client(emu, "elbv2").describe_target_groups(), "InternalFailure"),
        "route53": (lambda: client(emu, "route53").list_hosted_zones(), "InternalFailure"),
        "application-autoscaling": (
            lambda: client(emu, "application-autoscaling").describe_scalable_targets(
                ServiceNamespace="ecs"),
            "InternalServiceException"),
    }
    for service, (call, code) in calls.items():
        with pytest.raises(ClientError) as raised:
            call()
        error = raised.value.response
        assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (500, code)
        assert error["Error"]["Message"] == faults.MESSAGE
        assert [(r["status"], r["fault"]) for r in lines(emu, service)][-1] == (500, "error")


def test_bootstrap_is_exempt(emulators, tmp_path):
    emu = emulators["everywhere"]
    before = len(emu.requests())
    result = subprocess.run([sys.executable, str(BOOTSTRAP), "--endpoint", emu.url,
                             "--env-file", str(tmp_path / "env")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    made = emu.requests()[before:]
    assert {"CreateCluster", "CreateLoadBalancer", "CreateHostedZone"} <= {r["operation"] for r in made}
    assert not any("fault" in r for r in made)


def test_rate_zero_injects_nothing(emulators):
    emu = emulators["nowhere"]
    for _ in range(10):
        client(emu, "ecs").list_clusters()
        client(emu, "dynamodb").list_tables()
    assert not any("fault" in r or "latency_ms" in r for r in emu.requests())
    assert "fault injection" not in emu.stderr_path.read_text()


def test_the_same_seed_gives_the_same_faults(emulators):
    runs = []
    for name in ("half-a", "half-b"):
        emu = emulators[name]
        ecs = client(emu, "ecs")
        for _ in range(24):
            try:
                ecs.list_clusters()
            except ClientError:
                pass
        runs.append([(r.get("fault"), r.get("latency_ms")) for r in lines(emu, "ecs")])
        assert "seed 7" in emu.stderr_path.read_text()
    assert runs[0] == runs[1]
    settings = settings_from(HALF)
    predicted = [decide(settings, "ecs", "ListClusters", k) for k in range(24)]
    assert runs[0] == [(d.fault, round(d.latency * 1000, 3)) for d in predicted]
    assert 4 <= [f for f, _ in runs[0]].count("error") <= 20


@pytest.mark.parametrize("name,value", [
    ("FERRY_EMULATOR_FAULT_ERRORS", "ecs=1.5"),
    ("FERRY_EMULATOR_FAULT_RESETS", "ecss=0.1"),
    ("FERRY_EMULATOR_FAULT_RESETS_AFTER", "ecs"),
    ("FERRY_EMULATOR_FAULT_LATENCY", "ecs=50"),
    ("FERRY_EMULATOR_FAULT_SEED", "x"),
])
def test_an_unusable_value_stops_the_emulator(tmp_path, name, value):
    with pytest.raises(RuntimeError, match=f"exited 2: emulator: {name} must be"):
        start_emulator(tmp_path, env={name: value})
    assert len((tmp_path / "emulator.stderr").read_text().strip().splitlines()) == 1
