"""ECS refusals, CreateService uniqueness, eventual consistency and paging,
with boto3 against an emulator of the module's own.

Every test here fails against moto alone: moto registers every task
definition, replaces a service of the same name, is consistent at once and
answers every listing in one page. The emulator runs with
FERRY_EMULATOR_CONSISTENCY_LAG_SECONDS=LAG and throttling off (the paging
tests register over a hundred task definitions in a few seconds, far above
RegisterTaskDefinition's bucket; throttling is tested in
test_throttling.py).
"""

from __future__ import annotations

import itertools
import time

import pytest
from botocore.exceptions import ClientError

from conftest import UNTHROTTLED, awsvpc_network, start_emulator

LAG = 1.5
ROLE = "arn:aws:iam::123456789012:role/ferry-local-execution"
AWSLOGS = {"logDriver": "awslogs", "options": {
    "awslogs-group": "/ferry/local", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "x"}}

_names = itertools.count()


@pytest.fixture(scope="module")
def emu(emulator_with):
    return emulator_with("strict", {
        **UNTHROTTLED, "FERRY_EMULATOR_CONSISTENCY_LAG_SECONDS": str(LAG),
        "FERRY_EMULATOR_TASK_START_SECONDS": "0.2", "FERRY_EMULATOR_TASK_RUN_SECONDS": "120"})


@pytest.fixture(scope="module")
def aws(emu):
    network = awsvpc_network(emu, "strict", 7)
    ecs = emu.client("ecs")
    ecs.create_cluster(clusterName="strict")
    return ecs, network


def fargate(ecs, family: str, **params) -> str:
    container = {"name": "app", "image": "acme/app:1", "essential": True,
                 **params.pop("container", {})}
    return ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512", containerDefinitions=[container], **params,
    )["taskDefinition"]["taskDefinitionArn"]


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def visible(ecs, name: str, timeout: float = LAG + 5) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = ecs.describe_services(cluster="strict", services=[name])["services"]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"{name} never became visible"
        time.sleep(0.1)


# -- RegisterTaskDefinition ----------------------------------------------------------------

def test_fargate_awslogs_without_execution_role_is_refused_and_not_registered(aws):
    ecs, _ = aws
    family = f"strict-logs-{next(_names)}"
    assert error_of(lambda: fargate(ecs, family, container={"logConfiguration": AWSLOGS})) == (
        "ClientException",
        "Fargate requires task definition to have execution role ARN to support log driver awslogs.")
    assert ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == []
    assert fargate(ecs, family, executionRoleArn=ROLE, container={"logConfiguration": AWSLOGS})


def test_secrets_without_execution_role_are_refused(aws):
    ecs, _ = aws
    secrets = [{"name": "DATABASE_URL", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db"}]
    assert error_of(lambda: fargate(ecs, "strict-secrets", container={"secrets": secrets})) == (
        "ClientException",
        "When you are specifying container secrets, you must also specify a value for "
        "'executionRoleArn'.")


def test_a_task_definition_over_64_kib_is_refused(aws):
    ecs, _ = aws
    big = [{"name": f"V{i}", "value": "x" * 1000} for i in range(70)]
    code, message = error_of(lambda: fargate(ecs, "strict-big", executionRoleArn=ROLE,
                                             container={"environment": big}))
    assert code == "ClientException"
    assert message.startswith("Actual length: '") and message.endswith(
        "Max allowed length is '65536' bytes.")
    assert ecs.list_task_definitions(familyPrefix="strict-big")["taskDefinitionArns"] == []


# -- CreateService of an ACTIVE name ------------------------------------------------------

def test_create_service_of_an_active_name_is_refused_and_changes_nothing(aws):
    ecs, network = aws
    name = f"svc-{next(_names)}"
    td = fargate(ecs, "strict-svc")
    params = dict(cluster="strict", serviceName=name, taskDefinition=td, launchType="FARGATE",
                  networkConfiguration=network)
    first = ecs.create_service(desiredCount=0, clientToken=f"t-{name}", **params)["service"]
    # The documented retry: same token, same parameters: the first answer again.
    again = ecs.create_service(desiredCount=0, clientToken=f"t-{name}", **params)["service"]
    assert again["serviceArn"] == first["serviceArn"]
    for other in ({"desiredCount": 3}, {"desiredCount": 0}, {"desiredCount": 0, "clientToken": "other"}):
        assert error_of(lambda: ecs.create_service(**params, **other)) == (
            "InvalidParameterException", "Creation of service was not idempotent.")
    service = visible(ecs, name)
    assert service["desiredCount"] == 0
    assert service["deployments"][0]["id"] == first["deployments"][0]["id"]  # not replaced


def test_an_inactive_name_can_be_created_again(aws):
    ecs, network = aws
    name = f"svc-{next(_names)}"
    td = fargate(ecs, "strict-svc")
    params = dict(cluster="strict", serviceName=name, taskDefinition=td, launchType="FARGATE",
                  networkConfiguration=network, desiredCount=0)
    ecs.create_service(**params)
    ecs.delete_service(cluster="strict", service=name)  # no tasks: INACTIVE at once
    assert ecs.create_service(**params)["service"]["status"] == "ACTIVE"


# -- eventual consistency -------------------------------------------------------------------

def test_a_new_service_is_missing_then_described_and_listed(aws):
    ecs, network = aws
    name = f"svc-{next(_names)}"
    created = time.monotonic()
    arn = ecs.create_service(cluster="strict", serviceName=name,
                             taskDefinition=fargate(ecs, "strict-svc"), launchType="FARGATE",
                             networkConfiguration=network, desiredCount=0)["service"]["serviceArn"]
    described = ecs.describe_services(cluster="strict", services=[arn])
    assert described["services"] == [] and described["failures"] == [{"arn": arn, "reason": "MISSING"}]
    assert arn not in ecs.list_services(cluster="strict", maxResults=100)["serviceArns"]
    visible(ecs, name)
    assert time.monotonic() - created >= LAG - 0.05
    assert arn in ecs.list_services(cluster="strict", maxResults=100)["serviceArns"]


def test_a_new_task_is_missing_then_described_and_listed(aws):
    ecs, network = aws
    td = fargate(ecs, "strict-run")
    created = time.monotonic()
    (task,) = ecs.run_task(cluster="strict", taskDefinition=td, launchType="FARGATE",
                           networkConfiguration=network)["tasks"]
    arn = task["taskArn"]
    described = ecs.describe_tasks(cluster="strict", tasks=[arn])
    assert described["tasks"] == [] and described["failures"] == [{"arn": arn, "reason": "MISSING"}]
    assert arn not in ecs.list_tasks(cluster="strict", family="strict-run")["taskArns"]
    while not ecs.describe_tasks(cluster="strict", tasks=[arn])["tasks"]:
        time.sleep(0.1)
    assert time.monotonic() - created >= LAG - 0.05
    assert arn in ecs.list_tasks(cluster="strict", family="strict-run")["taskArns"]


def test_service_tasks_appear_no_sooner_than_the_lag_after_they_were_created(aws):
    ecs, network = aws
    name = f"svc-{next(_names)}"
    ecs.create_service(cluster="strict", serviceName=name, taskDefinition=fargate(ecs, "strict-svc"),
                       launchType="FARGATE", networkConfiguration=network, desiredCount=1)
    deadline = time.monotonic() + 10
    while not (arns := ecs.list_tasks(cluster="strict", serviceName=name)["taskArns"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    seen = time.time()
    (task,) = ecs.describe_tasks(cluster="strict", tasks=arns)["tasks"]
    assert seen - task["createdAt"].timestamp() >= LAG - 0.05


# -- paging -----------------------------------------------------------------------------

def test_list_task_definitions_pages_at_100(aws):
    ecs, _ = aws
    family = "strict-many"
    arns = [fargate(ecs, family) for _ in range(105)]
    first = ecs.list_task_definitions(familyPrefix=family)
    assert first["taskDefinitionArns"] == arns[:100] and "nextToken" in first
    walked = [a for page in ecs.get_paginator("list_task_definitions").paginate(
        familyPrefix=family, PaginationConfig={"PageSize": 30}) for a in page["taskDefinitionArns"]]
    assert walked == arns  # every revision once, in numeric order (:100 after :99)


def test_list_tasks_pages_at_100(aws):
    ecs, network = aws
    td = fargate(ecs, "strict-fleet")
    started = [t["taskArn"] for _ in range(11) for t in ecs.run_task(
        cluster="strict", taskDefinition=td, launchType="FARGATE", count=10,
        networkConfiguration=network)["tasks"]]
    time.sleep(LAG)
    first = ecs.list_tasks(cluster="strict", family="strict-fleet")
    assert len(first["taskArns"]) == 100 and "nextToken" in first
    walked = [a for page in ecs.get_paginator("list_tasks").paginate(
        cluster="strict", family="strict-fleet") for a in page["taskArns"]]
    assert sorted(walked) == sorted(started) and len(walked) == 110


def test_elbv2_describe_tags_takes_20_arns(emu):
    elbv2 = emu.client("elbv2")
    arns = [f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t{i}/0123456789abcdef"
            for i in range(21)]
    code, message = error_of(lambda: elbv2.describe_tags(ResourceArns=arns))
    assert code == "ValidationError" and "less than or equal to 20" in message


def test_an_unusable_lag_stops_the_emulator(tmp_path):
    with pytest.raises(RuntimeError, match="FERRY_EMULATOR_CONSISTENCY_LAG_SECONDS"):
        start_emulator(tmp_path, env={"FERRY_EMULATOR_CONSISTENCY_LAG_SECONDS": "-1"})
