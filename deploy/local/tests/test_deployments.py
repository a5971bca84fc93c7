"""ECS deployments, service events and one-off tasks, with boto3 against emulator.py.

Tests not marked otherwise fail against moto alone
(ferry_emulation.deployments makes them pass): moto's deployments never
progress, its services have no events and no tasks, its RunTask tasks
never stop with a code. Tests marked "moto" pin down what moto 5.2.5
already does and the layer keeps. The emulator runs with short intervals
(FERRY_EMULATOR_TASK_START_SECONDS and FERRY_EMULATOR_TASK_RUN_SECONDS), so
a rollout takes about a second.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

from conftest import awsvpc_network, start_emulator

STEP = 0.3  # FERRY_EMULATOR_TASK_START_SECONDS
RUN = 0.3  # FERRY_EMULATOR_TASK_RUN_SECONDS
TIMEOUT = 15.0

_names = itertools.count()

BREAKER_ROLLBACK = {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                    "minimumHealthyPercent": 100, "maximumPercent": 200}


@pytest.fixture(scope="module")
def emu(emulator_with):
    return emulator_with("deployments", {
        "FERRY_EMULATOR_TASK_START_SECONDS": str(STEP),
        "FERRY_EMULATOR_TASK_RUN_SECONDS": str(RUN)})


@dataclass
class Env:
    ecs: object
    cluster: str
    network: dict
    family: str

    def task_definition(self, image: str, **container) -> str:
        """A Fargate task definition like Ferry's: task-level memory only."""
        return self.ecs.register_task_definition(
            family=self.family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": image, "essential": True, **container}],
        )["taskDefinition"]["taskDefinitionArn"]

    def create(self, name: str, task_definition: str, desired: int = 2, **kwargs) -> dict:
        return self.ecs.create_service(
            cluster=self.cluster, serviceName=name, taskDefinition=task_definition,
            desiredCount=desired, launchType="FARGATE", networkConfiguration=self.network,
            **kwargs)["service"]

    def describe(self, name: str) -> dict:
        (found,) = self.ecs.describe_services(cluster=self.cluster, services=[name])["services"]
        return found

    def wait(self, name: str, predicate, timeout: float = TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            service = self.describe(name)
            if predicate(service):
                return service
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; last: {summary(service)}")
            time.sleep(0.05)

    def completed(self, name: str, task_definition: str | None = None) -> dict:
        def done(s):
            (primary, *rest) = s["deployments"]
            return (primary["rolloutState"] == "COMPLETED" and not rest
                    and (task_definition is None or primary["taskDefinition"] == task_definition))
        return self.wait(name, done)


@pytest.fixture(scope="module")
def network(emu) -> tuple[object, dict]:
    """boto3's ECS client and one awsvpc network for the module (both slow to make)."""
    return emu.client("ecs"), awsvpc_network(emu, "deployments", 2, assignPublicIp="DISABLED")


@pytest.fixture
def env(network) -> Env:
    """A cluster and a task definition family of the test's own."""
    ecs, awsvpc = network
    n = next(_names)
    cluster = f"deploy-{n}"
    ecs.create_cluster(clusterName=cluster)
    return Env(ecs, cluster, awsvpc, f"app-{n}")


def summary(service: dict) -> list:
    return [(d["status"], d["taskDefinition"].rsplit("/", 1)[-1], d["runningCount"],
             d["pendingCount"], d["failedTasks"], d["rolloutState"]) for d in service["deployments"]]


def messages(service: dict) -> list[str]:
    return [e["message"] for e in service["events"]]


# -- deployment configuration ------------------------------------------------------------------

def test_create_service_keeps_the_deployment_configuration(env):
    td = env.task_definition("acme/web:1")
    created = env.create("web", td, deploymentConfiguration=BREAKER_ROLLBACK)
    assert created["deploymentConfiguration"] == BREAKER_ROLLBACK
    assert env.describe("web")["deploymentConfiguration"] == BREAKER_ROLLBACK

    plain = env.create("plain", td)  # ECS's defaults
    assert plain["deploymentConfiguration"] == {
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        "maximumPercent": 200, "minimumHealthyPercent": 100}


def test_update_service_changes_the_named_deployment_settings(env):
    env.create("web", env.task_definition("acme/web:1"), deploymentConfiguration=BREAKER_ROLLBACK)
    updated = env.ecs.update_service(cluster=env.cluster, service="web", deploymentConfiguration={
        "minimumHealthyPercent": 50, "maximumPercent": 150})["service"]
    expected = {**BREAKER_ROLLBACK, "minimumHealthyPercent": 50, "maximumPercent": 150}
    assert updated["deploymentConfiguration"] == expected
    assert env.describe("web")["deploymentConfiguration"] == expected


# -- the lifecycle of a deployment --------------------------------------------------------------

def test_create_service_starts_one_primary_deployment_in_progress(env):  # moto
    td = env.task_definition("acme/web:1")
    created = env.create("web", td, desired=3)
    (deployment,) = created["deployments"]
    assert deployment["status"] == "PRIMARY" and deployment["rolloutState"] == "IN_PROGRESS"
    assert deployment["taskDefinition"] == td and deployment["desiredCount"] == 3
    assert deployment["id"].startswith("ecs-svc/")
    assert deployment["rolloutStateReason"] == f"ECS deployment {deployment['id']} in progress."
    assert created["runningCount"] == 0 and created["events"] == []


def test_tasks_start_over_time_and_the_deployment_completes(env):
    td = env.task_definition("acme/web:1")
    env.create("web", td, desired=2)
    starting = env.wait("web", lambda s: s["pendingCount"] > 0)
    assert summary(starting)[0][2:] == (0, 2, 0, "IN_PROGRESS")
    assert messages(starting)[0].startswith("(service web) has started 2 tasks: (task ")
    done = env.completed("web")
    (deployment,) = done["deployments"]
    assert (deployment["runningCount"], deployment["pendingCount"]) == (2, 0)
    assert (done["runningCount"], done["pendingCount"]) == (2, 0)
    assert deployment["rolloutStateReason"] == f"ECS deployment {deployment['id']} completed."
    assert messages(done)[:2] == ["(service web) has reached a steady state.",
                                  f"(service web) (deployment {deployment['id']}) deployment completed."]
    for event in done["events"]:
        assert event["id"] and event["createdAt"]
    times = [e["createdAt"] for e in done["events"]]
    assert times == sorted(times, reverse=True)


def test_update_with_a_new_task_definition_rolls_a_new_primary_out(env):
    td1, td2 = env.task_definition("acme/web:1"), env.task_definition("acme/web:2")
    env.create("web", td1)
    first = env.completed("web")["deployments"][0]["id"]
    updated = env.ecs.update_service(cluster=env.cluster, service="web", taskDefinition=td2)["service"]
    assert [(d["status"], d["taskDefinition"], d["rolloutState"]) for d in updated["deployments"]] == [
        ("PRIMARY", td2, "IN_PROGRESS"), ("ACTIVE", td1, "COMPLETED")]
    assert updated["deployments"][1]["id"] == first
    # Up to 200%: new tasks start while the old ones still run.
    both = env.wait("web", lambda s: s["deployments"][0]["pendingCount"] == 2)
    assert summary(both)[1][2] == 2 and both["runningCount"] == 2 and both["pendingCount"] == 2
    done = env.completed("web", td2)
    assert done["taskDefinition"] == td2
    assert any(m.startswith("(service web) has stopped 2 running tasks: (task ")
               for m in messages(done))


def test_update_with_family_revision_is_stored_as_the_arn(env):
    td1, td2 = env.task_definition("acme/web:1"), env.task_definition("acme/web:2")
    env.create("web", td1)
    revision = td2.rsplit("/", 1)[-1]
    updated = env.ecs.update_service(cluster=env.cluster, service="web",
                                     taskDefinition=revision)["service"]
    assert updated["taskDefinition"] == td2
    assert updated["deployments"][0]["taskDefinition"] == td2
    assert env.describe("web")["taskDefinition"] == td2


def test_force_new_deployment_starts_a_deployment_of_the_same_revision(env):
    td = env.task_definition("acme/web:1")
    env.create("web", td)
    env.completed("web")
    forced = env.ecs.update_service(cluster=env.cluster, service="web",
                                    forceNewDeployment=True)["service"]
    assert [(d["status"], d["taskDefinition"]) for d in forced["deployments"]] == [
        ("PRIMARY", td), ("ACTIVE", td)]
    env.completed("web")


def test_desired_count_update_keeps_the_deployment_and_follows(env):
    td = env.task_definition("acme/web:1")
    env.create("web", td)
    deployment = env.completed("web")["deployments"][0]["id"]
    scaled = env.ecs.update_service(cluster=env.cluster, service="web", desiredCount=3)["service"]
    assert [d["id"] for d in scaled["deployments"]] == [deployment]
    assert scaled["deployments"][0]["desiredCount"] == 3
    three = env.wait("web", lambda s: s["runningCount"] == 3)
    assert [d["id"] for d in three["deployments"]] == [deployment]
    assert three["deployments"][0]["rolloutState"] == "COMPLETED"
    env.wait("web", lambda s: messages(s)[0] == "(service web) has reached a steady state.")

    env.ecs.update_service(cluster=env.cluster, service="web", desiredCount=1)
    one = env.wait("web", lambda s: s["runningCount"] == 1)
    assert any(m.startswith("(service web) has stopped 2 running tasks:") for m in messages(one))


def test_minimum_healthy_and_maximum_percent_bound_the_rollout(env):
    td1, td2 = env.task_definition("acme/web:1"), env.task_definition("acme/web:2")
    env.create("web", td1, desired=4,
               deploymentConfiguration={"minimumHealthyPercent": 50, "maximumPercent": 100})
    env.completed("web")
    env.ecs.update_service(cluster=env.cluster, service="web", taskDefinition=td2)
    deadline = time.monotonic() + TIMEOUT
    while True:
        service = env.describe("web")
        assert service["runningCount"] >= 2  # 50% of 4
        assert service["runningCount"] + service["pendingCount"] <= 4  # 100% of 4
        if summary(service) == [("PRIMARY", td2.rsplit("/", 1)[-1], 4, 0, 0, "COMPLETED")]:
            break
        assert time.monotonic() < deadline, summary(service)
        time.sleep(0.05)


def test_a_deployment_configuration_that_allows_no_progress_says_so(env):
    td1, td2 = env.task_definition("acme/web:1"), env.task_definition("acme/web:2")
    env.create("web", td1, deploymentConfiguration={"minimumHealthyPercent": 100,
                                                    "maximumPercent": 100})
    env.completed("web")
    env.ecs.update_service(cluster=env.cluster, service="web", taskDefinition=td2)
    stalled = env.wait("web", lambda s: "was unable to stop or start tasks" in messages(s)[0])
    assert messages(stalled)[0] == (
        "(service web) was unable to stop or start tasks during a deployment because of the "
        "service deployment configuration. Update the minimumHealthyPercent or maximumPercent "
        "value and try again.")
    assert summary(stalled)[0][5] == "IN_PROGRESS"


# -- tasks that cannot start (the `fail` tag convention) --------------------------------------------

def test_failing_image_trips_the_circuit_breaker_and_rolls_back(env):
    good, bad = env.task_definition("acme/web:1"), env.task_definition("acme/web:fail")
    env.create("web", good, deploymentConfiguration=BREAKER_ROLLBACK)
    completed_id = env.completed("web")["deployments"][0]["id"]
    env.ecs.update_service(cluster=env.cluster, service="web", taskDefinition=bad)

    rolling_back = env.wait("web", lambda s: any(d["rolloutState"] == "FAILED"
                                                 for d in s["deployments"]))
    primary = rolling_back["deployments"][0]
    failed = next(d for d in rolling_back["deployments"] if d["rolloutState"] == "FAILED")
    assert failed["taskDefinition"] == bad and failed["status"] == "ACTIVE"
    assert failed["failedTasks"] >= 3 and failed["runningCount"] == 0
    assert failed["rolloutStateReason"] == "ECS deployment circuit breaker: tasks failed to start."
    assert primary["taskDefinition"] == good and primary["rolloutState"] == "IN_PROGRESS"
    assert primary["id"] not in (completed_id, failed["id"])
    assert primary["rolloutStateReason"] == (
        f"ECS deployment circuit breaker: rolling back to deploymentId {completed_id}.")
    assert rolling_back["taskDefinition"] == good
    assert f"(service web) rolling back to deployment {completed_id}." in messages(rolling_back)
    assert (f"(service web) (deployment {failed['id']}) deployment failed: tasks failed to start."
            in messages(rolling_back))

    done = env.completed("web", good)
    assert done["taskDefinition"] == good and done["runningCount"] == 2


def test_failing_image_without_rollback_stays_failed(env):
    good, bad = env.task_definition("acme/web:1"), env.task_definition("acme/web:fail-missing-binary")
    env.create("web", good, deploymentConfiguration={
        "deploymentCircuitBreaker": {"enable": True, "rollback": False}})
    env.completed("web")
    env.ecs.update_service(cluster=env.cluster, service="web", taskDefinition=bad)
    failed = env.wait("web", lambda s: s["deployments"][0]["rolloutState"] == "FAILED")
    time.sleep(3 * STEP)  # it stays so: nothing more is launched
    again = env.describe("web")
    assert summary(again) == summary(failed)
    primary, old = again["deployments"]
    assert (primary["status"], primary["taskDefinition"]) == ("PRIMARY", bad)
    assert primary["failedTasks"] >= 3 and primary["runningCount"] == 0
    assert (old["status"], old["taskDefinition"], old["runningCount"]) == ("ACTIVE", good, 2)
    assert again["taskDefinition"] == bad
    assert not any("rolling back" in m for m in messages(again))


def test_failing_first_deployment_goes_failed_and_stays(env):
    bad = env.task_definition("acme/web:fail")
    env.create("web", bad, desired=1, deploymentConfiguration=BREAKER_ROLLBACK)
    failed = env.wait("web", lambda s: s["deployments"][0]["rolloutState"] == "FAILED")
    (deployment,) = failed["deployments"]
    assert deployment["failedTasks"] == 3 and deployment["status"] == "PRIMARY"
    assert failed["runningCount"] == 0 and failed["taskDefinition"] == bad
    assert not any("rolling back" in m for m in messages(failed))


def test_failing_image_without_circuit_breaker_keeps_trying(env):
    bad = env.task_definition("acme/web:fail")
    env.create("web", bad, desired=1)
    throttled = env.wait("web", lambda s: "(service web) is unable to consistently start tasks "
                                          "successfully." in messages(s))
    (deployment,) = throttled["deployments"]
    assert deployment["rolloutState"] == "IN_PROGRESS" and deployment["failedTasks"] >= 3


# -- service tasks -----------------------------------------------------------------------------

def test_service_tasks_are_listed_and_described(env):
    good, bad = env.task_definition("acme/web:1"), env.task_definition("acme/web:fail")
    env.create("web", good, deploymentConfiguration=BREAKER_ROLLBACK)
    deployment = env.completed("web")["deployments"][0]["id"]
    running = env.ecs.list_tasks(cluster=env.cluster, serviceName="web")["taskArns"]
    assert len(running) == 2
    tasks = env.ecs.describe_tasks(cluster=env.cluster, tasks=running)["tasks"]
    assert {(t["lastStatus"], t["desiredStatus"], t["group"], t["startedBy"], t["taskDefinitionArn"])
            for t in tasks} == {("RUNNING", "RUNNING", "service:web", deployment, good)}
    assert env.ecs.list_tasks(cluster=env.cluster, startedBy=deployment)["taskArns"] == running

    env.ecs.update_service(cluster=env.cluster, service="web", taskDefinition=bad)
    env.wait("web", lambda s: any(d["rolloutState"] == "FAILED" for d in s["deployments"]))
    stopped = env.ecs.list_tasks(cluster=env.cluster, serviceName="web",
                                 desiredStatus="STOPPED")["taskArns"]
    failed = [t for t in env.ecs.describe_tasks(cluster=env.cluster, tasks=stopped)["tasks"]
              if t["stopCode"] == "TaskFailedToStart"]
    assert len(failed) >= 3
    assert failed[0]["stoppedReason"].startswith("CannotPullContainerError: ")
    assert failed[0]["containers"][0]["image"] == "acme/web:fail"


def test_stop_task_on_a_service_task_gets_it_replaced(env):
    env.create("web", env.task_definition("acme/web:1"))
    env.completed("web")
    victim = env.ecs.list_tasks(cluster=env.cluster, serviceName="web")["taskArns"][0]
    stopped = env.ecs.stop_task(cluster=env.cluster, task=victim, reason="testing")["task"]
    assert (stopped["lastStatus"], stopped["stopCode"], stopped["stoppedReason"]) == (
        "STOPPED", "UserInitiated", "testing")
    replaced = env.wait("web", lambda s: s["runningCount"] == 2 and messages(s)[0].endswith(
        "has reached a steady state.") and len(messages(s)) > 2 and "has started 1 tasks" in
        messages(s)[1])
    assert victim not in env.ecs.list_tasks(cluster=env.cluster, serviceName="web")["taskArns"]
    assert replaced["runningCount"] == 2


def test_delete_service_drains_then_goes_inactive(env):
    # API_DeleteService: ACTIVE -> DRAINING (not in ListServices, still
    # described) -> INACTIVE once its tasks have stopped; a service of the
    # same name cannot be created while it drains.
    td = env.task_definition("acme/web:1")
    env.create("web", td)
    env.completed("web")
    arn = env.describe("web")["serviceArn"]
    deleted = env.ecs.delete_service(cluster=env.cluster, service="web", force=True)["service"]
    assert deleted["status"] == "DRAINING"
    assert deleted["runningCount"] == 2
    assert messages(deleted)[0] == "(service web) has begun draining connections on 2 tasks."
    assert arn not in env.ecs.list_services(cluster=env.cluster)["serviceArns"]
    with pytest.raises(ClientError) as excinfo:
        env.create("web", td)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"
    assert excinfo.value.response["Error"]["Message"] == "Creation of service was not idempotent."
    with pytest.raises(ClientError) as excinfo:
        env.ecs.update_service(cluster=env.cluster, service="web", desiredCount=1)
    assert excinfo.value.response["Error"]["Code"] == "ServiceNotActiveException"

    later = env.wait("web", lambda s: s["status"] == "INACTIVE")
    assert (later["runningCount"], later["pendingCount"]) == (0, 0)
    assert messages(later)[0].startswith("(service web) has stopped 2 running tasks: (task ")
    assert env.ecs.list_tasks(cluster=env.cluster, serviceName="web")["taskArns"] == []
    # INACTIVE: the name is free again.
    again = env.create("web", td)
    assert again["status"] == "ACTIVE"
    env.completed("web")


# -- one-off tasks (RunTask) -------------------------------------------------------------------

def run(env: Env, task_definition: str, command: list[str] | None = None, **kwargs) -> dict:
    overrides = {"containerOverrides": [{"name": "app", "command": command}]} if command else {}
    return env.ecs.run_task(cluster=env.cluster, taskDefinition=task_definition,
                            launchType="FARGATE", networkConfiguration=env.network,
                            overrides=overrides, **kwargs)["tasks"][0]


def describe_task(env: Env, arn: str, **kwargs) -> dict:
    (task,) = env.ecs.describe_tasks(cluster=env.cluster, tasks=[arn], **kwargs)["tasks"]
    return task


def wait_task(env: Env, arn: str, status: str) -> dict:
    deadline = time.monotonic() + TIMEOUT
    while True:
        task = describe_task(env, arn)
        if task["lastStatus"] == status:
            return task
        assert time.monotonic() < deadline, task["lastStatus"]
        time.sleep(0.02)


def test_run_task_goes_pending_running_stopped_with_the_exit_code(env):
    td = env.task_definition("acme/job:1")  # no container memory, as Ferry registers them
    task = run(env, td, ["sh", "-c", "exit 3"], startedBy="ferry-run")
    assert task["lastStatus"] == "PENDING" and task["desiredStatus"] == "RUNNING"
    running = wait_task(env, task["taskArn"], "RUNNING")
    assert "exitCode" not in running["containers"][0] and "stopCode" not in running
    stopped = wait_task(env, task["taskArn"], "STOPPED")
    assert stopped["desiredStatus"] == "STOPPED"
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["containers"][0]["exitCode"] == 3
    assert stopped["containers"][0]["lastStatus"] == "STOPPED"
    assert stopped["createdAt"] < stopped["startedAt"] < stopped["stoppedAt"]


def test_run_task_without_exit_in_the_command_exits_0(env):
    td = env.task_definition("acme/job:1", command=["echo", "hello"])
    task = run(env, td)
    assert wait_task(env, task["taskArn"], "STOPPED")["containers"][0]["exitCode"] == 0
    task = run(env, td, ["echo", "hello"])
    assert wait_task(env, task["taskArn"], "STOPPED")["containers"][0]["exitCode"] == 0


def test_run_task_with_a_failing_image_fails_to_start(env):
    td = env.task_definition("acme/job:fail")
    task = run(env, td, ["sh", "-c", "exit 3"])
    seen = set()
    deadline = time.monotonic() + TIMEOUT
    while (stopped := describe_task(env, task["taskArn"]))["lastStatus"] != "STOPPED":
        seen.add(stopped["lastStatus"])
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert "RUNNING" not in seen
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith("CannotPullContainerError: ")
    assert "exitCode" not in stopped["containers"][0]
    assert "startedAt" not in stopped


def test_run_task_tags_are_described_with_include_tags(env):
    # Tags are moto's; RunTask itself needs the layer (moto fails without container memory).
    td = env.task_definition("acme/job:1")
    tags = [{"key": "ferry:run", "value": "abc"}]
    task = run(env, td, ["true"], tags=tags)
    assert describe_task(env, task["taskArn"], include=["TAGS"])["tags"] == tags
    assert "tags" not in describe_task(env, task["taskArn"])


def test_list_tasks_filters_one_off_tasks_like_ecs(env):
    td = env.task_definition("acme/job:1")
    first = run(env, td, ["true"], startedBy="ferry-run")["taskArn"]
    other = run(env, td, ["true"], startedBy="someone-else")["taskArn"]

    def listed(**kwargs) -> list[str]:
        return env.ecs.list_tasks(cluster=env.cluster, **kwargs)["taskArns"]

    assert listed(startedBy="ferry-run") == [first]  # desiredStatus RUNNING by default
    assert sorted(listed(family=env.family)) == sorted([first, other])
    assert listed(startedBy="ferry-run", desiredStatus="STOPPED") == []
    wait_task(env, first, "STOPPED")
    wait_task(env, other, "STOPPED")
    assert listed(startedBy="ferry-run") == []
    assert listed(startedBy="ferry-run", desiredStatus="STOPPED") == [first]
    assert sorted(listed(family=env.family, desiredStatus="STOPPED")) == sorted([first, other])
    assert listed(serviceName="no-such-service") == []


def test_stop_task_stops_a_one_off_task(env):
    td = env.task_definition("acme/job:1")
    task = run(env, td, ["sleep", "60"])
    stopped = env.ecs.stop_task(cluster=env.cluster, task=task["taskArn"], reason="cancelled")["task"]
    assert (stopped["lastStatus"], stopped["stopCode"], stopped["stoppedReason"]) == (
        "STOPPED", "UserInitiated", "cancelled")
    time.sleep(STEP + RUN)
    later = describe_task(env, task["taskArn"])
    assert (later["lastStatus"], later["stopCode"]) == ("STOPPED", "UserInitiated")
    assert "exitCode" not in later["containers"][0]


def test_describe_tasks_reports_unknown_tasks_as_missing(env):
    found = env.ecs.describe_tasks(cluster=env.cluster, tasks=["0123456789abcdef"])
    assert found["tasks"] == []
    assert found["failures"] == [{"arn": "0123456789abcdef", "reason": "MISSING"}]


# -- the request log and the settings ------------------------------------------------------------

def test_internal_calls_are_not_logged(env, emu):
    before = len(emu.requests())
    td1, td2 = env.task_definition("acme/web:1"), env.task_definition("acme/web:2")
    env.create("web", td1)
    env.ecs.update_service(cluster=env.cluster, service="web",
                           taskDefinition=td2.rsplit("/", 1)[-1])
    task = run(env, td1, ["true"])
    env.ecs.list_tasks(cluster=env.cluster)
    env.ecs.describe_tasks(cluster=env.cluster, tasks=[task["taskArn"]])
    logged = [r["operation"] for r in emu.requests()[before:]]
    assert logged == ["RegisterTaskDefinition", "RegisterTaskDefinition", "CreateService",
                      "UpdateService", "RunTask", "ListTasks", "DescribeTasks"]


@pytest.mark.parametrize("name,value", [("FERRY_EMULATOR_TASK_START_SECONDS", "0"),
                                        ("FERRY_EMULATOR_TASK_RUN_SECONDS", "soon"),
                                        ("FERRY_EMULATOR_TASK_DRAIN_SECONDS", "-1")])
def test_an_unusable_setting_stops_the_emulator(tmp_path, name, value):
    with pytest.raises(RuntimeError, match=name):
        start_emulator(tmp_path, env={name: value})


def test_moto_errors_pass_through(env):  # moto
    with pytest.raises(ClientError) as err:
        env.ecs.update_service(cluster=env.cluster, service="no-such-service", desiredCount=1)
    assert err.value.response["Error"]["Code"] == "ServiceNotFoundException"
