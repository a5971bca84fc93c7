"""The pure model of Scheduler's delivery to ECS (schedule_delivery.py),
against the API reference and the user guide's dead-letter page. No server.
"""

from __future__ import annotations

import pytest

from ferry_emulation import schedule_delivery as d

QUEUE = "arn:aws:sqs:us-east-1:123456789012:ferry-schedules-dlq"


def test_every_entry_of_every_map_is_a_tag():
    assert d.task_tags([{"a": "1", "b": "2"}, {"c": "3"}]) == [
        {"key": "a", "value": "1"}, {"key": "b", "value": "2"}, {"key": "c", "value": "3"}]
    assert d.duplicate_key(d.task_tags([{"a": "1"}, {"b": "2"}])) is None


def test_ecs_shaped_maps_are_tags_named_key_and_value():
    one = d.task_tags([{"key": "ferry:app", "value": "acme"}])
    assert one == [{"key": "key", "value": "ferry:app"}, {"key": "value", "value": "acme"}]
    assert d.duplicate_key(one) is None, "one such map alone is two valid tags"
    two = d.task_tags([{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
    assert d.duplicate_key(two) == "key"
    assert d.DUPLICATE_TAGS == ("InvalidParameterException", "Multiple tags contain the same key.")


@pytest.mark.parametrize("tags", [
    "a=b", ["a=b"], [{"": "v"}], [{"k" * 129: "v"}], [{"k": ""}], [{"k": "v" * 257}],
    [{"k": 1}], [{f"k{i}": "v"} for i in range(51)],
])
def test_tags_outside_the_constraints_are_refused(tags):
    with pytest.raises(d.Invalid):
        d.check_tags(tags)


def test_tags_within_the_constraints_pass():
    d.check_tags(None)
    d.check_tags([])
    d.check_tags([{"k" * 128: "v" * 256}] + [{f"k{i}": "v"} for i in range(49)])


@pytest.mark.parametrize("target", [
    {"RetryPolicy": {"MaximumRetryAttempts": -1}},
    {"RetryPolicy": {"MaximumRetryAttempts": 186}},
    {"RetryPolicy": {"MaximumEventAgeInSeconds": 59}},
    {"RetryPolicy": {"MaximumEventAgeInSeconds": 86401}},
    {"DeadLetterConfig": {"Arn": "arn:aws:sns:us-east-1:123456789012:t"}},
    {"DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:1234:q"}},
])
def test_retry_policies_and_queues_outside_the_constraints_are_refused(target):
    with pytest.raises(d.Invalid):
        d.check_target(target)


def test_the_default_policy_is_185_retries_within_a_day():
    assert d.retry_policy({}) == d.RetryPolicy(max_age=86400, max_retries=185)
    assert d.retry_policy({"RetryPolicy": {"MaximumRetryAttempts": 0}}) == d.RetryPolicy(86400, 0)


def test_retries_stop_at_whichever_limit_comes_first():
    policy = d.RetryPolicy(max_age=300, max_retries=2)
    assert d.exhausted(policy, 0, 0) is None
    assert d.exhausted(policy, 1, 299) is None
    assert d.exhausted(policy, 2, 10) == "MaximumRetryAttempts"
    assert d.exhausted(policy, 1, 300) == "MaximumEventAgeInSeconds"
    assert d.exhausted(d.RetryPolicy(max_age=60, max_retries=0), 0, 0) == "MaximumRetryAttempts"


def test_the_dead_letter_carries_the_documented_attributes():
    target = {"Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/apps",
              "DeadLetterConfig": {"Arn": QUEUE}}
    letter = d.dead_letter(target, "arn:aws:scheduler:us-east-1:123456789012:schedule/g/n",
                           "abc123", 1_796_526_000.7, 2, "MaximumRetryAttempts",
                           "ClientException", "Unable to find task definition.")
    assert letter is not None and letter.queue_arn == QUEUE
    assert set(letter.attributes) == {
        "ERROR_CODE", "ERROR_MESSAGE", "EXECUTION_ID", "EXHAUSTED_RETRY_CONDITION",
        "IS_PAYLOAD_TRUNCATED", "RETRY_ATTEMPTS", "SCHEDULED_TIME", "SCHEDULE_ARN", "TARGET_ARN"}
    assert all(v["DataType"] == "String" for v in letter.attributes.values())
    value = {k: v["StringValue"] for k, v in letter.attributes.items()}
    assert value["ERROR_CODE"] == "ClientException"
    assert value["RETRY_ATTEMPTS"] == "2"
    assert value["SCHEDULED_TIME"] == "2026-12-06T03:00:00Z"
    assert value["TARGET_ARN"] == target["Arn"]
    assert d.queue_of(QUEUE) == ("us-east-1", "123456789012", "ferry-schedules-dlq")
    assert d.dead_letter({"Arn": "x"}, "s", "e", 0, 0, None, "c", "m") is None, "no queue"
    unretried = d.dead_letter(target, "s", "e", 0, 0, None, "c", "m")
    assert unretried is not None and "EXHAUSTED_RETRY_CONDITION" not in unretried.attributes
