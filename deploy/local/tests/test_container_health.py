"""Container health checks (container_health.py) through boto3 against an
emulator of the module's own: tasks report container and task healthStatus
(UNKNOWN, then HEALTHY), a service's rollout completes only once its tasks
are healthy, and a worker whose checked container has an ``unhealthy`` image
has its tasks stopped ("Task failed container health checks") until the
circuit breaker fails the deployment and rolls back. moto reports every
container HEALTHY and never stops a task.
"""

from __future__ import annotations

import time

import pytest

from conftest import UNTHROTTLED, awsvpc_network
from ferry_emulation import container_health

CLUSTER = "health"
TIMEOUT = 40.0
SCALE = 0.05  # a 10 s interval takes 0.5 s
CHECK = {"command": ["CMD-SHELL", "true"], "interval": 10, "retries": 2}
BREAKER = {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
           "maximumPercent": 200, "minimumHealthyPercent": 100}


@pytest.fixture(scope="module")
def env(emulator_with):
    emu = emulator_with("health", {**UNTHROTTLED, "FERRY_EMULATOR_TASK_START_SECONDS": "0.2",
                                   "FERRY_EMULATOR_TASK_RUN_SECONDS": "60",
                                   "FERRY_EMULATOR_HEALTH_TIME_SCALE": str(SCALE)})
    ecs = emu.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    return ecs, awsvpc_network(emu, "health", 33)


def task_definition(ecs, image: str, **check) -> str:
    return ecs.register_task_definition(
        family="health", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[
            {"name": "worker", "image": image, "healthCheck": {**CHECK, **check}},
            {"name": "sidecar", "image": "acme/agent:1", "essential": False}],
    )["taskDefinition"]["taskDefinitionArn"]


def wait(what: str, probe):
    deadline = time.monotonic() + TIMEOUT
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def describe(ecs, name: str) -> dict:
    return ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0]


def test_timing_counts_essential_containers_only():
    definition = {"containerDefinitions": [
        {"name": "app", "image": "acme/app:1", "healthCheck": CHECK},
        {"name": "agent", "image": "acme/agent:unhealthy", "essential": False, "healthCheck": CHECK}]}
    health = container_health.timing(definition, 1.0)
    assert health.fails_after is None and health.healthy_after == 10
    assert health.container_status("agent", 25.0) == "UNHEALTHY"
    assert health.task_status(5.0) == "UNKNOWN" and health.task_status(25.0) == "HEALTHY"
    failing = container_health.timing(
        {"containerDefinitions": [{"name": "app", "image": "acme/app:unhealthy-1",
                                   "healthCheck": {**CHECK, "startPeriod": 5}}]}, 1.0)
    assert failing.fails_after == 5 + 10 * 2 and failing.healthy_after is None


def test_a_checked_one_off_task_turns_healthy_and_keeps_running(env):
    ecs, network = env
    arn = ecs.run_task(cluster=CLUSTER, taskDefinition=task_definition(ecs, "acme/worker:1"),
                       launchType="FARGATE", networkConfiguration=network)["tasks"][0]["taskArn"]

    def task():
        return ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]

    running = wait("RUNNING", lambda: (t := task())["lastStatus"] == "RUNNING" and t)
    if running["healthStatus"] != "HEALTHY":  # the first check takes one interval (0.5 s)
        assert running["healthStatus"] == "UNKNOWN"
    healthy = wait("HEALTHY", lambda: (t := task())["healthStatus"] == "HEALTHY" and t)
    statuses = {c["name"]: c["healthStatus"] for c in healthy["containers"]}
    assert statuses == {"worker": "HEALTHY", "sidecar": "UNKNOWN"}
    assert healthy["lastStatus"] == "RUNNING"


def test_a_checked_unhealthy_one_off_task_reports_unhealthy_and_is_not_stopped(env):
    ecs, network = env
    arn = ecs.run_task(cluster=CLUSTER, taskDefinition=task_definition(ecs, "acme/worker:unhealthy"),
                       launchType="FARGATE", networkConfiguration=network)["tasks"][0]["taskArn"]
    task = wait("UNHEALTHY", lambda: (t := ecs.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0])
                ["healthStatus"] == "UNHEALTHY" and t)
    assert task["lastStatus"] == "RUNNING"


def test_a_worker_rollout_completes_once_its_tasks_are_healthy(env):
    ecs, network = env
    td = task_definition(ecs, "acme/worker:2")
    ecs.create_service(cluster=CLUSTER, serviceName="healthy", taskDefinition=td, desiredCount=1,
                       launchType="FARGATE", networkConfiguration=network,
                       deploymentConfiguration=BREAKER)
    seen_running_unhealthy = False
    deadline = time.monotonic() + TIMEOUT
    while describe(ecs, "healthy")["deployments"][0]["rolloutState"] != "COMPLETED":
        assert time.monotonic() < deadline
        arns = ecs.list_tasks(cluster=CLUSTER, serviceName="healthy")["taskArns"]
        for task in ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []:
            if task["lastStatus"] == "RUNNING" and task["healthStatus"] == "UNKNOWN":
                seen_running_unhealthy = True
        time.sleep(0.05)
    assert seen_running_unhealthy, "the rollout completed before the task's first check"
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName="healthy")["taskArns"]
    assert {t["healthStatus"] for t in ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]} == {"HEALTHY"}


def test_an_unhealthy_worker_fails_by_the_circuit_breaker_and_rolls_back(env):
    ecs, network = env
    good = task_definition(ecs, "acme/worker:3")
    ecs.create_service(cluster=CLUSTER, serviceName="rollback", taskDefinition=good, desiredCount=1,
                       launchType="FARGATE", networkConfiguration=network,
                       deploymentConfiguration=BREAKER)
    wait("first rollout", lambda: describe(ecs, "rollback")["deployments"][0]["rolloutState"] == "COMPLETED")
    bad = task_definition(ecs, "acme/worker:unhealthy-4")
    ecs.update_service(cluster=CLUSTER, service="rollback", taskDefinition=bad)
    service = wait("rollback", lambda: (s := describe(ecs, "rollback"))["taskDefinition"] == good
                   and len(s["deployments"]) > 1 and s)
    failed = next(d for d in service["deployments"] if d["taskDefinition"] == bad)
    assert failed["rolloutState"] == "FAILED"
    assert failed["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed health checks."
    messages = [e["message"] for e in service["events"]]
    assert any(m.endswith("failed container health checks.") for m in messages), messages
    stopped = ecs.list_tasks(cluster=CLUSTER, serviceName="rollback", desiredStatus="STOPPED")["taskArns"]
    reasons = {t["stoppedReason"]: t for t in ecs.describe_tasks(cluster=CLUSTER, tasks=stopped)["tasks"]}
    assert "Task failed container health checks" in reasons
    assert reasons["Task failed container health checks"]["healthStatus"] == "UNHEALTHY"
