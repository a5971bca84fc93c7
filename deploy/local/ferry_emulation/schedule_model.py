"""EventBridge Scheduler expressions: the pure model (no moto, no clock).

https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html

* ``rate(value unit)``: "value: A positive number"; "unit: The unit of
  time you want your schedule to invoke its target. Valid inputs:
  minutes | hours | days". A value of 1 takes the singular unit
  (``rate(1 minute)``), a larger one the plural (``rate(5 minutes)``);
  ``rate(1 minutes)`` and ``rate(5 minute)`` are invalid, as in
  EventBridge rules' rate expressions.
* ``cron(minutes hours day-of-month month day-of-week year)``: six
  fields. Ranges: minutes 0-59, hours 0-23, day-of-month 1-31, month 1-12
  or JAN-DEC, day-of-week 1-7 or SUN-SAT (1 is Sunday), year 1970-2199.
  Wildcards: ``,`` ``-`` ``*`` ``/`` everywhere, ``?`` in day-of-month and
  day-of-week only, ``L`` in day-of-month and day-of-week, ``W`` in
  day-of-month, ``#`` in day-of-week. "You can't specify the Day-of-month
  and Day-of-week fields in the same cron expression. If you specify a
  value or a * (asterisk) in one of the fields, you must use a ?
  (question mark) in the other."
* ``at(yyyy-mm-ddThh:mm:ss)``: one invocation, at that local time in the
  schedule's timezone.

Timezones are IANA names ("ScheduleExpressionTimezone: The timezone in
which the scheduling expression is evaluated", default UTC), checked here
with Python's ``zoneinfo``.

Firing (``next_fire``) covers what a test needs and is stricter than AWS,
never kinder: ``*``, ``?``, numbers, names, ranges, lists, increments,
``L`` in day-of-month and ``n#k`` in day-of-week fire; ``W`` and ``nL``
in day-of-week are valid but never fire in the emulator.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\((.*)\)$")
AT = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")

UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
MONTHS = {m: i + 1 for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}
DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
# (name, low, high, names)
FIELDS = [("minutes", 0, 59, {}), ("hours", 0, 23, {}), ("day-of-month", 1, 31, {}),
          ("month", 1, 12, MONTHS), ("day-of-week", 1, 7, DAYS), ("year", 1970, 2199, {})]

VALID_FORMS = ("rate(value unit) such as rate(15 minutes), "
               "cron(minutes hours day-of-month month day-of-week year) such as "
               "cron(0 3 * * ? *), or at(yyyy-mm-ddThh:mm:ss)")


class Invalid(ValueError):
    """An expression or timezone EventBridge Scheduler refuses."""


@dataclass(frozen=True)
class Rate:
    seconds: int


@dataclass(frozen=True)
class Cron:
    fields: tuple[str, ...]


@dataclass(frozen=True)
class At:
    when: dt.datetime  # naive, local to the schedule's timezone


Expression = Rate | Cron | At


def timezone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"Invalid ScheduleExpressionTimezone {name!r}: not an IANA time zone name") from None


def parse(expression: str) -> Expression:
    m = RATE.match(expression)
    if m:
        value, unit = int(m.group(1)), m.group(2)
        if value < 1:
            raise Invalid(f"Invalid Schedule Expression {expression}: the rate value must be positive")
        if (value == 1) != (not unit.endswith("s")):
            raise Invalid(f"Invalid Schedule Expression {expression}: use the singular unit for 1 "
                          "and the plural for more")
        return Rate(value * UNIT_SECONDS[unit.rstrip("s")])
    m = AT.match(expression)
    if m:
        try:
            return At(dt.datetime(*(int(g) for g in m.groups())))
        except ValueError:
            raise Invalid(f"Invalid Schedule Expression {expression}: not a date and time") from None
    m = CRON.match(expression)
    if m:
        fields = tuple(m.group(1).split(" "))
        if len(fields) != 6 or any(not f for f in fields):
            raise Invalid(f"Invalid Schedule Expression {expression}: a cron expression has six "
                          "fields separated by single spaces")
        for index, text in enumerate(fields):
            _check_field(expression, index, text)
        dom, dow = fields[2], fields[4]
        if (dom == "?") == (dow == "?"):
            raise Invalid(f"Invalid Schedule Expression {expression}: exactly one of "
                          "day-of-month and day-of-week must be ?")
        return Cron(fields)
    raise Invalid(f"Invalid Schedule Expression {expression}: expected {VALID_FORMS}")


def _value(expression: str, index: int, text: str) -> int:
    name, low, high, names = FIELDS[index]
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit() or not low <= int(text) <= high:
        raise Invalid(f"Invalid Schedule Expression {expression}: {text!r} is not a valid "
                      f"{name} ({low}-{high})")
    return int(text)


def _check_field(expression: str, index: int, text: str) -> None:
    name = FIELDS[index][0]
    if text == "?":
        if index not in (2, 4):
            raise Invalid(f"Invalid Schedule Expression {expression}: ? is valid only in "
                          "day-of-month and day-of-week")
        return
    for part in text.split(","):
        if index == 2 and part in ("L", "LW"):
            continue
        if index == 2 and part.endswith("W"):
            _value(expression, index, part[:-1])
            continue
        if index == 4 and part == "L":
            continue
        if index == 4 and part.endswith("L"):
            _value(expression, index, part[:-1])
            continue
        if index == 4 and "#" in part:
            day, _, nth = part.partition("#")
            _value(expression, index, day)
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise Invalid(f"Invalid Schedule Expression {expression}: {part!r}: the week "
                              "after # is 1 to 5")
            continue
        base, slash, step = part.partition("/")
        if slash and (not step.isdigit() or int(step) < 1):
            raise Invalid(f"Invalid Schedule Expression {expression}: {part!r}: the increment "
                          f"of {name} must be a positive number")
        if base == "*":
            continue
        low_text, dash, high_text = base.partition("-")
        _value(expression, index, low_text)
        if dash:
            _value(expression, index, high_text)


def _matches(index: int, text: str, value: int, day: dt.date | None = None) -> bool:
    _, low, high, names = FIELDS[index]

    def number(t: str) -> int:
        return names.get(t.upper(), None) or int(t)

    if text in ("*", "?"):
        return True
    for part in text.split(","):
        if index == 2 and part == "L" and day is not None:
            following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            if day == following - dt.timedelta(days=1):
                return True
            continue
        if part.endswith("W") or part.endswith("L") or part == "LW":
            continue  # valid, but the emulator never fires these
        if "#" in part and day is not None:
            weekday, _, nth = part.partition("#")
            if number(weekday) == value and (day.day - 1) // 7 + 1 == int(nth):
                return True
            continue
        base, slash, step = part.partition("/")
        if base == "*":
            start, end = low, high
        else:
            a, dash, b = base.partition("-")
            start = number(a)
            end = number(b) if dash else (high if slash else start)
        increment = int(step) if slash else 1
        if start <= end:
            if start <= value <= end and (value - start) % increment == 0:
                return True
        elif (value >= start or value <= end) and (value - start) % increment == 0:
            return True  # a range that wraps (FRI-MON)
    return False


def cron_matches(fields: tuple[str, ...], local: dt.datetime) -> bool:
    dow = (local.isoweekday() % 7) + 1  # 1 is Sunday
    day = local.date()
    return (_matches(0, fields[0], local.minute) and _matches(1, fields[1], local.hour)
            and _matches(2, fields[2], local.day, day) and _matches(3, fields[3], local.month)
            and _matches(4, fields[4], dow, day) and _matches(5, fields[5], local.year))


def next_fire(expression: Expression, zone: zoneinfo.ZoneInfo, after: float,
              anchor: float) -> float | None:
    """The first invocation strictly after ``after`` (POSIX seconds), or None.

    Rate schedules fire every period counted from ``anchor`` (the creation,
    or the update that set the expression). Cron schedules fire at the
    start of each matching minute in ``zone``, for the next 366 days.
    """
    if isinstance(expression, Rate):
        periods = int((after - anchor) // expression.seconds) + 1
        return anchor + periods * expression.seconds
    if isinstance(expression, At):
        when = expression.when.replace(tzinfo=zone).timestamp()
        return when if when > after else None
    start = dt.datetime.fromtimestamp(after, zone).replace(second=0, microsecond=0)
    candidate = start + dt.timedelta(minutes=1)
    for _ in range(366 * 24 * 60):
        if cron_matches(expression.fields, candidate):
            return candidate.timestamp()
        candidate += dt.timedelta(minutes=1)
    return None
