"""Tasks that crash after they ran, tasks that cannot initialize, the service
throttle and the circuit breaker for them (issue 19, item 2).

The model tests run the scheduler (ferry_emulation.ecs_model) on a fake
clock; the conventions and resource checks are pure functions; the last
tests go through the running emulator with boto3, as DescribeTasks shows
them on AWS. Each guarantee cites its documentation in the module it tests
(task_conventions, task_resources, ecs_model).
"""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import pytest

import bootstrap
from ferry_emulation import ecs_model as model
from ferry_emulation import task_resources as res
from ferry_emulation.ecs_model import (COMPLETED, FAILED, IN_PROGRESS, OneOffTask, Scheduler,
                                       ServiceState)
from ferry_emulation.ecs_settings import Settings
from ferry_emulation.task_conventions import (ESSENTIAL_EXITED, OOM_REASON, Exit,
                                              essential_exit, image_exit)

TD1 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
TD2 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
SVC = "arn:aws:ecs:us-east-1:123456789012:service/c/web"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/c"
STEP = 1.0
THROTTLED = "(service web) is unable to consistently start tasks successfully."


def scheduler(**kwargs) -> Scheduler:
    ids = itertools.count(1)
    return Scheduler(STEP, new_task_id=lambda: f"t{next(ids)}",
                     new_deployment_id=lambda: f"ecs-svc/{next(ids)}", **kwargs)


def service(breaker=None) -> ServiceState:
    configuration = model.merge_configuration(model.DEFAULT_DEPLOYMENT_CONFIGURATION, {
        "deploymentCircuitBreaker": breaker or {"enable": False, "rollback": False}})
    return ServiceState(name="web", arn=SVC, cluster_arn=CLUSTER, configuration=configuration)


def messages(svc: ServiceState) -> list[str]:
    return [e["message"] for e in svc.events]


def completed(s: Scheduler, breaker=None, desired=2) -> ServiceState:
    svc = service(breaker)
    s.deploy(svc, TD1, desired, None, {}, 0.0, deployment_id="ecs-svc/first")
    s.advance(svc, 2 * STEP)
    assert svc.primary.rollout == COMPLETED
    return svc


# -- the image conventions -----------------------------------------------------------------

@pytest.mark.parametrize("image,expected", [
    ("acme/web:crash-3-after-2s", (3, 2.0, None)),
    ("acme/web:crash-1-after-0.5s-v2", (1, 0.5, None)),
    ("acme/web:crash-300-after-1s", (44, 1.0, None)),  # modulo 256, as a shell
    ("localhost:5000/acme/web:crash-0-after-10s", (0, 10.0, None)),
    # Issue 22's short forms: "a few seconds" (2, unscaled), code N (default 1).
    ("acme/web:crash", (1, 2.0, None)),
    ("acme/web:crash-3", (3, 2.0, None)),
    ("acme/web:crash-3-v2", (3, 2.0, None)),
    ("acme/web:crash-v2", (1, 2.0, None)),
    ("acme/web:oom", (137, 2.0, OOM_REASON)),
    ("acme/web:oom-after-3s", (137, 3.0, OOM_REASON)),
    ("acme/web:oom-after-1.5s-big", (137, 1.5, OOM_REASON)),
    # A time that does not parse is no convention (never a silent default).
    ("acme/web:crash-x-after-2s", None), ("acme/web:crash-3-after-2", None),
    ("acme/web:oom-after-x", None), ("acme/web:crashed", None),
    ("acme/web:oomph", None), ("acme/oom:1", None),
    ("acme/web@sha256:oom", None), ("nginx", None), ("acme/web:1", None),
])
def test_crash_and_oom_tag_grammar(image, expected):
    found = image_exit(image, "web")
    assert (None if found is None else (found.code, found.after, found.reason)) == expected


def test_only_essential_containers_stop_the_task_and_the_earliest_exit_wins():
    definition = {"containerDefinitions": [
        {"name": "side", "image": "x:crash-1-after-1s", "essential": False},
        {"name": "web", "image": "x:crash-2-after-5s"},
        {"name": "db", "image": "x:oom-after-3s", "essential": True},
    ]}
    assert essential_exit(definition) == Exit("db", 137, 3.0, OOM_REASON)
    assert essential_exit({"containerDefinitions": [
        {"name": "side", "image": "x:crash-1-after-1s", "essential": False}]}) is None
    assert essential_exit(None) is None


# -- service tasks that run, then exit --------------------------------------------------------

def test_a_crashing_task_stops_at_its_own_time_with_ecs_stop_code_and_is_replaced():
    s = scheduler()
    svc = service()
    s.deploy(svc, TD1, 1, None, {}, 0.0, exit=Exit("web", 3, 2.5))
    s.advance(svc, 3.4)  # launched at 1, RUNNING at 2
    assert [t.last_status for t in svc.primary.tasks] == ["RUNNING"]
    s.advance(svc, 4.6)
    (crashed,) = svc.stopped
    assert crashed.stopped_at == 4.5  # 2 + 2.5, not the next step
    assert (crashed.stop_code, crashed.stopped_reason) == ("EssentialContainerExited",
                                                           ESSENTIAL_EXITED)
    assert crashed.exited and crashed.exit.code == 3
    assert svc.primary.failed_tasks == 1
    # Replaced at the next step (4.5 + 1), unthrottled.
    s.advance(svc, 5.6)
    (replacement,) = svc.primary.tasks
    assert replacement.created_at == 5.5
    # ECS posts no event for the exit itself; the replacement's start follows.
    assert not any("(task t1)" in m and "stopped" in m for m in messages(svc))
    assert f"(service web) has started 1 tasks: (task {replacement.id})." in messages(svc)


def test_tasks_that_ran_never_start_the_throttle():
    # service-throttle-logic.html: "Even if a task's container command
    # immediately exits with a non-zero exit code, the task already moved
    # to the RUNNING state. Tasks that fail immediately because command
    # errors don't cause the throttle or the service event message."
    s = scheduler(throttle_scale=1.0)
    svc = service()
    s.deploy(svc, TD1, 1, None, {}, 0.0, exit=Exit("web", 1, 0.0))
    s.advance(svc, 100.0)
    assert svc.primary.failed_tasks > 40  # one every other step
    assert THROTTLED not in messages(svc)
    assert svc.primary.start_after == 0.0


def test_a_task_that_exits_at_once_never_completes_the_deployment():
    s = scheduler()
    svc = service()
    s.deploy(svc, TD1, 1, None, {}, 0.0, exit=Exit("web", 137, 0.0, OOM_REASON))
    s.advance(svc, 30.0)
    assert svc.primary.rollout == IN_PROGRESS
    assert not any("steady state" in m for m in messages(svc))


def test_a_task_that_crashes_after_it_was_healthy_lets_the_deployment_complete():
    # As on AWS: the rollout completes, then the service keeps replacing.
    s = scheduler()
    svc = service()
    s.deploy(svc, TD1, 1, None, {}, 0.0, exit=Exit("web", 2, 5.0))
    s.advance(svc, 20.0)
    assert svc.primary.rollout == COMPLETED
    assert svc.primary.failed_tasks >= 2


# -- the circuit breaker -----------------------------------------------------------------------

def test_crashes_after_running_trip_the_breaker_when_failures_accumulate():
    # resetOnHealthyTask false: "Task failures accumulate throughout the
    # deployment." A crash after RUNNING counts (stage 2, the stricter reading).
    s = scheduler()
    svc = completed(s, breaker={"enable": True, "rollback": True, "resetOnHealthyTask": False})
    new = s.deploy(svc, TD2, 2, None, {}, 10.0, exit=Exit("web", 137, 0.0, OOM_REASON))
    s.advance(svc, 30.0)
    assert new.rollout == FAILED
    # Two tasks run and are killed together: 2, then 4 >= the threshold (3).
    assert new.failed_tasks == 4 and new.breaker_failures == 4
    assert svc.primary.task_definition == TD1  # rolled back
    assert (f"(service web) (deployment {new.id}) deployment failed: "
            "tasks failed health checks.") in messages(svc)


def test_by_default_each_healthy_task_resets_the_count_so_crash_loops_do_not_trip():
    # resetOnHealthyTask true (the default): "The failure count resets to 0
    # each time a task reaches a healthy state."
    s = scheduler()
    svc = completed(s, breaker={"enable": True, "rollback": True})
    s.deploy(svc, TD2, 2, None, {}, 10.0, exit=Exit("web", 137, 0.0, OOM_REASON))
    s.advance(svc, 60.0)
    assert svc.primary.task_definition == TD2
    assert svc.primary.rollout == IN_PROGRESS
    assert svc.primary.failed_tasks > 10
    assert svc.primary.breaker_failures < 3


def _start_checks(results):
    answers = iter(results)
    return lambda deployment: next(answers, None)


@pytest.mark.parametrize("reset,failed_at", [(True, 6), (False, 4)])
def test_a_healthy_task_resets_the_failure_count_unless_reset_on_healthy_task_is_false(
        reset, failed_at):
    why = "ResourceInitializationError: x"
    # Three tasks start at once: two fail, one runs (healthy); then failures.
    s = scheduler(start_check=_start_checks([why, why, None] + [why] * 20))
    svc = service({"enable": True, "rollback": False, "resetOnHealthyTask": reset})
    s.deploy(svc, TD1, 3, None, {}, 0.0)
    s.advance(svc, 20.0)
    assert svc.primary.rollout == FAILED
    assert svc.primary.failed_tasks == failed_at
    assert svc.primary.reason == "ECS deployment circuit breaker: tasks failed to start."


@pytest.mark.parametrize("desired,breaker,threshold", [
    (1, None, 3), (7, None, 4), (25, None, 13), (800, None, 200),
    (25, {"thresholdConfiguration": {"type": "BOUNDED_PERCENT", "value": 20}}, 5),
    (2, {"thresholdConfiguration": {"type": "BOUNDED_PERCENT", "value": 20}}, 3),
    (800, {"thresholdConfiguration": {"type": "UNBOUNDED_PERCENT", "value": 50}}, 400),
    (2, {"thresholdConfiguration": {"type": "UNBOUNDED_PERCENT", "value": 50}}, 1),
    (800, {"thresholdConfiguration": {"type": "COUNT", "value": 5}}, 5),
])
def test_failure_threshold_configurations(desired, breaker, threshold):
    assert model.failure_threshold(desired, breaker) == threshold


# -- tasks that cannot initialize --------------------------------------------------------------

def test_a_task_missing_a_secret_stops_before_running_and_starts_the_throttle():
    why = res.missing_secret("arn:aws:ssm:us-east-1:123456789012:parameter/app/db")
    s = scheduler(start_check=lambda deployment: why)
    svc = service()
    s.deploy(svc, TD1, 1, None, {}, 0.0)
    s.advance(svc, 10.0)
    first = svc.stopped[-1]
    assert (first.stop_code, first.stopped_reason, first.started_at) == (
        "TaskFailedToStart", why, None)
    assert THROTTLED in messages(svc)
    assert svc.primary.start_after > 0


def test_the_check_is_made_at_each_start_so_a_secret_created_later_is_found():
    checks = iter(["ResourceInitializationError: x"] * 2)
    s = scheduler(start_check=lambda deployment: next(checks, None))
    svc = service()
    s.deploy(svc, TD1, 1, None, {}, 0.0)
    s.advance(svc, 10.0)
    assert svc.primary.rollout == COMPLETED
    assert svc.primary.failed_tasks == 2


def present(*_args) -> bool:
    return True


def absent(*_args) -> bool:
    return False


def definition(**container) -> dict:
    return {"taskDefinitionArn": TD1,
            "containerDefinitions": [{"name": "web", "image": "acme/web:1", **container}]}


SM_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ferry/app/db-AbCdEf"
SSM_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/ferry/app/db"
AWSLOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "/ferry/x",
                                               "awslogs-region": "us-east-1"}}


def test_missing_secrets_and_log_groups_in_ecs_wording():
    def check(d, secret=present, parameter=present, logs=present):
        return res.start_failure(d, secret_exists=secret, parameter_exists=parameter,
                                 log_group_exists=logs)

    sm = definition(secrets=[{"name": "DB", "valueFrom": SM_ARN + ":password::"}])
    assert check(sm) is None
    assert check(sm, secret=absent) == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution "
        "resource retrieval failed: unable to retrieve secret from asm: service call has been "
        f"retried 1 time(s): failed to fetch secret {SM_ARN}:password:: from secrets manager: "
        "ResourceNotFoundException: Secrets Manager can't find the specified secret.")
    ssm = definition(secrets=[{"name": "DB", "valueFrom": SSM_ARN}])
    assert check(ssm, secret=absent) is None
    assert check(ssm, parameter=absent) == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution "
        "resource retrieval failed: unable to retrieve secrets from ssm: service call has been "
        "retried 1 time(s): invalid ssm parameters: /ferry/app/db")
    logs = definition(logConfiguration=AWSLOGS)
    assert check(logs) is None
    assert check(logs, logs=absent) == (
        "ResourceInitializationError: failed to validate logger args: create stream has been "
        "retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: "
        "The specified log group does not exist. : exit status 1")
    creates = definition(logConfiguration={"logDriver": "awslogs", "options": {
        **AWSLOGS["options"], "awslogs-create-group": "true"}})
    assert check(creates, logs=absent) is None
    # Secrets first.
    both = definition(secrets=[{"name": "DB", "valueFrom": SSM_ARN}], logConfiguration=AWSLOGS)
    assert "ssm" in check(both, parameter=absent, logs=absent)


def test_lookups_get_the_account_region_and_name_ecs_resolves():
    seen = []

    def record(account, region, name):
        seen.append((account, region, name))
        return True

    res.start_failure(definition(
        secrets=[{"name": "A", "valueFrom": SM_ARN + ":key:AWSCURRENT:"},
                 {"name": "B", "valueFrom": SSM_ARN.replace("us-east-1", "eu-west-1")},
                 {"name": "C", "valueFrom": "plain-name"}],
        logConfiguration=AWSLOGS),
        secret_exists=record, parameter_exists=record, log_group_exists=record)
    assert seen == [("123456789012", "us-east-1", SM_ARN),
                    ("123456789012", "eu-west-1", "/ferry/app/db"),
                    ("123456789012", "us-east-1", "plain-name"),
                    ("123456789012", "us-east-1", "/ferry/x")]


def test_every_ssm_secret_of_the_demo_manifests_is_created_by_bootstrap():
    manifests = Path(__file__).resolve().parents[3] / "manifests"
    named = {match.group(1) for path in manifests.glob("*.yaml")
             for match in re.finditer(r"arn:aws:ssm:[^:]*:\d+:parameter(/\S+)", path.read_text())}
    assert named and named <= set(bootstrap.DEMO_PARAMETERS)


# -- one-off tasks -----------------------------------------------------------------------------

CONFIG = Settings(task_start_seconds=1.0, task_run_seconds=10.0)


def test_one_off_crash_and_oom_follow_the_image_not_the_run_time():
    task = OneOffTask(arn="arn:task/c/x", created_at=0.0, exit_code=0,
                      exit=Exit("web", 137, 2.0, OOM_REASON))
    assert model.one_off_state(task, 2.9, CONFIG).last_status == "RUNNING"
    state = model.one_off_state(task, 3.0, CONFIG)
    assert (state.last_status, state.stop_code, state.stopped_reason, state.exit_code,
            state.container_reason, state.exit_container, state.started_at) == (
        "STOPPED", "EssentialContainerExited", ESSENTIAL_EXITED, 137, OOM_REASON, "web", 1.0)


def test_one_off_that_cannot_initialize_never_runs():
    why = res.missing_log_group()
    task = OneOffTask(arn="arn:task/c/x", created_at=0.0, start_failure=why,
                      exit=Exit("web", 3, 5.0))
    state = model.one_off_state(task, 1.0, CONFIG)
    assert (state.last_status, state.stop_code, state.stopped_reason, state.started_at,
            state.exit_code, state.container_reason) == (
        "STOPPED", "TaskFailedToStart", why, None, None, why)


# -- through the emulator (boto3) ----------------------------------------------------------------

STEP_SECONDS = 0.3
TIMEOUT = 15.0
ROLE = "arn:aws:iam::123456789012:role/ferry-local-execution"
_names = itertools.count()


@pytest.fixture(scope="module")
def emu(emulator_with):
    return emulator_with("crashes", {
        "FERRY_EMULATOR_TASK_START_SECONDS": str(STEP_SECONDS),
        "FERRY_EMULATOR_TASK_RUN_SECONDS": "0.3",
        "FERRY_EMULATOR_SERVICE_THROTTLE_SCALE": "0.01"})


@pytest.fixture(scope="module")
def aws(emu):
    from conftest import awsvpc_network

    ecs = emu.client("ecs")
    network = awsvpc_network(emu, "crashes", 9)
    ecs.create_cluster(clusterName="crashes")
    emu.client("logs").create_log_group(logGroupName="/crashes")
    return ecs, network, emu


def register(ecs, image: str, **container) -> str:
    return ecs.register_task_definition(
        family=f"crash-{next(_names)}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512", executionRoleArn=ROLE,
        containerDefinitions=[{"name": "app", "image": image, "essential": True, **container}],
    )["taskDefinition"]["taskDefinitionArn"]


def run_until_stopped(ecs, network, task_definition: str) -> tuple[dict, set[str]]:
    (task,) = ecs.run_task(cluster="crashes", taskDefinition=task_definition,
                           launchType="FARGATE", networkConfiguration=network)["tasks"]
    seen = set()
    deadline = time.monotonic() + TIMEOUT
    while True:
        (described,) = ecs.describe_tasks(cluster="crashes", tasks=[task["taskArn"]])["tasks"]
        seen.add(described["lastStatus"])
        if described["lastStatus"] == "STOPPED":
            return described, seen
        assert time.monotonic() < deadline, described["lastStatus"]
        time.sleep(0.02)


def test_describe_tasks_shows_a_crash_after_running(aws):
    ecs, network, _ = aws
    td = register(ecs, "acme/job:crash-7-after-0.5s",
                  logConfiguration={"logDriver": "awslogs", "options": {
                      "awslogs-group": "/crashes", "awslogs-region": "us-east-1",
                      "awslogs-stream-prefix": "x"}})
    task, seen = run_until_stopped(ecs, network, td)
    assert "RUNNING" in seen
    assert (task["stopCode"], task["stoppedReason"]) == ("EssentialContainerExited",
                                                         "Essential container in task exited")
    (container,) = task["containers"]
    assert container["exitCode"] == 7 and "reason" not in container
    assert task["stoppedAt"].timestamp() - task["startedAt"].timestamp() == pytest.approx(0.5)


def test_describe_tasks_shows_an_out_of_memory_kill(aws):
    ecs, network, _ = aws
    task, seen = run_until_stopped(ecs, network, register(ecs, "acme/job:oom-after-0.2s"))
    assert "RUNNING" in seen
    (container,) = task["containers"]
    assert (container["exitCode"], container["reason"]) == (
        137, "OutOfMemoryError: Container killed due to memory usage")
    assert task["stoppedReason"] == "Essential container in task exited"


def test_a_missing_secret_is_a_resource_initialization_error_until_it_exists(aws):
    ecs, network, emu = aws
    name = f"/crashes/db-{next(_names)}"
    arn = f"arn:aws:ssm:us-east-1:123456789012:parameter{name}"
    td = register(ecs, "acme/job:1", secrets=[{"name": "DB", "valueFrom": arn}])
    task, seen = run_until_stopped(ecs, network, td)
    assert "RUNNING" not in seen and "startedAt" not in task
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"] == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution "
        "resource retrieval failed: unable to retrieve secrets from ssm: service call has been "
        f"retried 1 time(s): invalid ssm parameters: {name}")
    assert "exitCode" not in task["containers"][0]
    emu.client("ssm").put_parameter(Name=name, Value="x", Type="SecureString")
    task, seen = run_until_stopped(ecs, network, td)
    assert "RUNNING" in seen and task["stopCode"] == "EssentialContainerExited"


def test_a_missing_log_group_is_a_resource_initialization_error(aws):
    ecs, network, _ = aws
    td = register(ecs, "acme/job:1", logConfiguration={"logDriver": "awslogs", "options": {
        "awslogs-group": "/crashes/nope", "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "x"}})
    task, _ = run_until_stopped(ecs, network, td)
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith(
        "ResourceInitializationError: failed to validate logger args: ")
    assert "The specified log group does not exist." in task["stoppedReason"]


def test_a_crashing_service_task_is_described_and_replaced(aws):
    ecs, network, _ = aws
    td = register(ecs, "acme/web:crash-3-after-0.4s")
    ecs.create_service(cluster="crashes", serviceName="loop", taskDefinition=td, desiredCount=1,
                       launchType="FARGATE", networkConfiguration=network)
    deadline = time.monotonic() + TIMEOUT
    while True:
        stopped = ecs.list_tasks(cluster="crashes", serviceName="loop",
                                 desiredStatus="STOPPED")["taskArns"]
        if len(stopped) >= 2:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    tasks = ecs.describe_tasks(cluster="crashes", tasks=stopped)["tasks"]
    for task in tasks:
        assert task["stopCode"] == "EssentialContainerExited"
        assert task["stoppedReason"] == "Essential container in task exited"
        assert task["containers"][0]["exitCode"] == 3
    (service,) = ecs.describe_services(cluster="crashes", services=["loop"])["services"]
    assert service["deployments"][0]["failedTasks"] >= 2
    assert not any("unable to consistently start" in e["message"] for e in service["events"])


def test_a_secrets_manager_secret_is_looked_up_by_its_arn(aws):
    ecs, network, emu = aws
    secrets = emu.client("secretsmanager")
    arn = secrets.create_secret(Name=f"crashes/db-{next(_names)}", SecretString="x")["ARN"]
    task, seen = run_until_stopped(ecs, network, register(
        ecs, "acme/job:1", secrets=[{"name": "DB", "valueFrom": arn + ":password::"}]))
    assert "RUNNING" in seen and task["stopCode"] == "EssentialContainerExited"
    secrets.delete_secret(SecretId=arn, RecoveryWindowInDays=7)  # not readable any more
    task, seen = run_until_stopped(ecs, network, register(
        ecs, "acme/job:1", secrets=[{"name": "DB", "valueFrom": arn}]))
    assert "RUNNING" not in seen and task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].endswith(
        f"failed to fetch secret {arn} from secrets manager: ResourceNotFoundException: "
        "Secrets Manager can't find the specified secret.")
