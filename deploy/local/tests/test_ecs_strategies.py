"""ECS's blue/green, canary and linear service deployments over time
(ferry_emulation.ecs_strategies), on a fake clock: every stage with its weights."""

from __future__ import annotations

import pytest

from ferry_emulation import ecs_settings
from ferry_emulation import ecs_strategies as strat
from ferry_emulation.ecs_strategies import Refused, Run

ARN = "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/web/abc"
SCALE = 0.05  # a minute is 3 s


def run(configuration, scaled_up_at=2.0, **kwargs) -> Run:
    return Run(ARN, strat.strategy_of(configuration), created_at=0.0, scale=SCALE,
               scaled_up_at=scaled_up_at, **kwargs)


def at(r: Run, now: float):
    v = r.view(now)
    return v.status, v.stage, v.production, v.test


def test_blue_green_stages_and_weights():
    r = run({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2}, scaled_up_at=None)
    assert at(r, 0.0) == ("IN_PROGRESS", "SCALE_UP", 0.0, 0.0)
    assert at(r, 5.0) == ("IN_PROGRESS", "SCALE_UP", 0.0, 0.0)  # tasks not healthy yet
    r.scaled_up_at = 2.0
    # Every stage without a timer lasts no time: production 100 at once, then the bake.
    assert at(r, 2.0) == ("IN_PROGRESS", "BAKE_TIME", 100.0, 100.0)
    assert at(r, 7.9) == ("IN_PROGRESS", "BAKE_TIME", 100.0, 100.0)
    v = r.view(8.0)  # 2 minutes x 3 s
    assert (v.status, v.stage, v.finished_at, v.cleaned_up) == ("SUCCESSFUL", "CLEAN_UP", 8.0, True)


def test_the_timeline_passes_every_stage_in_order():
    r = run({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}, reconcile=True)
    segments, finished, _ = r.timeline(100.0)
    assert [s.stage for s in segments] == [
        "RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
        "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]
    weights = {s.stage: (s.production, s.test) for s in segments}
    assert weights["SCALE_UP"] == (0.0, 0.0)
    assert weights["TEST_TRAFFIC_SHIFT"] == (0.0, 100.0)
    assert weights["PRE_PRODUCTION_TRAFFIC_SHIFT"] == (0.0, 100.0)
    assert weights["PRODUCTION_TRAFFIC_SHIFT"] == (100.0, 100.0)
    assert finished == 5.0


def test_canary_shifts_its_percent_then_bakes_then_the_rest():
    r = run({"strategy": "CANARY", "bakeTimeInMinutes": 1,
             "canaryConfiguration": {"canaryPercent": 12.5, "canaryBakeTimeInMinutes": 2}})
    assert at(r, 2.0) == ("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 12.5, 100.0)
    assert at(r, 7.9) == ("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 12.5, 100.0)
    assert at(r, 8.0) == ("IN_PROGRESS", "BAKE_TIME", 100.0, 100.0)
    assert r.view(11.0).status == "SUCCESSFUL"


def test_canary_defaults_are_ecs_s():
    s = strat.strategy_of({"strategy": "CANARY"})
    assert (s.production_steps, s.step_bake_minutes, s.bake_minutes) == ((5.0, 100.0), 10.0, 0.0)


def test_linear_steps_with_a_bake_between_and_hooks_before_each():
    r = run({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 30,
                                                           "stepBakeTimeInMinutes": 1}})
    assert strat.linear_steps(30) == (30.0, 60.0, 90.0, 100.0)
    assert at(r, 2.0)[2] == 30.0
    assert at(r, 5.0)[2] == 60.0
    assert at(r, 8.0)[2] == 90.0
    assert at(r, 11.0) == ("SUCCESSFUL", "CLEAN_UP", 100.0, 100.0)
    hooked = run({"strategy": "LINEAR",
                  "linearConfiguration": {"stepPercent": 50, "stepBakeTimeInMinutes": 1},
                  "lifecycleHooks": [{"targetType": "PAUSE",
                                      "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"]}]})
    first = hooked.view(2.0).awaiting
    assert (first.stage, first.production) == ("PRE_PRODUCTION_TRAFFIC_SHIFT", 0.0)
    hooked.decide(first.hook_id, "CONTINUE", 4.0)
    second = hooked.view(7.0).awaiting  # after the 3 s step bake at 50 %
    assert (second.stage, second.production) == ("PRE_PRODUCTION_TRAFFIC_SHIFT", 50.0)
    assert second.hook_id != first.hook_id
    hooked.decide(second.hook_id, "CONTINUE", 9.0)
    assert hooked.view(9.0).status == "SUCCESSFUL"


def test_a_hook_waits_then_continue_goes_on():
    r = run({"strategy": "BLUE_GREEN", "lifecycleHooks": [{
        "targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        "timeoutConfiguration": {"timeoutInMinutes": 10, "action": "ROLLBACK"}}]})
    v = r.view(20.0)
    assert (v.status, v.stage, v.production, v.test) == ("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT",
                                                         0.0, 100.0)
    assert v.awaiting is not None and v.awaiting.expires_at == 2.0 + 30.0
    with pytest.raises(Refused):
        r.decide("not-a-hook", "CONTINUE", 20.0)
    r.decide(v.awaiting.hook_id, "CONTINUE", 20.0)
    assert r.view(20.0).status == "SUCCESSFUL"
    with pytest.raises(Refused):  # no longer awaiting action
        r.decide(v.awaiting.hook_id, "CONTINUE", 21.0)


def test_a_hook_rollback_rolls_back():
    r = run({"strategy": "BLUE_GREEN", "lifecycleHooks": [{
        "targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}]})
    hook = r.view(3.0).awaiting
    r.decide(hook.hook_id, "ROLLBACK", 3.0)
    v = r.view(3.5)
    assert (v.status, v.production, v.test, v.rollback_at) == ("ROLLBACK_IN_PROGRESS", 0.0, 0.0, 3.0)
    v = r.view(4.0)
    assert (v.status, v.finished_at, v.rollback_reason) == (
        "ROLLBACK_SUCCESSFUL", 4.0, "Lifecycle hook requested rollback")


@pytest.mark.parametrize("action,status", [("ROLLBACK", "ROLLBACK_SUCCESSFUL"),
                                           ("CONTINUE", "SUCCESSFUL")])
def test_a_hook_timeout_takes_its_action(action, status):
    r = run({"strategy": "BLUE_GREEN", "lifecycleHooks": [{
        "targetType": "PAUSE", "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"],
        "timeoutConfiguration": {"timeoutInMinutes": 1, "action": action}}]})
    assert r.view(4.9).awaiting is not None
    v = r.view(6.0)  # 2 + 3 s timeout + the rollback's 1 s
    assert v.status == status
    assert len(v.timed_out) == 1


def test_an_alarm_during_the_bake_rolls_back():
    r = run({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5,
             "alarms": {"alarmNames": ["web-5xx"], "enable": True, "rollback": True}})
    assert r.strategy.rollback_alarms == ("web-5xx",)
    assert at(r, 4.0) == ("IN_PROGRESS", "BAKE_TIME", 100.0, 100.0)
    assert r.start_rollback(4.0, "Alarm web-5xx in ALARM state", ("web-5xx",))
    assert not r.start_rollback(4.5, "again")  # the first cause wins
    assert at(r, 4.5) == ("ROLLBACK_IN_PROGRESS", "BAKE_TIME", 0.0, 0.0)
    assert r.view(5.0).status == "ROLLBACK_SUCCESSFUL"
    assert not r.start_rollback(100.0, "late")


def test_alarms_without_rollback_are_not_watched():
    s = strat.strategy_of({"alarms": {"alarmNames": ["a"], "enable": True, "rollback": False}})
    assert s.rollback_alarms == ()


def test_stop_rolls_back_and_is_refused_once_final():
    r = run({"strategy": "CANARY"})
    r.stop(2.5)
    assert r.view(2.5).status == "STOP_REQUESTED"
    assert r.view(3.5).status == "ROLLBACK_SUCCESSFUL"
    with pytest.raises(Refused):
        r.stop(4.0)
    done = run({"strategy": "BLUE_GREEN"})
    assert done.view(2.0).status == "SUCCESSFUL"
    with pytest.raises(Refused):
        done.stop(3.0)


def test_the_same_inputs_give_the_same_hook_ids():
    a = run({"strategy": "BLUE_GREEN", "lifecycleHooks": [{"lifecycleStages": ["PRE_SCALE_UP"]}]})
    b = run({"strategy": "BLUE_GREEN", "lifecycleHooks": [{"lifecycleStages": ["PRE_SCALE_UP"]}]})
    assert a.view(1.0).awaiting.hook_id == b.view(1.0).awaiting.hook_id


@pytest.mark.parametrize("configuration,message", [
    ({"strategy": "RED_BLACK"}, "Invalid deployment strategy: RED_BLACK."),
    ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1441}, "bakeTimeInMinutes must be between"),
    ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 0}}, "canaryPercent must be"),
    ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2}}, "stepPercent must be"),
    ({"strategy": "LINEAR", "linearConfiguration": {"stepBakeTimeInMinutes": -1}},
     "stepBakeTimeInMinutes must be"),
    ({"strategy": "BLUE_GREEN", "lifecycleHooks": [
        {"targetType": "PAUSE", "lifecycleStages": ["TEST_TRAFFIC_SHIFT"]}]},
     "not supported for the TEST_TRAFFIC_SHIFT stage"),
    ({"strategy": "BLUE_GREEN", "lifecycleHooks": [
        {"targetType": "PAUSE", "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"]}]},
     "not supported for the PRODUCTION_TRAFFIC_SHIFT stage"),
    ({"strategy": "BLUE_GREEN", "lifecycleHooks": [{
        "lifecycleStages": ["POST_SCALE_UP"], "timeoutConfiguration": {"timeoutInMinutes": 0}}]},
     "timeoutInMinutes must be between 1 and 1440."),
])
def test_refusals(configuration, message):
    with pytest.raises(Refused, match=message.replace(".", r"\.")):
        strat.strategy_of(configuration)


LINK = {"targetGroupArn": "tg-blue", "containerName": "web", "containerPort": 80}
ADVANCED = {"alternateTargetGroupArn": "tg-green", "productionListenerRule": "rule-p",
            "testListenerRule": "rule-t", "roleArn": "role"}


def test_a_strategy_needs_advanced_configuration_on_every_load_balancer():
    assert strat.missing_advanced_configuration("ROLLING", [LINK]) is None
    assert "advancedConfiguration is required" in strat.missing_advanced_configuration(
        "BLUE_GREEN", [LINK])
    assert strat.missing_advanced_configuration(
        "BLUE_GREEN", [{**LINK, "advancedConfiguration": ADVANCED}]) is None
    for name in ADVANCED:
        partial = {k: v for k, v in ADVANCED.items() if k != name}
        assert name in strat.missing_advanced_configuration(
            "CANARY", [{**LINK, "advancedConfiguration": partial}])
    same = {**ADVANCED, "alternateTargetGroupArn": "tg-blue"}
    assert "must differ" in strat.missing_advanced_configuration(
        "LINEAR", [{**LINK, "advancedConfiguration": same}])


def test_the_deployment_time_scale_setting():
    assert ecs_settings.settings({}).deployment_time_scale == 1.0
    assert ecs_settings.settings(
        {ecs_settings.DEPLOYMENT_SCALE_ENV: "0.05"}).deployment_time_scale == 0.05
    with pytest.raises(ValueError, match=ecs_settings.DEPLOYMENT_SCALE_ENV):
        ecs_settings.settings({ecs_settings.DEPLOYMENT_SCALE_ENV: "0"})
