"""CloudWatch Logs ingestion delay, with boto3 against emulator.py.

A line a task prints at ``timestamp`` becomes readable at its
``ingestionTime``, 1.5 s +/- 0.5 s later (the defaults of
FERRY_EMULATOR_LOG_DELAY_SECONDS and ..._JITTER_SECONDS), each line with a
lag of its own, so lines arrive out of order. See tasklogs.py for the
documentation. Against moto alone (or with the delay off) every test here
fails: lines are readable at once and ingestionTime is the time they were
put. Throttling is on: the polls stay under FilterLogEvents' 5 per second.
"""

from __future__ import annotations

import time

import pytest

from conftest import start_emulator
from test_tasklogs import GROUP, logs_world, task_definition

DELAY, JITTER = 1.5, 0.5  # the defaults
POLL = 0.25  # 4 FilterLogEvents a second, under the bucket's 5
LINES = 30


@pytest.fixture(scope="module")
def aws(emulator_with):
    emu = emulator_with("delay", {
        "FERRY_EMULATOR_TASK_START_SECONDS": "0.2", "FERRY_EMULATOR_TASK_RUN_SECONDS": "0.2"})
    return logs_world(emu, "delay", 4)


def test_lines_become_readable_after_their_lag_out_of_order_and_keep_their_ids(aws):
    ecs, logs, network = aws
    script = "; ".join(f"echo line {i}" for i in range(LINES))
    arn = ecs.run_task(cluster="delay", taskDefinition=task_definition(ecs, "late"),
                       launchType="FARGATE", networkConfiguration=network,
                       overrides={"containerOverrides": [
                           {"name": "job", "command": ["sh", "-c", script]}]})["tasks"][0]["taskArn"]
    stream = f"late/job/{arn.rsplit('/', 1)[-1]}"
    polls: list[tuple[float, list[dict]]] = []  # (when the answer came, events)
    stopped_at = None
    deadline = time.monotonic() + 20
    while True:
        events = logs.filter_log_events(logGroupName=GROUP, logStreamNames=[stream])["events"]
        polls.append((time.time() * 1000, events))
        if stopped_at is None and ecs.describe_tasks(cluster="delay", tasks=[arn])["tasks"][0][
                "lastStatus"] == "STOPPED":
            stopped_at = len(polls)
        if len(events) == LINES + 2:  # start line, the script's, the exit line
            break
        assert time.monotonic() < deadline, [e["message"] for e in events]
        time.sleep(POLL)

    final = {e["eventId"]: e for e in polls[-1][1]}
    # Once readable, an event stays readable, with the same id, timestamp and ingestionTime.
    for _, events in polls:
        for event in events:
            assert final[event["eventId"]] == event
    for event in final.values():
        lag = event["ingestionTime"] - event["timestamp"]
        assert (DELAY - JITTER) * 1000 <= lag <= (DELAY + JITTER) * 1000, event
        # Invisible before its ingestionTime: no answer before then had it.
        first = next(at for at, events in polls if event in events)
        earlier = [at for at, events in polls if event not in events]
        assert all(at < event["ingestionTime"] + 50 for at in earlier if at < first)
    # The task stopped before its last lines were readable: a reader that
    # stops with the task loses them.
    assert stopped_at is not None
    assert len(polls[stopped_at - 1][1]) < LINES + 2
    # Out of order: some event arrived after one with a later timestamp was
    # shown, i.e. behind a timestamp cursor.
    shown_newest, late = -1, 0
    seen: set[str] = set()
    for _, events in polls:
        new = [e for e in events if e["eventId"] not in seen]
        late += sum(1 for e in new if e["timestamp"] < shown_newest)
        seen.update(e["eventId"] for e in new)
        shown_newest = max([shown_newest] + [e["timestamp"] for e in events])
    assert late > 0
    # And the answer is always sorted by timestamp, whatever the arrival order.
    stamps = [e["timestamp"] for e in polls[-1][1]]
    assert stamps == sorted(stamps)
    ingested = [e["ingestionTime"] for e in polls[-1][1]]
    assert ingested != sorted(ingested)


def test_get_log_events_sees_the_same_delay(aws):
    ecs, logs, network = aws
    arn = ecs.run_task(cluster="delay", taskDefinition=task_definition(ecs, "late"),
                       launchType="FARGATE", networkConfiguration=network,
                       overrides={"containerOverrides": [
                           {"name": "job", "command": ["sh", "-c", "echo one"]}]})["tasks"][0]["taskArn"]
    stream = f"late/job/{arn.rsplit('/', 1)[-1]}"
    deadline = time.monotonic() + 20
    while True:
        try:
            events = logs.get_log_events(logGroupName=GROUP, logStreamName=stream,
                                         startFromHead=True)["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []  # no line readable yet: the stream is not there yet
        if len(events) == 3:
            break
        assert time.monotonic() < deadline
        time.sleep(POLL)
    for event in events:
        assert (DELAY - JITTER) * 1000 <= event["ingestionTime"] - event["timestamp"] <= \
            (DELAY + JITTER) * 1000


def test_an_unusable_delay_stops_the_emulator(tmp_path):
    with pytest.raises(RuntimeError, match="exited 2: .*FERRY_EMULATOR_LOG_DELAY_JITTER_SECONDS"):
        start_emulator(tmp_path, env={"FERRY_EMULATOR_LOG_DELAY_SECONDS": "1",
                                      "FERRY_EMULATOR_LOG_DELAY_JITTER_SECONDS": "2"})
