"""The EventBridge Scheduler expression model, against the schedule-types page.

https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
"""

from __future__ import annotations

import datetime as dt

import pytest

from ferry_emulation import schedule_model as m

UTC = m.timezone("UTC")


@pytest.mark.parametrize("expression", [
    "rate(1 minute)", "rate(15 minutes)", "rate(1 hour)", "rate(2 days)",
    "cron(0 3 * * ? *)", "cron(0/15 * * * ? *)", "cron(0 8 ? * MON-FRI *)",
    "cron(15 10 ? * 6L 2022-2023)", "cron(0 12 L * ? *)", "cron(0 9 ? * 2#1 *)",
    "cron(0 18 ? * MON,WED *)", "at(2030-01-01T03:00:00)",
])
def test_documented_expressions_are_valid(expression):
    m.parse(expression)


@pytest.mark.parametrize("expression, why", [
    ("rate(1 minutes)", "singular"), ("rate(5 minute)", "singular"),
    ("rate(0 minutes)", "positive"), ("rate(5 weeks)", "expected"),
    ("cron(0 3 * * *)", "six fields"), ("cron(0 3 * * * *)", "exactly one"),
    ("cron(0 3 ? * ? *)", "exactly one"), ("cron(60 3 * * ? *)", "minutes"),
    ("cron(0 24 * * ? *)", "hours"), ("cron(0 3 * 13 ? *)", "month"),
    ("cron(? 3 * * ? *)", "only in"), ("cron(0 3 * * ? 1969)", "year"),
    ("at(2030-02-30T03:00:00)", "date"), ("every day", "expected"),
    ("cron(0  3 * * ? *)", "six fields"),
])
def test_invalid_expressions_are_refused(expression, why):
    with pytest.raises(m.Invalid, match=why):
        m.parse(expression)


def test_timezones_are_iana_names():
    assert m.timezone("Europe/Berlin").key == "Europe/Berlin"
    with pytest.raises(m.Invalid):
        m.timezone("Mars/Olympus")


def ts(*args, zone=UTC):
    return dt.datetime(*args, tzinfo=zone).timestamp()


def test_rate_fires_every_period_from_its_anchor():
    rate = m.parse("rate(5 minutes)")
    assert m.next_fire(rate, UTC, 1000.0, 1000.0) == 1300.0
    assert m.next_fire(rate, UTC, 1300.0, 1000.0) == 1600.0


def test_cron_fires_at_matching_minutes_in_its_timezone():
    berlin = m.timezone("Europe/Berlin")
    cron = m.parse("cron(0 3 * * ? *)")
    # 2030-01-01 00:00 UTC: 03:00 in Berlin (UTC+1 in winter) is 02:00 UTC.
    assert m.next_fire(cron, berlin, ts(2030, 1, 1), 0) == ts(2030, 1, 1, 2)
    assert m.next_fire(cron, UTC, ts(2030, 1, 1), 0) == ts(2030, 1, 1, 3)
    weekdays = m.parse("cron(30 8 ? * MON-FRI *)")
    # 2030-01-05 is a Saturday: next is Monday the 7th.
    assert m.next_fire(weekdays, UTC, ts(2030, 1, 5), 0) == ts(2030, 1, 7, 8, 30)
    every15 = m.parse("cron(0/15 * * * ? *)")
    assert m.next_fire(every15, UTC, ts(2030, 1, 1, 0, 1), 0) == ts(2030, 1, 1, 0, 15)
    last = m.parse("cron(0 0 L * ? *)")
    assert m.next_fire(last, UTC, ts(2030, 2, 1), 0) == ts(2030, 2, 28)
    first_monday = m.parse("cron(0 9 ? * 2#1 *)")
    assert m.next_fire(first_monday, UTC, ts(2030, 1, 8), 0) == ts(2030, 2, 4, 9)


def test_at_fires_once():
    at = m.parse("at(2030-01-01T03:00:00)")
    assert m.next_fire(at, UTC, ts(2029, 12, 31), 0) == ts(2030, 1, 1, 3)
    assert m.next_fire(at, UTC, ts(2030, 1, 1, 3), 0) is None
