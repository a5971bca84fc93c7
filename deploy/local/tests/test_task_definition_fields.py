"""RegisterTaskDefinition with the fields of issue 21 (roles, runtime platform,
ephemeral storage, several containers, dependsOn, health checks), through
boto3 against an emulator of the module's own: kept and returned as ECS
returns them (health-check defaults filled in), and refused where ECS
refuses (ecs_containers.py). moto alone registers every refused one and
returns no health-check defaults.
"""

from __future__ import annotations

import itertools

import pytest
from botocore.exceptions import ClientError

from conftest import UNTHROTTLED

ROLE = "arn:aws:iam::123456789012:role/ferry-apps/shop"
EXEC_ROLE = "arn:aws:iam::123456789012:role/ferry-apps/shop-exec"
_families = (f"td21-{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def ecs(emulator_with):
    return emulator_with("taskdefs21", UNTHROTTLED).client("ecs")


def app(**extra):
    return {"name": "web", "image": "acme/web:1", "essential": True, **extra}


def sidecar(**extra):
    return {"name": "log-router", "image": "acme/fluent-bit:1", "essential": False, **extra}


def register(ecs, containers, **params):
    return ecs.register_task_definition(
        family=next(_families), networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu=params.pop("cpu", "512"), memory=params.pop("memory", "1024"),
        containerDefinitions=containers, **params)["taskDefinition"]


def refused(ecs, containers, **params) -> str:
    with pytest.raises(ClientError) as caught:
        register(ecs, containers, **params)
    assert caught.value.response["Error"]["Code"] == "ClientException"
    return caught.value.response["Error"]["Message"]


def test_fields_are_kept_and_described_with_health_check_defaults(ecs):
    registered = register(
        ecs,
        [app(cpu=256, memory=512, healthCheck={"command": ["CMD-SHELL", "true"], "startPeriod": 10},
             dependsOn=[{"containerName": "log-router", "condition": "START"}]),
         sidecar(cpu=64, memory=64, command=["/fluent-bit"])],
        taskRoleArn=ROLE, executionRoleArn=EXEC_ROLE,
        runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        ephemeralStorage={"sizeInGiB": 50})
    described = ecs.describe_task_definition(
        taskDefinition=registered["taskDefinitionArn"])["taskDefinition"]
    for td in (registered, described):
        assert td["taskRoleArn"] == ROLE and td["executionRoleArn"] == EXEC_ROLE
        assert td["runtimePlatform"] == {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
        assert td["ephemeralStorage"] == {"sizeInGiB": 50}
        web, log = td["containerDefinitions"]
        assert (web["essential"], log["essential"]) == (True, False)
        assert (web["cpu"], web["memory"], log["cpu"], log["memory"]) == (256, 512, 64, 64)
        assert web["dependsOn"] == [{"containerName": "log-router", "condition": "START"}]
        assert web["healthCheck"] == {"command": ["CMD-SHELL", "true"], "interval": 30,
                                      "timeout": 5, "retries": 3, "startPeriod": 10}


@pytest.mark.parametrize("size", [20, 201])
def test_ephemeral_storage_outside_21_to_200_is_refused(ecs, size):
    assert "ephemeralStorage.sizeInGiB" in refused(ecs, [app()], ephemeralStorage={"sizeInGiB": size})


def test_storage_at_the_bounds_is_accepted(ecs):
    register(ecs, [app()], ephemeralStorage={"sizeInGiB": 21})
    register(ecs, [app()], ephemeralStorage={"sizeInGiB": 200})


def test_unknown_cpu_architecture_is_refused(ecs):
    message = refused(ecs, [app()], runtimePlatform={"cpuArchitecture": "AMD64",
                                                      "operatingSystemFamily": "LINUX"})
    assert "cpuArchitecture" in message and "ARM64" in message


def test_duplicate_container_names_are_refused(ecs):
    assert "Duplicate container name 'web'" in refused(ecs, [app(), app(essential=False)])


def test_a_task_definition_without_an_essential_container_is_refused(ecs):
    assert "essential" in refused(ecs, [app(essential=False), sidecar()])


def test_depends_on_a_missing_container_is_refused(ecs):
    message = refused(ecs, [app(dependsOn=[{"containerName": "envoy", "condition": "START"}])])
    assert "'envoy'" in message


def test_healthy_on_a_container_without_health_check_is_refused(ecs):
    message = refused(ecs, [app(dependsOn=[{"containerName": "log-router", "condition": "HEALTHY"}]),
                            sidecar()])
    assert "HEALTHY" in message and "health check" in message
    register(ecs, [app(dependsOn=[{"containerName": "log-router", "condition": "HEALTHY"}]),
                   sidecar(healthCheck={"command": ["CMD", "true"]})])


@pytest.mark.parametrize("condition", ["COMPLETE", "SUCCESS"])
def test_complete_or_success_on_an_essential_container_is_refused(ecs, condition):
    message = refused(ecs, [app(dependsOn=[{"containerName": "init", "condition": condition}]),
                            {"name": "init", "image": "acme/init:1", "essential": True}])
    assert condition in message and "essential" in message
    register(ecs, [app(dependsOn=[{"containerName": "init", "condition": condition}]),
                   {"name": "init", "image": "acme/init:1", "essential": False}])


def test_container_memory_above_the_task_memory_is_refused(ecs):
    assert "memory" in refused(ecs, [app(memory=960), sidecar(memory=128)], memory="1024")
    register(ecs, [app(memory=960), sidecar(memory=64)], memory="1024")


def test_container_cpu_above_the_task_cpu_is_refused(ecs):
    assert "cpu" in refused(ecs, [app(cpu=256), sidecar(cpu=512)], cpu="512")
    register(ecs, [app(cpu=256), sidecar(cpu=256)], cpu="512")


@pytest.mark.parametrize("field,value", [("interval", 4), ("interval", 301), ("timeout", 1),
                                         ("timeout", 61), ("retries", 0), ("retries", 11),
                                         ("startPeriod", 301)])
def test_health_check_out_of_range_is_refused(ecs, field, value):
    check = {"command": ["CMD", "true"], field: value}
    assert f"healthCheck.{field}" in refused(ecs, [app(healthCheck=check)])
