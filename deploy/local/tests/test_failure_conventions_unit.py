"""Issue 22's image conventions without a server: ``stuck`` in the scheduler and
for one-off tasks, ``nosecret`` as a missing secret, and the last words a
crashing or out-of-memory container prints before it stops.

The emulator tests of the same conventions are in test_failure_conventions.py.
"""

from __future__ import annotations

import itertools

from ferry_emulation import ecs_model as model
from ferry_emulation import task_resources as res
from ferry_emulation import tasklogs
from ferry_emulation.ecs_model import COMPLETED, IN_PROGRESS, OneOffTask, Scheduler, ServiceState
from ferry_emulation.ecs_settings import Settings
from ferry_emulation.task_conventions import (OOM_REASON, Exit, image_exit, secretless_container,
                                              stuck_image)
from ferry_emulation.tasklogs import Run

TD1 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
TD2 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
SVC = "arn:aws:ecs:us-east-1:123456789012:service/c/web"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/c"
STALLED = "was unable to stop or start tasks"


def scheduler() -> Scheduler:
    ids = itertools.count(1)
    return Scheduler(1.0, new_task_id=lambda: f"t{next(ids)}",
                     new_deployment_id=lambda: f"ecs-svc/{next(ids)}")


def service() -> ServiceState:
    return ServiceState(name="web", arn=SVC, cluster_arn=CLUSTER,
                        configuration=model.merge_configuration(
                            model.DEFAULT_DEPLOYMENT_CONFIGURATION, {}))


def messages(svc: ServiceState) -> list[str]:
    return [e["message"] for e in svc.events]


# -- stuck ---------------------------------------------------------------------------------

def test_stuck_is_any_containers_tag_prefix():
    assert stuck_image({"containerDefinitions": [
        {"name": "side", "image": "x:1", "essential": False},
        {"name": "web", "image": "acme/web:stuck-pulling"}]}) == "acme/web:stuck-pulling"
    assert stuck_image({"containerDefinitions": [{"name": "web", "image": "acme/stuck:1"}]}) is None


def test_a_stuck_rollout_stays_pending_keeps_the_old_tasks_and_is_not_called_stalled():
    s = scheduler()
    svc = service()
    s.deploy(svc, TD1, 2, None, {}, 0.0)
    s.advance(svc, 3.0)
    assert svc.primary.rollout == COMPLETED
    new = s.deploy(svc, TD2, 2, None, {}, 10.0, stuck="acme/web:stuck")
    s.advance(svc, 4000.0)  # over an hour: it never fails on its own
    assert [t.last_status for t in new.tasks] == ["PENDING", "PENDING"]
    assert new.rollout == IN_PROGRESS and new.failed_tasks == 0
    assert [t.last_status for t in svc.deployments[1].tasks] == ["RUNNING", "RUNNING"]
    assert not any(STALLED in m for m in messages(svc))
    # Nothing is due until a write: no step every second for an hour.
    assert svc.next_tick is None


def test_stuck_tasks_stop_as_any_pending_task_does():
    s = scheduler()
    svc = service()
    stuck = s.deploy(svc, TD1, 2, None, {}, 0.0, stuck="acme/web:stuck")
    s.advance(svc, 5.0)
    first = stuck.tasks[0]
    s.stop_task(svc, first, "ferry stop", 5.0)  # StopTask
    assert (first.stop_code, first.stopped_reason, first.started_at) == (
        "UserInitiated", "ferry stop", None)
    s.advance(svc, 6.5)
    assert len(stuck.tasks) == 2  # replaced, PENDING again
    s.scale(svc, 1, 7.0)  # scale-in stops a pending one
    s.advance(svc, 8.5)
    assert len(stuck.tasks) == 1
    fixed = s.deploy(svc, TD2, 1, None, {}, 9.0)  # a new deployment replaces them
    s.advance(svc, 12.0)
    assert fixed.rollout == COMPLETED and svc.deployments == [fixed]
    assert svc.stopped[0].stop_code == "ServiceSchedulerInitiated"


def test_a_stuck_one_off_is_pending_until_stopped():
    config = Settings(task_start_seconds=1.0, task_run_seconds=1.0)
    task = OneOffTask(arn="arn:task/c/x", created_at=0.0, stuck=True)
    assert model.one_off_state(task, 3600.0, config).last_status == "PENDING"
    task.user_stop = (3600.0, "Task stopped by user")
    state = model.one_off_state(task, 3600.0, config)
    assert (state.last_status, state.stop_code, state.started_at, state.exit_code) == (
        "STOPPED", "UserInitiated", None, None)


# -- nosecret --------------------------------------------------------------------------------

def present(*_args) -> bool:
    return True


def check(definition) -> str | None:
    return res.start_failure(definition, secret_exists=present, parameter_exists=present,
                             log_group_exists=present)


def test_nosecret_is_a_missing_secret_in_ecs_wording_whatever_exists():
    definition = {"taskDefinitionArn": TD1, "containerDefinitions": [
        {"name": "side", "image": "x:1"}, {"name": "web", "image": "acme/web:nosecret"}]}
    assert secretless_container(definition)["name"] == "web"
    assert check(definition) == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution "
        "resource retrieval failed: unable to retrieve secret from asm: service call has been "
        "retried 1 time(s): failed to fetch secret "
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:web/nosecret from secrets "
        "manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.")


def test_nosecret_names_the_containers_own_secret_when_it_has_one():
    ssm = "arn:aws:ssm:us-east-1:123456789012:parameter/shop/db"
    definition = {"taskDefinitionArn": TD1, "containerDefinitions": [
        {"name": "web", "image": "acme/web:nosecret-v2", "secrets": [
            {"name": "DB", "valueFrom": ssm}]}]}
    assert check(definition) == res.missing_secret(ssm)
    assert check({"taskDefinitionArn": TD1, "containerDefinitions": [
        {"name": "web", "image": "acme/nosecret:1"}]}) is None


# -- last words ------------------------------------------------------------------------------

def test_a_crash_prints_its_fatal_line_just_before_it_stops_and_no_layer_line():
    exit_ = image_exit("acme/web:crash-3", "web")
    run = Run(image="acme/web:crash-3", command=["sh", "-c", "echo booting"], started_at=100.0,
              stopped_at=102.0, exit_code=3, stop_code="EssentialContainerExited",
              last_words=exit_.last_words)
    assert tasklogs.lines(run) == [
        (100000, "starting acme/web:crash-3 sh -c 'echo booting'"),
        (100001, "booting"),
        (101999, "fatal: exiting with code 3")]


def test_an_out_of_memory_kill_prints_its_last_line_before_the_kill():
    exit_ = Exit("web", 137, 2.0, OOM_REASON)
    run = Run(image="acme/web:oom", command=None, started_at=10.0, stopped_at=12.0,
              exit_code=137, last_words=exit_.last_words)
    lines = tasklogs.lines(run)
    assert lines[-1] == (11999, "allocating a buffer: memory use is at the container's limit")
    assert all(t < 12000 for t, _ in lines)


def test_last_words_stay_ordered_when_the_task_ran_for_no_time():
    run = Run(image="i", command=["sh", "-c", "echo a; echo b"], started_at=1.0, stopped_at=1.0,
              exit_code=1, last_words=("x", "y"))
    stamps = [t for t, _ in tasklogs.lines(run)]
    assert stamps == sorted(set(stamps)) and len(stamps) == 5
