"""EventBridge Scheduler's delivery to an ECS target: the pure model (no moto, no clock).

What Scheduler makes of a target's ``EcsParameters``, how it retries an
invocation that failed, and the dead-letter event it sends when it gives
up. The glue is in scheduler.py; tests in tests/test_schedule_delivery.py.

Tags. ``EcsParameters.Tags`` is "an array of string-to-string maps"
(https://docs.aws.amazon.com/scheduler/latest/APIReference/API_EcsParameters.html;
"Array Members: Minimum number of 0 items. Maximum number of 50 items",
"Key Length Constraints: Minimum length of 1. Maximum length of 128",
"Value Length Constraints: Minimum length of 1. Maximum length of 256").
Every entry of every map is a tag of the task: ``{"team": "a"}`` is the
tag team=a, and ``{"key": "team", "value": "a"}`` (the shape of an ECS
tag) is two tags named ``key`` and ``value``. With more than one such
map, keys repeat, and the RunTask Scheduler sends is refused with
``InvalidParameterException`` ``Multiple tags contain the same key.``
(hashicorp/terraform-provider-aws#32259, #45629, and PR #31331, which
quotes both pages).

Retries. ``Target.RetryPolicy``
(https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html):
``MaximumEventAgeInSeconds`` "The maximum amount of time, in seconds, to
continue to make retry attempts" (60 to 86400, default 86400) and
``MaximumRetryAttempts`` "The maximum number of retry attempts to make
before the request fails" (0 to 185, default 185). An invocation is
retried while both allow it; then it is dropped, or sent to the
dead-letter queue. The layer retries every error; AWS may give up on
some at once (EventBridge does for a missing permission or a target that
does not exist), which the layer does not model: its dead letters then
carry an EXHAUSTED_RETRY_CONDITION where AWS's would not.

Dead letters. ``Target.DeadLetterConfig.Arn``, an SQS queue
(https://docs.aws.amazon.com/scheduler/latest/APIReference/API_DeadLetterConfig.html;
"arn:aws(-[a-z]+)?:sqs:[a-z0-9\\-]+:\\d{12}:[a-zA-Z0-9\\-_]+"). The user
guide's "Configuring a dead-letter queue"
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html)
delivers the dead-letter event "after exhausting the maximum number of
retries you set", with the message attributes ``ERROR_CODE``,
``ERROR_MESSAGE``, ``EXECUTION_ID``, ``EXHAUSTED_RETRY_CONDITION``,
``IS_PAYLOAD_TRUNCATED``, ``RETRY_ATTEMPTS``, ``SCHEDULED_TIME``,
``SCHEDULE_ARN`` and ``TARGET_ARN`` (String each). For an ECS target the
layer puts ECS's error code and message in ``ERROR_CODE`` and
``ERROR_MESSAGE`` (the pair the issues above quote for such a failure).
The body, "invocation details and any response", is not modelled: the
layer sends ``{}``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_TAG_MAPS = 50
DEFAULT_MAX_AGE = 86400
DEFAULT_MAX_RETRIES = 185
DLQ_ARN = re.compile(r"^arn:aws(-[a-z]+)?:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$")
DUPLICATE_TAGS = ("InvalidParameterException", "Multiple tags contain the same key.")


class Invalid(ValueError):
    """A target Scheduler refuses (ValidationException)."""


def check_tags(tags: Any) -> None:
    """Raises Invalid unless ``tags`` is a list of string-to-string maps within the limits."""
    if tags is None:
        return
    if not isinstance(tags, list) or len(tags) > MAX_TAG_MAPS:
        raise Invalid(f"EcsParameters.Tags must be a list of at most {MAX_TAG_MAPS} maps")
    for tag in tags:
        if not isinstance(tag, dict):
            raise Invalid(f"EcsParameters.Tags: each member must be a string-to-string map, got {tag!r}")
        for key, value in tag.items():
            if not isinstance(key, str) or not 1 <= len(key) <= 128:
                raise Invalid(f"EcsParameters.Tags: key {key!r} must be 1 to 128 characters")
            if not isinstance(value, str) or not 1 <= len(value) <= 256:
                raise Invalid(f"EcsParameters.Tags: value {value!r} must be 1 to 256 characters")


def task_tags(tags: Any) -> list[dict[str, str]]:
    """The ECS tags of the task: every entry of every map, in order (duplicates kept)."""
    return [{"key": k, "value": v} for tag in tags or [] if isinstance(tag, dict)
            for k, v in tag.items()]


def duplicate_key(tags: list[dict[str, str]]) -> str | None:
    """A key that appears twice among ECS tags, or None."""
    seen: set[str] = set()
    for tag in tags:
        if tag["key"] in seen:
            return tag["key"]
        seen.add(tag["key"])
    return None


@dataclass(frozen=True)
class RetryPolicy:
    max_age: int = DEFAULT_MAX_AGE
    max_retries: int = DEFAULT_MAX_RETRIES


def check_target(target: Mapping[str, Any]) -> None:
    """Raises Invalid for a RetryPolicy or DeadLetterConfig outside the API's constraints."""
    policy = target.get("RetryPolicy")
    if policy is not None:
        if not isinstance(policy, dict):
            raise Invalid("RetryPolicy must be an object")
        age = policy.get("MaximumEventAgeInSeconds")
        if age is not None and (not isinstance(age, int) or not 60 <= age <= 86400):
            raise Invalid("RetryPolicy.MaximumEventAgeInSeconds must be 60 to 86400")
        retries = policy.get("MaximumRetryAttempts")
        if retries is not None and (not isinstance(retries, int) or not 0 <= retries <= 185):
            raise Invalid("RetryPolicy.MaximumRetryAttempts must be 0 to 185")
    dead = target.get("DeadLetterConfig")
    if dead is not None:
        arn = dead.get("Arn") if isinstance(dead, dict) else None
        if arn is not None and (not isinstance(arn, str) or not DLQ_ARN.match(arn)):
            raise Invalid(f"DeadLetterConfig.Arn {arn!r} is not an SQS queue ARN")


def retry_policy(target: Mapping[str, Any]) -> RetryPolicy:
    policy = target.get("RetryPolicy") or {}
    age = policy.get("MaximumEventAgeInSeconds")
    retries = policy.get("MaximumRetryAttempts")
    return RetryPolicy(max_age=DEFAULT_MAX_AGE if age is None else int(age),
                       max_retries=DEFAULT_MAX_RETRIES if retries is None else int(retries))


def exhausted(policy: RetryPolicy, retries: int, age: float) -> str | None:
    """Why no further retry is made after ``retries`` retries at ``age`` seconds, or None.

    The names are EXHAUSTED_RETRY_CONDITION's values: the RetryPolicy
    field whose limit was reached.
    """
    if retries >= policy.max_retries:
        return "MaximumRetryAttempts"
    if age >= policy.max_age:
        return "MaximumEventAgeInSeconds"
    return None


@dataclass(frozen=True)
class DeadLetter:
    queue_arn: str
    attributes: dict[str, dict[str, str]]  # SQS message attributes


def queue_of(arn: str) -> tuple[str, str, str]:
    """(region, account, queue name) of an SQS queue ARN."""
    parts = arn.split(":")
    return parts[3], parts[4], parts[5]


def dead_letter(target: Mapping[str, Any], schedule_arn: str, execution_id: str,
                scheduled_time: float, retries: int, condition: str | None,
                error_code: str, error_message: str) -> DeadLetter | None:
    """The dead-letter event for an invocation given up on, or None without a queue."""
    arn = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not arn:
        return None
    values = {
        "ERROR_CODE": error_code,
        "ERROR_MESSAGE": error_message,
        "EXECUTION_ID": execution_id,
        "IS_PAYLOAD_TRUNCATED": "false",
        "RETRY_ATTEMPTS": str(retries),
        "SCHEDULED_TIME": dt.datetime.fromtimestamp(int(scheduled_time), dt.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "SCHEDULE_ARN": schedule_arn,
        "TARGET_ARN": str(target.get("Arn") or ""),
    }
    if condition is not None:
        values["EXHAUSTED_RETRY_CONDITION"] = condition
    return DeadLetter(queue_arn=arn, attributes={
        name: {"DataType": "String", "StringValue": value} for name, value in values.items()})
