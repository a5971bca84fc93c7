"""Issue 22: each failure as ECS words it, and the reads Ferry makes to say why,
with boto3 against emulator.py.

Ferry's progress tick lists a cluster's stopped tasks with no service filter
(ListTasks desiredStatus STOPPED, paged), describes them (DescribeTasks:
startedBy, group, startedAt, stoppedAt, stopCode, stoppedReason, each
container's exitCode and reason), knows when the deployment began
(DescribeServices deployments[].createdAt) and reads the last lines of a
failed task's stream (GetLogEvents startFromHead=false, limit=N). Each test
fails against moto alone (its service tasks do not exist, its tasks never
stop, they write no logs). The conventions are task_conventions.py's, their
wordings cited there and in task_resources.py.
"""

from __future__ import annotations

import itertools
import time

import pytest
from botocore.exceptions import ClientError

from conftest import awsvpc_network
from ferry_emulation.task_conventions import ESSENTIAL_EXITED

STEP = 0.3  # FERRY_EMULATOR_TASK_START_SECONDS
GROUP = "/ferry/failures"
TIMEOUT = 20.0
CLUSTER = "failures"
ROLE = "arn:aws:iam::123456789012:role/ferry-execution"

_names = itertools.count()


@pytest.fixture(scope="module")
def emu(emulator_with):
    # What ECS and the logs say, not when the lines arrive (delay: see
    # test_tasklogs_delay.py); the polls here are far above AWS's buckets.
    return emulator_with("failures", {
        "FERRY_EMULATOR_TASK_START_SECONDS": str(STEP),
        "FERRY_EMULATOR_SERVICE_THROTTLE_SCALE": "0.01",
        "FERRY_EMULATOR_LOG_DELAY_SECONDS": "0",
        "FERRY_EMULATOR_THROTTLING": "off"})


@pytest.fixture(scope="module")
def aws(emu):
    network = awsvpc_network(emu, CLUSTER, 11, assignPublicIp="DISABLED")
    emu.client("logs").create_log_group(logGroupName=GROUP)
    ecs = emu.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    return ecs, emu.client("logs"), network


def task_definition(ecs, app: str, image: str, **container) -> str:
    """As Ferry renders one: the container named after the process (web), awslogs
    with the app's name as the stream prefix."""
    return ecs.register_task_definition(
        family=f"{app}_web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512", executionRoleArn=ROLE,
        containerDefinitions=[{"name": "web", "image": image, "essential": True,
                               "logConfiguration": {"logDriver": "awslogs", "options": {
                                   "awslogs-group": GROUP, "awslogs-region": "us-east-1",
                                   "awslogs-stream-prefix": app}}, **container}],
    )["taskDefinition"]["taskDefinitionArn"]


def create_service(aws, image: str, desired: int = 1, **container) -> tuple[str, str]:
    """A service of a new app running ``image``; (app name, PRIMARY deployment id)."""
    ecs, _, network = aws
    app = f"app{next(_names)}"
    service = ecs.create_service(
        cluster=CLUSTER, serviceName=app, desiredCount=desired, launchType="FARGATE",
        taskDefinition=task_definition(ecs, app, image, **container),
        networkConfiguration=network)["service"]
    return app, service["deployments"][0]["id"]


def stopped_tasks_of(ecs, app: str, count: int = 1) -> list[dict]:
    """The service's stopped tasks as Ferry finds them: a cluster-wide ListTasks
    of STOPPED tasks (no service filter), DescribeTasks, group ``service:APP``."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        arns = list_all(ecs, desiredStatus="STOPPED")
        mine = [t for t in describe(ecs, arns) if t.get("group") == f"service:{app}"]
        if len(mine) >= count:
            return mine
        assert time.monotonic() < deadline, mine
        time.sleep(0.1)


def list_all(ecs, **params) -> list[str]:
    arns, token = [], None
    while True:
        page = ecs.list_tasks(cluster=CLUSTER, **params, **({"nextToken": token} if token else {}))
        arns += page["taskArns"]
        token = page.get("nextToken")
        if not token:
            return arns


def describe(ecs, arns: list[str]) -> list[dict]:
    found = []
    for i in range(0, len(arns), 100):  # "up to 100" per call
        found += ecs.describe_tasks(cluster=CLUSTER, tasks=arns[i:i + 100])["tasks"]
    return found


def tail(logs, app: str, task: dict, limit: int = 5) -> list[dict]:
    stream = f"{app}/web/{task['taskArn'].rsplit('/', 1)[-1]}"
    return logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=False,
                               limit=limit)["events"]


# -- each failure as DescribeTasks shows it -----------------------------------------------------

@pytest.mark.parametrize("image,code,exit_code,reason", [
    ("acme/web:crash", "EssentialContainerExited", 1, None),
    ("acme/web:crash-4", "EssentialContainerExited", 4, None),
    ("acme/web:oom", "EssentialContainerExited", 137,
     "OutOfMemoryError: Container killed due to memory usage"),
])
def test_a_task_that_ran_then_died_and_its_last_words(aws, image, code, exit_code, reason):
    ecs, logs, _ = aws
    app, deployment = create_service(aws, image)
    (task,) = stopped_tasks_of(ecs, app)
    assert task["startedBy"] == deployment
    assert (task["lastStatus"], task["stopCode"], task["stoppedReason"]) == (
        "STOPPED", code, ESSENTIAL_EXITED)
    # "runs a few seconds": 2 s on the emulator's clock.
    assert task["stoppedAt"].timestamp() - task["startedAt"].timestamp() == pytest.approx(2.0)
    (container,) = task["containers"]
    assert (container["name"], container["exitCode"], container.get("reason")) == (
        "web", exit_code, reason)
    # Its own lines, all printed before it stopped, the last what it said as it died.
    events = tail(logs, app, task)
    assert events and all(e["timestamp"] < task["stoppedAt"].timestamp() * 1000 for e in events)
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    assert events[0]["message"] == f"starting {image}"
    last = events[-1]["message"]
    if reason is None:
        assert last == f"fatal: exiting with code {exit_code}"
    else:
        assert last == "allocating a buffer: memory use is at the container's limit"


def test_an_image_that_cannot_be_pulled(aws):
    ecs, _, _ = aws
    app, deployment = create_service(aws, "acme/web:fail")
    (task, *_) = stopped_tasks_of(ecs, app)
    assert task["startedBy"] == deployment and "startedAt" not in task
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError: ")
    (container,) = task["containers"]
    assert container["reason"] == task["stoppedReason"] and "exitCode" not in container


def test_a_secret_that_cannot_be_retrieved(aws):
    ecs, logs, _ = aws
    app, _ = create_service(aws, "acme/web:nosecret")
    (task, *_) = stopped_tasks_of(ecs, app)
    assert "startedAt" not in task and task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"] == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution "
        "resource retrieval failed: unable to retrieve secret from asm: service call has been "
        "retried 1 time(s): failed to fetch secret "
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/nosecret from secrets "
        "manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.")
    # It never ran: no stream, and reading one is CloudWatch Logs' error.
    with pytest.raises(ClientError) as raised:
        tail(logs, app, task)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_stuck_task_stays_pending_until_stopped(aws):
    ecs, _, _ = aws
    app, deployment = create_service(aws, "acme/web:stuck")
    time.sleep(8 * STEP)
    (arn,) = ecs.list_tasks(cluster=CLUSTER, serviceName=app)["taskArns"]  # desired RUNNING
    (task,) = describe(ecs, [arn])
    assert (task["lastStatus"], task["desiredStatus"]) == ("PENDING", "RUNNING")
    (service,) = ecs.describe_services(cluster=CLUSTER, services=[app])["services"]
    (primary,) = service["deployments"]
    assert (primary["id"], primary["rolloutState"], primary["failedTasks"],
            primary["pendingCount"]) == (deployment, "IN_PROGRESS", 0, 1)
    assert not any("unable to stop or start" in e["message"] for e in service["events"])
    stopped = ecs.stop_task(cluster=CLUSTER, task=arn, reason="stuck")["task"]
    assert (stopped["lastStatus"], stopped["stopCode"]) == ("STOPPED", "UserInitiated")
    assert "startedAt" not in stopped


def test_deployments_say_when_they_began(aws):
    ecs, _, _ = aws
    before = time.time()
    app, _ = create_service(aws, "acme/web:1")
    (service,) = ecs.describe_services(cluster=CLUSTER, services=[app])["services"]
    created = service["deployments"][0]["createdAt"].timestamp()
    assert before - 1 <= created <= time.time() + 1


# -- the reads -------------------------------------------------------------------------------

def test_list_tasks_of_stopped_tasks_pages_over_services_and_one_offs(aws):
    ecs, _, network = aws
    apps = [create_service(aws, "acme/web:crash-0-after-0.1s", desired=3)[0] for _ in range(2)]
    one_off = ecs.run_task(cluster=CLUSTER, launchType="FARGATE", networkConfiguration=network,
                           taskDefinition=task_definition(ecs, "job", "acme/web:fail"))
    for app in apps:
        stopped_tasks_of(ecs, app, count=6)
    everything = ecs.list_tasks(cluster=CLUSTER, desiredStatus="STOPPED")["taskArns"]
    assert one_off["tasks"][0]["taskArn"] in everything
    pages, token, paged = 0, None, []
    while True:
        page = ecs.list_tasks(cluster=CLUSTER, desiredStatus="STOPPED", maxResults=5,
                              **({"nextToken": token} if token else {}))
        assert len(page["taskArns"]) <= 5
        paged += page["taskArns"]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    assert pages >= 3 and len(paged) == len(set(paged))
    # The services keep crashing meanwhile: the paged list holds at least the first.
    assert set(everything) <= set(paged)
    for bad in (0, 101):
        with pytest.raises(ClientError) as raised:
            ecs.list_tasks(cluster=CLUSTER, desiredStatus="STOPPED", maxResults=bad)
        assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
    # DescribeTasks takes "up to 100" (Ferry batches them).
    with pytest.raises(ClientError) as raised:
        ecs.describe_tasks(cluster=CLUSTER, tasks=(paged * 101)[:101])
    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"


def test_get_log_events_from_the_tail_returns_the_last_lines_oldest_first(aws):
    ecs, logs, network = aws
    app = f"app{next(_names)}"
    arn = ecs.run_task(
        cluster=CLUSTER, launchType="FARGATE", networkConfiguration=network,
        taskDefinition=task_definition(ecs, app, "acme/web:crash-2-after-0.5s",
                                       command=["true"]),
        overrides={"containerOverrides": [{"name": "web", "command": [
            "sh", "-c", "echo 1; echo 2; echo 3; echo 4; echo 5; echo 6"]}]},
    )["tasks"][0]["taskArn"]
    task = {"taskArn": arn}
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            if tail(logs, app, task, limit=1)[-1]["message"].startswith("fatal"):
                break
        except (ClientError, IndexError):
            pass  # no stream (or no line) yet
        assert time.monotonic() < deadline
        time.sleep(0.1)
    everything = [e["message"] for e in tail(logs, app, task, limit=100)]
    assert everything == ["starting acme/web:crash-2-after-0.5s sh -c "
                          "'echo 1; echo 2; echo 3; echo 4; echo 5; echo 6'",
                          "1", "2", "3", "4", "5", "6", "fatal: exiting with code 2"]
    assert [e["message"] for e in tail(logs, app, task, limit=3)] == [
        "5", "6", "fatal: exiting with code 2"]
    with pytest.raises(ClientError) as raised:
        logs.get_log_events(logGroupName=GROUP, logStreamName=f"{app}/web/nope",
                            startFromHead=False, limit=5)
    assert raised.value.response["Error"] == {
        "Code": "ResourceNotFoundException", "Message": "The specified log stream does not exist."}
    with pytest.raises(ClientError) as raised:
        logs.get_log_events(logGroupName="/no/such/group", logStreamName="x")
    assert raised.value.response["Error"]["Message"] == "The specified log group does not exist."
