"""Task log lines in CloudWatch Logs, with boto3 against emulator.py.

Every test here fails against moto alone (its tasks write no logs, its
FilterLogEvents ignores logStreamNamePrefix): ferry_emulation.tasklogs
writes the lines of the emulated tasks into the stream the awslogs driver
names, ``prefix-name/container-name/ecs-task-id``
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html).
"""

from __future__ import annotations

import itertools
import time

import pytest
from botocore.exceptions import ClientError

from conftest import awsvpc_network

STEP = 0.3  # FERRY_EMULATOR_TASK_START_SECONDS
RUN = 0.3  # FERRY_EMULATOR_TASK_RUN_SECONDS
PAGE = 3  # FERRY_EMULATOR_LOGS_PAGE_EVENTS
GROUP = "/ferry/test"
TIMEOUT = 15.0

_names = itertools.count()


@pytest.fixture(scope="module")
def emu(emulator_with):
    # What the lines say, not when they arrive: no ingestion delay, and no
    # throttling of the polls (both are tested in test_tasklogs_delay.py).
    return emulator_with("tasklogs", {
        "FERRY_EMULATOR_TASK_START_SECONDS": str(STEP),
        "FERRY_EMULATOR_TASK_RUN_SECONDS": str(RUN),
        "FERRY_EMULATOR_LOGS_PAGE_EVENTS": str(PAGE),
        "FERRY_EMULATOR_LOG_DELAY_SECONDS": "0",
        "FERRY_EMULATOR_THROTTLING": "off"})


def logs_world(emu, cluster: str, octet: int):
    """(ECS client, Logs client, network) with the log group GROUP and ``cluster``."""
    network = awsvpc_network(emu, cluster, octet, assignPublicIp="DISABLED")
    logs = emu.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    ecs = emu.client("ecs")
    ecs.create_cluster(clusterName=cluster)
    return ecs, logs, network


@pytest.fixture(scope="module")
def aws(emu):
    return logs_world(emu, "logs", 3)


def task_definition(ecs, app: str, image: str = "acme/job:1", group: str = GROUP, **container) -> str:
    """A task definition as Ferry renders one: awslogs, stream prefix = the app."""
    return ecs.register_task_definition(
        family=f"{app}_job", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512",
        # Fargate refuses awslogs without an execution role.
        executionRoleArn="arn:aws:iam::123456789012:role/ferry-execution",
        containerDefinitions=[{"name": "job", "image": image, "essential": True,
                               "logConfiguration": {"logDriver": "awslogs", "options": {
                                   "awslogs-group": group, "awslogs-region": "us-east-1",
                                   "awslogs-stream-prefix": app}}, **container}],
    )["taskDefinition"]["taskDefinitionArn"]


def run(aws, td: str, command: list[str] | None = None) -> str:
    ecs, _, network = aws
    overrides = {"containerOverrides": [{"name": "job", "command": command}]} if command else {}
    return ecs.run_task(cluster="logs", taskDefinition=td, launchType="FARGATE",
                        networkConfiguration=network, overrides=overrides)["tasks"][0]["taskArn"]


def events(logs, **params) -> tuple[list[dict], int]:
    """Every event FilterLogEvents returns, following nextToken; and the pages it took."""
    found, pages, token = [], 0, None
    while True:
        page = logs.filter_log_events(logGroupName=GROUP, **params,
                                      **({"nextToken": token} if token else {}))
        pages += 1
        found += page["events"]
        token = page.get("nextToken")
        if not token:
            return found, pages


def wait_for(logs, stream: str, text: str) -> list[str]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        found, _ = events(logs, logStreamNames=[stream])
        messages = [e["message"] for e in found]
        if text in messages:
            return messages
        assert time.monotonic() < deadline, messages
        time.sleep(0.05)


def test_a_one_off_task_writes_its_lifecycle_and_its_scripts_output(aws):
    ecs, logs, _ = aws
    app = f"app{next(_names)}"
    created = time.time()
    arn = run(aws, task_definition(ecs, app),
              ["sh", "-c", "echo hello; printf 'a %s\\n' b; exit 3"])
    stream = f"{app}/job/{arn.rsplit('/', 1)[-1]}"
    messages = wait_for(logs, stream, "exited with code 3")
    assert messages == ["starting acme/job:1 sh -c 'echo hello; printf '\"'\"'a %s\\n'\"'\"' b; exit 3'",
                        "hello", "a b", "exited with code 3"]
    found, _ = events(logs, logStreamNames=[stream])
    stamps = [e["timestamp"] for e in found]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    # On the layer's clock: started after the PENDING time, exited after the run time.
    assert stamps[0] >= (created + STEP) * 1000 - 50
    assert stamps[-1] - stamps[0] >= RUN * 1000 - 50
    (task,) = ecs.describe_tasks(cluster="logs", tasks=[arn])["tasks"]
    assert task["containers"][0]["exitCode"] == 3


def test_lines_are_written_once_however_often_they_are_read(aws):
    ecs, logs, _ = aws
    app = f"app{next(_names)}"
    arn = run(aws, task_definition(ecs, app), ["sh", "-c", "echo once"])
    stream = f"{app}/job/{arn.rsplit('/', 1)[-1]}"
    wait_for(logs, stream, "exited with code 0")
    for _ in range(3):
        logs.get_log_events(logGroupName=GROUP, logStreamName=stream)
    found, _ = events(logs, logStreamNames=[stream])
    assert [e["message"] for e in found].count("once") == 1


def test_a_stopped_task_says_so_and_a_task_that_never_started_writes_nothing(aws):
    ecs, logs, _ = aws
    app = f"app{next(_names)}"
    td = task_definition(ecs, app)
    arn = run(aws, td, ["sh", "-c", "echo working; sleep 3600"])
    stream = f"{app}/job/{arn.rsplit('/', 1)[-1]}"
    wait_for(logs, stream, "working")
    ecs.stop_task(cluster="logs", task=arn, reason="enough")
    assert wait_for(logs, stream, "stopped: UserInitiated: enough")[-1] == \
        "stopped: UserInitiated: enough"

    failing = run(aws, task_definition(ecs, app, image="acme/job:fail"), ["sh", "-c", "echo x"])
    deadline = time.monotonic() + TIMEOUT
    while ecs.describe_tasks(cluster="logs", tasks=[failing])["tasks"][0]["lastStatus"] != "STOPPED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    found, _ = events(logs, logStreamNamePrefix=f"{app}/job/{failing.rsplit('/', 1)[-1]}")
    assert found == []


def test_filter_log_events_keeps_to_the_prefix_interleaves_and_pages(aws):
    ecs, logs, _ = aws
    app, other = f"app{next(_names)}", f"app{next(_names)}"
    td = task_definition(ecs, app)
    arns = [run(aws, td, ["sh", "-c", f"echo task {i}"]) for i in range(3)]
    other_arn = run(aws, task_definition(ecs, other), ["sh", "-c", "echo elsewhere"])
    for arn in arns:
        wait_for(logs, f"{app}/job/{arn.rsplit('/', 1)[-1]}", "exited with code 0")
    wait_for(logs, f"{other}/job/{other_arn.rsplit('/', 1)[-1]}", "exited with code 0")

    found, pages = events(logs, logStreamNamePrefix=f"{app}/")
    assert {e["logStreamName"] for e in found} == {f"{app}/job/{a.rsplit('/', 1)[-1]}" for a in arns}
    assert sorted(e["message"] for e in found if e["message"].startswith("task ")) == [
        "task 0", "task 1", "task 2"]
    assert len(found) == 9
    stamps = [e["timestamp"] for e in found]
    assert stamps == sorted(stamps), "interleaved, by time"
    assert pages >= len(found) // PAGE, "pages of at most FERRY_EMULATOR_LOGS_PAGE_EVENTS"
    for page_events in (logs.filter_log_events(logGroupName=GROUP, logStreamNamePrefix=f"{app}/",
                                               limit=2)["events"],):
        assert len(page_events) <= 2

    with pytest.raises(ClientError) as both:
        logs.filter_log_events(logGroupName=GROUP, logStreamNamePrefix=f"{app}/",
                               logStreamNames=[f"{app}/job/x"])
    assert both.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_container_without_an_existing_group_writes_nothing(aws):
    ecs, logs, _ = aws
    app = f"app{next(_names)}"
    arn = run(aws, task_definition(ecs, app, group="/no/such/group"), ["sh", "-c", "echo lost"])
    deadline = time.monotonic() + STEP + RUN + 1
    while time.monotonic() < deadline:
        time.sleep(0.1)
    found, _ = events(logs, logStreamNamePrefix=f"{app}/")
    assert found == [] and arn


def test_service_tasks_write_their_start_and_their_stop(aws):
    ecs, logs, network = aws
    app = f"app{next(_names)}"
    td = task_definition(ecs, app, image="acme/web:1", command=["acme", "serve"])
    ecs.create_service(cluster="logs", serviceName=f"{app}_job", taskDefinition=td, desiredCount=1,
                       launchType="FARGATE", networkConfiguration=network)
    deadline = time.monotonic() + TIMEOUT
    while True:
        found, _ = events(logs, logStreamNamePrefix=f"{app}/job/")
        if found:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (event,) = found
    assert event["message"] == "starting acme/web:1 acme serve"
    (arn,) = ecs.list_tasks(cluster="logs", serviceName=f"{app}_job")["taskArns"]
    assert event["logStreamName"] == f"{app}/job/{arn.rsplit('/', 1)[-1]}"
    ecs.update_service(cluster="logs", service=f"{app}_job", desiredCount=0)
    messages = wait_for(logs, event["logStreamName"],
                        "stopped: ServiceSchedulerInitiated: Scaling activity initiated by "
                        f"(deployment {ecs.describe_services(cluster='logs', services=[f'{app}_job'])['services'][0]['deployments'][0]['id']})")
    assert len(messages) == 2
