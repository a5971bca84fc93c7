"""The ECS scheduler under a blue/green, canary or linear run (ecs_model with
ecs_strategies): blue keeps running until CLEAN_UP; a rollback makes it PRIMARY again."""

from __future__ import annotations

import itertools

from ferry_emulation import ecs_model as model
from ferry_emulation import ecs_strategies as strat
from ferry_emulation.ecs_model import COMPLETED, FAILED, IN_PROGRESS, Scheduler, ServiceState

TD1 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
TD2 = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
SVC = "arn:aws:ecs:us-east-1:123456789012:service/c/web"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/c"
SD = "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/web/2"


def started() -> tuple[Scheduler, ServiceState]:
    ids = itertools.count(1)
    s = Scheduler(1.0, new_task_id=lambda: f"t{next(ids)}",
                  new_deployment_id=lambda: f"ecs-svc/{next(ids)}")
    svc = ServiceState(name="web", arn=SVC, cluster_arn=CLUSTER,
                       configuration=model.merge_configuration(
                           model.DEFAULT_DEPLOYMENT_CONFIGURATION,
                           {"maximumPercent": 150, "deploymentCircuitBreaker":
                            {"enable": True, "rollback": True}}))
    s.deploy(svc, TD1, 2, None, {}, 0.0, deployment_id="ecs-svc/blue")
    s.advance(svc, 2.0)
    assert svc.primary.rollout == COMPLETED
    return s, svc


def blue_green(s: Scheduler, svc: ServiceState, at: float, failing: str | None = None):
    run = strat.Run(SD, strat.strategy_of({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}),
                    created_at=at, scale=0.05)
    return s.deploy(svc, TD2, 2, failing, {}, at, run=run)


def shape(svc: ServiceState):
    return [(d.status, d.task_definition, len(d.running), len(d.pending), d.rollout)
            for d in svc.deployments]


def test_blue_keeps_running_through_the_bake_then_stops():
    s, svc = started()
    green = blue_green(s, svc, 10.0)
    s.advance(svc, 11.0)  # all of green at once, beyond maximumPercent
    assert shape(svc) == [("PRIMARY", TD2, 0, 2, IN_PROGRESS), ("ACTIVE", TD1, 2, 0, COMPLETED)]
    s.advance(svc, 12.0)
    assert green.run.scaled_up_at == 12.0
    s.advance(svc, 14.9)  # baking (3 s): both revisions running, no stall event
    assert shape(svc) == [("PRIMARY", TD2, 2, 0, IN_PROGRESS), ("ACTIVE", TD1, 2, 0, COMPLETED)]
    assert not any("unable to stop or start" in e["message"] for e in svc.events)
    s.advance(svc, 15.0)
    assert shape(svc) == [("PRIMARY", TD2, 2, 0, COMPLETED)]
    assert green.finished_at == 15.0


def test_an_alarm_rollback_makes_blue_primary_again():
    s, svc = started()
    green = blue_green(s, svc, 10.0)
    s.advance(svc, 13.0)
    assert green.run.start_rollback(13.0, "alarm web-5xx", ("web-5xx",))
    s.advance(svc, 13.0)
    assert shape(svc) == [("PRIMARY", TD1, 2, 0, COMPLETED)]
    assert green.rollout == FAILED and not green.tasks
    assert svc.events[0]["message"] == "(service web) rolling back to deployment ecs-svc/blue."
    assert green.run.view(14.0).status == "ROLLBACK_SUCCESSFUL"


def test_the_circuit_breaker_rolls_a_run_back():
    s, svc = started()
    green = blue_green(s, svc, 10.0, failing="web:fail")
    s.advance(svc, 30.0)
    assert shape(svc) == [("PRIMARY", TD1, 2, 0, COMPLETED)]
    assert green.run.view(30.0).rollback_reason == "ECS deployment circuit breaker: tasks failed to start."
