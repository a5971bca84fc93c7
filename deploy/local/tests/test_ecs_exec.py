"""ECS Exec (ecs_exec.py) through boto3 against an emulator of the module's own:
enableExecuteCommand on services and RunTask, the tasks' managed agents and
runtime ids, and ExecuteCommand's session or ECS's refusals. moto has no
ExecuteCommand at all, and drops enableExecuteCommand on CreateService.
"""

from __future__ import annotations

import re
import time

import pytest
from botocore.exceptions import ClientError

from conftest import UNTHROTTLED, awsvpc_network
from ferry_emulation.ecs_exec import INTERACTIVE_ONLY, NOT_ENABLED

CLUSTER = "exec"
TIMEOUT = 15.0
STREAM = re.compile(r"^wss://ssmmessages\.us-east-1\.amazonaws\.com/v1/data-channel/"
                    r"(ecs-execute-command-[0-9a-f]+)\?role=publish_subscribe&cell-number=\d+$")


@pytest.fixture(scope="module")
def env(emulator_with):
    emu = emulator_with("exec", {**UNTHROTTLED, "FERRY_EMULATOR_TASK_START_SECONDS": "0.2",
                                 "FERRY_EMULATOR_TASK_RUN_SECONDS": "60"})
    ecs = emu.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER, capacityProviders=["FARGATE", "FARGATE_SPOT"])
    network = awsvpc_network(emu, "exec", 32)
    td = ecs.register_task_definition(
        family="exec", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[
            {"name": "web", "image": "acme/web:1"},
            {"name": "log-router", "image": "acme/fluent-bit:1", "essential": False}],
    )["taskDefinition"]["taskDefinitionArn"]
    return ecs, network, td


def running(ecs, arn: str) -> dict:
    deadline = time.monotonic() + TIMEOUT
    while True:
        task = ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]
        if task["lastStatus"] == "RUNNING":
            return task
        assert time.monotonic() < deadline, f"{arn} never ran"
        time.sleep(0.1)


def run(env, **params) -> str:
    ecs, network, td = env
    return ecs.run_task(cluster=CLUSTER, taskDefinition=td, launchType="FARGATE",
                        networkConfiguration=network, **params)["tasks"][0]["taskArn"]


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def execute(ecs, task: str, **params):
    return ecs.execute_command(cluster=CLUSTER, task=task, **{
        "container": "web", "command": "sh", "interactive": True, **params})


def test_a_running_task_with_exec_answers_with_a_session(env):
    ecs, _, _ = env
    arn = run(env, enableExecuteCommand=True)
    task = running(ecs, arn)
    assert task["enableExecuteCommand"] is True
    for container in task["containers"]:
        assert container["managedAgents"] == [{"name": "ExecuteCommandAgent", "lastStatus": "RUNNING"}]
        assert container["runtimeId"]
    answer = execute(ecs, arn)
    web = next(c for c in task["containers"] if c["name"] == "web")
    assert (answer["clusterArn"], answer["taskArn"], answer["containerName"],
            answer["containerArn"], answer["interactive"]) == (
        task["clusterArn"], arn, "web", web["containerArn"], True)
    match = STREAM.match(answer["session"]["streamUrl"])
    assert match and match.group(1) == answer["session"]["sessionId"]
    assert answer["session"]["tokenValue"]


def test_a_task_without_exec_is_refused_with_ecs_words(env):
    ecs, _, _ = env
    arn = run(env)
    task = running(ecs, arn)
    assert task["enableExecuteCommand"] is False
    assert all("managedAgents" not in c and c["runtimeId"] for c in task["containers"])
    assert error_of(lambda: execute(ecs, arn)) == ("InvalidParameterException", NOT_ENABLED)


def test_refusals(env):
    ecs, _, _ = env
    arn = run(env, enableExecuteCommand=True)
    pending = ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]
    assert pending["lastStatus"] == "PENDING"
    assert pending["containers"][0]["managedAgents"][0]["lastStatus"] == "PENDING"
    code, message = error_of(lambda: execute(ecs, arn))
    assert code == "InvalidParameterException" and "PENDING" in message
    running(ecs, arn)
    assert error_of(lambda: execute(ecs, arn, interactive=False)) == (
        "InvalidParameterException", INTERACTIVE_ONLY)
    code, message = error_of(lambda: execute(ecs, arn, container="envoy"))
    assert code == "InvalidParameterException" and "envoy" in message
    code, message = error_of(lambda: ecs.execute_command(cluster=CLUSTER, task=arn, command="sh",
                                                         interactive=True))
    assert code == "InvalidParameterException" and "container" in message
    code, _ = error_of(lambda: execute(ecs, arn.rsplit("/", 1)[0] + "/0123456789abcdef"))
    assert code == "InvalidParameterException"
    code, _ = error_of(lambda: ecs.execute_command(cluster="nowhere", task=arn, container="web",
                                                   command="sh", interactive=True))
    assert code == "ClusterNotFoundException"
    ecs.stop_task(cluster=CLUSTER, task=arn)
    code, message = error_of(lambda: execute(ecs, arn))
    assert code == "InvalidParameterException" and "STOPPED" in message


def test_a_service_with_exec_gives_its_tasks_exec_from_their_start(env):
    ecs, network, td = env
    created = ecs.create_service(cluster=CLUSTER, serviceName="shell", taskDefinition=td,
                                 desiredCount=1, launchType="FARGATE",
                                 networkConfiguration=network, enableExecuteCommand=True)["service"]
    assert created["enableExecuteCommand"] is True
    assert ecs.describe_services(cluster=CLUSTER, services=["shell"])["services"][0][
        "enableExecuteCommand"] is True
    deadline = time.monotonic() + TIMEOUT
    while not (arns := ecs.list_tasks(cluster=CLUSTER, serviceName="shell")["taskArns"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    task = running(ecs, arns[0])
    assert execute(ecs, task["taskArn"])["session"]["sessionId"]
    # Turned off without a new deployment: the running task keeps what it started with.
    updated = ecs.update_service(cluster=CLUSTER, service="shell", enableExecuteCommand=False)["service"]
    assert updated["enableExecuteCommand"] is False
    assert execute(ecs, task["taskArn"])["session"]["sessionId"]
