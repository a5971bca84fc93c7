"""ECS deployments and tasks over time (ferry_emulation.ecs_model, deployments), without a server.

The scheduler runs on a fake clock, so every intermediate state is checked
exactly; the handlers get a fake ``forward``.
"""

from __future__ import annotations

import itertools
import json

import pytest

from ferry_emulation import build, deployments as dep
from ferry_emulation import ecs_model as model
from ferry_emulation import ecs_settings
from ferry_emulation import task_conventions as conv
from ferry_emulation.deployments import DeploymentEmulation
from ferry_emulation.ecs_model import (COMPLETED, FAILED, IN_PROGRESS, OneOffTask, Scheduler,
                                       ServiceState)
from ferry_emulation.ecs_settings import Settings
from ferry_emulation.wire import AwsRequest, Response, json_response

ECS_TARGET = "AmazonEC2ContainerServiceV20141113"
AUTH = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=x"
TD1 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
TD2 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
SVC = "arn:aws:ecs:us-east-1:123456789012:service/c/web"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/c"
STEP = 1.0


def scheduler() -> Scheduler:
    ids = itertools.count(1)
    return Scheduler(STEP, new_task_id=lambda: f"t{next(ids)}",
                     new_deployment_id=lambda: f"ecs-svc/{next(ids)}")


def service(breaker=None, minimum=100, maximum=200) -> ServiceState:
    configuration = model.merge_configuration(model.DEFAULT_DEPLOYMENT_CONFIGURATION, {
        "minimumHealthyPercent": minimum, "maximumPercent": maximum,
        "deploymentCircuitBreaker": breaker or {"enable": False, "rollback": False}})
    return ServiceState(name="web", arn=SVC, cluster_arn=CLUSTER, configuration=configuration)


def counts(svc: ServiceState) -> list[tuple]:
    return [(d.status, d.task_definition, len(d.running), len(d.pending), d.failed_tasks, d.rollout)
            for d in svc.deployments]


def messages(svc: ServiceState) -> list[str]:
    return [e["message"] for e in svc.events]


def completed_service(s: Scheduler, desired=2, **config) -> ServiceState:
    svc = service(**config)
    s.deploy(svc, TD1, desired, None, {}, 0.0, deployment_id="ecs-svc/first")
    s.advance(svc, 2 * STEP)
    assert svc.primary.rollout == COMPLETED
    return svc


# -- conventions and arithmetic ---------------------------------------------------------

@pytest.mark.parametrize("image,fails", [
    ("acme/web:fail", True), ("acme/web:fail-missing-binary", True), ("acme/web:failover", True),
    ("acme/web:1", False), ("acme/fail:1", False), ("localhost:5000/fail", False),
    ("localhost:5000/acme/web:fail", True), ("acme/web@sha256:fail", False), ("nginx", False),
])
def test_fail_tag_convention(image, fails):
    assert conv.image_fails(image) is fails


@pytest.mark.parametrize("command,code", [
    (["sh", "-c", "exit 3"], 3), (["sh", "-c", "echo hi; exit 42"], 42), ("exit 7", 7),
    (["echo", "hi"], 0), (None, 0), ([], 0), (["sh", "-c", "exit 300"], 44), (["exited", "5"], 0),
])
def test_exit_code_convention(command, code):
    assert conv.exit_code(command) == code


@pytest.mark.parametrize("desired,threshold", [(0, 3), (1, 3), (6, 3), (7, 4), (25, 13),
                                               (400, 200), (800, 200)])
def test_circuit_breaker_threshold(desired, threshold):
    assert model.failure_threshold(desired) == threshold


def test_percentages_round_like_ecs():
    # minimumHealthyPercent rounds up, maximumPercent rounds down.
    assert model.min_healthy(4, {"minimumHealthyPercent": 50}) == 2
    assert model.min_healthy(2, {"minimumHealthyPercent": 75}) == 2
    assert model.max_tasks(3, {"maximumPercent": 125}) == 3
    assert model.max_tasks(4, {"maximumPercent": 200}) == 8


def test_settings_from_the_environment():
    assert ecs_settings.settings({}) == Settings(1.0, 1.0) == Settings(1.0, 1.0, 0.0)
    assert ecs_settings.settings({ecs_settings.TASK_START_ENV: "0.2", ecs_settings.TASK_RUN_ENV: "0"}) == Settings(0.2, 0.0)
    assert ecs_settings.settings({ecs_settings.TASK_DRAIN_ENV: "30"}).task_drain_seconds == 30.0
    assert ecs_settings.settings({ecs_settings.TASK_DRAIN_ENV: "0"}).task_drain_seconds == 0.0
    for name, bad in [(ecs_settings.TASK_START_ENV, "0"), (ecs_settings.TASK_START_ENV, "-1"),
                      (ecs_settings.TASK_RUN_ENV, "soon"), (ecs_settings.TASK_RUN_ENV, "nan"),
                      (ecs_settings.TASK_DRAIN_ENV, "-1"), (ecs_settings.TASK_DRAIN_ENV, "inf"),
                      (ecs_settings.TASK_DRAIN_ENV, "30s")]:
        with pytest.raises(ValueError, match=name):
            ecs_settings.settings({name: bad})


def test_deployment_configuration_merges_named_fields():
    merged = model.merge_configuration(model.DEFAULT_DEPLOYMENT_CONFIGURATION, {"maximumPercent": 150})
    assert merged == {"deploymentCircuitBreaker": {"enable": False, "rollback": False},
                      "maximumPercent": 150, "minimumHealthyPercent": 100}


# -- the scheduler --------------------------------------------------------------------------

def test_first_deployment_starts_pending_then_runs_then_completes():
    s = scheduler()
    svc = service()
    s.deploy(svc, TD1, 2, None, {}, 0.0, deployment_id="ecs-svc/first")
    assert counts(svc) == [("PRIMARY", TD1, 0, 0, 0, IN_PROGRESS)]
    assert svc.primary.reason == "ECS deployment ecs-svc/first in progress."
    s.advance(svc, 0.99)
    assert counts(svc) == [("PRIMARY", TD1, 0, 0, 0, IN_PROGRESS)] and svc.events == []
    s.advance(svc, 1.0)
    assert counts(svc) == [("PRIMARY", TD1, 0, 2, 0, IN_PROGRESS)]
    assert messages(svc) == ["(service web) has started 2 tasks: (task t1) (task t2)."]
    s.advance(svc, 2.5)
    assert counts(svc) == [("PRIMARY", TD1, 2, 0, 0, COMPLETED)]
    assert svc.primary.reason == "ECS deployment ecs-svc/first completed."
    assert messages(svc)[:2] == ["(service web) has reached a steady state.",
                                 "(service web) (deployment ecs-svc/first) deployment completed."]
    assert [e["createdAt"] for e in svc.events] == [2.0, 2.0, 1.0]
    assert svc.next_tick is None  # steady: nothing more to compute


def test_the_outcome_depends_only_on_the_times():
    a, b = completed_service(scheduler()), service()
    s = scheduler()
    s.deploy(b, TD1, 2, None, {}, 0.0, deployment_id="ecs-svc/first")
    for now in (0.3, 1.2, 1.7, 2.0):  # looked at more often: same result
        s.advance(b, now)
    assert counts(a) == counts(b) and messages(a) == messages(b)


def test_rolling_update_with_100_200_replaces_then_drains():
    s = scheduler()
    svc = completed_service(s)
    s.deploy(svc, TD2, 2, None, {}, 10.0)
    assert counts(svc) == [("PRIMARY", TD2, 0, 0, 0, IN_PROGRESS),
                           ("ACTIVE", TD1, 2, 0, 0, COMPLETED)]
    s.advance(svc, 11.0)  # up to 200%: two new tasks start, no old one stops
    assert counts(svc) == [("PRIMARY", TD2, 0, 2, 0, IN_PROGRESS),
                           ("ACTIVE", TD1, 2, 0, 0, COMPLETED)]
    s.advance(svc, 12.0)  # new ones run: the old ones stop, the deployment completes
    assert counts(svc) == [("PRIMARY", TD2, 2, 0, 0, COMPLETED)]
    assert messages(svc)[2].startswith("(service web) has stopped 2 running tasks: (task t")


def test_rolling_update_with_50_100_keeps_half_and_never_exceeds_the_count():
    s = scheduler()
    svc = completed_service(s, desired=4, minimum=50, maximum=100)
    s.deploy(svc, TD2, 4, None, {}, 10.0)
    seen = []
    for now in range(11, 20):
        s.advance(svc, float(now))
        running = sum(len(d.running) for d in svc.deployments)
        total = sum(len(d.tasks) for d in svc.deployments)
        seen.append((running, total))
        assert running >= 2 and total <= 4
    assert counts(svc) == [("PRIMARY", TD2, 4, 0, 0, COMPLETED)]


def test_desired_count_change_follows_without_a_new_deployment():
    s = scheduler()
    svc = completed_service(s)
    first = svc.primary.id
    s.scale(svc, 3, 10.0)
    assert [d.id for d in svc.deployments] == [first] and svc.primary.desired == 3
    s.advance(svc, 12.0)
    assert counts(svc) == [("PRIMARY", TD1, 3, 0, 0, COMPLETED)]
    assert messages(svc)[:2] == ["(service web) has reached a steady state.",
                                 "(service web) has started 1 tasks: (task t3)."]
    s.scale(svc, 1, 20.0)
    s.advance(svc, 21.0)
    assert counts(svc) == [("PRIMARY", TD1, 1, 0, 0, COMPLETED)]
    assert messages(svc)[1].startswith("(service web) has stopped 2 running tasks:")
    stopped = svc.stopped[0]
    assert (stopped.stop_code, stopped.stopped_reason) == (
        "ServiceSchedulerInitiated", f"Scaling activity initiated by (deployment {first})")


def test_failing_image_trips_the_breaker_and_rolls_back():
    s = scheduler()
    svc = completed_service(s, breaker={"enable": True, "rollback": True})
    good = svc.primary.id
    bad = s.deploy(svc, TD2, 2, "acme/web:fail", {}, 10.0)
    s.advance(svc, 12.0)  # two started at 11, both failed at 12 (2 < 3), two more started
    assert counts(svc)[0] == ("PRIMARY", TD2, 0, 2, 2, IN_PROGRESS)
    s.advance(svc, 13.0)  # 4 failures >= 3: FAILED, rolled back
    assert counts(svc) == [("PRIMARY", TD1, 0, 2, 0, IN_PROGRESS),
                           ("ACTIVE", TD2, 0, 0, 4, FAILED),
                           ("ACTIVE", TD1, 2, 0, 0, COMPLETED)]
    assert bad.reason == "ECS deployment circuit breaker: tasks failed to start."
    assert svc.primary.reason == f"ECS deployment circuit breaker: rolling back to deploymentId {good}."
    assert messages(svc)[1:3] == [f"(service web) rolling back to deployment {good}.",
                                  f"(service web) (deployment {bad.id}) deployment failed: "
                                  "tasks failed to start."]
    s.advance(svc, 14.0)
    assert counts(svc) == [("PRIMARY", TD1, 2, 0, 0, COMPLETED)]
    failed = [t for t in svc.stopped if t.stop_code == "TaskFailedToStart"]
    assert len(failed) == 4 and failed[0].stopped_reason.startswith("CannotPullContainerError: ")


def test_failing_image_without_rollback_stays_failed_and_primary():
    s = scheduler()
    svc = completed_service(s, breaker={"enable": True, "rollback": False})
    s.deploy(svc, TD2, 2, "acme/web:fail", {}, 10.0)
    s.advance(svc, 100.0)
    assert counts(svc) == [("PRIMARY", TD2, 0, 0, 4, FAILED), ("ACTIVE", TD1, 2, 0, 0, COMPLETED)]
    assert svc.next_tick is None
    assert not any("rolling back" in m for m in messages(svc))


def test_failing_first_deployment_has_nothing_to_roll_back_to():
    s = scheduler()
    svc = service(breaker={"enable": True, "rollback": True})
    s.deploy(svc, TD2, 1, "acme/web:fail", {}, 0.0)
    s.advance(svc, 100.0)
    assert counts(svc) == [("PRIMARY", TD2, 0, 0, 3, FAILED)]
    assert messages(svc)[0].endswith("deployment failed: tasks failed to start.")


def test_a_rollback_target_is_used_once_until_it_completes():
    s = scheduler()
    svc = completed_service(s, breaker={"enable": True, "rollback": True})
    s.deploy(svc, TD2, 2, "acme/web:fail", {}, 10.0)
    s.advance(svc, 13.0)
    assert svc.last_completed is None  # the rollback is IN_PROGRESS
    s.advance(svc, 14.0)
    assert svc.last_completed is svc.primary


def test_without_the_breaker_failures_are_throttled_up_to_27_minutes():
    # service-throttle-logic.html: "the time between subsequent restart
    # attempts is incrementally increased up to a maximum of 27 minutes".
    ids = itertools.count(1)
    s = Scheduler(STEP, new_task_id=lambda: f"t{next(ids)}",
                  new_deployment_id=lambda: f"ecs-svc/{next(ids)}", throttle_scale=1.0)
    svc = service()
    s.deploy(svc, TD2, 1, "acme/web:fail", {}, 0.0)
    s.advance(svc, 10 * 3600.0)
    assert svc.primary.rollout == IN_PROGRESS
    stops = [t.stopped_at for t in svc.stopped[::-1]]
    gaps = [b - a for a, b in zip(stops, stops[1:])]
    # Launched at one step, stopped at the next: STEP apart until the
    # third failure in a row, then 30 s doubling up to 27 minutes (+ STEP).
    assert gaps[:9] == [STEP, STEP] + [d + STEP for d in (30, 60, 120, 240, 480, 960, 1620)]
    assert set(gaps[9:]) == {1620 + STEP}
    assert messages(svc).count(
        "(service web) is unable to consistently start tasks successfully.") == 1


@pytest.mark.parametrize("failures,scale,delay", [
    (3, 1.0, 30.0), (4, 1.0, 60.0), (9, 1.0, 1620.0), (40, 1.0, 1620.0),
    (3, 1 / 30, 1.0), (9, 1 / 30, 54.0), (3, 0.01, STEP), (9, 0.01, 16.2),
])
def test_throttle_delay_doubles_up_to_27_minutes_times_the_scale(failures, scale, delay):
    assert model.throttle_delay(failures, scale, STEP) == pytest.approx(delay)


def test_the_throttle_scale_setting():
    assert ecs_settings.settings({}).throttle_scale == pytest.approx(1 / 30)
    assert ecs_settings.settings({ecs_settings.THROTTLE_SCALE_ENV: "0.01"}).throttle_scale == 0.01
    for bad in ("0", "-1", "x", "nan", "inf"):
        with pytest.raises(ValueError, match=ecs_settings.THROTTLE_SCALE_ENV):
            ecs_settings.settings({ecs_settings.THROTTLE_SCALE_ENV: bad})


def test_a_configuration_that_allows_no_progress_stalls_with_ecs_event():
    s = scheduler()
    svc = completed_service(s, minimum=100, maximum=100)
    s.deploy(svc, TD2, 2, None, {}, 10.0)
    s.advance(svc, 20.0)
    assert counts(svc)[0] == ("PRIMARY", TD2, 0, 0, 0, IN_PROGRESS)
    assert messages(svc)[0] == (
        "(service web) was unable to stop or start tasks during a deployment because of the "
        "service deployment configuration. Update the minimumHealthyPercent or maximumPercent "
        "value and try again.")
    assert svc.next_tick is None


def test_events_keep_the_newest_100():
    s = scheduler()
    svc = service()
    s.deploy(svc, TD2, 1, "acme/web:fail", {}, 0.0)
    svc.configuration["deploymentCircuitBreaker"] = {"enable": False, "rollback": False}
    s.advance(svc, 30 * 24 * 3600.0)
    assert len(svc.events) == model.EVENTS_KEPT
    times = [e["createdAt"] for e in svc.events]
    assert times == sorted(times, reverse=True)
    assert len({e["id"] for e in svc.events}) == model.EVENTS_KEPT


def test_delete_drains_the_service_for_one_step_then_it_is_inactive():
    # API_DeleteService: ACTIVE -> DRAINING while tasks stop -> INACTIVE.
    s = scheduler()
    svc = completed_service(s)
    s.delete(svc, 10.0)
    assert svc.status == "DRAINING"
    assert counts(svc) == [("PRIMARY", TD1, 2, 0, 0, COMPLETED)]
    assert messages(svc)[0] == "(service web) has begun draining connections on 2 tasks."
    assert all(t.desired_status == "STOPPED" for t in svc.primary.tasks)
    s.advance(svc, 10.0 + STEP - 0.01)
    assert svc.status == "DRAINING"
    s.advance(svc, 10.0 + STEP)
    assert svc.status == "INACTIVE"
    assert counts(svc) == [("PRIMARY", TD1, 0, 0, 0, COMPLETED)]
    assert messages(svc)[0] == "(service web) has stopped 2 running tasks: (task t1) (task t2)."
    s.advance(svc, 100.0)
    assert len(svc.events) == 5


def test_delete_stops_pending_tasks_at_once_and_without_tasks_is_inactive_at_once():
    s = scheduler()
    svc = service()
    s.deploy(svc, TD1, 2, None, {}, 0.0)
    s.advance(svc, STEP)  # launched, pending
    s.delete(svc, STEP + 0.1)
    assert svc.status == "INACTIVE"
    assert messages(svc)[0].startswith("(service web) has stopped 2 running tasks: (task t")


def test_stop_task_on_a_service_task_gets_it_replaced():
    s = scheduler()
    svc = completed_service(s)
    task = svc.primary.tasks[0]
    s.stop_task(svc, task, "Task stopped by user", 10.0)
    assert (task.last_status, task.stop_code) == ("STOPPED", "UserInitiated")
    s.advance(svc, 12.0)
    assert counts(svc) == [("PRIMARY", TD1, 2, 0, 0, COMPLETED)]
    assert messages(svc)[0] == "(service web) has reached a steady state."


# -- draining (FERRY_EMULATOR_TASK_DRAIN_SECONDS) ----------------------------------------------

DRAIN = 5.0


def draining_scheduler() -> Scheduler:
    ids = itertools.count(1)
    return Scheduler(STEP, new_task_id=lambda: f"t{next(ids)}",
                     new_deployment_id=lambda: f"ecs-svc/{next(ids)}", drain=DRAIN)


def test_old_tasks_drain_before_they_stop_and_the_rollout_waits_for_them():
    s = draining_scheduler()
    svc = completed_service(s)  # a first deployment has nothing to drain
    old = list(svc.primary.tasks)
    s.deploy(svc, TD2, 2, None, {}, 10.0)
    s.advance(svc, 11.0)
    assert counts(svc) == [("PRIMARY", TD2, 0, 2, 0, IN_PROGRESS),
                           ("ACTIVE", TD1, 2, 0, 0, COMPLETED)]
    s.advance(svc, 12.0)  # new ones run: the old ones begin draining, still RUNNING
    assert counts(svc) == [("PRIMARY", TD2, 2, 0, 0, IN_PROGRESS),
                           ("ACTIVE", TD1, 2, 0, 0, COMPLETED)]
    assert messages(svc)[0] == "(service web) has begun draining connections on 2 tasks."
    for task in old:
        assert (task.last_status, task.desired_status, task.stopping_at, task.stopped_at,
                task.stop_code) == ("RUNNING", "STOPPED", 12.0, None, "ServiceSchedulerInitiated")
    s.advance(svc, 12.0 + DRAIN - 0.01)
    assert svc.primary.rollout == IN_PROGRESS and len(svc.deployments) == 2
    s.advance(svc, 12.0 + DRAIN)  # drained: STOPPED, and the rollout completes at that time
    assert counts(svc) == [("PRIMARY", TD2, 2, 0, 0, COMPLETED)]
    assert messages(svc)[:3] == [
        "(service web) has reached a steady state.",
        f"(service web) (deployment {svc.primary.id}) deployment completed.",
        "(service web) has stopped 2 running tasks: (task t1) (task t2)."]
    assert [e["createdAt"] for e in svc.events[:3]] == [17.0, 17.0, 17.0]
    assert [(t.last_status, t.stopping_at, t.stopped_at) for t in old] == [("STOPPED", 12.0, 17.0)] * 2
    assert svc.stopped[:2] == old[::-1] or svc.stopped[:2] == old


def test_draining_tasks_do_not_count_as_healthy():
    s = draining_scheduler()
    svc = completed_service(s, desired=4, minimum=50, maximum=100)
    s.deploy(svc, TD2, 4, None, {}, 10.0)
    now = 10.0
    while svc.primary.rollout == IN_PROGRESS and now < 100.0:
        now += 0.25
        s.advance(svc, now)
        healthy = sum(len(d.healthy) for d in svc.deployments)
        total = sum(len(d.tasks) for d in svc.deployments)
        assert healthy >= 2 and total <= 4, (now, counts(svc))
    assert counts(svc) == [("PRIMARY", TD2, 4, 0, 0, COMPLETED)]
    # Two old tasks drain (5 s) before two new ones may start, twice over.
    assert now > 10.0 + 2 * DRAIN


def test_without_a_drain_time_nothing_drains():
    plain, explicit = scheduler(), Scheduler(STEP, drain=0.0)
    a, b = completed_service(plain), completed_service(explicit)
    for s, svc in ((plain, a), (explicit, b)):
        s.deploy(svc, TD2, 2, None, {}, 10.0)
        s.advance(svc, 12.0)
    assert counts(a) == counts(b) == [("PRIMARY", TD2, 2, 0, 0, COMPLETED)]
    assert not any("draining" in m for m in messages(a) + messages(b))


def test_stop_task_does_not_wait_for_a_drain_and_delete_waits_for_it():
    s = draining_scheduler()
    svc = completed_service(s)
    s.deploy(svc, TD2, 2, None, {}, 10.0)
    s.advance(svc, 12.0)
    draining = list(svc.deployments[1].tasks)
    s.stop_task(svc, draining[0], "bye", 13.0)
    assert (draining[0].last_status, draining[0].stop_code) == ("STOPPED", "UserInitiated")
    s.delete(svc, 14.0)
    assert svc.status == "DRAINING"
    assert draining[1].last_status == "RUNNING"  # its own drain, begun at 10.3, goes on
    s.advance(svc, 14.0 + DRAIN)
    assert svc.status == "INACTIVE"
    assert draining[1].last_status == "STOPPED"
    assert all(t.stopped_at == 14.0 + DRAIN for t in svc.stopped if t.stopping_at == 14.0)
    s.advance(svc, 100.0)
    assert not any(d.tasks for d in svc.deployments)


def test_draining_tasks_through_the_handlers():
    clock = [100.0]
    emu = DeploymentEmulation(Settings(1.0, 1.0, DRAIN), clock=lambda: clock[0],
                              find_service=lambda arn, cluster: MotoServiceObject(),
                              find_task_definition=lambda arn: None, scheduler=draining_scheduler())
    moto = FakeMoto()
    emu.create_service(ecs_request("CreateService", {
        "cluster": "c", "serviceName": "web", "taskDefinition": TD1, "desiredCount": 2}), moto)
    clock[0] = 102.0
    emu.update_service(ecs_request("UpdateService", {"service": "web", "taskDefinition": TD2}),
                       moto)
    clock[0] = 104.5  # new tasks RUNNING since 104, old ones draining since 104

    def describe():
        return emu.describe_services(ecs_request("DescribeServices", {"services": ["web"]}),
                                     moto).json()["services"][0]

    def listed(status):
        return emu.list_tasks(ecs_request("ListTasks", {
            "cluster": "c", "serviceName": "web", "desiredStatus": status}), moto).json()["taskArns"]

    def tasks(arns):
        return emu.describe_tasks(ecs_request("DescribeTasks", {"cluster": "c", "tasks": arns}),
                                  moto).json()["tasks"]

    service = describe()
    assert [(d["taskDefinition"], d["runningCount"], d["rolloutState"])
            for d in service["deployments"]] == [(TD2, 2, "IN_PROGRESS"), (TD1, 2, "COMPLETED")]
    assert service["runningCount"] == 4
    old = listed("STOPPED")
    assert len(old) == 2 and len(listed("RUNNING")) == 2
    for task in tasks(old):
        assert (task["lastStatus"], task["desiredStatus"], task["stoppingAt"],
                task["stopCode"]) == ("RUNNING", "STOPPED", 104.0, "ServiceSchedulerInitiated")
        assert "stoppedAt" not in task
    clock[0] = 104.0 + DRAIN
    service = describe()
    assert [(d["taskDefinition"], d["rolloutState"]) for d in service["deployments"]] == [
        (TD2, "COMPLETED")]
    for task in tasks(old):
        assert (task["lastStatus"], task["stoppingAt"], task["stoppedAt"]) == (
            "STOPPED", 104.0, 104.0 + DRAIN)


# -- one-off tasks ----------------------------------------------------------------------------

CONFIG = Settings(task_start_seconds=1.0, task_run_seconds=2.0)


def test_one_off_task_runs_then_exits_with_its_code():
    task = OneOffTask(arn="arn:task/c/x", created_at=0.0, exit_code=3)
    states = [(s.last_status, s.desired_status, s.stop_code, s.exit_code)
              for s in (model.one_off_state(task, t, CONFIG) for t in (0.0, 0.99, 1.0, 2.99, 3.0))]
    assert states == [("PENDING", "RUNNING", None, None), ("PENDING", "RUNNING", None, None),
                      ("RUNNING", "RUNNING", None, None), ("RUNNING", "RUNNING", None, None),
                      ("STOPPED", "STOPPED", "EssentialContainerExited", 3)]
    stopped = model.one_off_state(task, 3.0, CONFIG)
    assert (stopped.started_at, stopped.stopped_at) == (1.0, 3.0)
    assert stopped.stopped_reason == "Essential container in task exited"


def test_one_off_task_with_a_failing_image_never_runs():
    task = OneOffTask(arn="arn:task/c/x", created_at=0.0, failing_image="acme/web:fail")
    assert model.one_off_state(task, 0.5, CONFIG).last_status == "PENDING"
    stopped = model.one_off_state(task, 1.0, CONFIG)
    assert (stopped.last_status, stopped.stop_code, stopped.exit_code, stopped.started_at) == (
        "STOPPED", "TaskFailedToStart", None, None)
    assert stopped.container_reason.startswith("CannotPullContainerError")


def test_one_off_task_stopped_by_the_user():
    task = OneOffTask(arn="arn:task/c/x", created_at=0.0, exit_code=3, user_stop=(1.5, "bye"))
    stopped = model.one_off_state(task, 1.5, CONFIG)
    assert (stopped.last_status, stopped.stop_code, stopped.stopped_reason, stopped.exit_code) == (
        "STOPPED", "UserInitiated", "bye", None)


def test_render_one_off_rewrites_moto_fields():
    task_json = {"taskArn": "arn:task/c/x", "lastStatus": "RUNNING", "stoppedReason": "",
                 "containers": [{"name": "web", "lastStatus": "PENDING", "exitCode": 0,
                                 "taskArn": TD1}]}
    task = OneOffTask(arn="arn:task/c/x", created_at=0.0, exit_code=3)
    dep.render_one_off(task_json, task, 0.0, CONFIG)
    assert task_json["lastStatus"] == "PENDING" and "stoppedReason" not in task_json
    container = task_json["containers"][0]
    assert {k: container[k] for k in ("name", "lastStatus", "taskArn")} == {
        "name": "web", "lastStatus": "PENDING", "taskArn": "arn:task/c/x"}
    assert "exitCode" not in container
    assert container["containerArn"].startswith("arn:container/c/x/")  # not the task definition's
    assert container["healthStatus"] == "UNKNOWN" and task_json["enableExecuteCommand"] is False
    dep.render_one_off(task_json, task, 5.0, CONFIG)
    assert task_json["containers"][0]["exitCode"] == 3
    assert task_json["stoppedAt"] == task_json["stoppingAt"] == 3.0


# -- the handlers, with a fake forward -------------------------------------------------------------

def ecs_request(operation: str, params: dict) -> AwsRequest:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_TYPE": "application/x-amz-json-1.1",
               "HTTP_X_AMZ_TARGET": f"{ECS_TARGET}.{operation}", "HTTP_AUTHORIZATION": AUTH}
    return AwsRequest(environ=environ, body=json.dumps(params).encode(), service="ecs",
                      operation=operation, region="us-east-1")


class FakeMoto:
    """Answers CreateService/UpdateService/DescribeServices/DescribeTaskDefinition."""

    def __init__(self, image="acme/web:1"):
        self.calls: list[tuple[str, dict]] = []
        self.task_definition = TD1
        self.image = image
        self.created = False

    def service(self) -> dict:
        return {"serviceArn": SVC, "serviceName": "web", "clusterArn": CLUSTER, "status": "ACTIVE",
                "desiredCount": 2, "runningCount": 2, "pendingCount": 0, "launchType": "FARGATE",
                "taskDefinition": self.task_definition, "events": [],
                "deployments": [{"id": "ecs-svc/moto", "status": "PRIMARY", "launchType": "FARGATE",
                                 "platformFamily": "FARGATE", "rolloutState": "IN_PROGRESS"}]}

    def __call__(self, request: AwsRequest) -> Response:
        target = request.environ["HTTP_X_AMZ_TARGET"].rsplit(".", 1)[1]
        self.calls.append((target, request.json()))
        if target == "DescribeTaskDefinition":
            ref = request.json()["taskDefinition"]
            arn = ref if ref.startswith("arn:") else TD1.rsplit(":", 1)[0] + ":" + ref.split(":")[-1]
            return json_response(200, {"taskDefinition": {
                "taskDefinitionArn": arn, "containerDefinitions": [
                    {"name": "web", "image": self.image if arn == TD2 else "acme/web:1"}]}})
        if target == "UpdateService" and "taskDefinition" in request.json():
            self.task_definition = request.json()["taskDefinition"]
        if target == "DescribeServices":  # ecs_idempotency asks before CreateService
            if not self.created:
                return json_response(200, {"services": [], "failures": [
                    {"arn": SVC, "reason": "MISSING"}]})
            return json_response(200, {"services": [self.service()], "failures": []})
        self.created = True
        return json_response(200, {"service": self.service()})


class MotoServiceObject:
    task_definition = TD1


def emulation(clock):
    moto_obj = MotoServiceObject()
    emu = DeploymentEmulation(Settings(1.0, 1.0), clock=lambda: clock[0],
                              find_service=lambda arn, cluster: moto_obj,
                              find_task_definition=lambda arn: None, scheduler=scheduler())
    return emu, moto_obj


def test_create_service_keeps_the_deployment_configuration_and_moto_deployment_id():
    clock = [100.0]
    emu, _ = emulation(clock)
    moto = FakeMoto()
    config = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 150}
    created = emu.create_service(ecs_request("CreateService", {
        "cluster": "c", "serviceName": "web", "taskDefinition": TD1, "desiredCount": 2,
        "deploymentConfiguration": config}), moto).json()["service"]
    assert created["deploymentConfiguration"] == {**config, "minimumHealthyPercent": 100}
    (deployment,) = created["deployments"]
    assert (deployment["id"], deployment["status"], deployment["rolloutState"]) == (
        "ecs-svc/moto", "PRIMARY", "IN_PROGRESS")
    assert (deployment["desiredCount"], deployment["runningCount"], deployment["pendingCount"],
            deployment["launchType"]) == (2, 0, 0, "FARGATE")
    assert (created["runningCount"], created["pendingCount"], created["events"]) == (0, 0, [])
    clock[0] = 102.0
    described = emu.describe_services(ecs_request("DescribeServices", {"services": ["web"]}),
                                      moto).json()["services"][0]
    assert described["deployments"][0]["rolloutState"] == "COMPLETED"
    assert described["runningCount"] == 2


def test_update_service_resolves_family_revision_and_writes_it_to_moto():
    clock = [100.0]
    emu, moto_obj = emulation(clock)
    moto = FakeMoto()
    emu.create_service(ecs_request("CreateService", {"serviceName": "web", "taskDefinition": TD1}),
                       moto)
    updated = emu.update_service(ecs_request("UpdateService", {
        "service": "web", "taskDefinition": "web:2"}), moto).json()["service"]
    assert updated["taskDefinition"] == TD2 and moto_obj.task_definition == TD2
    assert [d["taskDefinition"] for d in updated["deployments"]] == [TD2, TD1]
    assert ("DescribeTaskDefinition", {"taskDefinition": "web:2"}) in moto.calls


def test_update_service_desired_count_only_keeps_the_deployment():
    clock = [100.0]
    emu, _ = emulation(clock)
    moto = FakeMoto()
    emu.create_service(ecs_request("CreateService", {"serviceName": "web", "taskDefinition": TD1}),
                       moto)
    updated = emu.update_service(ecs_request("UpdateService", {"service": "web", "desiredCount": 2}),
                                 moto).json()["service"]
    assert [d["id"] for d in updated["deployments"]] == ["ecs-svc/moto"]
    forced = emu.update_service(ecs_request("UpdateService", {
        "service": "web", "forceNewDeployment": True}), moto).json()["service"]
    assert len(forced["deployments"]) == 2
    assert forced["deployments"][0]["taskDefinition"] == forced["deployments"][1]["taskDefinition"]


def test_rollback_writes_the_task_definition_to_moto():
    clock = [100.0]
    emu, moto_obj = emulation(clock)
    moto = FakeMoto(image="acme/web:fail")
    emu.create_service(ecs_request("CreateService", {
        "serviceName": "web", "taskDefinition": TD1,
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}}),
        moto)
    clock[0] = 103.0
    emu.update_service(ecs_request("UpdateService", {"service": "web", "taskDefinition": TD2}), moto)
    assert moto_obj.task_definition == TD1  # not touched: moto took TD2 itself
    moto_obj.task_definition = TD2
    clock[0] = 106.0
    described = emu.describe_services(ecs_request("DescribeServices", {"services": ["web"]}),
                                      moto).json()["services"][0]
    assert described["taskDefinition"] == TD1 and moto_obj.task_definition == TD1
    assert described["deployments"][1]["rolloutState"] == "FAILED"


def test_a_stopped_one_off_task_is_listed_for_an_hour():
    # stopped-task-errors.html: stopped tasks appear "for at least 1 hour";
    # moto keeps listing them for ever.
    clock = [10.0]
    emu, _ = emulation(clock)
    arn = "arn:aws:ecs:us-east-1:123456789012:task/c/0123abcd"
    emu.one_offs[arn] = OneOffTask(arn=arn, created_at=0.0)  # STOPPED at 2.0

    def listed() -> list[str]:
        return emu.list_tasks(ecs_request("ListTasks", {"cluster": "c", "desiredStatus": "STOPPED"}),
                              lambda r: json_response(200, {"taskArns": [arn]})).json()["taskArns"]

    assert listed() == [arn]
    clock[0] = 2.0 + 3599.0
    assert listed() == [arn]
    clock[0] = 2.0 + 3600.0
    assert listed() == []


def test_errors_and_unknown_services_pass_through_untouched():
    emu, _ = emulation([0.0])
    error = Response(400, [("Content-Type", "application/x-amz-json-1.1")],
                     b'{"__type": "ClusterNotFoundException", "message": "Cluster not found."}')
    for handler, op in [(emu.create_service, "CreateService"), (emu.update_service, "UpdateService"),
                        (emu.describe_services, "DescribeServices"), (emu.list_tasks, "ListTasks"),
                        (emu.run_task, "RunTask")]:
        assert handler(ecs_request(op, {}), lambda r: error) is error
    odd = json_response(200, {"echo": {}})
    assert emu.describe_services(ecs_request("DescribeServices", {}), lambda r: odd) is odd


class MotoTaskDefinition:
    def __init__(self):
        self.container_definitions = [{"name": "web", "image": "acme/web:1"},
                                      {"name": "side", "image": "x", "memory": 64}]


def test_run_task_lends_memory_to_moto_only_while_it_runs_the_task():
    moto_td = MotoTaskDefinition()
    emu = DeploymentEmulation(Settings(1.0, 1.0), clock=lambda: 0.0,
                              find_task_definition=lambda arn: moto_td)
    seen = []

    def forward(request):
        target = request.environ["HTTP_X_AMZ_TARGET"].rsplit(".", 1)[1]
        if target == "DescribeTaskDefinition":
            return json_response(200, {"taskDefinition": {
                "taskDefinitionArn": TD1, "containerDefinitions": moto_td.container_definitions}})
        seen.append([dict(c) for c in moto_td.container_definitions])
        return json_response(200, {"tasks": [{"taskArn": "arn:task/c/x", "lastStatus": "RUNNING",
                                              "containers": [{"name": "web", "exitCode": 0}]}],
                                   "failures": []})

    response = emu.run_task(ecs_request("RunTask", {"taskDefinition": "web:1"}), forward).json()
    assert seen == [[{"name": "web", "image": "acme/web:1", "memoryReservation": 0},
                     {"name": "side", "image": "x", "memory": 64}]]
    assert moto_td.container_definitions[0] == {"name": "web", "image": "acme/web:1"}
    assert response["tasks"][0]["lastStatus"] == "PENDING"
    assert "exitCode" not in response["tasks"][0]["containers"][0]


def test_the_layer_logs_one_line_per_client_request():
    import io

    log = io.StringIO()
    moto = FakeMoto()

    def fake_moto_app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        target = environ["HTTP_X_AMZ_TARGET"].rsplit(".", 1)[1]
        answer = moto(AwsRequest(environ=environ, body=body, service="ecs", operation=target))
        start_response(f"{answer.status} OK", answer.headers)
        return [answer.body]

    def call(app, operation, params):
        body = json.dumps(params).encode()
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_LENGTH": str(len(body)),
                   "CONTENT_TYPE": "application/x-amz-json-1.1", "wsgi.input": io.BytesIO(body),
                   "HTTP_X_AMZ_TARGET": f"{ECS_TARGET}.{operation}", "HTTP_AUTHORIZATION": AUTH}
        return json.loads(b"".join(app(environ, lambda s, h, e=None: None)))

    app = build(fake_moto_app, log)
    call(app, "CreateService", {"serviceName": "web", "taskDefinition": TD1, "desiredCount": 2})
    updated = call(app, "UpdateService", {"service": "web", "taskDefinition": "web:2"})
    assert updated["service"]["taskDefinition"] == TD2
    # ecs_idempotency's DescribeServices before CreateService is internal too.
    assert [c[0] for c in moto.calls] == ["DescribeServices", "CreateService",
                                          "DescribeTaskDefinition", "UpdateService",
                                          "DescribeTaskDefinition"]
    records = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [(r["service"], r["operation"]) for r in records] == [("ecs", "CreateService"),
                                                                 ("ecs", "UpdateService")]


# -- target health (services with loadBalancers) -------------------------------------------

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"


def test_behind_a_load_balancer_tasks_count_only_once_healthy():
    from ferry_emulation import targets

    # No such group in moto: AWS's defaults, 30 s x 5 checks, x 0.01 = 1.5 s; delay 300 s -> 3 s.
    registry = targets.Registry(0.01)
    ids = itertools.count(1)
    s = Scheduler(STEP, new_task_id=lambda: f"{next(ids):06x}",
                  new_deployment_id=lambda: f"ecs-svc/{next(ids)}", registry=registry)
    svc = service()
    links = [{"targetGroupArn": TG, "containerName": "app", "containerPort": 8080}]
    s.deploy(svc, TD1, 2, None, {}, 0.0, deployment_id="ecs-svc/first", load_balancers=links)
    s.advance(svc, 2 * STEP)  # launched at 1, RUNNING at 2, initial until 3.5
    assert [state for _, (state, _, _) in registry.describe(TG, 2.0)] == ["initial", "initial"]
    assert svc.primary.rollout == IN_PROGRESS
    s.advance(svc, 3 * STEP)
    assert svc.primary.rollout == IN_PROGRESS
    s.advance(svc, 4 * STEP)
    assert svc.primary.rollout == COMPLETED
    old_ips = {t.ip for t, _ in registry.describe(TG, 4.0)}
    assert len(old_ips) == 2 and all(ip.startswith("10.") for ip in old_ips)

    s.deploy(svc, TD2, 2, None, {}, 4.0, load_balancers=links)
    s.advance(svc, 7 * STEP)  # new tasks RUNNING at 6, healthy at 7.5: old ones stay (min 100%)
    assert counts(svc) == [("PRIMARY", TD2, 2, 0, 0, IN_PROGRESS),
                           ("ACTIVE", TD1, 2, 0, 0, COMPLETED)]
    s.advance(svc, 8 * STEP)
    assert counts(svc) == [("PRIMARY", TD2, 2, 0, 0, COMPLETED)]
    states = {t.ip: state for t, (state, _, _) in registry.describe(TG, 8.0)}
    assert {states[ip] for ip in old_ips} == {"draining"}
    assert sorted(states.values()) == ["draining", "draining", "healthy", "healthy"]
    assert [state for _, (state, _, _) in registry.describe(TG, 11.0)] == ["healthy", "healthy"]


def test_unhealthy_tag_convention():
    assert conv.image_unhealthy("acme/web:unhealthy-x") and not conv.image_unhealthy("acme/web:1")
    assert not conv.image_unhealthy("acme/unhealthy:1")
