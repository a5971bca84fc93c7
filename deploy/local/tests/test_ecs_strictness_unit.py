"""The ECS refusals, CreateService uniqueness, eventual consistency and paging,
without a server: pure functions and handlers with fake ``forward`` functions.

Each test pins one documented behaviour (see the modules' docstrings for the
AWS pages quoted): ecs_taskdefs.py, ecs_idempotency.py, consistency.py,
paging.py.
"""

from __future__ import annotations

import json

import pytest

from ferry_emulation import consistency, ecs_idempotency, ecs_taskdefs, paging
from ferry_emulation.wire import AwsRequest, json_response
from test_emulation_unit import AUTH, ecs_request

ROLE = "arn:aws:iam::123456789012:role/exec"
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/acme:1"


def fargate(*containers, **params):
    return {"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
            "cpu": "256", "memory": "512",
            "containerDefinitions": list(containers) or [{"name": "a", "image": "acme:1"}],
            **params}


AWSLOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "/g", "awslogs-region": "us-east-1"}}


# -- RegisterTaskDefinition refusals -------------------------------------------------------

def test_plain_fargate_definition_passes():
    assert ecs_taskdefs.refusal(fargate()) is None


@pytest.mark.parametrize("container,message", [
    ({"name": "a", "image": "acme:1", "logConfiguration": AWSLOGS}, ecs_taskdefs.AWSLOGS_MESSAGE),
    ({"name": "a", "image": ECR}, ecs_taskdefs.ECR_MESSAGE),
    ({"name": "a", "image": "acme:1", "secrets": [{"name": "S", "valueFrom": "arn:x"}]},
     ecs_taskdefs.SECRETS_MESSAGE),
    ({"name": "a", "image": "acme:1",
      "logConfiguration": {**AWSLOGS, "secretOptions": [{"name": "k", "valueFrom": "arn:x"}]}},
     ecs_taskdefs.SECRETS_MESSAGE),
    ({"name": "a", "image": "acme:1", "repositoryCredentials": {"credentialsParameter": "arn:x"}},
     ecs_taskdefs.PRIVATE_REGISTRY_MESSAGE),
])
def test_fargate_needs_an_execution_role(container, message):
    assert ecs_taskdefs.refusal(fargate(container)) == ("ClientException", message)
    assert ecs_taskdefs.refusal(fargate(container, executionRoleArn=ROLE)) is None
    assert ecs_taskdefs.refusal(fargate(container, executionRoleArn="")) == ("ClientException", message)


def test_the_second_container_is_checked_too():
    bad = {"name": "b", "image": "acme:1", "logConfiguration": AWSLOGS}
    assert ecs_taskdefs.refusal(fargate({"name": "a", "image": "x"}, bad)) == (
        "ClientException", ecs_taskdefs.AWSLOGS_MESSAGE)


def test_on_ec2_awslogs_and_ecr_need_no_role_but_secrets_do():
    ec2 = {"family": "f", "containerDefinitions": [
        {"name": "a", "image": ECR, "memory": 128, "logConfiguration": AWSLOGS}]}
    assert ecs_taskdefs.refusal(ec2) is None
    ec2["containerDefinitions"][0]["secrets"] = [{"name": "S", "valueFrom": "arn:x"}]
    assert ecs_taskdefs.refusal(ec2) == ("ClientException", ecs_taskdefs.SECRETS_MESSAGE)


def test_ecr_images_are_recognised_by_registry():
    assert ecs_taskdefs.is_ecr_image(ECR)
    assert ecs_taskdefs.is_ecr_image("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/a:1")
    assert not ecs_taskdefs.is_ecr_image("public.ecr.aws/nginx/nginx:1")
    assert not ecs_taskdefs.is_ecr_image("remind101/acme-inc:latest")


def _padded(size: int) -> dict:
    """A definition whose measured size is exactly ``size`` bytes."""
    params = fargate({"name": "a", "image": "acme:1", "environment": [{"name": "P", "value": ""}]},
                     executionRoleArn=ROLE)
    base = ecs_taskdefs.definition_size(params)
    params["containerDefinitions"][0]["environment"][0]["value"] = "x" * (size - base)
    assert ecs_taskdefs.definition_size(params) == size
    return params


def test_size_limit_is_64_kib_of_the_whole_definition():
    assert ecs_taskdefs.refusal(_padded(65536)) is None
    assert ecs_taskdefs.refusal(_padded(65537)) == (
        "ClientException", "Actual length: '65537'. Max allowed length is '65536' bytes.")


def test_size_counts_utf8_bytes_and_every_parameter():
    params = _padded(65536 - 1)
    params["tags"] = [{"key": "é", "value": ""}]  # more than one byte, outside the containers
    assert ecs_taskdefs.refusal(params)[1].startswith("Actual length:")


def test_at_most_ten_containers():
    ten = [{"name": f"c{i}", "image": "a"} for i in range(10)]
    assert ecs_taskdefs.refusal(fargate(*ten)) is None
    assert ecs_taskdefs.refusal(fargate(*ten, {"name": "c10", "image": "a"})) == (
        "ClientException", "Too many containers.")


def test_a_refused_definition_never_reaches_moto():
    request = ecs_request("RegisterTaskDefinition",
                          fargate({"name": "a", "image": "x", "logConfiguration": AWSLOGS}))
    response = ecs_taskdefs.register_task_definition_checks(
        request, lambda r: pytest.fail("forwarded"))
    assert response.status == 400
    assert response.json() == {"__type": "ClientException", "message": ecs_taskdefs.AWSLOGS_MESSAGE}
    ok = ecs_request("RegisterTaskDefinition", fargate())
    assert ecs_taskdefs.register_task_definition_checks(
        ok, lambda r: json_response(200, {"forwarded": True})).json() == {"forwarded": True}


# -- CreateService of an ACTIVE name ---------------------------------------------------------

def moto_services(status: str | None):
    calls = []

    def call_moto(request: AwsRequest):
        calls.append((request.operation, request.json()))
        services = [] if status is None else [{"serviceName": "web", "status": status}]
        return json_response(200, {"services": services, "failures": []})

    return call_moto, calls


@pytest.mark.parametrize("status,refused", [("ACTIVE", True), ("INACTIVE", False),
                                             ("DRAINING", False), (None, False)])
def test_create_service_of_an_active_name_is_refused(status, refused):
    call_moto, calls = moto_services(status)
    handler = ecs_idempotency.create_service_unique(call_moto)
    request = ecs_request("CreateService", {"cluster": "c", "serviceName": "web",
                                            "taskDefinition": "t", "desiredCount": 1})
    forwarded = []
    response = handler(request, lambda r: forwarded.append(r) or json_response(200, {}))
    assert calls == [("DescribeServices", {"cluster": "c", "services": ["web"]})]
    if refused:
        assert forwarded == [] and response.status == 400
        assert response.json() == {"__type": "InvalidParameterException",
                                   "message": "Creation of service was not idempotent."}
    else:
        assert forwarded == [request] and response.status == 200


def test_active_service_matches_the_name_only():
    assert not ecs_idempotency.active_service(
        {"services": [{"serviceName": "webx", "status": "ACTIVE"}]}, "web")


# -- eventual consistency ---------------------------------------------------------------

@pytest.mark.parametrize("born,now,hidden", [(None, 5.0, False), (10.0, 10.0, True),
                                              (10.0, 11.9, True), (10.0, 12.0, False)])
def test_hidden_for_the_lag_after_creation(born, now, hidden):
    assert consistency.hidden(born, now, 2.0) is hidden


@pytest.mark.parametrize("raw,value", [("", 0.0), ("0", 0.0), ("2", 2.0), (" 0.5 ", 0.5)])
def test_lag_setting(raw, value):
    assert consistency.lag_seconds({consistency.LAG_ENV: raw}) == value


@pytest.mark.parametrize("raw", ["-1", "soon", "nan", "inf"])
def test_lag_setting_refuses_unusable_values(raw):
    with pytest.raises(ValueError, match=consistency.LAG_ENV):
        consistency.lag_seconds({consistency.LAG_ENV: raw})


def test_no_handlers_without_a_lag():
    class Layer:
        def register(self, *args):
            pytest.fail("registered")
    assert consistency.register(Layer(), environ={}) is None


SVC = "arn:aws:ecs:us-east-1:123456789012:service/c/web"
OLD = "arn:aws:ecs:us-east-1:123456789012:service/c/old"


def test_hidden_services_become_missing_failures():
    payload = {"services": [{"serviceArn": SVC, "serviceName": "web"},
                            {"serviceArn": OLD, "serviceName": "old"}], "failures": []}
    by_name = consistency.hide_services(payload, ["web", "old"], lambda a: a == SVC)
    assert by_name["services"] == [{"serviceArn": OLD, "serviceName": "old"}]
    assert by_name["failures"] == [{"arn": "arn:aws:ecs:us-east-1:123456789012:service/web",
                                    "reason": "MISSING"}]
    by_arn = consistency.hide_services(payload, [SVC], lambda a: a == SVC)
    assert by_arn["failures"] == [{"arn": SVC, "reason": "MISSING"}]


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def answer(payload):
    return lambda request: json_response(200, payload)


def test_service_is_missing_then_listed_after_the_lag():
    clock = Clock()
    view = consistency.Visibility(2.0, clock)
    view.create_service(ecs_request("CreateService", {"serviceName": "web"}),
                        answer({"service": {"serviceArn": SVC, "serviceName": "web"}}))
    described = answer({"services": [{"serviceArn": SVC, "serviceName": "web"}], "failures": []})
    listed = answer({"serviceArns": [OLD, SVC]})
    ask = ecs_request("DescribeServices", {"services": [SVC]})
    assert view.describe_services(ask, described).json() == {
        "services": [], "failures": [{"arn": SVC, "reason": "MISSING"}]}
    assert view.list_services(ecs_request("ListServices", {}), listed).json()["serviceArns"] == [OLD]
    clock.now += 2.0
    assert [s["serviceArn"] for s in view.describe_services(ask, described).json()["services"]] == [SVC]
    assert view.list_services(ecs_request("ListServices", {}), listed).json()["serviceArns"] == [OLD, SVC]


TASK = "arn:aws:ecs:us-east-1:123456789012:task/c/0123abcd"
SERVICE_TASK = "arn:aws:ecs:us-east-1:123456789012:task/c/ffff0000"


def test_run_task_is_missing_for_the_lag():
    clock = Clock()
    view = consistency.Visibility(2.0, clock)
    view.run_task(ecs_request("RunTask", {}), answer({"tasks": [{"taskArn": TASK}], "failures": []}))
    tasks = answer({"tasks": [{"taskArn": TASK, "createdAt": clock.now}], "failures": []})
    by_id = ecs_request("DescribeTasks", {"tasks": ["0123abcd"]})
    assert view.describe_tasks(by_id, tasks).json() == {
        "tasks": [], "failures": [{"arn": TASK, "reason": "MISSING"}]}
    assert view.list_tasks(ecs_request("ListTasks", {}), answer({"taskArns": [TASK]})).json() == {
        "taskArns": []}
    clock.now += 2.0
    assert len(view.describe_tasks(by_id, tasks).json()["tasks"]) == 1


def test_service_tasks_count_from_their_created_at():
    clock = Clock()
    view = consistency.Visibility(2.0, clock)
    old = answer({"tasks": [{"taskArn": SERVICE_TASK, "createdAt": clock.now - 5}]})
    assert len(view.describe_tasks(ecs_request("DescribeTasks", {"tasks": [SERVICE_TASK]}),
                                   old).json()["tasks"]) == 1
    young = answer({"tasks": [{"taskArn": TASK, "createdAt": clock.now - 1}]})
    assert view.describe_tasks(ecs_request("DescribeTasks", {"tasks": [TASK]}), young).json()[
        "failures"] == [{"arn": TASK, "reason": "MISSING"}]
    # ListTasks agrees with DescribeTasks once createdAt is known.
    listed = view.list_tasks(ecs_request("ListTasks", {}), answer({"taskArns": [SERVICE_TASK, TASK]}))
    assert listed.json()["taskArns"] == [SERVICE_TASK]


def test_a_task_first_met_in_a_listing_counts_from_then_until_described():
    clock = Clock()
    view = consistency.Visibility(2.0, clock)
    listing = answer({"taskArns": [SERVICE_TASK]})
    assert view.list_tasks(ecs_request("ListTasks", {}), listing).json()["taskArns"] == []
    view.describe_tasks(ecs_request("DescribeTasks", {"tasks": [SERVICE_TASK]}),
                        answer({"tasks": [{"taskArn": SERVICE_TASK, "createdAt": clock.now - 60}]}))
    assert view.list_tasks(ecs_request("ListTasks", {}), listing).json()["taskArns"] == [SERVICE_TASK]


def test_a_task_the_model_started_long_ago_is_listed_at_once(monkeypatch):
    clock = Clock()
    view = consistency.Visibility(2.0, clock)
    births = {SERVICE_TASK: clock.now - 60}
    monkeypatch.setattr(consistency, "_task_birth", births.get)
    listing = answer({"taskArns": [SERVICE_TASK]})
    assert view.list_tasks(ecs_request("ListTasks", {}), listing).json()["taskArns"] == [SERVICE_TASK]
    # One the model started just now is hidden for the lag.
    births[SERVICE_TASK] = clock.now
    fresh = consistency.Visibility(2.0, clock)
    assert fresh.list_tasks(ecs_request("ListTasks", {}), listing).json()["taskArns"] == []


def test_errors_pass_through_untouched():
    view = consistency.Visibility(2.0, Clock())
    error = json_response(400, {"__type": "ClusterNotFoundException", "message": "x"})
    assert view.describe_services(ecs_request("DescribeServices", {}), lambda r: error) is error
    assert view.list_tasks(ecs_request("ListTasks", {}), lambda r: error) is error


# -- paging -------------------------------------------------------------------------------

TDS = [f"arn:aws:ecs:us-east-1:123456789012:task-definition/{fam}:{rev}"
       for fam in ("api", "web") for rev in range(1, 13)]


def walk(handler, operation, key, params=None):
    seen, token, pages = [], None, 0
    while True:
        body = dict(params or {})
        if token:
            body["nextToken"] = token
        page = handler(ecs_request(operation, body), answer({key: list(reversed(ITEMS[key]))})).json()
        seen += page[key]
        pages += 1
        token = page.get("nextToken")
        if token is None:
            return seen, pages


TASKS = [f"arn:aws:ecs:us-east-1:123456789012:task/c/{i:032x}" for i in range(250)]
ITEMS = {"taskDefinitionArns": TDS, "taskArns": TASKS}


def test_task_definitions_in_family_then_numeric_revision_order():
    handler = paging.json_pagination(paging.LIST_TASK_DEFINITIONS)
    seen, pages = walk(handler, "ListTaskDefinitions", "taskDefinitionArns", {"maxResults": 5})
    assert seen == TDS and pages == 5  # web:10 after web:9, not after web:1
    seen, _ = walk(handler, "ListTaskDefinitions", "taskDefinitionArns",
                   {"maxResults": 5, "sort": "DESC"})
    assert seen == list(reversed(TDS))


def test_list_tasks_pages_100_by_default():
    handler = paging.json_pagination(paging.LIST_TASKS)
    first = handler(ecs_request("ListTasks", {}), answer({"taskArns": TASKS})).json()
    assert len(first["taskArns"]) == 100 and "nextToken" in first
    seen, pages = walk(handler, "ListTasks", "taskArns")
    assert seen == sorted(TASKS) and pages == 3


@pytest.mark.parametrize("operation", sorted(paging.ECS_LISTINGS))
@pytest.mark.parametrize("value", [0, 101, "5", True])
def test_every_listing_validates_max_results(operation, value):
    handler = paging.json_pagination(paging.ECS_LISTINGS[operation])
    response = handler(ecs_request(operation, {"maxResults": value}), lambda r: pytest.fail("forwarded"))
    assert response.status == 400 and response.json()["__type"] == "InvalidParameterException"


def test_a_token_of_another_listing_is_refused():
    services = paging.json_pagination(paging.LIST_SERVICES)
    page = services(ecs_request("ListServices", {"maxResults": 1}),
                    answer({"serviceArns": [SVC, OLD]})).json()
    tds = paging.json_pagination(paging.LIST_TASK_DEFINITIONS)
    response = tds(ecs_request("ListTaskDefinitions", {"nextToken": page["nextToken"]}),
                   answer({"taskDefinitionArns": TDS}))
    assert response.status == 400 and response.json()["message"] == "Invalid nextToken."


def test_an_item_deleted_between_pages_skips_nothing():
    handler = paging.json_pagination(paging.LIST_TASKS)
    first = handler(ecs_request("ListTasks", {"maxResults": 10}), answer({"taskArns": TASKS})).json()
    rest = [t for t in TASKS if t != first["taskArns"][-1]]  # the last one served is gone
    second = handler(ecs_request("ListTasks", {"maxResults": 10, "nextToken": first["nextToken"]}),
                     answer({"taskArns": rest})).json()
    assert second["taskArns"] == sorted(TASKS)[10:20]


def elbv2_describe_tags(count: int) -> AwsRequest:
    form = {"Action": "DescribeTags", "Version": "2015-12-01"}
    form.update({f"ResourceArns.member.{i}": f"arn:aws:elasticloadbalancing:x:1:targetgroup/t{i}/1"
                 for i in range(1, count + 1)})
    from urllib.parse import urlencode
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/",
               "CONTENT_TYPE": "application/x-www-form-urlencoded",
               "HTTP_AUTHORIZATION": AUTH.format("elasticloadbalancing")}
    return AwsRequest(environ=environ, body=urlencode(form).encode(), service="elbv2",
                      operation="DescribeTags")


def test_describe_tags_takes_at_most_20_arns():
    ok = paging.describe_tags_limit(elbv2_describe_tags(20), lambda r: json_response(200, {}))
    assert ok.status == 200
    refused = paging.describe_tags_limit(elbv2_describe_tags(21), lambda r: pytest.fail("forwarded"))
    assert refused.status == 400 and b"<Code>ValidationError</Code>" in refused.body
    assert b"less than or equal to 20" in refused.body


def test_tokens_round_trip_keys():
    assert paging.decode_token(paging.encode_token(["web", 10])) == ("web", 10)
    assert paging.decode_token(paging.encode_token("arn:x")) == "arn:x"
    assert paging.decode_token("garbage") is None
    assert paging.decode_token(paging.encode_token({"a": 1})) is None
    assert json.loads(json.dumps(paging.encode_token("x")))
