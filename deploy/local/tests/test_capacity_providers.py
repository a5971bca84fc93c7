"""Capacity provider strategies (ecs_capacity.py) through boto3 against an
emulator of the module's own: CreateService, UpdateService and RunTask
refuse what ECS refuses, DescribeServices returns the strategy, each task
runs on the provider the strategy places it on, and an UpdateService of the
strategy reaches the tasks only with a new deployment. moto alone drops the
strategy on CreateService (and answers launchType EC2), refuses nothing of
it, and names the first provider on every task.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from conftest import UNTHROTTLED, awsvpc_network
from ferry_emulation.ecs_capacity import place

CLUSTER = "capacity"
SPOT = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
TIMEOUT = 15.0


@pytest.fixture(scope="module")
def env(emulator_with):
    emu = emulator_with("capacity", {**UNTHROTTLED, "FERRY_EMULATOR_TASK_START_SECONDS": "0.2",
                                     "FERRY_EMULATOR_TASK_RUN_SECONDS": "60"})
    ecs = emu.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER, capacityProviders=["FARGATE", "FARGATE_SPOT"])
    ecs.create_cluster(clusterName="bare")
    network = awsvpc_network(emu, "capacity", 31)
    td = ecs.register_task_definition(
        family="capacity", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "web", "image": "acme/web:1"}],
    )["taskDefinition"]["taskDefinitionArn"]
    return ecs, network, td


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def service_tasks(ecs, name: str, count: int) -> list[dict]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        arns = ecs.list_tasks(cluster=CLUSTER, serviceName=name)["taskArns"]
        tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
        running = [t for t in tasks if t["lastStatus"] == "RUNNING"]
        if len(running) >= count:
            return running
        assert time.monotonic() < deadline, f"{name}: {len(running)} of {count} tasks running"
        time.sleep(0.1)


def test_place_fills_the_base_then_follows_the_weights():
    strategy = [{"capacityProvider": "FARGATE", "base": 1, "weight": 0},
                {"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    placed: dict[str, int] = {}
    order = []
    for _ in range(4):
        provider = place(strategy, placed)
        placed[provider] = placed.get(provider, 0) + 1
        order.append(provider)
    assert order == ["FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE_SPOT"]
    even = [{"capacityProvider": "FARGATE", "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert place(even, {"FARGATE": 1}) == "FARGATE_SPOT"
    assert place(None, {}) is None


def test_a_service_on_spot_runs_its_tasks_on_fargate_spot(env):
    ecs, network, td = env
    created = ecs.create_service(cluster=CLUSTER, serviceName="spot", taskDefinition=td,
                                 desiredCount=2, networkConfiguration=network,
                                 capacityProviderStrategy=SPOT)["service"]
    described = ecs.describe_services(cluster=CLUSTER, services=["spot"])["services"][0]
    for service in (created, described):
        assert service["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT",
                                                        "weight": 1, "base": 0}]
        assert "launchType" not in service
    for task in service_tasks(ecs, "spot", 2):
        assert task["capacityProviderName"] == "FARGATE_SPOT"
        assert task["launchType"] == "FARGATE"


def test_a_strategy_with_a_base_on_demand_puts_the_rest_on_spot(env):
    ecs, network, td = env
    ecs.create_service(cluster=CLUSTER, serviceName="mixed", taskDefinition=td, desiredCount=3,
                       networkConfiguration=network,
                       capacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 1},
                                                 {"capacityProvider": "FARGATE_SPOT", "weight": 1}])
    providers = sorted(t["capacityProviderName"] for t in service_tasks(ecs, "mixed", 3))
    assert providers == ["FARGATE", "FARGATE_SPOT", "FARGATE_SPOT"]


def test_a_strategy_change_reaches_the_tasks_only_with_a_new_deployment(env):
    ecs, network, td = env
    ecs.create_service(cluster=CLUSTER, serviceName="switch", taskDefinition=td, desiredCount=1,
                       networkConfiguration=network, launchType="FARGATE")
    first = service_tasks(ecs, "switch", 1)[0]
    assert "capacityProviderName" not in first and first["launchType"] == "FARGATE"
    updated = ecs.update_service(cluster=CLUSTER, service="switch",
                                 capacityProviderStrategy=SPOT)["service"]
    assert "launchType" not in updated and len(updated["deployments"]) == 1
    assert updated["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT",
                                                    "weight": 1, "base": 0}]
    time.sleep(0.6)
    assert [t["taskArn"] for t in service_tasks(ecs, "switch", 1)] == [first["taskArn"]]
    ecs.update_service(cluster=CLUSTER, service="switch", forceNewDeployment=True)
    deadline = time.monotonic() + TIMEOUT
    while not any(t.get("capacityProviderName") == "FARGATE_SPOT"
                  for t in service_tasks(ecs, "switch", 1)):
        assert time.monotonic() < deadline, "the new deployment never ran on FARGATE_SPOT"
        time.sleep(0.1)
    back = ecs.update_service(cluster=CLUSTER, service="switch", capacityProviderStrategy=[])["service"]
    assert back["launchType"] == "FARGATE" and not back.get("capacityProviderStrategy")


def test_run_task_places_each_task_by_the_strategy(env):
    ecs, network, td = env
    tasks = ecs.run_task(cluster=CLUSTER, taskDefinition=td, count=2, networkConfiguration=network,
                         capacityProviderStrategy=[{"capacityProvider": "FARGATE", "base": 1},
                                                   {"capacityProvider": "FARGATE_SPOT", "weight": 1}]
                         )["tasks"]
    assert [t["capacityProviderName"] for t in tasks] == ["FARGATE", "FARGATE_SPOT"]
    described = ecs.describe_tasks(cluster=CLUSTER, tasks=[t["taskArn"] for t in tasks])["tasks"]
    assert sorted(t["capacityProviderName"] for t in described) == ["FARGATE", "FARGATE_SPOT"]
    assert {t["launchType"] for t in described} == {"FARGATE"}


@pytest.mark.parametrize("extra,strategy,cluster,message", [
    ({"launchType": "FARGATE"}, SPOT, CLUSTER, "Specifying both a launch type"),
    ({}, SPOT, "bare", "not associated with the cluster"),
    ({}, [{"capacityProvider": "FARGATE", "base": 1, "weight": 1},
          {"capacityProvider": "FARGATE_SPOT", "base": 1, "weight": 1}], CLUSTER, "base"),
    ({}, [{"capacityProvider": "FARGATE_SPOT", "weight": 1001}], CLUSTER, "weight"),
    ({}, [{"capacityProvider": "FARGATE_SPOT", "weight": 0}], CLUSTER, "weight greater than zero"),
])
def test_refused_strategies(env, extra, strategy, cluster, message):
    ecs, network, td = env
    name = f"refused-{abs(hash(message)) % 10**6}"
    for call in (
        lambda: ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=td,
                                   desiredCount=1, networkConfiguration=network,
                                   capacityProviderStrategy=strategy, **extra),
        lambda: ecs.run_task(cluster=cluster, taskDefinition=td, networkConfiguration=network,
                             capacityProviderStrategy=strategy, **extra),
    ):
        code, text = error_of(call)
        assert code == "InvalidParameterException" and message in text
    assert ecs.describe_services(cluster=cluster, services=[name])["services"] == []
