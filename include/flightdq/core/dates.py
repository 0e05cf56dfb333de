"""Parsing and validating the days and moments users give us.

Every date that reaches SQL, a path or an AWS call has been through `parse_day`, so it is exactly
`YYYY-MM-DD`, a real calendar day, and inside the supported window `FIRST_DAY`..`LAST_DAY` (so that a
range, a baseline weeks back or the day after never leaves what `datetime` can hold). Moments are
held to the same window. Input echoed in an error is cut to `ECHO_LIMIT` characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIRST_DAY = date(2000, 1, 1)  # the supported window: data of these days only
LAST_DAY = date(2099, 12, 31)
SUPPORTED = f"the supported days are {FIRST_DAY}..{LAST_DAY}"
ECHO_LIMIT = 40


class InputError(ValueError):
    """Bad user input. The message names the problem in one line."""


def echo(value: object, limit: int = ECHO_LIMIT) -> str:
    """`value` as it may appear in an error: quoted, on one line, at most `limit` characters of it."""
    if not isinstance(value, str):
        text = repr(value)
        return text if len(text) <= limit else f"{text[:limit]}..."
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"


def check_day(day: date, what: str = "date") -> date:
    """`day`, if it lies in the supported window."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError(f"{what} {day} is outside the supported window: {SUPPORTED}")
    return day


def parse_day(value: str, what: str = "date") -> date:
    if not isinstance(value, str) or not _DAY_RE.fullmatch(value):
        raise InputError(f"{what} {echo(value)} is not a date in the form YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{what} {echo(value)} is not a real calendar day ({exc})") from None
    return check_day(day, what)


def parse_moment(value: str, what: str = "--as-of") -> datetime:
    """An ISO-8601 moment in the supported window, made timezone-aware in UTC (a naive one is taken
    as UTC). An empty value is an error, not "now": the caller decides what a missing one means."""
    if isinstance(value, str) and not value.strip():
        raise InputError(f"{what} is empty; give an ISO-8601 date-time such as 2026-11-26T02:00:00Z")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except (AttributeError, TypeError, ValueError):
        raise InputError(f"{what} {echo(value)} is not an ISO-8601 date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first moment datetime can hold
        raise InputError(f"{what} {echo(value)} is outside the supported window: {SUPPORTED}") from None
    if not day_start(FIRST_DAY) <= moment < day_end(LAST_DAY):
        raise InputError(f"{what} {echo(value)} is outside the supported window: {SUPPORTED}")
    return moment


def day_range(
    start: date, end: date | None = None, *, max_days: int | None = None, limit_name: str | None = None
) -> list[date]:
    """The days from `start` to `end` inclusive; longer than `max_days` is an error naming the
    limit (`limit_name`, e.g. the policy key it comes from)."""
    end = end or start
    if end < start:
        raise InputError(f"range is reversed: the last day {end} is before the first day {start}")
    days = (end - start).days + 1
    if max_days is not None and days > max_days:
        limit = f" ({limit_name})" if limit_name else ""
        raise InputError(f"range of {days} days is longer than the allowed {max_days} days{limit}")
    return list(iter_days(start, end))


def iter_days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def day_end(day: date) -> datetime:
    """The first moment after the day (exclusive bound)."""
    return day_start(day) + timedelta(days=1)


def utcnow() -> datetime:
    return datetime.now(UTC)
